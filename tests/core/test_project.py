"""Projects: save, reopen, same view; moved folders; missing files; bad files; a kill mid-save; recovery."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mmstudio.core import atomic
from mmstudio.core.project import (
    FORMAT_VERSION,
    Colouring,
    Project,
    ProjectError,
    Projection,
    autosave,
    clear_recovery,
    load_project,
    load_recovery,
    project_from_dict,
    recovery_path,
    rows_from_selection,
    save_project,
    selection_from_rows,
)

ROOT = Path(__file__).resolve().parents[2]


def media_folder(root: Path) -> Path:
    folder = root / "media"
    (folder / "dogs").mkdir(parents=True)
    (folder / "dogs" / "dog.txt").write_text("a dog")
    (folder / "manifest.csv").write_text("id,text\nd,a dog\n")
    return folder


def full_project(folder: Path, outside: Path) -> Project:
    return Project(
        sources=[str(folder / "dogs"), str(folder / "manifest.csv"), str(outside)],
        model="clip-vit-b32", device="cuda", precision="fp16",
        projection=Projection(method="umap", n_neighbors=30, min_dist=0.25, metric="euclidean", seed=7),
        colouring=Colouring(colour_by="label", hidden_modalities=["audio"], link_samples=True,
                            categories={"label": {"dog": "#1f77b4", "cat": "#ff7f0e"}, "breed": {"pug": "#2ca02c"}}),
        selection=[("dog", "image"), ("cat", "")],
        query="a dog on a beach",
        panels={"Fusion lab": {"label": "label", "missing_rate": {"image": 0.3}, "methods": ["late", "gated"]},
                "Inspector": {"opacity": 0.6, "colormap": "inferno", "layer": None}},
        window_state="AAAA/wAAAAD9AAAAAQ==",
    )


def test_round_trip_equal_and_human_readable(tmp_path):
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_text("{}\n")
    folder = media_folder(tmp_path / "study")
    project = full_project(folder, outside)
    path = save_project(project, tmp_path / "study" / "view.mmstudio")

    loaded, problems = load_project(path)
    assert problems == []
    assert loaded == project
    text = path.read_text()
    data = json.loads(text)
    assert text.startswith('{\n  "')                       # indented
    assert list(data) == sorted(data)                        # keys sorted
    assert data["version"] == FORMAT_VERSION
    assert data["sources"] == ["media/dogs", "media/manifest.csv", str(outside)]  # relative below, absolute outside
    assert data["selection"] == [["dog", "image"], "cat"]
    assert data["projection"] == {"method": "umap", "n_neighbors": 30, "min_dist": 0.25, "metric": "euclidean",
                                  "seed": 7}
    assert data["colouring"]["categories"] == {"label": {"dog": "#1f77b4", "cat": "#ff7f0e"}, "breed": {"pug": "#2ca02c"}}


def test_relative_sources_follow_a_moved_folder(tmp_path):
    folder = media_folder(tmp_path / "study")
    project = Project(sources=[str(folder / "dogs"), str(folder / "manifest.csv")])
    save_project(project, tmp_path / "study" / "view.mmstudio")

    moved = shutil.move(str(tmp_path / "study"), str(tmp_path / "archive" / "2024" / "study"))
    loaded, problems = load_project(Path(moved) / "view.mmstudio")
    assert problems == []
    assert loaded.sources == [os.path.join(moved, "media", "dogs"), os.path.join(moved, "media", "manifest.csv")]
    assert all(os.path.exists(s) for s in loaded.sources)


def test_a_comparisons_table_follows_a_moved_folder_and_one_elsewhere_stays_absolute(tmp_path):
    folder = media_folder(tmp_path / "study")
    (tmp_path / "study" / "b.parquet").write_bytes(b"PAR1")
    elsewhere = str(tmp_path / "other" / "c.parquet")
    project = Project(sources=[str(folder / "dogs")], panels={"Compare": {"table": str(tmp_path / "study" / "b.parquet")},
                                                              "Other": {"table": elsewhere, "k": 3}})
    path = save_project(project, tmp_path / "study" / "view.mmstudio")
    written = json.loads(path.read_text(encoding="utf-8"))["panels"]
    assert written == {"Compare": {"table": "b.parquet"}, "Other": {"table": elsewhere, "k": 3}}
    moved = shutil.move(str(tmp_path / "study"), str(tmp_path / "archive" / "study"))
    loaded, problems = load_project(Path(moved) / "view.mmstudio")
    assert problems == []
    assert loaded.panels == {"Compare": {"table": os.path.join(moved, "b.parquet")}, "Other": {"table": elsewhere, "k": 3}}


def test_missing_sources_are_listed_and_the_rest_kept(tmp_path):
    folder = media_folder(tmp_path / "study")
    gone = folder / "gone.wav"
    gone.write_bytes(b"RIFF")
    project = Project(sources=[str(folder / "dogs"), str(gone), str(folder / "manifest.csv")], query="dog")
    path = save_project(project, tmp_path / "study" / "view.mmstudio")
    gone.unlink()

    loaded, problems = load_project(path)
    assert problems == [f"missing: {gone}"]
    assert loaded.sources == [str(folder / "dogs"), str(folder / "manifest.csv")]
    assert loaded.missing_sources == [str(gone)]
    assert loaded.query == "dog"
    # saving again does not forget the missing file: when it comes back, it opens again
    save_project(loaded, path)
    gone.write_bytes(b"RIFF")
    again, problems = load_project(path)
    assert problems == [] and str(gone) in again.sources


@pytest.mark.parametrize("content, reason", [
    ("{ not json", "not valid JSON (line 1"),
    ("[1, 2]", "a JSON object expected, found a list"),
    ('{"id": 1, "image": "a.jpg"}', "not an mmstudio project"),
    ('{"format": "mmstudio-project", "version": 1, "projection": {"n_neighbors": "many"}}',
     'projection.n_neighbors must be an integer, not "many"'),
    ('{"format": "mmstudio-project", "version": 1, "sources": "a.jpg"}', "sources must be a list of strings"),
    ('{"format": "mmstudio-project", "version": 1, "panels": {"Fusion lab": 3}}', "panels.Fusion lab must be an object"),
    ('{"format": "mmstudio-project", "version": 1, "selection": [[1, 2]]}', "selection entries must be"),
    ('{"format": "mmstudio-project", "version": 99}', "newer mmstudio (project format 99)"),
])
def test_bad_files_raise_project_error_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "broken.mmstudio"
    path.write_text(content)
    with pytest.raises(ProjectError) as info:
        load_project(path)
    assert "broken.mmstudio" in str(info.value)
    assert reason in str(info.value)


def test_missing_file_and_unsaveable_settings(tmp_path):
    with pytest.raises(ProjectError, match="nowhere.mmstudio: no such file"):
        load_project(tmp_path / "nowhere.mmstudio")
    with pytest.raises(ProjectError, match="bad.mmstudio: cannot be saved"):
        save_project(Project(panels={"p": {"x": float("nan")}}), tmp_path / "bad.mmstudio")
    assert not (tmp_path / "bad.mmstudio").exists()


def test_unknown_keys_from_a_newer_mmstudio_survive_a_round_trip(tmp_path):
    path = tmp_path / "newer.mmstudio"
    path.write_text(json.dumps({
        "format": "mmstudio-project", "version": FORMAT_VERSION, "model": "builtin",
        "annotations": [{"id": "dog", "note": "mislabelled"}],
        "projection": {"method": "pca", "perplexity": 30}, "colouring": {"palette": "tab10"},
    }))
    project, _ = load_project(path)
    assert project.projection.method == "pca" and project.projection.n_neighbors == 15
    save_project(project, path)
    data = json.loads(path.read_text())
    assert data["annotations"] == [{"id": "dog", "note": "mislabelled"}]
    assert data["projection"]["perplexity"] == 30 and data["colouring"]["palette"] == "tab10"


def test_a_failed_write_leaves_the_previous_project_and_no_temp_file(tmp_path, monkeypatch):
    path = save_project(Project(query="before"), tmp_path / "p.mmstudio")
    before = path.read_bytes()

    def disk_full(f, chunk):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "_write_chunk", disk_full)
    with pytest.raises(ProjectError, match="No space left"):
        save_project(Project(query="after"), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.mmstudio"]


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mmstudio.core import atomic
    from mmstudio.core.project import Project, save_project

    target, marker = Path(sys.argv[1]), Path(sys.argv[2])
    real_write, written = atomic._write_chunk, []

    def slow_write(f, chunk):
        real_write(f, chunk)
        written.append(len(chunk))
        if len(written) == 3:         # a good part of the temp file is on disk: tell the parent, then hang
            f.flush()
            marker.write_text(str(sum(written)))
            time.sleep(120)

    atomic._write_chunk = slow_write
    save_project(Project(query="after", panels={"big": {"blob": "x" * 2_000_000}}), target)
    print("finished")                  # never reached: the parent kills us first
""")


