"""Model input cut into items and joined back into batches, so it can be prepared on one machine and
run through the model on another (the Ray engine: decode tasks prepare, encoder actors only encode).

:meth:`Encoder.prepare` gives a dict whose values hold the batch along their first axis: torch
tensors, numpy arrays or lists. :func:`split_prepared` cuts it into one such dict per item (each
value a batch of one, a copy: a torch slice would pickle its whole batch); :func:`join_prepared`
concatenates items back. Items prepared in one batch share its padding, so they join again;
:func:`input_shape` tells which items can share a batch.
"""

from __future__ import annotations

import numpy as np

__all__ = ["input_shape", "join_prepared", "model_failure", "prepare_items", "split_prepared"]


def model_failure(exc: BaseException) -> str:
    """The reason an item gets when preparing it or running the model on it fails (as the local engine says it)."""
    return f"model failed on this item ({type(exc).__name__}: {exc})"


def _is_torch(value) -> bool:
    return type(value).__module__.startswith("torch")


def split_prepared(batch, n: int) -> list[dict]:
    """A prepared batch of ``n`` items → ``n`` prepared batches of one."""
    if not isinstance(batch, dict):
        raise TypeError(f"prepared model input must be a dict of per-item values, not {type(batch).__name__}")
    items: list[dict] = [{} for _ in range(n)]
    for key, value in batch.items():
        if len(value) != n:
            raise ValueError(f"prepared input {key!r} holds {len(value)} entries for {n} items")
        for i, item in enumerate(items):
            if isinstance(value, (list, tuple)):
                item[key] = [value[i]]
            elif _is_torch(value):
                item[key] = value[i:i + 1].clone()
            else:
                item[key] = np.array(value[i:i + 1])
    return items


def input_shape(item: dict) -> tuple:
    """What items must share to be joined: their keys, and each array's type, dtype and shape past the first axis."""
    return tuple((k, type(v).__name__, str(getattr(v, "dtype", "")), tuple(getattr(v, "shape", ())[1:]))
                 for k, v in item.items())


def join_prepared(items: list[dict]) -> dict:
    """Items from :func:`split_prepared` of the same :func:`input_shape` → one prepared batch."""
    out = {}
    for key, first in items[0].items():
        parts = [item[key] for item in items]
        if isinstance(first, (list, tuple)):
            out[key] = [x for part in parts for x in part]
        elif _is_torch(first):
            import torch

            out[key] = torch.cat(parts)
        else:
            out[key] = np.concatenate(parts)
    return out


def prepare_items(encoder, modality: str, media: list) -> list[tuple[dict | None, str | None]]:
    """Prepare decoded media as one batch, cut into items: per item ``(input, None)``, or ``(None, reason)``
    for an item that preparing fails on (a failing batch is halved until the culprit is alone)."""
    try:
        batch = encoder.prepare(modality, media)
    except Exception as exc:
        if len(media) == 1:
            return [(None, model_failure(exc))]
        half = len(media) // 2
        return prepare_items(encoder, modality, media[:half]) + prepare_items(encoder, modality, media[half:])
    return [(item, None) for item in split_prepared(batch, len(media))]
