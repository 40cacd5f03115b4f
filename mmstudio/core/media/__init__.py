"""Reading one media file: images, audio, text (``decode`` turns a reference into what an encoder
prepares), the checks every reader makes, and which extensions hold which modality.

May import: ``core``.
"""
