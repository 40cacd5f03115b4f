"""A sample whose id is taken already is kept under a new id and reported: which id, which files
(the loader's ``duplicates``, and ``mmstudio embed``'s warning lines). The window: tests/ui/test_newcomer.py."""

from mmstudio.__main__ import main
from mmstudio.core.sources.inputs import load_paths
from mmstudio.core.sources.manifest import read_manifest


def _sample_files(folder, stem, caption):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.txt").write_text(caption)
    return folder / f"{stem}.txt"


def test_two_folders_with_the_same_names_keep_every_sample_and_list_the_duplicates(tmp_path):
    first = _sample_files(tmp_path / "a", "scene_00000", "a red circle")
    second = _sample_files(tmp_path / "b", "scene_00000", "a blue square")
    _sample_files(tmp_path / "b", "scene_00001", "a green star")
    dataset = load_paths([tmp_path / "a", tmp_path / "b"])
    assert sorted(s.id for s in dataset.samples) == ["scene_00000", "scene_00000#2", "scene_00001"]  # none dropped
    [dup] = dataset.duplicates
    assert dup.sample_id == "scene_00000#2" and dup.path == str(second)
    assert dup.reason == f"duplicate sample id 'scene_00000', already the id of {first}; kept as 'scene_00000#2'"
    renamed = next(s for s in dataset.samples if s.id == "scene_00000#2")
    assert renamed.items["text"].path == str(second)
    assert dup not in dataset.errors  # used, not skipped


def test_a_manifest_that_repeats_an_id_names_the_line(tmp_path):
    (tmp_path / "x.txt").write_text("one")
    (tmp_path / "y.txt").write_text("two")
    manifest = tmp_path / "m.csv"
    manifest.write_text("id,text\ns1,x.txt\ns2,x.txt\ns1,y.txt\n")
    dataset = read_manifest(manifest)
    assert [s.id for s in dataset.samples] == ["s1", "s2", "s1#2"]
    [dup] = dataset.duplicates
    assert dup.path == str(tmp_path / "y.txt")
    assert dup.reason == f"duplicate sample id 's1' (m.csv line 4), already the id of {tmp_path / 'x.txt'}; kept as 's1#2'"


def test_folders_without_duplicates_report_none(tmp_path):
    _sample_files(tmp_path / "a", "one", "a red circle")
    _sample_files(tmp_path / "b", "two", "a blue square")
    assert load_paths([tmp_path / "a", tmp_path / "b"]).duplicates == []


def test_embed_warns_with_the_files_and_keeps_both(tmp_path, capsys):
    from mmstudio.core.tables.table import EmbeddingTable

    first = _sample_files(tmp_path / "a", "dog", "a red circle")
    second = _sample_files(tmp_path / "b", "dog", "a blue square")
    out = tmp_path / "out.parquet"
    assert main(["embed", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "duplicate sample id" in line]
    assert warnings == [f"mmstudio embed: warning: {second}: duplicate sample id 'dog', already the id of {first}; "
                        "kept as 'dog#2'"]
    assert sorted(EmbeddingTable.read(out).sample_id) == ["dog", "dog#2"]
