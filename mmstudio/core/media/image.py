"""Reading images: any supported file in, a fully loaded RGB :class:`PIL.Image.Image` out.

Every failure is a :class:`~mmstudio.core.errors.MediaError` with a short reason a user can act on.
Oversized images are refused from the header, before a single pixel is decoded. Pillow's global
settings (``Image.MAX_IMAGE_PIXELS``, ``ImageFile.LOAD_TRUNCATED_IMAGES``) are never touched.
"""

from __future__ import annotations

import io
import re
import warnings
from contextlib import nullcontext

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mmstudio.core.errors import MediaError
from mmstudio.core.media.files import open_source

MODALITY = "image"

#: Pillow's own hard limit (twice its warning threshold): about 179 million pixels.
DEFAULT_MAX_PIXELS = 178_956_970

#: The Pillow plugins allowed to open a file ("JPEG" also yields MPO, as many camera JPEGs are).
#: Restricting them keeps exotic plugins (EPS runs Ghostscript) away from user files.
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")

_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_HIGH_DEPTH_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I", "F"}
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that turn the image by 90°


def read_image(path, *, max_pixels: int | None = DEFAULT_MAX_PIXELS,
               draft: tuple[int, int] | None = None) -> Image.Image:
    """Read an image file as a fully loaded RGB image, with its file closed.

    PNG, JPEG, WebP, BMP, TIFF and GIF; the first frame of animated or multi-page files. EXIF
    orientation is applied; transparency is composited onto white; grayscale, palette, 16-bit and
    CMYK images become RGB. ``max_pixels`` is checked against the header before any pixel is
    decoded (``None`` leaves only Pillow's own hard limit of about 179 MP).

    ``draft=(w, h)`` lets a JPEG decode at a reduced scale (libjpeg's DCT scaling: 1/2, 1/4, 1/8)
    as long as both sides stay at least that large: several times faster when the image is to be
    shrunk for a model anyway. Other formats ignore it.
    """
    source, _ = open_source(path, MODALITY)
    with warnings.catch_warnings():
        # Our header check is the authority on size; Pillow's bomb *warning* must not leak or refuse.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            src = _open(source, path)
        except _TooLarge as big:
            raise MediaError(path, MODALITY, _too_large_reason(big.size, big.pixels, big.limit)) from None
        with src:
            w, h = src.size
            if max_pixels is not None and w * h > max_pixels:
                raise MediaError(path, MODALITY, _too_large_reason(src.size, w * h, max_pixels))
            try:
                if draft is not None and src.format in ("JPEG", "MPO"):
                    src.draft("RGB", draft)
                src.load()
                im = ImageOps.exif_transpose(src)  # a new image, detached from the file
            except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError... on bad data
                raise MediaError(path, MODALITY, _decode_reason(exc)) from exc
    try:
        return _to_rgb(im)
    except MemoryError as exc:
        raise MediaError(path, MODALITY, "image is too large to convert (out of memory)") from exc
    except Exception as exc:  # e.g. a colour mode Pillow cannot convert (LAB TIFF)
        raise MediaError(path, MODALITY, f"cannot convert colour mode {im.mode} to RGB") from exc


