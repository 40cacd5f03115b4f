"""Several captions of one sample in an embedding table.

A sample with several captions (a COCO image, an AudioCaps or Clotho clip) embedded with every
caption has one text row per caption: the rows share the sample id and are told apart by the
``caption_index`` column (0 for the first caption, 1, 2… in the source's order; blank on image and
audio rows). Only text rows may repeat within a sample, and only with distinct indices
(:func:`mmstudio.core.tables.checks.check_samples`). A table without the column has one row per
(sample, modality), as before.
"""

from __future__ import annotations

import numpy as np

CAPTION_INDEX = "caption_index"


def caption_indices(table) -> np.ndarray:
    """Each row's caption index (int64): the column's value on text rows, 0 where it is blank or absent."""
    values = table.columns.get(CAPTION_INDEX)
    if values is None or values.dtype.kind != "f":
        return np.zeros(len(table), np.int64)
    return np.where(np.isfinite(values), values, 0).astype(np.int64)


def row_keys(table) -> list[tuple]:
    """What names a row within its table: (sample id, modality, caption index)."""
    return list(zip(table.sample_id.tolist(), table.modality.tolist(), caption_indices(table).tolist()))
