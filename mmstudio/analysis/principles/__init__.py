"""Textbook principles of multimodal learning, one module each, with the registry, the result base
and small model fits they share. A principle that learns from data takes the table it is given.

May import: ``analysis.fusion``, ``analysis.common``, ``encoders``, ``core``.
"""
