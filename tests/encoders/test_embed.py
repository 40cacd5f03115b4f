"""The embedding pipeline: bad items as values, cache hits without model calls, batch invariance."""

from pathlib import Path

import numpy as np
import pytest
from corpus import write_corpus

from mmstudio.core.cache import EmbeddingCache
from mmstudio.core.dataset import Dataset, MediaRef, Sample
from mmstudio.core.jobs import Cancelled, Job
from mmstudio.core.sources.inputs import load_paths
from mmstudio.encoders.embed import EmbeddedBatch, embed_dataset
from mmstudio.encoders.registry import load_encoder


class Counting:
    """Wraps an encoder's ``encode`` to count the items the model really saw."""

    def __init__(self, encoder):
        self.items = 0
        self.calls = 0
        original = encoder.encode

        def encode(modality, batch, **kw):
            out = original(modality, batch, **kw)
            self.calls += 1
            self.items += len(out.vectors)
            return out

        encoder.encode = encode


@pytest.fixture(scope="module")
def clip(checkpoints):
    return load_encoder(str(checkpoints["clip"]), device="cpu")


@pytest.fixture(scope="module")
def clap(checkpoints):
    return load_encoder(str(checkpoints["clap"]), device="cpu")


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path / "corpus")


def test_bad_files_carry_their_reason_and_every_good_file_is_embedded(corpus, clip, clap, tmp_path):
    (good, bad) = corpus
    dataset = load_paths([tmp_path / "corpus"])
    for encoder, modalities in ((clip, ("image", "text")), (clap, ("audio", "text"))):
        table = embed_dataset(dataset, encoder, batch_size=4)
        embedded = {Path(p) for p in table.path}
        expected = {p for m in modalities for p in good[m]}
        assert embedded == expected
        reasons = {Path(e.path): e.reason for e in table.errors if e.path}
        for path, fragment in bad.items():
            if path.suffix in (".docx",) or encoder.modalities.count(_modality(path)):
                assert fragment in reasons[path], (path, reasons.get(path))
        assert "symlink loop" in " ".join(e.reason for e in table.errors)
        assert np.isfinite(table.vectors).all()
        np.testing.assert_allclose(np.linalg.norm(table.vectors, axis=1), 1, atol=1e-5)


def _modality(path):
    from mmstudio.core.media.formats import modality_of

    return modality_of(path)


def test_items_the_model_cannot_embed_are_reported(corpus, clip, tmp_path):
    table = embed_dataset(load_paths([tmp_path / "corpus" / "sounds"]), clip)
    assert len(table) == 0
    assert {e.reason for e in table.errors} >= {f"model {clip.name} does not embed audio"}


def test_same_vectors_whatever_the_batch_size(corpus, clip, clap, tmp_path):
    dataset = load_paths([tmp_path / "corpus"])
    for encoder in (clip, clap):
        tables = [embed_dataset(dataset, encoder, batch_size=b, workers=w) for b, w in ((1, 1), (3, 2), (64, 4))]
        for other in tables[1:]:
            assert other.sample_id.tolist() == tables[0].sample_id.tolist()
            np.testing.assert_allclose(other.vectors, tables[0].vectors, atol=2e-5)


def test_second_run_is_served_by_the_cache_without_model_calls(corpus, clip, tmp_path):
    dataset = load_paths([tmp_path / "corpus"])
    cache = EmbeddingCache(tmp_path / "cache")
    counter = Counting(clip)
    first = embed_dataset(dataset, clip, cache=cache)
    seen = counter.items
    assert seen == len(first) > 0
    second = embed_dataset(load_paths([tmp_path / "corpus"]), clip, cache=cache)
    assert counter.items == seen  # no model call at all
    np.testing.assert_array_equal(second.vectors, first.vectors)
    assert [str(e) for e in second.errors] == [str(e) for e in first.errors]


def test_a_corrupted_cache_entry_is_recomputed(corpus, clip, tmp_path):
    import sqlite3

    dataset = load_paths([tmp_path / "corpus" / "images"])
    cache = EmbeddingCache(tmp_path / "cache")
    first = embed_dataset(dataset, clip, cache=cache)
    with sqlite3.connect(cache.path) as db:
        (key,) = db.execute("SELECT key FROM vectors LIMIT 1").fetchone()
        db.execute("UPDATE vectors SET vec = zeroblob(length(vec)) WHERE key = ?", (key,))
    counter = Counting(clip)
    again = embed_dataset(dataset, clip, cache=cache)
    assert counter.items == 1  # only the corrupted entry went back to the model
    np.testing.assert_allclose(again.vectors, first.vectors, atol=1e-6)


