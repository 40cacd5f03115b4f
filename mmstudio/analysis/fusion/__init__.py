"""The fusion lab: data and token blocks, heads (token-level cross-attention among them), combination
rules, missing modalities, knobs, curves, metrics.

May import: ``analysis.common``, ``encoders``, ``core``.
"""
