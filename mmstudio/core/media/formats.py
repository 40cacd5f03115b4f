"""Which file extensions hold which modality."""

from __future__ import annotations

from pathlib import Path

MODALITIES = ("image", "audio", "text")

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".oga", ".mp3"})
TEXT_EXTENSIONS = frozenset({".txt", ".md"})
MANIFEST_EXTENSIONS = frozenset({".csv", ".jsonl"})

_BY_EXTENSION = {
    **{ext: "image" for ext in IMAGE_EXTENSIONS},
    **{ext: "audio" for ext in AUDIO_EXTENSIONS},
    **{ext: "text" for ext in TEXT_EXTENSIONS},
}


def modality_of(path) -> str | None:
    """The modality a file holds, judged by its extension; None when mmstudio cannot read it."""
    return _BY_EXTENSION.get(Path(path).suffix.lower())


def is_manifest(path) -> bool:
    return Path(path).suffix.lower() in MANIFEST_EXTENSIONS


def unsupported_reason(path) -> str:
    ext = Path(path).suffix.lower() or "(no extension)"
    return f"unsupported file type {ext}"
