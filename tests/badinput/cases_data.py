"""The data layer under bad input: file names that are not UTF-8, caches that cannot be used,
NaN and infinity, table files that are not what they claim, paths that leave their folder.

Each case builds its input in its folder (see harness.py). Successful runs (exit 0) are here
too where the bad input must be survived rather than refused: the harness still checks that no
traceback reached the user and that the reason was said.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from harness import Case, copy_into, shared, small_table

# --------------------------------------------------------------------------- builders


def _picture(path: Path, seed: int = 0) -> None:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="PNG")


def _media_with_odd_names(folder: Path) -> Path:
    """Latin-1 names from an old archive, one of them a broken image; and one plain file."""
    media = folder / "media"
    media.mkdir()
    _picture(media / os.fsdecode(b"caf\xe9.png"), 1)
    (media / os.fsdecode(b"caf\xe9.txt")).write_text("a small cafe")
    (media / "ok.txt").write_text("a plain caption")
    (media / os.fsdecode(b"bad\xff.png")).write_bytes(b"this is not a picture")
    return media


def _table(folder: Path, name: str = "t.parquet", n: int = 60, dim: int = 8, nan_rows=(), path=None,
           model: str = "test-model") -> Path:
    """A valid table (n samples × image, text, labels a/b/c), optionally with non-finite rows."""
    from mmstudio.core.tables.table import EmbeddingTable

    rng = np.random.default_rng(0)
    base = rng.normal(size=(n, dim)).astype(np.float32)
    vectors = np.concatenate([base + 0.1 * rng.normal(size=base.shape), base + 0.2 * rng.normal(size=base.shape)])
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    for i, value in nan_rows:
        vectors[i, 0] = value
    ids = [f"s{i:03d}" for i in range(n)] * 2
    paths = [path] * (2 * n) if path else [None] * (2 * n)
    table = EmbeddingTable(ids, ["image"] * n + ["text"] * n, paths, ["abc"[i % 3] for i in range(n)] * 2,
                           vectors, model=model)
    target = folder / name
    if target.suffix == ".parquet":
        _write_unchecked_parquet(table, target)
    else:
        table.write(target)
    return target


def _write_unchecked_parquet(table, path: Path) -> None:
    """The table as Parquet, written by pyarrow directly (mmstudio would not write NaN rows)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    flat = pa.array(table.vectors.reshape(-1))
    arrow = pa.table({"sample_id": pa.array(list(table.sample_id), pa.string()),
                      "modality": pa.array(list(table.modality), pa.string()),
                      "path": pa.array([None if p is None else str(p) for p in table.path], pa.string()),
                      "label": pa.array(list(table.label), pa.string()),
                      "embedding": pa.FixedSizeListArray.from_arrays(flat, table.dim)})
    meta = json.dumps({"model": table.model, "dim": table.dim, "info": {}}).encode()
    pq.write_table(arrow.replace_schema_metadata({b"mmstudio": meta}), path)


def _parquet(folder: Path, columns: dict, meta: bytes | None = b'{"model": "m"}', name="t.parquet") -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.table(columns)
    if meta is not None:
        arrow = arrow.replace_schema_metadata({b"mmstudio": meta})
    pq.write_table(arrow, folder / name)
    return folder / name


def _fixed(rows):
    import pyarrow as pa

    rows = np.asarray(rows, np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(rows.reshape(-1)), rows.shape[1])


