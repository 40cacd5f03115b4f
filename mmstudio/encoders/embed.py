"""Embed a :class:`Dataset` with an :class:`Encoder`: cached, batched, decoding overlapped with the model.

Worker threads hash, decode and preprocess the next batches while the model runs the
current one. A file that cannot be decoded, or an item the model chokes on, becomes an
:class:`ItemError` and the batch goes on without it. Progress, partial results and
cancellation go through the job handle.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from mmstudio import __version__
from mmstudio.core.cache import EmbeddingCache, digest_bytes
from mmstudio.core.dataset import Dataset, MediaRef, Sample
from mmstudio.core.errors import ItemError, MediaError
from mmstudio.core.jobs import Cancelled, Job
from mmstudio.core.media.decode import DECODE_VERSION, decode
from mmstudio.core.tables.captions import CAPTION_INDEX
from mmstudio.core.tables.columns import metadata_column_names
from mmstudio.core.tables.table import RESERVED_COLUMNS, EmbeddingTable
from mmstudio.encoders.base import Encoder, TokenFeatures
from mmstudio.encoders.prepared import model_failure

NON_FINITE = "the model gave a non-finite embedding (NaN or infinity)"


@dataclass
class _Work:
    index: int
    sample: Sample
    ref: MediaRef
    caption: int | None = None   # with every caption embedded: which of the sample's captions a text row is

    def error(self, reason: str) -> ItemError:
        return ItemError(self.ref.path or self.ref.where, self.ref.modality, reason, self.sample.id)


@dataclass
class EmbeddedBatch:
    """A partial result: rows that just finished (sent through ``job.partial``): a batch the model
    embedded, or every item found in the cache at once. ``table`` holds the same rows as the final
    table will (labels, paths, metadata), so a window can show them before the rest is done."""

    sample_ids: list[str]
    modalities: list[str]
    vectors: np.ndarray
    table: EmbeddingTable | None = None


@dataclass
class _State:
    vectors: dict[int, np.ndarray] = field(default_factory=dict)
    tokens: dict[int, TokenFeatures] = field(default_factory=dict)
    failed: dict[int, ItemError] = field(default_factory=dict)
    notes: dict[int, ItemError] = field(default_factory=dict)   # items used, with something a user should know


def embed_dataset(dataset: Dataset, encoder: Encoder, *, batch_size: int | None = None,
                  cache: EmbeddingCache | None = None, tokens: bool = False, job: Job | None = None,
                  workers: int | None = None, captions: str = "first") -> EmbeddingTable:
    """Embed every item of ``dataset`` the encoder understands; return the table with its errors.

    ``captions``: for samples with several captions (``Sample.captions``), ``"first"`` embeds the first
    as the sample's text row, ``"all"`` each as its own text row, numbered in a ``caption_index``
    column (:mod:`mmstudio.core.tables.captions`)."""
    if captions not in ("first", "all"):
        raise ValueError(f"captions must be 'first' or 'all', not {captions!r}")
    job = job or Job()
    every = captions == "all"
    if cache is not None and not cache.available:  # it said why, once; hashing the files would be wasted
        cache = None
    errors = list(dataset.errors)
    work: list[_Work] = []
    for sample in dataset.samples:
        for modality in sample.modalities:
            item = _Work(len(work), sample, sample.items[modality], 0 if every and modality == "text" else None)
            if modality in encoder.modalities:
                work.append(item)
            else:
                errors.append(item.error(f"model {encoder.name} does not embed {modality}"))
        if every and "text" in encoder.modalities and "text" in sample.items:
            for k, caption in enumerate(sample.captions[1:], start=1):
                work.append(_Work(len(work), sample, MediaRef("text", text=caption), k))
    state = _State()
    job.progress(0, len(work))
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers, thread_name_prefix="mmstudio-decode") as pool:
        keys = _cache_keys(work, cache, pool, state, job) if cache is not None else {}
        if keys and not tokens:
            hits = cache.get_many(encoder.identity, list(set(keys.values())))
            for index, key in keys.items():
                if key in hits:
                    state.vectors[index] = hits[key]
        # the rows found in the cache, grouped by modality like the batches the model runs: a folder
        # shows its rows in the same order whether it was embedded now or before
        _report_rows([w for m in encoder.modalities for w in work if w.index in state.vectors and w.ref.modality == m],
                     encoder, state, job, every)
        job.progress(len(state.vectors) + len(state.failed), len(work))
        todo = [w for w in work if w.index not in state.vectors and w.index not in state.failed]
        _run_model(todo, encoder, batch_size, pool, workers + 1, tokens, cache, keys, state, job, every)
    table = _table(work, encoder, state, errors + [state.failed[i] for i in sorted(state.failed)], every)
    table.notes = list(dataset.notes) + table.notes + [state.notes[i] for i in sorted(state.notes) if i in state.vectors]
    return table


def _cache_keys(work, cache, pool, state, job) -> dict[int, str]:
    """Cache keys from content digests: files' and archive members' in one batch (a member's is the
    digest of its bytes, so a member and a file holding the same bytes share an entry), inline captions here."""
    job.status("checking the cache")
    digests = cache.content_digests([w.ref.path for w in work if w.ref.path is not None], map_fn=pool.map)
    keys = {}
    for item in work:
        ref = item.ref
        if ref.text is not None:
            digest = digest_bytes(ref.text.encode("utf-8", "surrogatepass"))
        else:
            digest = digests[ref.path]
            if isinstance(digest, MediaError):
                state.failed[item.index] = item.error(digest.reason)
                continue
            if isinstance(digest, OSError):
                state.failed[item.index] = item.error(f"cannot read file ({digest.strerror or digest})")
                continue
        keys[item.index] = cache_key(ref.modality, digest)
    job.check()
    return keys


def cache_key(modality: str, digest: str) -> str:
    """The cache key of an item: its content digest, modality and the decoder's version."""
    return f"v{DECODE_VERSION}:{modality}:{digest}"


