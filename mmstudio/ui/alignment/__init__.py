"""The Alignment panel: metrics, similarity matrix, gap shift, the aligner trainer.

May import: ``ui``, ``ui.widgets``, and the layers below ``ui``.
"""
