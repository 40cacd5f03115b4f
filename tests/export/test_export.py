"""Exports of the demo world's table re-read with the reader a user would use: pyarrow, numpy, csv,
TensorBoard's projector config (or protobuf's text format with the same schema), Pillow."""

import csv
import functools
import json
import math

import numpy as np
import pytest
from PIL import Image
from ui_helpers import DEMO

from mmstudio.__main__ import main
from mmstudio.analysis.projection.project import pca_2d, with_xy
from mmstudio.core.media.image import read_image
from mmstudio.core.tables.table import EmbeddingTable
from mmstudio.export.embeddings import export_table
from mmstudio.export.projector import projector_config
from mmstudio.export.reports import flatten, plain, write_report
from mmstudio.export.sprite import BROKEN, MAX_SHEET, glyph, sprite_grid

ITEM_COLUMNS = ["sample_id", "modality", "path", "label", "x", "y"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo world embedded by the built-in model, with a 2-D layout, written as Parquet."""
    from mmstudio.core.sources.inputs import load_paths
    from mmstudio.encoders.embed import embed_dataset
    from mmstudio.encoders.registry import load_encoder

    encoder = load_encoder("builtin", device="cpu", cache=None)
    table = embed_dataset(load_paths([DEMO]), encoder, cache=None)
    table = with_xy(table, pca_2d(table.vectors))
    path = tmp_path_factory.mktemp("export") / "demo.parquet"
    table.write(path)
    return table, path


def cli(*argv) -> int:
    """`mmstudio export ARGV` as __main__ runs a command."""
    return main(["export", *(str(a) for a in argv)])


# --------------------------------------------------------------------------- Parquet, NPZ, CSV
def test_parquet_reads_with_pyarrow(demo, tmp_path):
    import pyarrow.parquet as pq

    table, src = demo
    assert cli(src, "--format", "parquet", "--out", tmp_path / "all.parquet") == 0
    arrow = pq.read_table(tmp_path / "all.parquet")
    assert arrow.num_rows == len(table) == 72
    assert arrow.column_names[:4] == ITEM_COLUMNS[:4] and {"x", "y", "embedding", "shape"} <= set(arrow.column_names)
    vectors = np.array(arrow.column("embedding").to_pylist(), np.float32)
    np.testing.assert_array_equal(vectors, table.vectors)
    np.testing.assert_allclose(arrow.column("x").to_numpy(), table.columns["x"])
    assert arrow.column("label").to_pylist() == table.label.tolist()
    assert (tmp_path / "all.parquet").stat().st_mode & 0o044  # shareable, not mkstemp's 0600

    rows = [5, 0, 7]  # a selection keeps its order
    export_table(table, tmp_path / "some.parquet", rows=rows)
    some = pq.read_table(tmp_path / "some.parquet")
    assert some.column("sample_id").to_pylist() == table.sample_id[rows].tolist()
    np.testing.assert_array_equal(np.array(some.column("embedding").to_pylist(), np.float32), table.vectors[rows])
    assert EmbeddingTable.read(tmp_path / "some.parquet").modality.tolist() == table.modality[rows].tolist()


def test_npz_reads_with_numpy(demo, tmp_path):
    table, src = demo
    assert cli(src, "--format", "npz", "--out", tmp_path / "t.npz", "--modality", "image") == 0
    with np.load(tmp_path / "t.npz", allow_pickle=False) as npz:
        images = table.rows("image")
        np.testing.assert_array_equal(npz["embedding"], table.vectors[images])
        assert npz["sample_id"].tolist() == table.sample_id[images].tolist()
        assert set(npz["modality"].tolist()) == {"image"}
        np.testing.assert_allclose(npz["column/y"], table.columns["y"][images])


def test_csv_reads_with_the_csv_module(demo, tmp_path):
    table, src = demo
    odd = table.label.copy()
    odd[3] = 'a "quoted", label\nover two lines'
    weird = EmbeddingTable(table.sample_id, table.modality, table.path, odd, table.vectors, table.columns)
    export_table(weird, tmp_path / "t.csv")
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    dim = table.dim
    assert header[:6] == ITEM_COLUMNS and header[-dim:] == [f"e{i}" for i in range(dim)]
    assert "caption" in header and "shape" in header and len(set(header)) == len(header)
    assert len(body) == len(table) and all(len(r) == len(header) for r in body)
    assert [r[0] for r in body] == table.sample_id.tolist() and body[3][3] == odd[3]
    vectors = np.array([r[-dim:] for r in body], np.float64).astype(np.float32)
    np.testing.assert_array_equal(vectors, table.vectors)  # 9 significant digits: float32 round-trips exactly
    np.testing.assert_array_equal(np.array([r[4] for r in body], float), table.columns["x"])
    xor = header.index("xor")
    assert {r[xor] for r in body} <= {"0", "1"}  # whole numbers as the manifest had them


def test_selection_by_ids_file_and_inline_ids(demo, tmp_path):
    table, src = demo
    assert cli(src, "--out", tmp_path / "two.csv", "--samples", "scene_00003,scene_00001") == 0
    with open(tmp_path / "two.csv", newline="") as fh:
        two = list(csv.DictReader(fh))
    assert [(r["sample_id"], r["modality"]) for r in two] == [
        (s, m) for s in ("scene_00001", "scene_00003") for m in ("image", "audio", "text")]
    # a CSV written by export selects exactly its own rows (sample id and modality)
    assert cli(src, "--out", tmp_path / "imgs.csv", "--samples", "scene_00001", "--modality", "image,text") == 0
    assert cli(src, "--out", tmp_path / "again.csv", "--selection", tmp_path / "imgs.csv") == 0
    assert (tmp_path / "again.csv").read_text() == (tmp_path / "imgs.csv").read_text()
    ids = tmp_path / "ids.txt"
    ids.write_text("# picked by hand\nscene_00002\n\nscene_00004\n")
    assert cli(src, "--out", tmp_path / "ids.npz", "--selection", ids) == 0
    with np.load(tmp_path / "ids.npz") as npz:
        assert sorted(set(npz["sample_id"].tolist())) == ["scene_00002", "scene_00004"] and len(npz["embedding"]) == 6


@pytest.mark.parametrize("argv, words", [
    (["{missing}", "--out", "{out}.csv"], ["missing.parquet", "no such file"]),
    (["{junk}", "--out", "{out}.csv"], ["junk.parquet", "not a readable Parquet file"]),
    (["{src}", "--out", "{out}.csv", "--samples", "scene_00001,nobody"], ["1 sample id not in the table", "nobody"]),
    (["{src}", "--out", "{out}.csv", "--selection", "{missing}"], ["missing.parquet", "no such file"]),
    (["{src}", "--out", "{out}.txt"], ["cannot tell the format", "--format"]),
    (["{src}", "--out", "{out}.csv", "--modality", "smell"], ["--modality smell"]),
])
def test_bad_input_is_one_line_and_exit_2(demo, tmp_path, capsys, argv, words):
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    names = {"missing": tmp_path / "missing.parquet", "junk": junk, "src": demo[1], "out": tmp_path / "out"}
    assert cli(*[a.format(**names) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mmstudio export: ")
    for w in words:
        assert w in err
    assert not list(tmp_path.glob("out*"))


def test_bad_selections_and_name_clashes(demo, tmp_path):
    table, _ = demo
    for rows, words in (([], "nothing is selected"), ([0, 72], "row 72 is out of range"),
                        (np.ones(3, bool), "mask has 3 entries"), ([0.5], "must be integers")):
        with pytest.raises(ValueError, match=words):
            export_table(table, tmp_path / "x.csv", rows=rows)
    with pytest.raises(ValueError, match="unknown export format"):
        export_table(table, tmp_path / "x.xlsx")
    clash = table.take([0, 1]).with_column("e0", ["a", "b"])
    export_table(clash, tmp_path / "clash.csv")
    header = (tmp_path / "clash.csv").read_text().split("\n")[0].split(",")
    assert "meta_e0" in header and header.count("e0") == 1 and header[-table.dim] == "e0"


def test_projector_without_images_has_no_sprite(demo, tmp_path):
    table, src = demo
    assert cli(src, "--out", tmp_path / "tb", "--modality", "text,audio") == 0  # no suffix: a TensorBoard folder
    config = parse_config((tmp_path / "tb" / "projector_config.pbtxt").read_text())
    assert not config.embeddings[0].HasField("sprite") and not (tmp_path / "tb" / "sprite.png").exists()
    assert list(config.embeddings[0].tensor_shape) == [48, table.dim]


# --------------------------------------------------------------------------- TensorBoard projector
_POOLS = [None]


@functools.lru_cache(maxsize=1)
def projector_message_class():
    """TensorBoard's ProjectorConfig when installed, else the same schema (projector_config.proto) built here."""
    try:
        from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

        return ProjectorConfig
    except ImportError:
        pass
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="mmstudio_test/projector_config.proto",
                                               package="mmstudio_test.projector", syntax="proto3")

    def message(name, fields):
        m = proto.message_type.add(name=name)
        for number, (fname, ftype, repeated, type_name) in enumerate(fields, 1):
            m.field.add(name=fname, number=number, type=ftype, type_name=type_name,
                        label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)

    s, u, msg = F.TYPE_STRING, F.TYPE_UINT32, F.TYPE_MESSAGE
    message("SpriteMetadata", [("image_path", s, False, None), ("single_image_dim", u, True, None)])
    message("EmbeddingInfo", [("tensor_name", s, False, None), ("metadata_path", s, False, None),
                              ("bookmarks_path", s, False, None), ("tensor_shape", u, True, None),
                              ("sprite", msg, False, ".mmstudio_test.projector.SpriteMetadata"),
                              ("tensor_path", s, False, None)])
    message("ProjectorConfig", [("model_checkpoint_path", s, False, None),
                                ("embeddings", msg, True, ".mmstudio_test.projector.EmbeddingInfo"),
                                ("model_checkpoint_dir", s, False, None)])
    pool = _POOLS[0] = descriptor_pool.DescriptorPool()  # kept alive: its messages point into it
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("mmstudio_test.projector.ProjectorConfig"))


