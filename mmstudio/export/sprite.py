"""Sprite sheets for TensorBoard's projector: one thumbnail per tensor row on a square grid.

The projector cuts the sheet into ``single_image_dim`` tiles, left to right and top to bottom, in
the order of the tensor rows, ``ceil(sqrt(n))`` tiles a row; it refuses sheets over 8192×8192
(a WebGL texture limit). So the tile side is the largest one, up to ``max_tile``, for which
``ceil(sqrt(n)) · tile ≤ 8192``, and the sheet is exactly ``ceil(sqrt(n)) · tile`` pixels square.

Image rows show the image (read by :func:`mmstudio.core.media.image.read_image`: EXIF orientation,
colour modes, transparency on white), whole, centred on white; an image that cannot be read is a
plain grey tile. Rows of other modalities show a small glyph: bars for a sound, lines for a text.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageDraw

from mmstudio.core.jobs import Job

MAX_SHEET = 8192
MAX_TILE = 64
BACKGROUND = (255, 255, 255)
BROKEN = (128, 128, 128)
GLYPH_COLOURS = {"audio": ((226, 238, 250), (40, 90, 160)), "text": ((250, 244, 228), (150, 110, 40))}


def sprite_grid(n: int, max_tile: int = MAX_TILE) -> tuple[int, int]:
    """(tiles a row, tile side in pixels) for ``n`` rows; the tile side is 0 when even 1 pixel is too much."""
    if n <= 0:
        return 0, 0
    cols = math.isqrt(n - 1) + 1  # ceil(sqrt(n)), exact for large n
    return cols, max(0, min(max_tile, MAX_SHEET // cols))


def sprite_sheet(paths, modalities, *, max_tile: int = MAX_TILE, job=None,
                 workers: int | None = None) -> tuple[Image.Image, int, list[str]]:
    """The sheet (RGB), its tile side, and one ``path: reason`` per image that could not be read.

    Raises ValueError when there are so many rows that no tile fits (over 8192² rows)."""
    job = job or Job()
    paths, modalities = list(paths), list(modalities)
    cols, tile = sprite_grid(len(paths), max_tile)
    if tile < 1:
        raise ValueError(f"{len(paths)} rows do not fit a {MAX_SHEET}×{MAX_SHEET} sprite sheet")
    sheet = Image.new("RGB", (cols * tile, cols * tile), BACKGROUND)
    glyphs = {m: glyph(m, tile) for m in set(modalities) if m != "image"}
    images: dict[str, list[int]] = {}
    for i, (path, modality) in enumerate(zip(paths, modalities)):
        if modality == "image":
            images.setdefault(path or "", []).append(i)
        else:
            sheet.paste(glyphs[modality], _corner(i, cols, tile))
    problems: list[str] = []
    todo = list(images)
    workers = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(todo), 256):
            job.check()
            job.progress(start, len(todo))
            chunk = todo[start:start + 256]
            for path, (thumb, problem) in zip(chunk, pool.map(lambda p: thumbnail(p, tile), chunk)):
                if problem:
                    problems.append(f"{path or '(no path)'}: {problem}")
                for i in images[path]:
                    sheet.paste(thumb, _corner(i, cols, tile))
    return sheet, tile, problems


def thumbnail(path, tile: int) -> tuple[Image.Image, str | None]:
    """The image fitted whole into a ``tile``-pixel square on white; a grey tile and the reason on failure."""
    from mmstudio.core.errors import MediaError
    from mmstudio.core.media.image import read_image

    if not path:
        return Image.new("RGB", (tile, tile), BROKEN), "no file"
    try:
        image = read_image(path, draft=(tile, tile))
    except MediaError as exc:
        return Image.new("RGB", (tile, tile), BROKEN), exc.reason
    except Exception as exc:  # a decoder failure the reader did not anticipate: still a tile, not a crash
        return Image.new("RGB", (tile, tile), BROKEN), f"cannot read ({exc})"
    w, h = image.size
    scale = tile / max(w, h, 1)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)
    out = Image.new("RGB", (tile, tile), BACKGROUND)
    out.paste(image, ((tile - size[0]) // 2, (tile - size[1]) // 2))
    return out, None


def glyph(modality: str, tile: int) -> Image.Image:
    """A tile standing for a sound (bars of a waveform) or a text (lines of a paragraph)."""
    back, ink = GLYPH_COLOURS.get(modality, (BACKGROUND, (160, 160, 160)))
    out = Image.new("RGB", (tile, tile), back)
    if tile < 6:
        return out
    draw = ImageDraw.Draw(out)
    pad = tile / 5
    if modality == "audio":
        heights = (0.3, 0.7, 1.0, 0.5, 0.8, 0.35, 0.6)
        step = (tile - 2 * pad) / len(heights)
        for k, h in enumerate(heights):
            x0 = pad + k * step
            half = h * (tile / 2 - pad)
            draw.rectangle([x0 + step * 0.2, tile / 2 - half, x0 + step * 0.8, tile / 2 + half], fill=ink)
    elif modality == "text":
        for k, length in enumerate((1.0, 0.85, 1.0, 0.6)):
            y = pad + k * (tile - 2 * pad) / 3.5
            draw.rectangle([pad, y, pad + length * (tile - 2 * pad), y + max(1, tile / 16)], fill=ink)
    return out


def _corner(i: int, cols: int, tile: int) -> tuple[int, int]:
    return (i % cols) * tile, (i // cols) * tile
