"""What a user gives, turned into a :class:`~mmstudio.core.dataset.Dataset`: folder scans, CSV/JSONL
manifests, caption files (``coco``, ``audio_captions``; ``captions`` tells them apart, ``caption_media``
finds their pictures and sounds), and any mix of them (``inputs``).

May import: ``core``.
"""
