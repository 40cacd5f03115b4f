"""What a user gives, turned into a :class:`~mmstudio.core.dataset.Dataset`: folder scans, CSV/JSONL
manifests, and any mix of them (``inputs``).

May import: ``core``.
"""
