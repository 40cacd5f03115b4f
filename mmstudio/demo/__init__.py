"""The demo world: scenes seen, heard and described; rendering, writing to disk, training and
evaluating the built-in model, and the demo table the principles run on by default.

May import: ``analysis``, ``encoders``, ``core``.
"""