def image_size(path) -> tuple[int, int]:
    """The (width, height) that :func:`read_image` would return, from the header alone.

    No pixel is decoded and no size limit applies, so an oversized image's claimed size can still be
    shown. EXIF orientations that turn the image by 90° swap width and height.
    """
    source, _ = open_source(path, MODALITY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with _open(source, path) as im:
                w, h = im.size
                orientation = _orientation(im)
        except _TooLarge as big:
            if big.size is None:
                raise MediaError(path, MODALITY, _too_large_reason(None, big.pixels, big.limit)) from None
            return big.size
    return (h, w) if orientation in _SWAPPING_ORIENTATIONS else (w, h)


# --- helpers -----------------------------------------------------------------------------------


class _TooLarge(Exception):
    """Pillow refused to open a file for its size. ``size`` is the header's claim when it could be read."""

    def __init__(self, size: tuple[int, int] | None, pixels: int, limit: int):
        super().__init__(size)
        self.size, self.pixels, self.limit = size, pixels, limit


def _open(source, path) -> Image.Image:
    """``Image.open`` restricted to :data:`FORMATS`; failures become MediaError (or _TooLarge).
    ``source`` is the file's path or an archive member's bytes (see :func:`open_source`)."""
    try:
        return Image.open(source, formats=FORMATS)
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\).*limit of (\d+)", str(exc))
        pixels, limit = (int(found[1]), int(found[2])) if found else (0, DEFAULT_MAX_PIXELS)
        size = _claimed_size(source, path)
        raise _TooLarge(size, size[0] * size[1] if size else pixels, limit) from None
    except UnidentifiedImageError:
        raise MediaError(path, MODALITY, "not an image file (unrecognised data)") from None
    except FileNotFoundError:
        raise MediaError(path, MODALITY, "file not found") from None
    except PermissionError:
        raise MediaError(path, MODALITY, "cannot read file (permission denied)") from None
    except Exception as exc:  # OSError, SyntaxError, ValueError, MemoryError... from a damaged header
        raise MediaError(path, MODALITY, _decode_reason(exc)) from exc


def _claimed_size(source, path) -> tuple[int, int] | None:
    """The header's size, read through Pillow's plugin directly so that its size check does not fire."""
    try:
        Image.init()  # registers every plugin; cheap after the first call
        with (nullcontext(source) if isinstance(source, io.BytesIO) else open(source, "rb")) as fp:
            fp.seek(0)
            prefix = fp.read(16)
            for fmt in FORMATS:
                if fmt not in Image.OPEN:
                    continue
                factory, accept = Image.OPEN[fmt]
                if accept is not None and accept(prefix) is not True:
                    continue
                fp.seek(0)
                try:
                    return tuple(factory(fp, str(path)).size)
                except Exception:
                    continue
    except Exception:
        pass
    return None


def _too_large_reason(size, pixels: int, limit: int) -> str:
    claim = f"{size[0]}×{size[1]} pixels ({_fmt_pixels(pixels)})" if size else _fmt_pixels(pixels)
    return f"image claims {claim}, over the {_fmt_pixels(limit)} limit"


def _fmt_pixels(n: int) -> str:
    if n >= 1_000_000_000:
        return f"{n / 1e9:.1f} GP"
    if n >= 1_000_000:
        return f"{n // 1_000_000} MP"
    return f"{n:,} pixels"


def _decode_reason(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "image is too large to decode (out of memory)"
    text = str(exc) or type(exc).__name__
    if "truncated" in text.lower():
        return "image is truncated"
    return f"image data is corrupt or truncated ({text})"


def _orientation(im: Image.Image) -> int | None:
    try:
        return im.getexif().get(0x0112)
    except Exception:  # a broken EXIF block must not make the size unreadable
        return None


def _to_rgb(im: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB: alpha onto white, high bit depths scaled (not clipped) to 8 bits."""
    if im.mode in _HIGH_DEPTH_MODES:
        im = _to_8bit_gray(im)
    if im.mode in _ALPHA_MODES or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")  # a copy even when already RGB


def _to_8bit_gray(im: Image.Image) -> Image.Image:
    """16/32-bit integer or float grayscale to 8-bit "L": integers by their bit depth, floats as 0..1."""
    arr = np.asarray(im).astype(np.float64)
    if im.mode == "F":
        arr = np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0)
        arr = arr * 255.0 if arr.max(initial=0.0) <= 1.0 else arr  # 0..1 floats, else 0..255
    else:
        peak = arr.max(initial=0.0)
        arr = arr / (1.0 if peak <= 255 else 257.0 if peak <= 65535 else peak / 255.0)
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))