def test_changed_file_content_is_not_served_stale(tmp_path, clip):
    from corpus import picture

    path = tmp_path / "d" / "a.png"
    path.parent.mkdir()
    picture(1).save(path)
    cache = EmbeddingCache(tmp_path / "cache")
    before = embed_dataset(load_paths([path]), clip, cache=cache).vectors
    picture(2).save(path)
    after = embed_dataset(load_paths([path]), clip, cache=cache).vectors
    assert not np.allclose(before, after)


def test_progress_partial_results_and_metadata_columns(clip, tmp_path):
    samples = [Sample(f"s{i}", {"text": MediaRef("text", text=f"caption number {i}")}, label="even" if i % 2 == 0 else "odd",
                      metadata={"n": str(i), "path": "clash"}) for i in range(10)]

    class Recorder(Job):
        def __init__(self):
            super().__init__()
            self.partials = []

        def partial(self, result):
            self.partials.append(result)

    job = Recorder()
    table = embed_dataset(Dataset(samples), clip, batch_size=4, job=job)
    assert (job.done, job.total) == (10, 10)
    assert [len(p.sample_ids) for p in job.partials] == [4, 4, 2]
    assert isinstance(job.partials[0], EmbeddedBatch)
    np.testing.assert_array_equal(np.concatenate([p.vectors for p in job.partials]), table.vectors)
    np.testing.assert_array_equal(table.columns["n"], np.arange(10.0))
    assert table.columns["meta_path"].tolist() == ["clash"] * 10
    assert table.label.tolist()[:3] == ["even", "odd", "even"]


def test_each_partial_holds_its_rows_as_the_final_table_has_them_and_cached_rows_come_at_once(clip, tmp_path):
    """What a window draws before the end: every row once, with the label and metadata the final table
    gives it; a second run finds everything in the cache and reports it as one partial, in the same order."""
    samples = [Sample(f"s{i}", {"text": MediaRef("text", text=f"caption {i}")}, label=f"l{i % 3}",
                      metadata={"n": str(i)}) for i in range(10)]

    class Recorder(Job):
        def __init__(self):
            super().__init__()
            self.partials = []

        def partial(self, result):
            self.partials.append(result)

    cache = EmbeddingCache(tmp_path / "cache")
    runs = []
    for _ in range(2):
        job = Recorder()
        final = embed_dataset(Dataset(samples), clip, batch_size=4, cache=cache, job=job)
        runs.append(job.partials)
        shown = [p.table for p in job.partials]
        assert sum(len(t) for t in shown) == len(final)
        rows = {(s, m): i for i, (s, m) in enumerate(zip(final.sample_id, final.modality))}
        for part in shown:
            at = [rows[key] for key in zip(part.sample_id, part.modality)]
            np.testing.assert_array_equal(part.vectors, final.vectors[at])
            assert part.label.tolist() == final.label[at].tolist()
            np.testing.assert_array_equal(part.columns["n"], final.columns["n"][at])
    assert [len(p.table) for p in runs[0]] == [4, 4, 2] and [len(p.table) for p in runs[1]] == [10]
    assert np.concatenate([p.table.sample_id for p in runs[0]]).tolist() == runs[1][0].table.sample_id.tolist()


def test_cancel_stops_the_work(clip):
    samples = [Sample(f"s{i}", {"text": MediaRef("text", text=f"caption {i}")}) for i in range(40)]

    class CancelAfterFirst(Job):
        def partial(self, result):
            self.cancel()

    with pytest.raises(Cancelled):
        embed_dataset(Dataset(samples), clip, batch_size=4, job=CancelAfterFirst())