def parse_config(text):
    from google.protobuf import text_format

    return text_format.Parse(text, projector_message_class()())  # strict: unknown fields or bad syntax raise


@pytest.fixture(scope="module")
def projector(demo, tmp_path_factory):
    """The demo with two images that cannot be read (one missing, one not an image) as a projector folder."""
    table, _ = demo
    folder = tmp_path_factory.mktemp("tb")
    bad = folder.parent / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    images = table.rows("image")
    path, label = table.path.copy(), table.label.copy()
    path[images[1]], path[images[2]] = str(folder.parent / "gone.png"), str(bad)
    label[0] = "tab\there\nand a new line"
    changed = EmbeddingTable(table.sample_id, table.modality, path, label, table.vectors, table.columns,
                             model=table.model)
    result = export_table(changed, folder / "projector", "tensorboard")
    return changed, result, folder / "projector"


def test_projector_config_parses_and_names_the_files(projector):
    table, result, folder = projector
    config = parse_config((folder / "projector_config.pbtxt").read_text(encoding="utf-8"))
    (emb,) = config.embeddings
    assert list(emb.tensor_shape) == [len(table), table.dim] and emb.tensor_name == "builtin"
    for name in (emb.tensor_path, emb.metadata_path, emb.sprite.image_path):
        assert (folder / name).is_file()
    assert len(emb.sprite.single_image_dim) == 2
    # names TensorBoard would choke on are escaped by the text-format rules
    odd = 'model "x"\\y\tz\n é'
    assert parse_config(projector_config(odd, (2, 3))).embeddings[0].tensor_name == odd


