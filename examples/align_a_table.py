"""How well the modalities of a table line up: retrieval both ways, the modality gap, CKA.

    python examples/align_a_table.py TABLE.parquet
"""

import sys

from mmstudio.analysis.alignment.report import align_report
from mmstudio.core.tables.table import EmbeddingTable
from mmstudio.core.values import num

report = align_report(EmbeddingTable.read(sys.argv[1]))
for pair in report["pairs"]:
    a, b = pair["modalities"]
    there, back = pair["retrieval"]                   # a -> b, then b -> a
    print(f"{a} -> {b}: R@1 {num(there['R@1'])}, {b} -> {a}: R@1 {num(back['R@1'])}; "
          f"gap {num(pair['gap']['distance'])}; linear CKA {num(pair['procrustes']['linear_cka'])}")
