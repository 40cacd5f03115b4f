"""Decode one :class:`MediaRef` into what an encoder prepares: a PIL image, audio samples or a string."""

from __future__ import annotations

from mmstudio.core.dataset import MediaRef
from mmstudio.core.errors import MediaError

DECODE_VERSION = 1  # bump when decoding changes what an encoder sees (part of every cache key)


def decode(ref: MediaRef, *, audio_rate: int | None = None, max_audio_seconds: float | None = None,
           image_draft: tuple[int, int] | None = None, notes: list | None = None):
    """Raise :class:`MediaError` with the reason when the item cannot be used.

    ``image_draft`` is the smallest image size the encoder needs: JPEGs may decode at a
    reduced scale down to it (see :func:`mmstudio.core.media.image.read_image`). ``notes``, when
    given, receives what the reader noted about an item it could use (text decoded as cp1252
    or cut to its first megabyte, a WAV header that claims more frames than the file holds,
    silent audio).
    """
    if ref.modality == "text":
        if ref.text is not None:
            if not ref.text.strip():
                raise MediaError(None, "text", "caption is empty")
            return ref.text
        from mmstudio.core.media.text import read_text

        return _noted(read_text(ref.path), notes).text
    if ref.modality == "image":
        from mmstudio.core.media.image import read_image

        return read_image(ref.path, draft=image_draft)
    if ref.modality == "audio":
        from mmstudio.core.media.audio import read_audio

        return _noted(read_audio(ref.path, target_rate=audio_rate, max_duration=max_audio_seconds), notes).samples
    raise MediaError(ref.path, ref.modality, f"unknown modality {ref.modality}")


def _noted(result, notes: list | None):
    if notes is not None and result.note:
        notes.append(result.note)
    return result
