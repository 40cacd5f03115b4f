"""read_text on real files in the encodings users have, and on binary or empty ones."""

from __future__ import annotations

import codecs

import pytest

from mmstudio.core.errors import MediaError
from mmstudio.core.media.text import TextDoc, read_text


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path, **kw) -> MediaError:
    with pytest.raises(MediaError) as info:
        read_text(path, **kw)
    err = info.value
    assert err.modality == "text" and err.path == str(path)
    return err


def test_utf8(tmp_path):
    doc = read_text(write(tmp_path, "a.txt", "naïve café — 東京 🎵\n".encode()))
    assert isinstance(doc, TextDoc)
    assert doc == TextDoc("naïve café — 東京 🎵", "utf-8", None)


def test_utf8_with_bom(tmp_path):
    doc = read_text(write(tmp_path, "bom.txt", codecs.BOM_UTF8 + "café".encode()))
    assert doc.text == "café" and doc.encoding == "utf-8-sig" and doc.note is None


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path, codec):
    bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    doc = read_text(write(tmp_path, "u16.txt", bom + "héllo\r\nwörld 🎵".encode(codec)))
    assert doc.text == "héllo\nwörld 🎵" and doc.encoding == "utf-16" and doc.note is None


def test_utf32_with_bom(tmp_path):
    doc = read_text(write(tmp_path, "u32.txt", "grüße".encode("utf-32")))
    assert doc.text == "grüße" and doc.encoding == "utf-32"


def test_latin1_decodes_with_note(tmp_path):
    doc = read_text(write(tmp_path, "latin.txt", "Café crème, déjà vu.".encode("latin-1")))
    assert doc.text == "Café crème, déjà vu."
    assert "é" in doc.text
    assert doc.encoding == "cp1252" and doc.note == "not UTF-8; decoded as cp1252"


def test_cp1252_specials(tmp_path):
    doc = read_text(write(tmp_path, "win.txt", "“Price”: 5 € – ok".encode("cp1252")))
    assert doc.text == "“Price”: 5 € – ok" and doc.encoding == "cp1252"


def test_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path):
    doc = read_text(write(tmp_path, "odd.txt", b"caf\xe9 and \x81 one odd byte in a longer sentence"))
    assert doc.encoding == "latin-1" and doc.text.startswith("café") and "not UTF-8" in doc.note


def test_binary_with_nul_refused(tmp_path):
    data = bytes(range(256)) * 8
    assert refused(write(tmp_path, "blob.txt", data)).reason == "file is binary, not text"


def test_png_named_txt_refused(tmp_path):
    from PIL import Image

    path = tmp_path / "picture.txt"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(path, format="PNG")
    assert refused(path).reason == "file is binary, not text"


def test_control_characters_without_nul_refused(tmp_path):
    data = bytes(b for b in range(1, 32) if b not in b"\t\n\r\x0b\x0c\x1b") * 20 + b"some words"
    assert refused(write(tmp_path, "ctrl.txt", data)).reason == "file is binary, not text"


def test_a_few_control_characters_are_fine(tmp_path):
    text = "page one\fpage two \x1b[1mbold\x1b[0m " + "words " * 50
    doc = read_text(write(tmp_path, "ok.txt", text.encode()))
    assert doc.text.startswith("page one\fpage two")


def test_utf16_without_bom_is_binary(tmp_path):
    """Documented limit: UTF-16 needs its BOM; without one its NUL bytes read as binary."""
    assert refused(write(tmp_path, "nobom.txt", "hello".encode("utf-16-le"))).reason == "file is binary, not text"


def test_empty_file_refused(tmp_path):
    assert refused(write(tmp_path, "empty.txt", b"")).reason.startswith("text is empty")


@pytest.mark.parametrize("data", [b"   \n\t\r\n  ", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\n\n"])
def test_whitespace_only_refused(tmp_path, data):
    assert refused(write(tmp_path, "blank.txt", data)).reason.startswith("text is empty")


def test_newlines_normalised_and_stripped(tmp_path):
    doc = read_text(write(tmp_path, "nl.txt", b"\r\n  first\r\nsecond\rthird\n\n  \r\n"))
    assert doc.text == "first\nsecond\nthird"


def test_markdown_kept_as_is(tmp_path):
    md = "# Title\n\n* **bold** item\n* `code`\n\n[link](http://example.com)"
    doc = read_text(write(tmp_path, "notes.md", md.encode()))
    assert doc.text == md and doc.note is None


def test_long_text_truncated_with_note(tmp_path):
    path = write(tmp_path, "long.txt", b"abcdefghij" * 1000)
    doc = read_text(path, max_bytes=100)
    assert doc.text == "abcdefghij" * 10
    assert doc.note == "truncated to the first 100 of 10,000 bytes"


def test_truncation_inside_a_multibyte_character(tmp_path):
    path = write(tmp_path, "utf8.txt", ("é" * 100).encode())  # 2 bytes each
    doc = read_text(path, max_bytes=51)
    assert doc.text == "é" * 25 and doc.encoding == "utf-8"
    assert "truncated" in doc.note and "not UTF-8" not in doc.note


def test_truncated_utf16(tmp_path):
    path = write(tmp_path, "u16.txt", "ab€d".encode("utf-16") * 10)
    doc = read_text(path, max_bytes=11)  # BOM + 4.5 code units
    assert doc.text == "ab€d" and doc.encoding == "utf-16"


def test_latin1_and_truncated_notes_combine(tmp_path):
    doc = read_text(write(tmp_path, "l.txt", "é".encode("latin-1") * 500), max_bytes=10)
    assert doc.text == "é" * 10 and "decoded as cp1252" in doc.note and "truncated" in doc.note


def test_missing_file_and_folder(tmp_path):
    assert refused(tmp_path / "nope.txt").reason == "file not found"
    folder = tmp_path / "dir.txt"
    folder.mkdir()
    assert refused(folder).reason == "is a folder, not a file"


def test_bad_max_bytes(tmp_path):
    with pytest.raises(ValueError):
        read_text(write(tmp_path, "a.txt", b"hi"), max_bytes=0)
