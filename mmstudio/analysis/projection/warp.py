"""Carrying 2-D points from one frame into another by anchors whose places in both are known
(the aligner's snapshots shown in the map)."""

from __future__ import annotations

import numpy as np


def warp(points, anchors, anchor_xy) -> np.ndarray:
    """Carry 2-D ``points`` from one frame into another where ``anchors`` are known to sit at ``anchor_xy``:
    a least-squares affine map plus the anchors' residuals interpolated by inverse squared distance."""
    points, anchors, anchor_xy = (np.asarray(v, np.float64) for v in (points, anchors, anchor_xy))
    design = np.c_[anchors, np.ones(len(anchors))]
    coef = np.linalg.lstsq(design, anchor_xy, rcond=None)[0]
    residual = anchor_xy - design @ coef
    d2 = ((points[:, None, :] - anchors[None, :, :]) ** 2).sum(axis=2)
    scale = float(np.mean((anchors - anchors.mean(axis=0)) ** 2)) or 1.0
    weights = 1.0 / (d2 + 1e-9 * scale)
    weights /= weights.sum(axis=1, keepdims=True)
    return (np.c_[points, np.ones(len(points))] @ coef + weights @ residual).astype(np.float32)