@pytest.mark.parametrize("existing", [True, False])
def test_a_kill_during_save_leaves_the_previous_project_intact(tmp_path, existing):
    target = tmp_path / "study.mmstudio"
    previous = Project(sources=[str(tmp_path)], query="before", window_state="AAAA")
    if existing:
        save_project(previous, target)
        before = target.read_bytes()
    marker = tmp_path / "writing"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(target), str(marker)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(600):           # wait (up to ~30 s on a busy machine) for the child to be mid-write
            if marker.exists() or child.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), child.communicate(timeout=5)[1].decode()
        temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert len(temps) == 1 and temps[0].name.startswith(".study.mmstudio.")
        assert 0 < temps[0].stat().st_size < 2_000_000          # half written, under another name
        os.kill(child.pid, getattr(signal, "SIGKILL", signal.SIGTERM))
    finally:
        out, _ = child.communicate(timeout=30)
    assert b"finished" not in out
    assert child.returncode != 0

    if existing:
        assert target.read_bytes() == before
        loaded, problems = load_project(target)
        assert loaded == previous and problems == []
    else:
        assert not target.exists()
    # the leftover temp file does not get in the way of the next save
    save_project(Project(query="after"), target)
    assert load_project(target)[0].query == "after"


def test_autosave_and_recovery_round_trip(tmp_path, isolated_cache):
    assert load_recovery() is None
    clear_recovery()                                      # nothing to clear is fine
    folder = media_folder(tmp_path / "study")
    project = full_project(folder, folder / "manifest.csv")
    origin = tmp_path / "study" / "view.mmstudio"

    path = autosave(project, origin=origin)
    assert path == recovery_path() and path.is_relative_to(isolated_cache)
    recovered = load_recovery()
    assert recovered.project == project and recovered.problems == []
    assert recovered.origin == origin and recovered.saved_at > 0
    assert "recovery" not in recovered.project.extra

    autosave(Project(query="unsaved work"))
    recovered = load_recovery()
    assert recovered.project.query == "unsaved work" and recovered.origin is None
    assert [p.name for p in path.parent.iterdir()] == [path.name]   # atomic: no temp files left behind

    clear_recovery()
    assert load_recovery() is None
    path.write_text("{ half")                             # unreadable: nothing to offer, no crash
    assert load_recovery() is None


