"""How well modalities line up: retrieval, the modality gap, Procrustes and CKA, linear maps,
contrastive losses, the report ``mmstudio align`` prints, and the aligner trained live.

May import: ``analysis.common``, ``encoders``, ``core``.
"""
