"""Folder scans and mixed sources: pairing by stem, labels, hidden files, loops, skipped files."""

import os
from pathlib import Path

import pytest

from mmstudio.core.sources.inputs import load_paths
from mmstudio.core.sources.scan import scan_folder


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def by_id(dataset):
    return {s.id: s for s in dataset.samples}


def test_same_stem_in_same_folder_is_one_sample_labelled_by_folder(tmp_path):
    for name in ("dog.jpg", "dog.wav", "dog.txt", "cat.png"):
        touch(tmp_path / "animals" / name)
    touch(tmp_path / "birds" / "owl.flac")
    samples = by_id(scan_folder(tmp_path))
    assert set(samples) == {"animals/dog", "animals/cat", "birds/owl"}
    dog = samples["animals/dog"]
    assert dog.modalities == ("image", "audio", "text")
    assert dog.label == "animals"
    assert samples["birds/owl"].label == "birds"
    assert samples["birds/owl"].modalities == ("audio",)


def test_same_stem_in_different_folders_are_different_samples(tmp_path):
    touch(tmp_path / "a" / "x.png")
    touch(tmp_path / "b" / "x.txt")
    samples = by_id(scan_folder(tmp_path))
    assert set(samples) == {"a/x", "b/x"}


def test_hidden_files_and_folders_are_skipped_silently(tmp_path):
    touch(tmp_path / ".hidden.png")
    touch(tmp_path / ".git" / "obj.png")
    touch(tmp_path / "seen.png")
    dataset = scan_folder(tmp_path)
    assert [s.id for s in dataset.samples] == ["seen"]
    assert dataset.skipped == []


def test_unsupported_files_are_listed_with_their_reason(tmp_path):
    touch(tmp_path / "notes.docx")
    touch(tmp_path / "README")
    touch(tmp_path / "ok.webp")
    dataset = scan_folder(tmp_path)
    reasons = {Path(e.path).name: e.reason for e in dataset.skipped}
    assert reasons == {"notes.docx": "unsupported file type .docx", "README": "unsupported file type (no extension)"}


def test_two_images_with_one_stem_keep_the_first_and_say_why(tmp_path):
    touch(tmp_path / "d" / "dog.jpg")
    touch(tmp_path / "d" / "dog.png")
    dataset = scan_folder(tmp_path)
    assert len(dataset.samples) == 1
    assert dataset.samples[0].items["image"].path.endswith("dog.jpg")
    assert "already has an image (dog.jpg)" in dataset.skipped[0].reason


@pytest.mark.skipif(os.name == "nt", reason="symlinks")
def test_symlink_loops_are_survived(tmp_path):
    touch(tmp_path / "a" / "one.png")
    os.symlink(tmp_path, tmp_path / "a" / "up")          # a folder loop
    os.symlink(tmp_path / "a" / "self", tmp_path / "a" / "self")  # a link to itself
    os.symlink(tmp_path / "nowhere.png", tmp_path / "a" / "broken.png")
    dataset = scan_folder(tmp_path)
    assert [s.id for s in dataset.samples] == ["a/one"]
    reasons = " | ".join(e.reason for e in dataset.skipped)
    assert "symlink loop" in reasons
    assert "broken link" in reasons


def test_folder_with_manifest_is_read_through_it(tmp_path):
    touch(tmp_path / "img" / "a.png")
    (tmp_path / "manifest.csv").write_text("id,image,label,colour\ns1,img/a.png,circle,red\n")
    dataset = load_paths([tmp_path])
    assert [(s.id, s.label, s.metadata) for s in dataset.samples] == [("s1", "circle", {"colour": "red"})]


def test_loose_files_pair_by_stem_and_ids_stay_unique(tmp_path):
    a = touch(tmp_path / "x" / "dog.png")
    b = touch(tmp_path / "x" / "dog.txt")
    c = touch(tmp_path / "y" / "dog.wav")
    d = touch(tmp_path / "x" / "dog.jpg")
    missing = tmp_path / "gone.png"
    dataset = load_paths([a, b, c, missing, tmp_path / "x" / "dog.png", d])
    samples = by_id(dataset)
    assert set(samples) == {"dog", "dog#2"}
    assert samples["dog"].modalities == ("image", "text")
    assert samples["dog#2"].modalities == ("audio",)
    reasons = [(Path(e.path).name, e.reason) for e in dataset.skipped]
    assert ("gone.png", "no such file or folder") in reasons
    assert ("dog.jpg", "sample 'dog' already has an image") in reasons
    assert [(Path(n.path).name, n.reason) for n in dataset.notes] == [("dog.png", "given more than once; read once")]


def test_names_that_are_not_utf8_are_shown_with_replacement_characters_and_stay_distinct(tmp_path):
    folder = tmp_path / os.fsdecode(b"m\xfcsic")
    folder.mkdir()
    for raw in (b"caf\xe9.txt", b"caf\xe8.txt", b"caf\xe9.png"):
        (folder / os.fsdecode(raw)).write_bytes(b"x")
    dataset = scan_folder(tmp_path)
    ids = sorted(s.id for s in dataset.samples)
    assert ids == ["m\ufffdsic/caf\ufffd", "m\ufffdsic/caf\ufffd#2"]
    assert {s.label for s in dataset.samples} == {"m\ufffdsic"}
    paths = sorted(os.fsencode(ref.path) for s in dataset.samples for ref in s.items.values())
    assert [os.path.basename(p) for p in paths] == [b"caf\xe8.txt", b"caf\xe9.png", b"caf\xe9.txt"]
