"""`mmstudio.project`, `align`, `compare` and `fuse` return what the commands write or print as --json,
for the same inputs (checked against the commands run here); a wrong argument is one clear exception."""

import json

import numpy as np
import pytest

import mmstudio
from mmstudio.__main__ import main
from mmstudio.analysis.alignment.compare import TooFewMatches
from mmstudio.core.tables.table import EmbeddingTable
from tests.analysis.test_align_cli import make_table
from tests.analysis.test_compare import noised


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api-reports")
    a, b = make_table(24), noised(make_table(24), scale=0.3, modality="image")
    a.write(folder / "a.parquet")
    b.write(folder / "b.parquet")
    return str(folder / "a.parquet"), str(folder / "b.parquet")


def command(capsys, *argv) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def round_trip(report) -> dict:
    return json.loads(json.dumps(report, allow_nan=False))


def test_align_is_the_commands_json_and_prints_its_text(files, capsys):
    report = mmstudio.align(files[0], temperature=0.1, seed=2, progress=False)
    assert round_trip(report) == json.loads(command(capsys, "align", files[0], "--json", "--temperature", "0.1",
                                                    "--seed", "2"))
    assert str(report) == command(capsys, "align", files[0], "--temperature", "0.1", "--seed", "2").rstrip("\n")


def test_compare_is_the_commands_json_and_prints_its_text(files, capsys):
    report = mmstudio.compare(*files, min_label_queries=5, seed=3, progress=False)
    assert mmstudio.compare(*map(EmbeddingTable.read, files), min_label_queries=5, seed=3, progress=False) == report
    options = ["--min-label-queries", "5", "--seed", "3"]
    assert round_trip(report) == json.loads(command(capsys, "compare", *files, "--json", *options))
    assert str(report) == command(capsys, "compare", *files, *options).rstrip("\n")
    image = next(m for m in report["modalities"] if m["modality"] == "image")
    text = next(m for m in report["modalities"] if m["modality"] == "text")
    assert image["cka"]["value"] < 0.99 and text["cka"]["value"] == pytest.approx(1.0)   # only images changed


def test_fuse_is_the_commands_json_but_for_its_timings(files, capsys):
    report = mmstudio.fuse(files[0], "label", methods="late,gated", missing={"audio": 0.5}, curves=["missing:audio"],
                           seed=1, progress=False)
    cli = json.loads(command(capsys, "fuse", files[0], "--label", "label", "--methods", "late,gated", "--missing",
                             "audio=0.5", "--curve", "missing:audio", "--seed", "1", "--json"))
    ours = round_trip(report)
    for side in (ours, cli):   # seconds each head took to train: the one thing two runs do not share
        assert all(isinstance(v, float) for v in side["lab"].pop("fit_seconds").values())
    assert ours == cli
    assert str(report).startswith(f"fusion of {files[0]} on 'label': 2 classes")
    same = mmstudio.fuse(files[0], "label", methods=["late", "gated"], missing="audio=0.5", curves="missing:audio",
                         seed=1, progress=False)
    assert same["scores"] == report["scores"]


def test_project_gives_the_map_the_command_writes(files, tmp_path, capsys):
    mapped = mmstudio.project(files[0], "pca", progress=False)
    assert main(["project", files[0], "--out", str(tmp_path / "pca.parquet"), "--method", "pca"]) == 0
    written = EmbeddingTable.read(tmp_path / "pca.parquet")
    assert mapped.sample_id.tolist() == written.sample_id.tolist()
    np.testing.assert_array_equal(mapped.columns["x"], written.columns["x"])
    np.testing.assert_array_equal(mapped.columns["y"], written.columns["y"])
    assert {"x", "y"} <= set(mapped.to_pandas().columns)


def test_project_passes_the_commands_umap_options(files, tmp_path, monkeypatch, capsys):
    """The same call of the projection as the command's, option by option (UMAP itself is tested in
    tests/analysis/test_projection.py; here only what reaches it)."""
    import mmstudio.analysis.projection.project as projection

    calls = []

    def recorded(table, method, **options):
        calls.append((len(table), method, {k: v for k, v in options.items() if k != "job"}))
        return projection.ProjectionResult(np.zeros((len(table), 2), np.float32), method, {})

    monkeypatch.setattr(projection, "project_table_result", recorded)
    cases = ((None, "auto", []), (0, "off", ["--epochs", "0", "--landmarks", "off"]),
             (40, 500, ["--epochs", "40", "--landmarks", "500"]), (None, None, ["--landmarks", "off"]))
    for epochs, landmarks, flag in cases:
        mmstudio.project(files[0], neighbors=5, min_dist=0.3, metric="euclidean", epochs=epochs, seed=7,
                         reference="audio", cache=False, landmarks=landmarks, progress=False)
        assert main(["project", files[0], "--out", str(tmp_path / "u.parquet"), "--neighbors", "5", "--min-dist",
                     "0.3", "--metric", "euclidean", "--seed", "7", "--reference", "audio", "--no-cache", *flag]) == 0
        assert calls[-2] == calls[-1], flag
    assert [c[2]["n_epochs"] for c in calls[::2]] == [projection.DEFAULT_EPOCHS, None, 40, projection.DEFAULT_EPOCHS]
    assert [c[2]["landmarks"] for c in calls[::2]] == ["auto", None, 500, None]
    with pytest.raises(ValueError, match="landmarks=5: 5 is too few landmarks"):
        mmstudio.project(files[0], landmarks=5, progress=False)
    assert calls[0][2]["reference"] == "audio" and calls[0][2]["n_neighbors"] == 5 and calls[0][2]["cache"] is False


