"""A 2-D map of an embedding table: PCA at once, then UMAP; the table gets x and y columns.

    python examples/project_a_table.py TABLE.parquet [OUT.parquet]
"""

import sys

from mmstudio.analysis.projection.project import pca_2d, project_table
from mmstudio.core.tables.table import EmbeddingTable

table = EmbeddingTable.read(sys.argv[1])
preview = pca_2d(table.vectors)                       # what the window shows first
mapped = project_table(table, "umap", n_neighbors=15, seed=0)
print(f"PCA spread {preview.std(axis=0).round(3).tolist()}; UMAP of {len(mapped)} points, "
      f"x in [{mapped.columns['x'].min():.2f}, {mapped.columns['x'].max():.2f}]")
if len(sys.argv) > 2:
    mapped.write(sys.argv[2])
    print(f"-> {sys.argv[2]}")