def test_selection_maps_to_table_rows_and_back():
    sample_ids = ["dog", "dog", "cat", "cat", "cow"]
    modalities = ["image", "text", "image", "audio", "text"]
    selection = selection_from_rows(sample_ids, modalities, [1, 2])
    assert selection == [("dog", "text"), ("cat", "image")]
    assert rows_from_selection(sample_ids, modalities, selection) == [1, 2]
    assert rows_from_selection(sample_ids, modalities, [("cat", ""), ("gone", "image")]) == [2, 3]


def test_relative_sources_leaving_the_projects_folder_are_named(tmp_path):
    (tmp_path / "study").mkdir()
    (tmp_path / "other").mkdir()
    path = tmp_path / "study" / "p.mmstudio"
    path.write_text(json.dumps({"format": "mmstudio-project", "version": FORMAT_VERSION,
                                "sources": ["../other", "~/surely-not-there-mmstudio", str(tmp_path / "other")]}))
    project, problems = load_project(path)
    assert project.sources == [str(tmp_path / "other"), str(tmp_path / "other")]
    assert problems[:2] == ["outside the project's folder, opened anyway: ../other",
                            "outside the project's folder, opened anyway: ~/surely-not-there-mmstudio"]
    assert len(problems) == 3 and problems[2].startswith("missing: ")   # an absolute source: how saving writes it


