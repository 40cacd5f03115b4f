"""The name filters of File > Open: everything mmstudio reads, then each kind on its own."""

from __future__ import annotations


def open_filters() -> str:
    from mmstudio.core.media.formats import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS, MANIFEST_EXTENSIONS, TEXT_EXTENSIONS

    def patterns(suffixes) -> str:
        return " ".join(f"*{s}" for s in sorted(suffixes))

    media = IMAGE_EXTENSIONS | AUDIO_EXTENSIONS | TEXT_EXTENSIONS
    kinds = [("Media files", media), ("Hugging Face datasets (Parquet, Arrow)", {".parquet", ".arrow"}),
             ("WebDataset shards", {".tar"}), ("Manifests", MANIFEST_EXTENSIONS),
             ("Caption files (COCO .json, AudioCaps / Clotho .csv)", {".json", ".csv"}),
             ("Embedding tables", {".parquet", ".npz"}), ("mmstudio projects", {".mmstudio"})]
    every = set().union(*(s for _, s in kinds))
    return ";;".join([f"Everything mmstudio opens ({patterns(every)})"]
                     + [f"{name} ({patterns(suffixes)})" for name, suffixes in kinds] + ["All files (*)"])