def _run_model(todo, encoder, batch_size, pool, depth, tokens, cache, keys, state, job, every) -> None:
    batches = []
    for modality in encoder.modalities:
        items = [w for w in todo if w.ref.modality == modality]
        size = batch_size or encoder.batch_size(modality)
        batches += [(modality, items[i:i + size]) for i in range(0, len(items), size)]
    pending = deque()
    upcoming = iter(batches)

    def submit_next():
        batch = next(upcoming, None)
        if batch is not None:
            pending.append((batch[0], pool.submit(_decode_batch, encoder, *batch)))

    for _ in range(depth):
        submit_next()
    try:
        while pending:
            job.check()
            modality, future = pending.popleft()
            decoded, prepared, failures, notes = future.result()
            submit_next()
            job.status(f"embedding {modality}")
            for item, error in failures:
                state.failed[item.index] = item.error(error)
            for item, note in notes:
                state.notes[item.index] = item.error(note)
            done = _encode(encoder, modality, decoded, prepared, tokens, state)
            if cache is not None and done:
                cache.put_many(encoder.identity, {keys[i]: state.vectors[i] for i in done if i in keys})
            if done:
                _report_rows([w for w, _ in decoded if w.index in state.vectors], encoder, state, job, every)
            job.progress(len(state.vectors) + len(state.failed))
    except Cancelled:
        for _, future in pending:
            future.cancel()
        raise


def _report_rows(finished: list[_Work], encoder: Encoder, state: _State, job, every: bool = False) -> None:
    """Rows that just got their vectors, as a partial result (nothing when there are none)."""
    if finished:
        rows = _table(finished, encoder, state, [], every)
        job.partial(EmbeddedBatch(rows.sample_id.tolist(), rows.modality.tolist(), rows.vectors, rows))


def _decode_batch(encoder: Encoder, modality: str, items: list[_Work]):
    """In a worker thread: decode each item, then preprocess the batch for the model.

    Returns ``(decoded, prepared, failures, notes)``: ``[(item, media)]``, the model input (None when
    preprocessing the whole batch failed; the main thread then isolates the culprit),
    ``[(item, reason)]`` and ``[(item, note)]`` (see :func:`~mmstudio.core.media.decode.decode`).
    """
    decoded, failures, notes = [], [], []
    for item in items:
        noted = []
        media, reason = decode_item(item.ref, encoder, noted)
        if reason is not None:
            failures.append((item, reason))
        else:
            decoded.append((item, media))
            if noted:
                notes.append((item, "; ".join(noted)))
    prepared = None
    if decoded:
        try:
            prepared = encoder.prepare(modality, [m for _, m in decoded])
        except Exception:
            prepared = None
    return decoded, prepared, failures, notes


