"""The built-in tri-modal demo model: its torch modules, its input features, its encoder.

May import: ``encoders``, ``core``.
"""
