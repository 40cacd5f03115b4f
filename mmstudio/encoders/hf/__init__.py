"""Hugging Face contrastive checkpoints (CLIP, SigLIP, CLAP, BLIP ITM): finding and loading them, and
an image preprocessing equal to their processors'.

May import: ``encoders``, ``core``.
"""
