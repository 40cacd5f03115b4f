"""Writes the files beside this script with the `datasets` package itself (5.2.0 made the committed ones):
the reference for the layout that tests/archive_data.py writes with pyarrow alone. mmstudio never imports
`datasets`; to remake them: pip install --target /tmp/hfref --no-deps datasets dill multiprocess xxhash,
then PYTHONPATH=/tmp/hfref python tests/data/hf_reference/make.py

- saved/: Dataset.save_to_disk of 6 rows (Image, caption, ClassLabel, float); row 4's image bytes are no picture
- saved_dict/: DatasetDict({"train": 6 rows, "test": 2 rows}).save_to_disk
- hub/data/train-00000-of-00001.parquet: Dataset.to_parquet of the same 6 rows
- audio.parquet: an Audio column (16 kHz WAV bytes) and a text column, Dataset.to_parquet
"""

import io
import shutil
from pathlib import Path

import datasets as ds
import numpy as np
import soundfile as sf
from PIL import Image

HERE = Path(__file__).resolve().parent
COLOURS = [(220, 30, 30), (30, 200, 40), (40, 60, 230)]


def png(i):
    buffer = io.BytesIO()
    Image.fromarray(np.full((4, 4, 3), COLOURS[i % 3], np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def wav(i):
    buffer = io.BytesIO()
    t = np.arange(1600) / 16000
    sf.write(buffer, (0.3 * np.sin(2 * np.pi * 220 * (i + 1) * t)).astype("float32"), 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def main():
    for name in ("saved", "saved_dict", "hub", "audio.parquet"):
        target = HERE / name
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
    features = ds.Features({"image": ds.Image(), "caption": ds.Value("string"),
                            "label": ds.ClassLabel(names=["red", "green", "blue"]), "score": ds.Value("float32")})
    rows = {"image": [{"bytes": b"not a picture" if i == 4 else png(i), "path": f"img{i}.png"} for i in range(6)],
            "caption": [f"a {['red', 'green', 'blue'][i % 3]} square {i}" for i in range(6)],
            "label": [i % 3 for i in range(6)], "score": [i / 6 for i in range(6)]}
    data = ds.Dataset.from_dict(rows, features=features)
    data.save_to_disk(str(HERE / "saved"))
    ds.DatasetDict({"train": data, "test": data.select(range(2))}).save_to_disk(str(HERE / "saved_dict"))
    (HERE / "hub" / "data").mkdir(parents=True)
    data.to_parquet(str(HERE / "hub" / "data" / "train-00000-of-00001.parquet"))
    audio = ds.Dataset.from_dict({"audio": [{"bytes": wav(i), "path": f"clip{i}.wav"} for i in range(2)],
                                  "text": ["a low tone", "a higher tone"]})
    audio.cast_column("audio", ds.Audio(sampling_rate=16000, decode=False)).to_parquet(str(HERE / "audio.parquet"))


if __name__ == "__main__":
    main()