def test_an_item_the_model_fails_on_is_isolated_and_the_rest_embedded(clip, monkeypatch):
    original = clip.prepare

    def prepare(modality, items):
        if any("poison" in t for t in items):
            raise ValueError("cannot tokenize this")
        return original(modality, items)

    monkeypatch.setattr(clip, "prepare", prepare)
    texts = ["fine one", "fine two", "poison pill", "fine three", "fine four"]
    samples = [Sample(f"s{i}", {"text": MediaRef("text", text=t)}) for i, t in enumerate(texts)]
    table = embed_dataset(Dataset(samples), clip, batch_size=8)
    assert table.sample_id.tolist() == ["s0", "s1", "s3", "s4"]
    (error,) = table.errors
    assert error.sample_id == "s2" and "model failed on this item (ValueError: cannot tokenize this)" == error.reason


@pytest.fixture(scope="module")
def nan_clip(checkpoints, tmp_path_factory):
    """The tiny CLIP with NaN in its image projection, as a checkpoint folder with broken weights is."""
    import shutil

    from safetensors.numpy import load_file, save_file

    folder = tmp_path_factory.mktemp("nan-clip") / "clip"
    shutil.copytree(checkpoints["clip"], folder)
    weights = load_file(folder / "model.safetensors")
    name = next(k for k in weights if "visual_projection" in k)
    weights[name] = np.full_like(weights[name], np.nan)
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    return load_encoder(str(folder), device="cpu")


def test_non_finite_embeddings_are_error_rows_and_never_cached(nan_clip, tmp_path):
    from corpus import picture

    folder = tmp_path / "d"
    folder.mkdir()
    picture(1).save(folder / "a.png")
    (folder / "a.txt").write_text("a red circle")
    cache = EmbeddingCache(tmp_path / "cache")
    for _ in range(2):                                          # the second time too: nothing was cached
        table = embed_dataset(load_paths([folder]), nan_clip, cache=cache)
        assert table.modality.tolist() == ["text"] and np.isfinite(table.vectors).all()
        (error,) = table.errors
        assert (Path(error.path).name, error.modality) == ("a.png", "image")
        assert error.reason == "the model gave a non-finite embedding (NaN or infinity)"
        assert cache.count(nan_clip.identity) == 1              # the caption only


def test_file_names_that_are_not_utf8_are_embedded_and_kept_exactly(clip, tmp_path):
    import os

    from corpus import picture

    folder = tmp_path / os.fsdecode(b"caf\xe9")                 # the folder's name is the label
    folder.mkdir()
    picture(1).save(folder / os.fsdecode(b"r\xe9sum\xe9.png"), format="PNG")
    (folder / os.fsdecode(b"r\xe9sum\xe9.txt")).write_bytes(b"a cat")
    picture(2).save(folder / os.fsdecode(b"r\xe8sum\xe8.png"), format="PNG")   # shows the same: "r�sum�"
    cache = EmbeddingCache(tmp_path / "cache")
    table = embed_dataset(load_paths([folder]), clip, cache=cache)
    assert not table.errors
    assert sorted(os.fsencode(os.path.basename(p)) for p in table.path) == \
        [b"r\xe8sum\xe8.png", b"r\xe9sum\xe9.png", b"r\xe9sum\xe9.txt"]
    assert sorted(set(table.sample_id.tolist())) == ["r\ufffdsum\ufffd", "r\ufffdsum\ufffd#2"]
    assert set(table.label.tolist()) == {"caf\ufffd"}
    table.write(tmp_path / "t.parquet")
    back = type(table).read(tmp_path / "t.parquet")
    assert back.path.tolist() == table.path.tolist()
    again = embed_dataset(load_paths([folder]), clip, cache=cache)       # and the cache finds them again
    np.testing.assert_array_equal(again.vectors, table.vectors)


def test_a_manifest_pointing_outside_its_folder_is_read_and_nothing_is_written_but_the_output(tmp_path, caplog):
    """`../`, `~` and absolute paths are read (with a warning naming them); the only new file is --out."""
    from mmstudio.__main__ import main

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.txt").write_text("a caption outside")
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.txt").write_text("a caption inside")
    (data / "manifest.csv").write_text(f"id,text\na,in.txt\nb,../outside/o.txt\nc,{outside / 'o.txt'}\n")
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert main(["embed", str(data / "manifest.csv"), "--out", str(tmp_path / "out" / "t.parquet")]) == 0
    assert "2 paths lead outside the manifest's folder, read anyway" in caplog.text
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if "mmstudio-cache" not in p.parts}
    assert set(after) - set(before) == {tmp_path / "out", tmp_path / "out" / "t.parquet"}
    assert all(after[p] == before[p] for p in before if p in after and p.is_file())