@pytest.mark.parametrize("call, error, message", [
    (lambda a, b: mmstudio.project(a, "tsne"), ValueError, "method='tsne': choose one of 'umap', 'pca'"),
    (lambda a, b: mmstudio.project(a, neighbors=1), ValueError, "neighbors=1: 1 is too small: give 2 or more"),
    (lambda a, b: mmstudio.project(a, min_dist=2), ValueError, "min_dist=2: 2 is out of range: give a number from 0 to 1"),
    (lambda a, b: mmstudio.project(a, seed=-1), ValueError, "seed=-1: -1 is too small: give 0 or more"),
    (lambda a, b: mmstudio.project(a, reference="video"), ValueError, "reference='video': choose one of"),
    (lambda a, b: mmstudio.align(a, temperature=0), ValueError, "temperature=0: 0 is out of range: give a number above 0"),
    (lambda a, b: mmstudio.align(a + ".missing"), FileNotFoundError, r"a\.parquet\.missing: no such file or folder"),
    (lambda a, b: mmstudio.align([1, 2]), TypeError, "table: expected an EmbeddingTable or the path of a table"),
    (lambda a, b: mmstudio.align(make_table(modalities=("image",))), ValueError, "alignment needs at least two"),
    (lambda a, b: mmstudio.compare(a, b, min_samples=0), ValueError, "min_samples=0: 0 is too small"),
    (lambda a, b: mmstudio.compare(a, b, min_samples=50), TooFewMatches, r"a\.parquet and .*b\.parquet: .*24"),
    (lambda a, b: mmstudio.compare(a, None), TypeError, "b: expected an EmbeddingTable"),
    (lambda a, b: mmstudio.fuse(a, "colour"), ValueError, "a.parquet: .*colour"),
    (lambda a, b: mmstudio.fuse(a, "label", missing={"audio": 2}), ValueError, "missing audio=2.0: must be between 0 and 1"),
    (lambda a, b: mmstudio.fuse(a, "label", missing={"audio": "half"}), ValueError, "missing=.*give modality names and finite numbers"),
    (lambda a, b: mmstudio.fuse(a, "label", noise="image=lots"), ValueError, "noise 'image=lots': write MODALITY=NUMBER"),
    (lambda a, b: mmstudio.fuse(a, "label", missing={"video": 0.5}), ValueError, "unknown modality 'video'"),
    (lambda a, b: mmstudio.fuse(a, "label", methods="best"), ValueError, "unknown method\\(s\\) best"),
    (lambda a, b: mmstudio.fuse(a, "label", gate=True), ValueError, "gate=True: give a number"),
    (lambda a, b: mmstudio.fuse(a, "label", impute="median"), ValueError, "impute='median': choose one of"),
    (lambda a, b: mmstudio.fuse(a, "label", curves=["speed"]), ValueError, "--curve 'speed': write KNOB"),
])
def test_a_wrong_argument_is_one_clear_exception(call, error, message, files):
    with pytest.raises(error, match=message):
        call(*files)


def test_a_file_that_is_no_table_is_named(tmp_path):
    (tmp_path / "notes.parquet").write_text("not parquet")
    with pytest.raises(ValueError, match="notes.parquet"):
        mmstudio.align(str(tmp_path / "notes.parquet"))


def test_save_html_writes_the_page_the_commands_out_writes(files, tmp_path, capsys):
    import re

    report = mmstudio.compare(*files, min_label_queries=5, seed=3, progress=False)
    ours = report.save_html(tmp_path / "api.html")
    command(capsys, "compare", *files, "--min-label-queries", "5", "--seed", "3", "--out", str(tmp_path / "cli.html"))
    stamp = re.compile(r"on \d{4}-\d\d-\d\dT[\d:+-]+")    # the moment each was written
    assert stamp.sub("", ours.read_text()) == stamp.sub("", (tmp_path / "cli.html").read_text())
    with pytest.raises(ValueError, match="ends in .html"):
        report.save_html(tmp_path / "report.pdf")
