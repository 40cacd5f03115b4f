"""A folder of real media files the tests write: good ones in every format, and a bad-input corpus.

``write_corpus(folder)`` returns ``(good, bad)``: the good files by modality, and for each
bad file a fragment of the reason the user must be given.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image


def picture(seed: int, size=(48, 40)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def tone(seconds: float, rate: int = 22050, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def png_header_only(width: int, height: int, colour_type: int = 2) -> bytes:
    """A PNG with a valid IHDR (correct CRC) claiming the given size, and almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


def write_corpus(folder) -> tuple[dict[str, list[Path]], dict[Path, str]]:
    root = Path(folder)
    good = {"image": [], "audio": [], "text": []}
    bad: dict[Path, str] = {}
    img, snd, txt = root / "images", root / "sounds", root / "texts"
    for d in (img, snd, txt):
        d.mkdir(parents=True, exist_ok=True)

    for i, (ext, fmt) in enumerate([("png", "PNG"), ("jpg", "JPEG"), ("webp", "WEBP"), ("bmp", "BMP"),
                                    ("tiff", "TIFF"), ("gif", "GIF")]):
        path = img / f"pic{i}.{ext}"
        picture(i).save(path, format=fmt)
        good["image"].append(path)
    for i, (ext, fmt, sub) in enumerate([("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_16"),
                                         ("ogg", "OGG", "VORBIS")]):
        path = snd / f"clip{i}.{ext}"
        sf.write(path, tone(0.6, freq=300 + 100 * i, channels=2), 22050, format=fmt, subtype=sub)
        good["audio"].append(path)
    silent = snd / "silent.wav"
    sf.write(silent, np.zeros(8000, np.float32), 16000)
    good["audio"].append(silent)  # silence is valid audio
    for i, (name, data) in enumerate([("cap0.txt", "a red circle".encode()), ("cap1.md", "# A *blue* square".encode()),
                                      ("latin.txt", "un café rouge".encode("latin-1"))]):
        path = txt / name
        path.write_bytes(data)
        good["text"].append(path)

    def add_bad(path: Path, data: bytes, reason: str):
        path.write_bytes(data)
        bad[path] = reason

    full = (img / "pic0.png").read_bytes()
    add_bad(img / "truncated.png", full[: len(full) // 2], "truncated")
    add_bad(img / "random.jpg", np.random.default_rng(1).bytes(2000), "not an image file")
    add_bad(img / "huge.png", png_header_only(60000, 60000), "60000×60000")
    add_bad(snd / "empty.wav", b"", "empty")
    short = snd / "short.wav"
    sf.write(short, tone(0.001, rate=16000), 16000)
    bad[short] = "shorter than"
    nan = snd / "nan.wav"
    sf.write(nan, np.full(4000, np.nan, np.float32), 16000, subtype="FLOAT")
    bad[nan] = "NaN"
    add_bad(txt / "binary.txt", bytes(range(256)) * 8, "binary")
    add_bad(root / "notes.docx", b"PK\x03\x04", "unsupported file type .docx")
    os.symlink(root, root / "loop")
    return good, bad
