"""What a user gives, turned into a :class:`~mmstudio.core.dataset.Dataset`: folder scans, CSV/JSONL
manifests, caption files (``coco``, ``audio_captions``; ``captions`` tells them apart, ``caption_media``
finds their pictures and sounds), WebDataset shards, Hugging Face datasets (Parquet, Arrow,
``save_to_disk``), and any mix of them (``inputs``; ``archives`` tells which paths are shards or datasets).

May import: ``core``.
"""
