"""Files for other tools and for people: embeddings (Parquet, CSV, NPZ, TensorBoard projector),
sprites, reports, attention overlays, colour maps.

May import: ``analysis``, ``encoders``, ``core``.
"""
