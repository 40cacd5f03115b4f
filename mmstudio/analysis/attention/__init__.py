"""Where a text looks: attention heatmaps over image patches and sound frames.

May import: ``analysis.common``, ``encoders``, ``core``.
"""
