"""The fusion lab on a table: every fusion method trained once, scored on a held-out split,
then re-scored with a modality half missing.

    python examples/fuse_a_table.py TABLE.parquet [LABEL_COLUMN]
"""

import sys

from mmstudio.analysis.fusion.data import fusion_data
from mmstudio.analysis.fusion.knobs import Knobs
from mmstudio.analysis.fusion.lab import FusionLab
from mmstudio.core.tables.table import EmbeddingTable
from mmstudio.core.values import num

table = EmbeddingTable.read(sys.argv[1])
data = fusion_data(table, sys.argv[2] if len(sys.argv) > 2 else "label")
lab = FusionLab.fit(data, seed=0)
clean = lab.score(Knobs())
missing = lab.score(Knobs(missing={data.modalities[0]: 0.5}))
for method, score in clean.methods.items():
    print(f"{method:<28} accuracy {num(score.accuracy)}  with half the {data.modalities[0]} missing "
          f"{num(missing.methods[method].accuracy)}")
