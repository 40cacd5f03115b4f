"""2-D maps of an embedding table: PCA at once, UMAP (umap-learn, made fast), exact kNN, layouts on disk,
and maps that grow (rows placed without moving the others).

May import: ``analysis.common``, ``encoders``, ``core``.
"""
