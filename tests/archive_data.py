"""Datasets whose items live inside files, written for the tests: Hugging Face datasets (hub-style
Parquet, a ``save_to_disk`` folder) with pyarrow, laid out as ``datasets`` 5 writes them (see
tests/data/hf_reference/ for files written by ``datasets`` itself), and WebDataset tar shards."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

FEATURES = {"image": {"_type": "Image"}, "caption": {"dtype": "string", "_type": "Value"},
            "label": {"names": ["red", "green", "blue"], "_type": "ClassLabel"},
            "score": {"dtype": "float32", "_type": "Value"}}
COLOURS = [(220, 30, 30), (30, 200, 40), (40, 60, 230)]
BROKEN = b"\x89PNG\r\n\x1a\n this is not the rest of a PNG"


def picture(i: int, size: int = 16, fmt: str = "PNG") -> bytes:
    """A small picture of class ``i % 3``'s colour with a pattern of its own."""
    rng = np.random.default_rng(i)
    pixels = np.clip(np.array(COLOURS[i % 3]) + rng.integers(-25, 25, (size, size, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def rows(n: int, broken=()) -> dict:
    """The columns of an image–caption dataset: ``broken`` rows hold bytes that are no picture."""
    return {
        "image": [{"bytes": BROKEN if i in broken else picture(i), "path": f"img{i:05d}.png"} for i in range(n)],
        "caption": [f"a {['red', 'green', 'blue'][i % 3]} square number {i}" for i in range(n)],
        "label": [i % 3 for i in range(n)],
        "score": [float(i) / n for i in range(n)],
    }


def arrow_table(columns: dict, features: dict = FEATURES):
    import pyarrow as pa

    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    types = {"image": image, "caption": pa.string(), "label": pa.int64(), "score": pa.float32()}
    table = pa.table({name: pa.array(values, type=types.get(name)) for name, values in columns.items()})
    meta = {b"huggingface": json.dumps({"info": {"features": {k: features[k] for k in columns if k in features}}}).encode()}
    return table.replace_schema_metadata(meta)


def write_parquet_dataset(root: Path, n: int = 1000, broken=(), files: int = 3, row_group: int = 100,
                          split: str = "train") -> list[Path]:
    """``root/data/{split}-0000i-of-0000{files}.parquet``, as on the hub (row groups of ``row_group``)."""
    import pyarrow.parquet as pq

    table = arrow_table(rows(n, broken))
    (root / "data").mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, n, files + 1).astype(int)
    out = []
    for i in range(files):
        path = root / "data" / f"{split}-{i:05d}-of-{files:05d}.parquet"
        pq.write_table(table.slice(bounds[i], bounds[i + 1] - bounds[i]), path, row_group_size=row_group)
        out.append(path)
    (root / "README.md").write_text("---\nlicense: mit\n---\n# a tiny test dataset\n")
    return out


def write_saved_dataset(folder: Path, columns: dict, batch: int = 1000, split=None) -> None:
    """What ``Dataset.save_to_disk`` writes: an Arrow IPC stream, ``dataset_info.json``, ``state.json``."""
    import pyarrow as pa

    folder.mkdir(parents=True, exist_ok=True)
    table = arrow_table(columns)
    name = "data-00000-of-00001.arrow"
    with pa.OSFile(str(folder / name), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        for part in table.to_batches(max_chunksize=batch):
            writer.write_batch(part)
    info = {"citation": "", "description": "", "features": {k: FEATURES[k] for k in columns}, "homepage": "",
            "license": ""}
    (folder / "dataset_info.json").write_text(json.dumps(info, indent=2))
    state = {"_data_files": [{"filename": name}], "_fingerprint": "0123456789abcdef", "_format_columns": None,
             "_format_kwargs": {}, "_format_type": None, "_output_all_columns": False, "_split": split}
    (folder / "state.json").write_text(json.dumps(state, indent=2))


def write_saved_dict(folder: Path, splits: dict[str, dict]) -> None:
    """A ``DatasetDict.save_to_disk`` folder: ``dataset_dict.json`` and one saved dataset per split."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset_dict.json").write_text(json.dumps({"splits": list(splits)}))
    for split, columns in splits.items():
        write_saved_dataset(folder / split, columns, split=split)


# ------------------------------------------------------------------------- WebDataset
def add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_shards(folder: Path, shards: int = 3, per_shard: int = 20, corrupt=(), start_key: int = 0) -> list[Path]:
    """``folder/shard-00000i.tar``: per sample ``k.png``, ``k.txt``, ``k.json``, ``k.cls``; the keys in
    ``corrupt`` get a ``.png`` that is no picture."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    key = start_key
    for s in range(shards):
        path = folder / f"shard-{s:06d}.tar"
        with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
            for _ in range(per_shard):
                k = f"sample{key:05d}"
                add_member(tar, f"{k}.png", BROKEN if key in corrupt else picture(key))
                add_member(tar, f"{k}.txt", f"a {['red', 'green', 'blue'][key % 3]} square number {key}".encode())
                add_member(tar, f"{k}.json", json.dumps({"score": key / 100, "source": "test", "tags": ["a"]}).encode())
                add_member(tar, f"{k}.cls", str(key % 3).encode())
                key += 1
        out.append(path)
    return out


def member_offsets(shard: Path) -> dict[str, tuple[int, int, int]]:
    """name → (header offset, data offset, size) of each member."""
    with tarfile.open(shard) as tar:
        return {m.name: (m.offset, m.offset_data, m.size) for m in tar.getmembers()}
