"""Hugging Face contrastive checkpoints (the families of ``families.FAMILIES``: CLIP, SigLIP, SigLIP 2,
ALIGN, AltCLIP, Chinese-CLIP, MetaCLIP 2, BLIP ITM, CLAP): finding and loading them, and an image
preprocessing equal to their processors'.

May import: ``encoders``, ``core``.
"""
