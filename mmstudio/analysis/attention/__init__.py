"""Where a text looks: attention heatmaps over image patches and sound frames (``heatmaps``), and
the pointing game that scores them against object boxes (``pointing``).

May import: ``analysis.common``, ``encoders``, ``core``.
"""
