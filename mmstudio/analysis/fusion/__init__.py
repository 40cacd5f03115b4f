"""The fusion lab: data, heads, combination rules, missing modalities, knobs, curves, metrics.

May import: ``analysis.common``, ``encoders``, ``core``.
"""
