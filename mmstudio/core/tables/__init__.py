"""The embedding table (one row per sample and modality), its files (Parquet, NPZ), the checks every
reader of a table makes, and metadata column names.

May import: ``core``.
"""
