"""Turning one 2-D map to face another of the same items: a rotation (or reflection), one scale and a
shift of ``xy`` that best lays it on ``reference`` in least squares (similarity Procrustes, as
``scipy.spatial.procrustes`` fits it). The map's shape is untouched — only its pose changes — so two
maps fitted separately (two models' UMAPs of the same items) can be read side by side with their
common groups in the same corner.
"""

from __future__ import annotations

import numpy as np


def face(xy, reference) -> np.ndarray:
    """``xy`` (n × 2) rotated or reflected, scaled and shifted onto ``reference`` (n × 2, the same items);
    rows with a NaN on either side take no part in the fit. Unchanged when fewer than 2 rows are usable
    or either side has no spread."""
    xy, ref = np.asarray(xy, np.float64), np.asarray(reference, np.float64)
    if xy.shape != ref.shape or xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"need two n × 2 maps of the same items, not {xy.shape} and {ref.shape}")
    usable = np.isfinite(xy).all(axis=1) & np.isfinite(ref).all(axis=1)
    if usable.sum() < 2:
        return xy.astype(np.float32)
    mx, mr = xy[usable].mean(axis=0), ref[usable].mean(axis=0)
    x, r = xy[usable] - mx, ref[usable] - mr
    norm = float(np.sum(x * x))
    if norm == 0 or float(np.sum(r * r)) == 0:
        return xy.astype(np.float32)
    u, s, vt = np.linalg.svd(x.T @ r)
    rotation = u @ vt                 # orthogonal: a rotation, or a reflection when that fits better
    scale = float(s.sum()) / norm
    return ((xy - mx) @ rotation * scale + mr).astype(np.float32)
