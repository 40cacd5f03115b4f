"""An embedding table as a pandas DataFrame (``EmbeddingTable.to_pandas``), for notebooks.

pandas is not one of mmstudio's dependencies: it is imported here, when a frame is asked for, and
its absence is one clear ImportError saying how to install it.
"""

from __future__ import annotations

import numpy as np

FRONT = ("sample_id", "modality", "label", "path")   # the table's base columns, in the order a reader scans them
VECTOR_LAYOUTS = ("column", "columns", "none")
NO_PANDAS = ("EmbeddingTable.to_pandas() needs pandas, which mmstudio does not install: "
             "pip install pandas (or pip install 'mmstudio[notebook]')")


def to_pandas(table, vectors: str = "column"):
    """One row per table row: ``sample_id``, ``modality``, ``label``, ``path`` (None for an inline
    caption), every extra column of the table (metadata such as ``caption``, ``caption_index``,
    ``x``/``y`` of a projection) and the vector: ``vectors="column"`` one ``embedding`` column holding
    each row's float32 array (``np.stack(df.embedding)`` gives the matrix back), ``"columns"`` one
    column per dimension (``dim_0`` …), ``"none"`` no vector. Items that could not be embedded are
    not rows: they are ``table.errors``."""
    if vectors not in VECTOR_LAYOUTS:
        raise ValueError(f"vectors={vectors!r}: choose one of {', '.join(map(repr, VECTOR_LAYOUTS))}")
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(NO_PANDAS) from None
    data = {name: getattr(table, name) for name in FRONT}
    data.update(table.columns)
    if vectors == "column":
        data["embedding"] = list(np.array(table.vectors, dtype=np.float32))   # one copy, a row per array
    elif vectors == "columns":
        names = [f"dim_{i}" for i in range(table.dim)]
        clash = sorted(set(names) & set(data))
        if clash:
            raise ValueError(f"the table has a column named {clash[0]}; use vectors='column'")
        data.update(zip(names, np.array(table.vectors, dtype=np.float32).T))
    return pd.DataFrame(data, index=pd.RangeIndex(len(table)))
