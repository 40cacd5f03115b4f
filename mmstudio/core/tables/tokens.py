"""Per-row token features (image patches, audio frames, text tokens) and how they travel in Parquet.

An encoder gives them on request (``tokens=True``); :class:`~mmstudio.core.tables.table.EmbeddingTable`
keeps one :class:`TokenFeatures` (or None) per row in ``tokens``. A Parquet table written from such a
table carries them in two columns (and ``"tokens": true`` in its ``mmstudio`` metadata, so a user's
own column of that name is never taken for them):

- ``token_vectors``: the row's (T, D) features, row-major, as one list of float32 (null: no tokens);
- ``token_info``: JSON text: ``{"count": T, "joint": …, "grid": [rows, cols], "tokens": […], "times": […]}``.

Float32, as computed: the demo world's 1,000 scenes (64 patches + up to 25 frames of 128 values a
scene) take about 45 MB instead of 1.5 MB without tokens, which is why they are asked for
(``mmstudio embed --tokens``) and not written by default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

VECTORS, INFO = "token_vectors", "token_info"


@dataclass
class TokenFeatures:
    """Per-token features of one item, for attention maps and token-level fusion.

    ``vectors`` are (T, D) float32, projected into the shared space when ``joint`` is true.
    Images give ``grid`` (rows, cols) of patches in row-major order; texts give ``tokens``
    (their strings); audio gives ``times`` (T,) with each frame's centre in seconds.
    """

    modality: str
    vectors: np.ndarray
    joint: bool = True
    grid: tuple[int, int] | None = None
    tokens: list[str] | None = None
    times: np.ndarray | None = None

    def info(self) -> dict:
        """What ``token_info`` holds for this item (everything but the vectors)."""
        out = {"count": int(len(self.vectors)), "joint": bool(self.joint)}
        if self.grid is not None:
            out["grid"] = [int(v) for v in self.grid]
        if self.tokens is not None:
            out["tokens"] = [str(t) for t in self.tokens]
        if self.times is not None:
            out["times"] = [float(t) for t in self.times]
        return out


def token_arrays(tokens: list, n_errors: int):
    """The two Parquet columns for ``tokens`` (one entry per row, None where a row has none),
    followed by ``n_errors`` null rows (the error rows a table file carries after its rows)."""
    import pyarrow as pa

    lengths = np.zeros(len(tokens) + n_errors, np.int64)
    parts, infos = [], []
    for i, tok in enumerate(tokens):
        if tok is None:
            infos.append(None)
            continue
        flat = np.ascontiguousarray(tok.vectors, dtype=np.float32).reshape(-1)
        parts.append(flat)
        lengths[i] = len(flat)
        infos.append(json.dumps(tok.info()))
    infos += [None] * n_errors
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = pa.array(np.concatenate(parts) if parts else np.zeros(0, np.float32), type=pa.float32())
    nulls = pa.array([v is None for v in infos])
    vectors = pa.LargeListArray.from_arrays(pa.array(offsets, type=pa.int64()), values, mask=nulls)
    return vectors, pa.array(infos, type=pa.string())


def read_tokens(vectors, info, modality, where) -> list:
    """Parquet columns → one :class:`TokenFeatures` (or None) per row; a malformed entry is a
    :class:`~mmstudio.core.tables.checks.TableFormatError` naming the file and the row."""
    import pyarrow as pa

    from mmstudio.core.tables.checks import TableFormatError

    kind = vectors.type
    if not ((pa.types.is_list(kind) or pa.types.is_large_list(kind)) and pa.types.is_floating(kind.value_type)):
        raise TableFormatError(f"{where}: column '{VECTORS}' is {kind}, not a list of numbers")
    texts = info.to_pylist()
    out = []
    for chunk in vectors.chunks:
        chunk = chunk.cast(pa.large_list(pa.float32()))
        offsets = np.asarray(chunk.offsets.to_numpy(zero_copy_only=False), np.int64)
        values = np.asarray(chunk.values.to_numpy(zero_copy_only=False), np.float32)
        valid = np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), bool)
        for j in range(len(chunk)):
            row = len(out)
            text = texts[row]
            if not valid[j] or text is None:
                out.append(None)
                continue
            flat = values[offsets[j]:offsets[j + 1]]
            out.append(_features(flat, text, modality[row], f"{where}: row {row}"))
    return out


def _features(flat: np.ndarray, text: str, modality, where) -> TokenFeatures:
    from mmstudio.core.tables.checks import TableFormatError

    try:
        meta = json.loads(text)
        count = int(meta["count"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise TableFormatError(f"{where}: its '{INFO}' is not a JSON object with a token count") from None
    if count <= 0 or len(flat) % count:
        raise TableFormatError(f"{where}: {len(flat)} token values do not make {count} tokens")
    if not np.isfinite(flat).all():
        raise TableFormatError(f"{where}: its token features hold NaN or infinity")
    grid = meta.get("grid")
    times = meta.get("times")
    return TokenFeatures(str(modality), flat.reshape(count, -1), bool(meta.get("joint", True)),
                         tuple(grid) if grid is not None else None, meta.get("tokens"),
                         np.asarray(times, np.float64) if times is not None else None)
