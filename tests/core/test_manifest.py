"""Manifests (CSV, JSONL): columns, relative paths, inline captions, missing files, bad rows."""

import json
from pathlib import Path

from mmstudio.core.sources.manifest import read_manifest


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_columns_paths_relative_to_manifest_and_metadata(tmp_path):
    (tmp_path / "data" / "media").mkdir(parents=True)
    for name in ("a.png", "a.wav", "b.png"):
        (tmp_path / "data" / "media" / name).write_bytes(b"x")
    manifest = write(tmp_path / "data" / "list.csv",
                     "id,image,audio,caption,label,size,split\n"
                     "one,media/a.png,media/a.wav,a red circle,circle,3,train\n"
                     "two,media/b.png,,,square,4.5,test\n")
    dataset = read_manifest(manifest)
    one, two = dataset.samples
    assert one.id == "one" and one.label == "circle"
    assert one.items["image"].path == str(tmp_path / "data" / "media" / "a.png")
    assert one.items["audio"].path == str(tmp_path / "data" / "media" / "a.wav")
    assert one.items["text"].text == "a red circle"
    assert one.metadata == {"caption": "a red circle", "size": "3", "split": "train"}
    assert two.modalities == ("image",)
    assert dataset.errors == []


def test_missing_file_keeps_the_other_modalities_and_records_the_error(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    manifest = write(tmp_path / "m.csv", "id,image,audio,caption\ns,a.png,missing.wav,hello\n")
    dataset = read_manifest(manifest)
    (sample,) = dataset.samples
    assert sample.modalities == ("image", "text")
    (error,) = dataset.errors
    assert error.modality == "audio" and error.sample_id == "s"
    assert error.path.endswith("missing.wav")
    assert "file not found" in error.reason and "m.csv line 2" in error.reason


def test_jsonl_with_a_broken_line_keeps_the_rest(tmp_path):
    rows = [{"id": "a", "caption": "first", "label": "x", "score": 0.5},
            "{not json",
            {"caption": "second"},
            [1, 2],
            {"label": "nothing to embed"}]
    text = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n"
    dataset = read_manifest(write(tmp_path / "m.jsonl", text))
    assert [s.id for s in dataset.samples] == ["a", "row3"]
    assert dataset.samples[0].metadata == {"caption": "first", "score": 0.5}
    reasons = [(e.path.rsplit(":", 1)[1], e.reason) for e in dataset.skipped]
    assert reasons[0][0] == "2" and reasons[0][1].startswith("invalid JSON")
    assert reasons[1] == ("4", "a JSONL row must be an object")
    assert reasons[2] == ("5", "row has no image, audio, text or caption")


def test_text_path_wins_over_caption_and_id_defaults_to_stem(tmp_path):
    write(tmp_path / "t" / "cap.txt", "from a file")
    manifest = write(tmp_path / "m.csv", "text,caption\nt/cap.txt,inline\nt/cap.txt,\n")
    dataset = read_manifest(manifest)
    assert [s.id for s in dataset.samples] == ["cap", "cap#2"]
    assert dataset.samples[0].items["text"].path.endswith("cap.txt")
    assert dataset.samples[0].metadata == {"caption": "inline"}


def test_unreadable_manifest_is_an_error_not_a_crash(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage\x00")
    dataset = read_manifest(bad)
    assert dataset.samples == []
    assert "cannot read manifest" in dataset.skipped[0].reason


def test_paths_leaving_the_manifests_folder_are_read_with_one_warning(tmp_path, caplog):
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("a secret")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "in.txt").write_text("fine")
    manifest = write(tmp_path / "m" / "list.csv",
                     f"id,text\na,in.txt\nb,../elsewhere.txt\nc,{outside}\nd,~/no-such-file.txt\ne,sub/../in.txt\n")
    dataset = read_manifest(manifest)
    assert [s.id for s in dataset.samples] == ["a", "b", "c", "d", "e"]     # read anyway
    assert dataset.samples[1].items["text"].path.endswith("elsewhere.txt")
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning == (f"{manifest}: 3 paths lead outside the manifest's folder, read anyway: "
                       f"../elsewhere.txt, {outside}, ~/no-such-file.txt")


def test_a_manifest_inside_its_folder_gives_no_warning(tmp_path, caplog):
    (tmp_path / "a.txt").write_text("x")
    read_manifest(write(tmp_path / "list.csv", "id,text\na,a.txt\nb,./a.txt\n"))
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
