"""read_image / image_size on real files written with Pillow, and on a corpus of bad ones."""

from __future__ import annotations

import os
import resource
import warnings

import numpy as np
import pytest
from corpus import png_header_only
from PIL import Image, ImageFile

from mmstudio.core.errors import MediaError
from mmstudio.core.media.image import DEFAULT_MAX_PIXELS, image_size, read_image

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)
W, H = 40, 20  # non-square on purpose


def two_tone(mode="RGB") -> Image.Image:
    """Left half red, right half blue."""
    im = Image.new("RGB", (W, H), BLUE)
    im.paste(RED, (0, 0, W // 2, H))
    return im.convert(mode)


def close(pixel, expected, tol):
    return all(abs(int(a) - int(b)) <= tol for a, b in zip(pixel, expected))


def refused(path, **kw) -> MediaError:
    with pytest.raises(MediaError) as info:
        read_image(path, **kw)
    err = info.value
    assert err.modality == "image" and err.path == str(path)
    return err


# --- every supported format -------------------------------------------------------------------

FORMATS = [("png", {}, 0), ("jpg", {"quality": 95}, 40), ("webp", {"quality": 95}, 40),
           ("bmp", {}, 0), ("tiff", {}, 0), ("gif", {}, 0)]


@pytest.mark.parametrize("ext,opts,tol", FORMATS, ids=[f[0] for f in FORMATS])
def test_every_format_reads_as_rgb(tmp_path, ext, opts, tol):
    path = tmp_path / f"two_tone.{ext}"
    two_tone().save(path, **opts)
    im = read_image(path)
    assert isinstance(im, Image.Image) and im.mode == "RGB" and im.size == (W, H)
    assert close(im.getpixel((5, H // 2)), RED, tol)
    assert close(im.getpixel((W - 5, H // 2)), BLUE, tol)


def test_result_is_loaded_and_file_closed(tmp_path):
    path = tmp_path / "a.png"
    two_tone().save(path)
    im = read_image(path)
    if os.path.isdir("/proc/self/fd"):
        open_files = {os.path.realpath(os.path.join("/proc/self/fd", fd)) for fd in os.listdir("/proc/self/fd")}
        assert os.path.realpath(path) not in open_files
    os.remove(path)  # the pixels must not depend on the file any more
    assert im.getpixel((0, 0)) == RED and getattr(im, "fp", None) is None


def test_content_decides_not_extension(tmp_path):
    path = tmp_path / "really_a_png.jpg"
    two_tone().save(path, format="PNG")
    assert read_image(path).getpixel((0, 0)) == RED


def test_animated_gif_gives_first_frame(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (W, H), c) for c in (RED, BLUE, (0, 255, 0))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(path) as check:
        assert check.n_frames == 3
    im = read_image(path)
    assert im.mode == "RGB" and im.size == (W, H) and im.getpixel((W // 2, H // 2)) == RED


def test_multipage_tiff_gives_first_page(tmp_path):
    path = tmp_path / "pages.tiff"
    Image.new("RGB", (W, H), RED).save(path, save_all=True, append_images=[Image.new("RGB", (W, H), BLUE)])
    assert read_image(path).getpixel((1, 1)) == RED


# --- orientation and colour modes ---------------------------------------------------------------


def test_exif_orientation_6_rotates(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored image must be turned 90° clockwise to display
    two_tone().save(path, exif=exif.tobytes(), quality=95)
    with Image.open(path) as raw:
        assert raw.size == (W, H) and raw.getexif()[0x0112] == 6
    im = read_image(path)
    assert im.size == (H, W)
    # the red left half ends up on top after a clockwise turn
    assert close(im.getpixel((H // 2, 5)), RED, 40)
    assert close(im.getpixel((H // 2, W - 5)), BLUE, 40)
    assert image_size(path) == (H, W)


def test_rgba_transparent_becomes_white(tmp_path):
    path = tmp_path / "rgba.png"
    im = Image.new("RGBA", (W, H), (0, 0, 0, 0))  # fully transparent *black*
    im.putpixel((1, 1), (255, 0, 0, 255))
    im.putpixel((2, 2), (255, 0, 0, 128))
    im.save(path)
    out = read_image(path)
    assert out.mode == "RGB"
    assert out.getpixel((10, 10)) == WHITE
    assert out.getpixel((1, 1)) == RED
    assert close(out.getpixel((2, 2)), (255, 127, 127), 2)  # half red over white


def test_la_transparent_becomes_white(tmp_path):
    path = tmp_path / "la.png"
    Image.new("LA", (W, H), (0, 0)).save(path)
    assert read_image(path).getpixel((0, 0)) == WHITE


@pytest.mark.parametrize("ext", ["png", "gif"])
def test_palette_with_transparency_becomes_white(tmp_path, ext):
    path = tmp_path / f"pal.{ext}"
    im = Image.new("P", (W, H), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 - 2) * 3)  # index 0 black, 1 red
    im.putpixel((3, 3), 1)
    im.info["transparency"] = 0
    im.save(path, transparency=0)
    out = read_image(path)
    assert out.mode == "RGB" and out.getpixel((0, 0)) == WHITE and out.getpixel((3, 3)) == RED


def test_palette_without_transparency(tmp_path):
    path = tmp_path / "pal.png"
    two_tone().convert("P").save(path)
    out = read_image(path)
    assert out.mode == "RGB" and out.getpixel((0, 0)) == RED


@pytest.mark.parametrize("ext", ["png", "jpg", "bmp", "tiff"])
def test_grayscale_becomes_rgb(tmp_path, ext):
    path = tmp_path / f"gray.{ext}"
    Image.new("L", (W, H), 100).save(path)
    out = read_image(path)
    assert out.mode == "RGB" and close(out.getpixel((0, 0)), (100, 100, 100), 2)


def test_one_bit_becomes_rgb(tmp_path):
    path = tmp_path / "bw.bmp"
    im = Image.new("1", (W, H), 0)
    im.putpixel((0, 0), 1)
    im.save(path)
    out = read_image(path)
    assert out.mode == "RGB" and out.getpixel((0, 0)) == WHITE and out.getpixel((1, 1)) == (0, 0, 0)


@pytest.mark.parametrize("ext", ["png", "tiff"])
def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path, ext):
    path = tmp_path / f"deep.{ext}"
    arr = np.zeros((H, W), np.uint16)
    arr[:, : W // 2] = 128 * 257  # mid grey in 16 bits
    arr[:, W // 2:] = 65535
    Image.fromarray(arr).save(path)
    with Image.open(path) as raw:
        assert raw.mode.startswith("I")
    out = read_image(path)
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (128, 128, 128)
    assert out.getpixel((W - 1, 0)) == WHITE


@pytest.mark.parametrize("ext", ["jpg", "tiff"])
def test_cmyk_becomes_rgb(tmp_path, ext):
    path = tmp_path / f"cmyk.{ext}"
    Image.new("CMYK", (W, H), (0, 255, 255, 0)).save(path)  # no cyan, full magenta + yellow: red
    with Image.open(path) as raw:
        assert raw.mode == "CMYK"
    out = read_image(path)
    assert out.mode == "RGB" and close(out.getpixel((5, 5)), RED, 10)


def test_webp_with_alpha(tmp_path):
    path = tmp_path / "alpha.webp"
    Image.new("RGBA", (W, H), (0, 0, 255, 0)).save(path, lossless=True)
    assert read_image(path).getpixel((0, 0)) == WHITE


# --- size limits and decompression bombs ---------------------------------------------------------


def test_bomb_png_refused_from_header_without_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(60000, 60000))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    err = refused(path)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mib < 100  # decoding would need ~10 GB
    assert "60000×60000" in err.reason and "3.6 GP" in err.reason and "178 MP limit" in err.reason


def test_bomb_does_not_leak_global_settings_or_warnings(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(60000, 60000))
    limit, truncated = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        refused(path)
        assert image_size(tmp_path / "bomb.png") == (60000, 60000)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert Image.MAX_IMAGE_PIXELS == limit and ImageFile.LOAD_TRUNCATED_IMAGES == truncated


def test_size_between_pillow_warning_and_limit_is_not_a_size_error(tmp_path):
    """100 MP is over Pillow's *warning* threshold but under our limit: no warning escapes."""
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(10000, 10000))
    assert 10000 * 10000 < DEFAULT_MAX_PIXELS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert image_size(path) == (10000, 10000)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_own_max_pixels_checked_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(10000, 10000))  # decoding would fail: refusal must come first
    err = refused(path, max_pixels=1_000_000)
    assert "10000×10000" in err.reason and "100 MP" in err.reason and "1 MP limit" in err.reason


def test_max_pixels_small_limit(tmp_path):
    path = tmp_path / "small.png"
    two_tone().save(path)
    assert "over the 100 pixels limit" in refused(path, max_pixels=100).reason
    assert read_image(path, max_pixels=W * H).size == (W, H)


def test_image_size_reads_header_only(tmp_path):
    path = tmp_path / "a.png"
    two_tone().save(path)
    assert image_size(path) == (W, H)
    # a header-only file (pixel data missing) still gives its size
    header = tmp_path / "header.png"
    header.write_bytes(png_header_only(123, 45))
    assert image_size(header) == (123, 45)


# --- bad input corpus ---------------------------------------------------------------------------


def noisy(size=(96, 64)) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


@pytest.mark.parametrize("ext", ["png", "jpg", "bmp", "tiff", "gif"])
@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_truncated_image_refused(tmp_path, ext, keep):
    path = tmp_path / f"cut.{ext}"
    noisy().save(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    assert refused(path).reason == "image is truncated"


def test_truncated_webp_refused(tmp_path):
    path = tmp_path / "cut.webp"
    noisy().save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "truncated" in refused(path).reason


def test_corrupt_png_data_refused(tmp_path):
    path = tmp_path / "corrupt.png"
    noisy().save(path)
    data = bytearray(path.read_bytes())
    data[200:260] = b"\0" * 60
    path.write_bytes(bytes(data))
    assert "corrupt" in refused(path).reason


def test_random_bytes_named_jpg(tmp_path):
    path = tmp_path / "random.jpg"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert refused(path).reason == "not an image file (unrecognised data)"


def test_text_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello, not a picture")
    assert refused(path).reason == "not an image file (unrecognised data)"


def test_unsupported_format_refused(tmp_path):
    path = tmp_path / "old.png"
    two_tone().save(path, format="PCX")  # Pillow can read PCX, mmstudio does not accept it
    assert refused(path).reason == "not an image file (unrecognised data)"


def test_zero_byte_png(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert refused(path).reason == "file is empty (0 bytes)"
    with pytest.raises(MediaError):
        image_size(path)


def test_missing_file_and_folder(tmp_path):
    assert refused(tmp_path / "nope.png").reason == "file not found"
    folder = tmp_path / "dir.png"
    folder.mkdir()
    assert refused(folder).reason == "is a folder, not a file"
    with pytest.raises(MediaError):
        image_size(tmp_path / "nope.png")


def test_header_only_png_refused_when_read(tmp_path):
    path = tmp_path / "header.png"
    path.write_bytes(png_header_only(64, 64))
    assert "truncated" in refused(path).reason


def test_draft_decodes_a_large_jpeg_at_reduced_scale_but_never_below_the_request(tmp_path):
    path = tmp_path / "big.jpg"
    noisy((640, 480)).save(path, quality=90)
    full = read_image(path)
    small = read_image(path, draft=(224, 224))
    assert full.size == (640, 480)
    assert small.size == (320, 240)  # libjpeg's 1/2 scale: the largest step that keeps both sides ≥ 224
    assert read_image(path, draft=(100, 100)).size == (160, 120)
    png = tmp_path / "big.png"
    noisy((640, 480)).save(png)
    assert read_image(png, draft=(100, 100)).size == (640, 480)  # only JPEG decodes at reduced scale
