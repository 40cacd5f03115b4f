"""How much each item's neighbourhood changed between two embeddings of the same items (the window's
"Colour by neighbourhood change").

The tables are matched already (:func:`mmstudio.analysis.alignment.compare.match_rows`: row ``i`` of
``a`` and of ``b`` is the same item). Within each modality, as ``mmstudio compare`` counts it, an
item's change is 1 − the Jaccard index of its k nearest items (cosine, its own modality) in ``a`` and
in ``b`` (:func:`mmstudio.analysis.alignment.compare_stats.neighbour_jaccard`): 0 when it keeps every
neighbour, 1 when it keeps none. A modality with fewer than ``MIN_ROWS`` matched rows has no
neighbourhood worth the name (``compare_tables`` leaves it out too): its rows get NaN.
"""

from __future__ import annotations

import numpy as np

from mmstudio.analysis.alignment.compare_stats import K, neighbour_jaccard

MIN_ROWS = 4   # as compare_tables: fewer matched rows of a modality are "too few to compare"


def neighbour_change(a, b, k: int = K) -> np.ndarray:
    """Per row of the matched tables ``a`` and ``b``: 1 − Jaccard of its k nearest rows of its modality in
    each (float64; NaN where its modality has fewer than ``MIN_ROWS`` rows)."""
    if len(a) != len(b):
        raise ValueError(f"matched tables have the same rows: {len(a)} and {len(b)}")
    change = np.full(len(a), np.nan)
    for modality in a.modalities:
        rows = a.rows(modality)
        if len(rows) >= MIN_ROWS:
            jaccard, _chance = neighbour_jaccard(a.vectors[rows], b.vectors[rows], k)
            change[rows] = 1.0 - jaccard
    return change
