"""Embed a folder of media with the built-in model and write the table to Parquet.

    python examples/embed_a_folder.py [FOLDER] [OUT.parquet]

Without a folder, a small demo world (60 scenes: PNG + WAV + TXT each) is rendered first.
"""

import sys
import tempfile
from pathlib import Path

from mmstudio.core.cache import EmbeddingCache
from mmstudio.core.sources.inputs import load_paths
from mmstudio.demo.make import make_world
from mmstudio.encoders.embed import embed_dataset
from mmstudio.encoders.registry import load_encoder

scratch = Path(tempfile.mkdtemp(prefix="mmstudio-example-"))
folder = Path(sys.argv[1]) if len(sys.argv) > 1 else make_world(scratch / "world", n=60, seed=1)
out = Path(sys.argv[2]) if len(sys.argv) > 2 else scratch / "table.parquet"

dataset = load_paths([folder])                        # files with the same stem become one sample
cache = EmbeddingCache()                              # a second run reads the vectors back
table = embed_dataset(dataset, load_encoder("builtin", cache=cache), cache=cache)
cache.close()
table.write(out)
print(f"{len(dataset)} samples, {len(table)} items ({', '.join(table.modalities)}), "
      f"{table.dim}-d, {len(table.errors)} skipped -> {out}")
