"""2-D maps of an embedding table: PCA at once, UMAP (umap-learn, made fast), landmark maps of large tables
(a sample's UMAP, the other rows placed on it), exact kNN, layouts on disk, and maps that grow (rows placed
without moving the others).

May import: ``analysis.common``, ``encoders``, ``core``.
"""