def test_recovery_under_a_cache_folder_that_cannot_exist(tmp_path, monkeypatch):
    """MMSTUDIO_CACHE_DIR=/dev/null/x: nothing to recover or clear, and autosave says why it cannot save."""
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("MMSTUDIO_CACHE_DIR", str(tmp_path / "a-file" / "cache"))
    assert load_recovery() is None
    clear_recovery()
    with pytest.raises(ProjectError, match="cannot be saved: Not a directory"):
        autosave(Project(query="unsaved work"))


@pytest.mark.parametrize("values, reason", [
    ({"projection": {"method": "tsne"}}, 'projection.method must be "umap" or "pca", not "tsne"'),
    ({"projection": {"n_neighbors": 0}}, "projection.n_neighbors must be 2 or more, not 0"),
    ({"projection": {"min_dist": 1.5}}, "projection.min_dist must be from 0 to 1, not 1.5"),
    ({"projection": {"metric": "manhattan"}}, 'projection.metric must be "cosine" or "euclidean"'),
    ({"projection": {"seed": -3}}, "projection.seed must be null or 0 or more, not -3"),
    ({"device": "tpu"}, 'device must be "auto", "cpu", "cuda", "cuda:N" or "mps", not "tpu"'),
    ({"precision": "fp8"}, 'precision must be "auto" or "fp32" or "fp16" or "bf16", not "fp8"'),
    ({"model": " "}, 'model must be a model name, not " "'),
    ({"colouring": {"hidden_modalities": ["smell"]}}, "colouring.hidden_modalities must be a list of"),
    ({"colouring": {"categories": {"label": {"dog": "blue"}}}}, "colouring.categories must be an object of columns"),
    ({"colouring": {"categories": {"label": ["#1f77b4"]}}}, "colouring.categories must be an object of columns"),
])
def test_values_the_window_cannot_use_are_refused_naming_the_key(tmp_path, values, reason):
    path = tmp_path / "odd.mmstudio"
    path.write_text(json.dumps({"format": "mmstudio-project", "version": 1, **values}))
    with pytest.raises(ProjectError) as info:
        load_project(path)
    assert str(info.value).startswith(f"{path}: {reason}")


def test_a_nan_min_dist_is_refused(tmp_path):
    path = tmp_path / "nan.mmstudio"
    path.write_text('{"format": "mmstudio-project", "version": 1, "projection": {"min_dist": NaN}}')
    with pytest.raises(ProjectError, match="projection.min_dist must be from 0 to 1, not NaN"):
        load_project(path)


def test_a_window_state_that_is_not_base64_opens_without_the_layout(tmp_path):
    path = tmp_path / "layout.mmstudio"
    path.write_text(json.dumps({"format": "mmstudio-project", "version": 1, "query": "dog",
                                "window_state": "!!! not base64"}))
    project, problems = load_project(path)
    assert project.window_state == "" and project.query == "dog"
    assert problems == ["window_state is not valid base64: opened without the saved window layout"]
    assert project_from_dict({"format": "mmstudio-project", "version": 1, "device": "cuda:1",
                              "window_state": "AAAA"})[1] == []
