"""What is computed from embeddings, one subpackage per family: ``projection`` (2-D maps),
``alignment`` (retrieval, gap, Procrustes, CKA, losses, the aligner), ``attention``, ``fusion``
(the fusion lab), ``principles`` (textbook demonstrations), ``common`` (pairing, metrics, JSON-safe
values shared by the others).

May import: ``encoders``, ``core``. Never Qt, never ``demo``, ``export``, ``cli`` or ``ui``.
"""
