"""Files for other tools and for people: embeddings (Parquet, CSV, NPZ, TensorBoard projector),
sprites, reports (JSON, CSV, and self-contained HTML pages with SVG figures), attention overlays,
colour maps.

May import: ``analysis``, ``encoders``, ``core``.
"""
