"""Encoding a corpus on a Ray cluster (``mmstudio embed --engine ray``).

May import: ``encoders``, ``core``.
"""