def decode_item(ref: MediaRef, encoder, notes: list | None = None) -> tuple[object, str | None]:
    """``(media, None)``, or ``(None, reason)`` when the item cannot be used. ``encoder`` is anything
    with the encoder's ``audio_rate``, ``max_audio_seconds`` and ``image_draft`` (the Ray engine's
    decode tasks pass the encoder's weightless copy, :meth:`~mmstudio.encoders.base.Encoder.without_model`)."""
    try:
        return decode(ref, audio_rate=encoder.audio_rate, max_audio_seconds=encoder.max_audio_seconds,
                      image_draft=encoder.image_draft, notes=notes), None
    except MediaError as exc:
        return None, exc.reason
    except Exception as exc:  # a decoder bug must not stop the batch
        return None, f"could not decode ({type(exc).__name__}: {exc})"


def _encode(encoder, modality, decoded, prepared, tokens, state, join=None) -> list[int]:
    """Encode a prepared batch; on failure split it to isolate the item at fault.

    ``decoded``: ``[(item, media)]``, whose media :meth:`Encoder.prepare` makes the batch when ``prepared``
    is None; with ``join`` (:func:`~mmstudio.encoders.prepared.join_prepared`) they are prepared items already."""
    if not decoded:
        return []
    try:
        if prepared is None:
            payloads = [m for _, m in decoded]
            prepared = join(payloads) if join is not None else encoder.prepare(modality, payloads)
        out = encoder.encode(modality, prepared, tokens=tokens)
    except (Cancelled, KeyboardInterrupt):
        raise
    except Exception as exc:
        if len(decoded) == 1:
            item = decoded[0][0]
            state.failed[item.index] = item.error(model_failure(exc))
            return []
        half = len(decoded) // 2
        return _encode(encoder, modality, decoded[:half], None, tokens, state, join) + \
            _encode(encoder, modality, decoded[half:], None, tokens, state, join)
    finite = np.isfinite(np.asarray(out.vectors, dtype=np.float32)).all(axis=1)
    done = []
    for row, (item, _) in enumerate(decoded):
        if not finite[row]:  # NaN weights, an overflowing input: an error, never a row or a cache entry
            state.failed[item.index] = item.error(NON_FINITE)
            continue
        state.vectors[item.index] = out.vectors[row]
        if out.tokens is not None:
            state.tokens[item.index] = out.tokens[row]
        done.append(item.index)
    return done


def _value(item: _Work, key: str):
    """A row's value of a metadata column: the sample's, but a caption row's own ``caption``."""
    return item.ref.text if key == "caption" and item.caption is not None else item.sample.metadata.get(key)


def _table(work: list[_Work], encoder: Encoder, state: _State, errors: list[ItemError],
           every: bool = False) -> EmbeddingTable:
    rows = [w for w in work if w.index in state.vectors]
    names: dict[str, None] = {}
    for w in rows:
        for key in w.sample.metadata:
            names.setdefault(key, None)
    renamed, notes = metadata_column_names(names, RESERVED_COLUMNS + (CAPTION_INDEX,))
    columns = {renamed[k]: [_value(w, k) for w in rows] for k in names}
    if every:  # numbers on text rows, blank elsewhere (float even in a batch without text)
        columns[CAPTION_INDEX] = np.array([np.nan if w.caption is None else w.caption for w in rows], np.float64)
    vectors = np.stack([state.vectors[w.index] for w in rows]) if rows else np.zeros((0, encoder.dim), np.float32)
    return EmbeddingTable(
        sample_id=[w.sample.id for w in rows],
        modality=[w.ref.modality for w in rows],
        path=[w.ref.path for w in rows],
        label=[w.sample.label for w in rows],
        vectors=vectors,
        columns=columns,
        model=encoder.name,
        info={"identity": encoder.identity, "device": encoder.device, "precision": encoder.precision,
              "mmstudio": __version__},
        errors=errors,
        tokens=[state.tokens.get(w.index) for w in rows] if state.tokens else None,
        notes=[ItemError(None, None, note) for note in notes],
    )
