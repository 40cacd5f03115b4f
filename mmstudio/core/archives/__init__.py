"""Items whose bytes live inside another file: members of tar shards (WebDataset) and cells of
Arrow/Parquet tables (Hugging Face datasets). ``members`` names one (``shard.tar::key.jpg``,
``train.parquet::row 17 image``) and reads its bytes; ``tar`` and ``tables`` read the two kinds.

May import: ``core`` (never ``core.media`` or ``core.sources``: they import this).
"""
