"""Datasets whose items live inside files, under bad input: a column or a split the data lacks,
a shard that is no tar, a damaged Parquet file. The first ones are refused before any model loads."""

from __future__ import annotations

from pathlib import Path

from harness import Case


def _hf(folder: Path) -> Path:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from archive_data import write_parquet_dataset

    write_parquet_dataset(folder / "hf", n=6, files=2)
    return folder / "hf"


def _column(option: str, value: str):
    def build(folder: Path) -> list[str]:
        _hf(folder)
        return ["embed", "hf", option, value, "--out", "o.parquet"]
    return build


def _damaged(folder: Path) -> list[str]:
    first = sorted((_hf(folder) / "data").glob("*.parquet"))[0]
    first.write_bytes(first.read_bytes()[:100])
    (folder / "not.tar").write_bytes(b"plain text, not a tar archive " * 40)
    return ["embed", "hf/data", "not.tar", "--out", "o.parquet", "--split", "train"]


CASES = [
    Case("embed-hf-no-such-image-column", _column("--image-column", "picture"),
         says=("--image-column", "no column 'picture'", "image, caption, label, score"), keeps=("o.parquet",)),
    Case("embed-hf-text-column-of-ints", _column("--text-column", "label"),
         says=("--text-column", "column 'label' holds int64, not text"), keeps=("o.parquet",)),
    Case("embed-hf-no-such-split", _column("--split", "validation"),
         says=("--split", "no split 'validation' (its splits: train)"), keeps=("o.parquet",)),
    Case("embed-damaged-parquet-and-not-a-tar", _damaged, codes=(0,),
         says=("train-00000-of-00002.parquet", "not a readable parquet table", "not.tar", "not a tar file",
               "embedded 6 items")),
]