def _eight(n: int = 8):
    """Eight rows of unit vectors, two modalities, for hand-made files."""
    rng = np.random.default_rng(3)
    v = rng.normal(size=(n, 4)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True), [f"s{i % 4}" for i in range(n)], \
        ["image"] * (n // 2) + ["text"] * (n - n // 2)


def _nan_clip(folder: Path) -> Path:
    """The tests' tiny CLIP with NaN in its image projection (a checkpoint with broken weights)."""
    import tiny_models
    from safetensors.numpy import load_file, save_file

    model = tiny_models.build_tiny_clip(folder / "nan-clip")
    weights = load_file(model / "model.safetensors")
    name = next(k for k in weights if "visual_projection" in k)
    weights[name] = np.full_like(weights[name], np.nan)
    save_file(weights, model / "model.safetensors", metadata={"format": "pt"})
    return model


# --------------------------------------------------------------------------- 1. file names that are not UTF-8
def _embed_odd_names(folder):
    _media_with_odd_names(folder)
    return ["embed", "media", "--out", "out.parquet"]


def _embed_odd_names_no_cache(folder):
    _media_with_odd_names(folder)
    return ["embed", "media", "--out", "out.npz", "--no-cache"]


def _export_odd_path(fmt):
    def build(folder):
        media = _media_with_odd_names(folder)
        _table(folder, "t.npz", n=12, path=str(media / os.fsdecode(b"caf\xe9.png")))
        return ["export", "t.npz", "--format", fmt, "--out", "out" + ("" if fmt == "tensorboard" else f".{fmt}")]
    return build


def _project_odd_path(folder):
    media = _media_with_odd_names(folder)
    _table(folder, "t.npz", n=12, path=str(media / os.fsdecode(b"caf\xe9.png")))
    return ["project", "t.npz", "--method", "pca", "--out", "out.parquet"]


# --------------------------------------------------------------------------- 2. caches that cannot be used
def _embed_with_cache(folder):
    (folder / "a.txt").write_text("a red circle")
    (folder / "b.txt").write_text("a blue square")
    (folder / "a-file").write_text("a file, not a folder")
    return ["embed", "a.txt", "b.txt", "--out", "out.parquet"]


def _embed_with_garbage_cache(folder):
    (folder / "cache").mkdir()
    (folder / "cache" / "embeddings.sqlite3").write_bytes(b"not a database" * 300)
    return _embed_with_cache(folder)


# --------------------------------------------------------------------------- 4. NaN and infinity
def _loud_wav(folder):
    import soundfile as sf

    t = np.arange(16000) / 16000
    sf.write(folder / "loud.wav", (1e30 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000, subtype="FLOAT")
    sf.write(folder / "fine.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000, subtype="FLOAT")
    return ["embed", "loud.wav", "fine.wav", "--out", "out.parquet"]


def _nan_model(folder):
    model = copy_into(shared("nan-clip", _nan_clip), folder)
    _picture(folder / "a.png")
    (folder / "a.txt").write_text("a red circle")
    return ["embed", "a.png", "a.txt", "--model", str(model), "--out", "out.parquet"]


NAN_ROWS = [(i, np.nan) for i in (3, 17, 40, 61, 99)]


def _with_nan_rows(*args, suffix=".parquet", rows=NAN_ROWS):
    def build(folder):
        _table(folder, f"t{suffix}", n=90, nan_rows=rows)
        return [a.replace("IN", f"t{suffix}") for a in args]
    return build


# --------------------------------------------------------------------------- 5. table files
def _bad_parquet(command, columns, meta=b'{"model": "m"}'):
    def build(folder):
        _parquet(folder, columns(), meta)
        return [a.replace("IN", "t.parquet") for a in command]
    return build


def _ok_columns():
    v, ids, mods = _eight()
    return {"sample_id": ids, "modality": mods, "label": ["a", "b"] * 4, "embedding": _fixed(v)}


def _null_in_list():
    import pyarrow as pa

    v, ids, mods = _eight()
    rows = v.tolist()
    rows[2][1] = None
    return {"sample_id": ids, "modality": mods, "label": ["a", "b"] * 4, "embedding": pa.array(rows, pa.list_(pa.float32()))}


def _fixed_strings():
    import pyarrow as pa

    _, ids, mods = _eight()
    return {"sample_id": ids, "modality": mods,
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array([str(i) for i in range(32)]), 4)}


def _int_sample_id():
    v, _, mods = _eight()
    return {"sample_id": [i % 4 for i in range(8)], "modality": mods, "embedding": _fixed(v)}


def _bad_npz(command, **arrays):
    def build(folder):
        np.savez(folder / "t.npz", **arrays)
        return [a.replace("IN", "t.npz") for a in command]
    return build


def _flipped(folder):
    table = _table(folder, "good.parquet", n=100, dim=32)
    from mmstudio.core.tables.table import EmbeddingTable

    EmbeddingTable.read(table).write(folder / "t.parquet")          # mmstudio's own file, with page checksums
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(folder / "t.parquet").metadata.row_group(0)
    chunk = next(meta.column(i) for i in range(meta.num_columns)
                 if meta.column(i).path_in_schema.startswith("embedding"))
    middle = (chunk.dictionary_page_offset or chunk.data_page_offset) + chunk.total_compressed_size // 2
    data = bytearray((folder / "t.parquet").read_bytes())
    for k in range(middle - 100, middle + 100):
        data[k] ^= 0x5A
    (folder / "t.parquet").write_bytes(bytes(data))
    return ["align", "t.parquet"]


def _model_not_text(folder):
    v, ids, mods = _eight()
    _parquet(folder, {"sample_id": ids, "modality": mods, "embedding": _fixed(v)}, b'{"model": 42}')
    return ["export", "t.parquet", "--format", "tensorboard", "--out", "tb"]


# --------------------------------------------------------------------------- 13. paths that leave their folder
def _manifest_leaving(folder):
    data = folder / "data"
    data.mkdir()
    (data / "in.txt").write_text("a caption inside")
    (folder / "outside.txt").write_text("a caption outside")
    (data / "manifest.csv").write_text(
        "id,text\na,in.txt\nb,../outside.txt\nc,../../etc/shadow\nd,~/.bashrc\ne,/etc/hostname\n")
    return ["embed", str(data / "manifest.csv"), "--out", "out.parquet"]


def _copy_table(*args):
    def build(folder):
        copy_into(shared("table", small_table), folder, "t.parquet")
        return list(args)
    return build


NON_FINITE = "non-finite embedding (NaN or infinity)"
CASES = [
    # 1. non-UTF-8 names: embedded, kept exactly, shown with U+FFFD
    Case("embed-names-not-utf8", _embed_odd_names, codes=(0,),
         says=("embedded 3 items", "bad\ufffd.png", "not an image file")),
    Case("embed-names-not-utf8-no-cache", _embed_odd_names_no_cache, codes=(0,),
         says=("embedded 3 items", "bad\ufffd.png")),
    Case("export-csv-path-not-utf8", _export_odd_path("csv"), codes=(0,), says=("exported 24 rows",)),
    Case("export-tensorboard-path-not-utf8", _export_odd_path("tensorboard"), codes=(0,), says=("exported 24 rows",)),
    Case("project-path-not-utf8", _project_odd_path, codes=(0,), says=("projected 24 rows",)),
    # 2. a cache that cannot be used is skipped with one warning; a damaged one is moved aside
    Case("embed-cache-under-dev-null", _embed_with_cache, codes=(0,), env={"MMSTUDIO_CACHE_DIR": "/dev/null/x"},
         says=("embedding cache /dev/null/x", "cannot be used", "carrying on without it", "embedded 2 items")),
    Case("embed-cache-under-a-file", _embed_with_cache, codes=(0,), env={"MMSTUDIO_CACHE_DIR": "{DIR}/a-file/cache"},
         says=("Not a directory", "carrying on without it", "embedded 2 items")),
    Case("embed-cache-damaged", _embed_with_garbage_cache, codes=(0,), env={"MMSTUDIO_CACHE_DIR": "{DIR}/cache"},
         says=("is damaged", "moved to", "embedded 2 items")),
    # 4. NaN and infinity: refused at embedding time, by every reader, by name
    Case("embed-wav-1e30", _loud_wav, codes=(0,), says=("loud.wav", NON_FINITE.split(" (")[0], "embedded 1 items")),
    Case("embed-model-nan-weights", _nan_model, codes=(0,), timeout=240,
         says=("a.png", "the model gave a non-finite embedding", "embedded 1 items")),
    Case("fuse-nan-rows", _with_nan_rows("fuse", "IN", "--label", "label"),
         says=("t.parquet", "5 rows have a " + NON_FINITE, "s003 [image]")),
    Case("align-inf-rows", _with_nan_rows("align", "IN", rows=[(5, np.inf)]), says=("t.parquet", "s005 [image]")),
    Case("project-nan-rows", _with_nan_rows("project", "IN", "--method", "pca", "--out", "out.parquet"),
         says=("t.parquet", NON_FINITE), keeps=("out.parquet",)),
    Case("export-nan-rows", _with_nan_rows("export", "IN", "--out", "out.csv"), says=("t.parquet", NON_FINITE),
         keeps=("out.csv",)),
    Case("principles-nan-table", _with_nan_rows("principles", "redundancy", "--table", "IN", "--modalities",
                                                "image,text"), says=("t.parquet", NON_FINITE)),
    # 5. table files that are not what they claim
    Case("align-metadata-not-json", _bad_parquet(["align", "IN"], _ok_columns, b"{'model': oops"),
         says=("t.parquet", "'mmstudio' metadata is not valid JSON")),
    Case("project-metadata-a-list", _bad_parquet(["project", "IN", "--method", "pca", "--out", "out.parquet"],
                                                 _ok_columns, b"[1, 2, 3]"),
         says=("t.parquet", "metadata is a JSON list, not an object"), keeps=("out.parquet",)),
    Case("fuse-null-in-list-float", _bad_parquet(["fuse", "IN", "--label", "label"], _null_in_list),
         says=("t.parquet", "empty (null) numbers")),
    Case("export-fixed-list-of-strings", _bad_parquet(["export", "IN", "--out", "out.csv"], _fixed_strings),
         says=("t.parquet", "not a list of numbers"), keeps=("out.csv",)),
    Case("project-integer-sample-id", _bad_parquet(["project", "IN", "--method", "pca", "--out", "out.parquet"],
                                                   _int_sample_id),
         says=("t.parquet", "column 'sample_id' is int64, not text"), keeps=("out.parquet",)),
    Case("export-tensorboard-model-not-text", _model_not_text, says=("t.parquet", "model name"), keeps=("tb",)),
    Case("align-npz-1d-embedding", _bad_npz(["align", "IN"], embedding=np.ones(4, np.float32)),
         says=("t.npz", "1-D array")),
    Case("align-npz-3d-embedding", _bad_npz(["align", "IN"], embedding=np.ones((4, 2, 2), np.float32)),
         says=("t.npz", "3-D array")),
    Case("project-npz-string-embedding", _bad_npz(["project", "IN", "--method", "pca", "--out", "o.npz"],
                                                  embedding=np.array([["a", "b"], ["c", "d"]])),
         says=("t.npz", "not numbers"), keeps=("o.npz",)),
    Case("fuse-npz-mismatched-columns", _bad_npz(["fuse", "IN", "--label", "label"],
                                                 embedding=np.eye(4, dtype=np.float32),
                                                 sample_id=np.array(["a", "b", "c"]), label=np.array(["x"] * 4)),
         says=("t.npz", "'sample_id' has 3 rows, the embeddings 4")),
    Case("export-npz-integer-sample-id", _bad_npz(["export", "IN", "--out", "out.parquet"],
                                                  embedding=np.eye(2, dtype=np.float32), sample_id=np.array([1, 2])),
         says=("t.npz", "int64"), keeps=("out.parquet",)),
    Case("align-flipped-bytes-in-a-page", _flipped, says=("t.parquet", "checksum")),
    # 13. paths that leave their folder: read, with a warning naming them
    Case("embed-manifest-paths-leave-its-folder", _manifest_leaving, codes=(0,),
         says=("4 paths lead outside the manifest's folder", "../outside.txt", "../../etc/shadow", "~/.bashrc")),
    Case("align-valid-table-still-reads", _copy_table("align", "t.parquet"), codes=(0,), says=()),
]
