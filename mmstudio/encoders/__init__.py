"""Models that turn media into vectors of one shared space: the Encoder protocol, the registry (a
name → an encoder), devices and precision, and ``embed`` (batched, cached). One subpackage per family:
``builtin`` (the offline demo model), ``hf`` (Hugging Face checkpoints), ``distributed`` (Ray).

May import: ``core``. torch and transformers only inside functions.
"""