def test_projector_tensors_and_metadata(projector):
    table, _, folder = projector
    tensors = np.loadtxt(folder / "tensors.tsv", delimiter="\t", dtype=np.float64)
    assert tensors.shape == table.vectors.shape
    np.testing.assert_array_equal(tensors.astype(np.float32), table.vectors)
    lines = (folder / "metadata.tsv").read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines[:-1]) == len(table) + 1
    header = lines[0].split("\t")
    assert header[:6] == ITEM_COLUMNS and "caption" in header
    rows = [line.split("\t") for line in lines[1:-1]]
    assert all(len(r) == len(header) for r in rows)
    assert [r[0] for r in rows] == table.sample_id.tolist() and [r[1] for r in rows] == table.modality.tolist()
    assert rows[0][3] == "tab here and a new line"
    assert float(rows[5][4]) == pytest.approx(table.columns["x"][5])


def test_projector_sprite_shows_each_row(projector):
    table, result, folder = projector
    (emb,) = parse_config((folder / "projector_config.pbtxt").read_text(encoding="utf-8")).embeddings
    tile_w, tile_h = emb.sprite.single_image_dim
    with Image.open(folder / "sprite.png") as im:
        sheet = np.asarray(im.convert("RGB"), np.float32)
    cols = math.ceil(math.sqrt(len(table)))
    assert sheet.shape[0] == sheet.shape[1] == cols * tile_w <= MAX_SHEET and tile_w == tile_h

    def tile(i):
        r, c = divmod(i, cols)
        return sheet[r * tile_h:(r + 1) * tile_h, c * tile_w:(c + 1) * tile_w]

    images = table.rows("image")
    for i in (images[0], images[5], images[-1]):
        picture = read_image(table.path[i])
        assert picture.width == picture.height  # the demo's images fill their tiles
        expected = np.asarray(picture.resize((tile_w, tile_h), Image.Resampling.BILINEAR), np.float32)
        assert np.abs(tile(i).mean(axis=(0, 1)) - expected.mean(axis=(0, 1))).max() < 4
        assert np.abs(tile(i) - expected).mean() < 20  # the same picture, not just the same colours
    for i in images[1:3]:  # missing and broken: grey tiles, and the export says which
        assert (tile(i) == BROKEN).all()
    assert len(result.notes) == 1 and "2 images could not be read" in result.notes[0] and "gone.png" in result.notes[0]
    text_row, audio_row = table.rows("text")[0], table.rows("audio")[0]
    assert (tile(text_row) == np.asarray(glyph("text", tile_w), np.float32)).all()
    assert (tile(audio_row) == np.asarray(glyph("audio", tile_w), np.float32)).all()
    assert not (tile(text_row) == tile(audio_row)).all()
    assert (tile(cols * cols - 1) == 255).all()  # past the last row: blank


def test_sprite_grid_fits_8192():
    assert sprite_grid(1) == (1, 64) and sprite_grid(72) == (9, 64) and sprite_grid(128 * 128) == (128, 64)
    for n in (2, 16_385, 20_000, 1_000_000, 8192**2):
        cols, tile = sprite_grid(n)
        assert (cols - 1) ** 2 < n <= cols**2 and tile == min(64, MAX_SHEET // cols) >= 1
    assert sprite_grid(8192**2 + 1)[1] == 0  # no tile fits: the export leaves the sprite out


# --------------------------------------------------------------------------- reports
def test_alignment_report_as_json_and_csv(demo, tmp_path):
    from mmstudio.analysis.alignment.report import align_report

    table, _ = demo
    report = align_report(table.take(table.rows("image").tolist() + table.rows("text").tolist()))
    write_report(report, tmp_path / "align.json")
    write_report(report, tmp_path / "align.csv")
    loaded = json.loads((tmp_path / "align.json").read_text(encoding="utf-8"))
    assert loaded == json.loads(json.dumps(plain(report)))
    with open(tmp_path / "align.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["key", "value"] and len(rows) - 1 == len(flatten(report))
    values = dict(rows[1:])
    r1 = loaded["pairs"][0]["retrieval"][0]["R@1"]
    assert float(values["pairs.0.retrieval.0.R@1"]) == r1 and values["modalities.1"] == "text"


def test_report_values_become_plain(tmp_path):
    report = {"acc": np.float32(0.25), "n": np.int64(3), "ok": np.bool_(True), "curve": np.array([1.5, np.nan]),
              "pair": ("image", "text"), "empty": {}, "none": [], "inf": float("inf"), 7: {"deep": [{"x": None}]}}
    path = write_report(report, tmp_path / "r.json")
    assert json.loads(path.read_text()) == {"acc": 0.25, "n": 3, "ok": True, "curve": [1.5, None],
                                           "pair": ["image", "text"], "empty": {}, "none": [], "inf": None,
                                           "7": {"deep": [{"x": None}]}}
    with open(write_report(report, tmp_path / "r.csv"), newline="") as fh:
        assert list(csv.reader(fh))[1:] == [["acc", "0.25"], ["n", "3"], ["ok", "true"], ["curve.0", "1.5"],
                                            ["curve.1", ""], ["pair.0", "image"], ["pair.1", "text"],
                                            ["empty", "{}"], ["none", "[]"], ["inf", ""], ["7.deep.0.x", ""]]
    with pytest.raises(ValueError, match="json or .csv"):
        write_report(report, tmp_path / "r.txt")


MODE_CHILD = """
import os, sys
os.umask(int(sys.argv[1], 8))
from mmstudio.__main__ import main
sys.exit(main(sys.argv[2:]))
"""


def test_outputs_get_the_permissions_a_new_file_gets(demo, tmp_path, umask="027"):
    """0666 less the umask (rw-r----- under 027), never mkstemp's 0600: embed, project and every export."""
    import subprocess
    import sys

    _, path = demo
    runs = [["project", path, "--method", "pca", "--out", tmp_path / "p.parquet"],
            ["embed", DEMO / "manifest.csv", "--out", tmp_path / "e.npz", "--no-cache"]]
    runs += [["export", path, "--out", tmp_path / f"x.{fmt}"] for fmt in ("parquet", "csv", "npz")]
    runs += [["export", path, "--format", "tensorboard", "--out", tmp_path / "tb"]]
    for argv in runs:
        done = subprocess.run([sys.executable, "-c", MODE_CHILD, umask, *map(str, argv)], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 9
    wanted = 0o666 & ~int(umask, 8)
    assert {p.relative_to(tmp_path).as_posix(): oct(p.stat().st_mode & 0o777) for p in files} == \
        {p.relative_to(tmp_path).as_posix(): oct(wanted) for p in files}
