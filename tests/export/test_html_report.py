"""`mmstudio compare|align|fuse --out REPORT.html`: one self-contained page whose numbers are the
command's --json numbers, whose figures parse and render (in a real headless Chromium when there is
one), and whose user text (sample ids, labels) shows as text."""

import base64
import contextlib
import io
import json
import math
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from mmstudio.__main__ import main
from mmstudio.core.tables.table import EmbeddingTable
from tests.analysis.test_align_cli import make_table

EVIL_LABEL = "<script>alert(1)</script>"
AMP_LABEL = "a & b"
EVIL_ID = "<b>s"  # every sample id starts with it
BLUE, ORANGE = (0x00, 0x72, 0xB2), (0xE6, 0x9F, 0x00)  # the first two colours of svg_figures.PALETTE


def hostile(table: EmbeddingTable, noise: float = 0.0, seed: int = 5) -> EmbeddingTable:
    """make_table's table with sample ids and labels a browser would take for markup."""
    labels = [EVIL_LABEL if v == "circle" else AMP_LABEL for v in table.label]
    vectors = table.vectors + noise * np.random.default_rng(seed).normal(size=table.vectors.shape)
    return EmbeddingTable([EVIL_ID + s[1:] for s in table.sample_id], table.modality, table.path, labels,
                          vectors.astype(np.float32), {}, "m<1>" if noise else "m&0")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    table = make_table()
    hostile(table).write(folder / "a.parquet")
    hostile(table, noise=0.04).write(folder / "b.parquet")
    return folder


@pytest.fixture(scope="module")
def reports(files):
    """Each command run once with --json and --out: (the JSON it printed, the page it wrote)."""
    runs = {"compare": ["compare", str(files / "a.parquet"), str(files / "b.parquet")],
            "align": ["align", str(files / "a.parquet")],
            "align-sampled": ["align", str(files / "a.parquet"), "--queries", "20"],
            "fuse": ["fuse", str(files / "a.parquet"), "--label", "label", "--methods", "early-linear,late-logit,gated",
                     "--dropout", "0", "--curve", "missing:audio"]}
    found = {}
    for kind, argv in runs.items():
        out, printed = files / f"{kind}.html", io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert main([*argv, "--json", "--out", str(out)]) == 0
        found[kind] = (json.loads(printed.getvalue()), out.read_text(encoding="utf-8"))
    return found


class Page(HTMLParser):
    """Every element's tag and attributes, the text inside each element that carries a data-key, and
    all text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements, self.keyed, self.text, self.open, self.cells = [], [], [], [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if tag not in ("circle", "rect", "line", "path", "polyline", "stop", "image", "br", "meta"):
            self.open.append([tag, attrs, []])

    def handle_endtag(self, tag):
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i][0] == tag:
                name, attrs, parts = self.open.pop(i)
                text = "".join(parts).strip()
                if "data-key" in attrs:
                    self.keyed.append((name, attrs, text))
                if name == "td":
                    self.cells.append((attrs, text))
                for outer in self.open:
                    outer[2].append(text if name != "title" else "")
                break

    def handle_startendtag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if "data-key" in attrs:
            self.keyed.append((tag, attrs, ""))

    def handle_data(self, data):
        self.text.append(data)
        if self.open:
            self.open[-1][2].append(data)


def lookup(report, key):
    for part in key:
        report = report[part]
    return report


def shown_as(text: str, value) -> bool:
    """Whether ``text`` is how the page shows ``value``: a float rounded to the decimals shown."""
    if value is None:
        return text == "—"
    if isinstance(value, bool):
        return text == ("yes" if value else "no")
    if isinstance(value, int):
        return text == str(value)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return math.isclose(float(text), value, abs_tol=0.5 * 10 ** -decimals + 1e-12)


def table_keys(page: Page) -> set:
    return {tuple(json.loads(a["data-key"])) for tag, a, _ in page.keyed if tag == "td"}


@pytest.mark.parametrize("kind", ["compare", "align", "align-sampled", "fuse"])
def test_every_number_on_the_page_is_the_json_number(reports, kind):
    report, html = reports[kind]
    page = Page(html)
    assert len(page.keyed) > 50
    for tag, attrs, text in page.keyed:
        key = json.loads(attrs["data-key"])
        value = lookup(report, key)
        if "data-value" in attrs:
            assert json.loads(attrs["data-value"]) == value, key
        if tag in ("td", "span"):
            assert shown_as(text, value), (key, text, value)
        else:  # a mark of a figure: its tooltip names the value
            assert tag in ("rect", "circle") and value is not None, key
    for attrs, text in page.cells:  # no number in a table that is not one of the report's
        if re.fullmatch(r"[-+]?\d+(\.\d+)?", text):
            assert "data-key" in attrs, text


def test_the_align_page_says_what_each_measure_was_computed_on(reports):
    """As `mmstudio align` prints it: every query or a stated sample, with the sample's 95 % intervals."""
    for kind in ("align", "align-sampled"):
        report, html = reports[kind]
        page = Page(html)
        text = " ".join(" ".join(page.text).split())
        keys = {tuple(json.loads(attrs["data-key"])) for _, attrs, _ in page.keyed}
        for p, pair in enumerate(report["pairs"]):
            assert f"Computed on {pair['procrustes']['scope']}." in text
            assert f"Computed on: {pair['losses']['scope']['sentence']}" in text
            for r, d in enumerate(pair["retrieval"]):
                assert f"{d['query']} → {d['gallery']} scored on: {d['scope']['sentence']}" in text
                sampled = d["scope"]["method"] == "sample"
                assert sampled == (kind == "align-sampled")
                assert (("pairs", p, "retrieval", r, "intervals", "R@1", 0) in keys) == sampled
                assert (("pairs", p, "retrieval", r, "intervals", "mean_rank", 1) in keys) == sampled
    assert "a random sample of 20 of" in " ".join(Page(reports["align-sampled"][1]).text)


def test_the_tables_hold_every_measure_of_compare(reports):
    report, html = reports["compare"]
    keys = table_keys(Page(html))
    for i, m in enumerate(report["modalities"]):
        assert {("modalities", i, "cka", "value"), ("modalities", i, "maps", "linear"),
                ("modalities", i, "neighbours", "mean_jaccard")} <= keys
        assert {("modalities", i, "neighbours", "most_changed", j, "jaccard")
                for j in range(len(m["neighbours"]["most_changed"]))} <= keys
    assert len(report["pairs"]) == 3
    for p, pair in enumerate(report["pairs"]):
        assert {("pairs", p, "gap", "A"), ("pairs", p, "gap", "B"), ("pairs", p, "gap", "difference", "low")} <= keys
        for r, d in enumerate(pair["retrieval"]):
            for metric in ("R@1", "R@5", "mAP@10"):
                assert {("pairs", p, "retrieval", r, "A", metric), ("pairs", p, "retrieval", r, "B", metric),
                        *[("pairs", p, "retrieval", r, "difference", metric, e) for e in ("value", "low", "high")]} <= keys
            assert len(d["labels"]) == 2
            assert {("pairs", p, "retrieval", r, "labels", j, "difference", "value") for j in range(2)} <= keys


def test_the_tables_hold_every_measure_of_align_and_fuse(reports):
    report, html = reports["align"]
    keys = table_keys(Page(html))
    for p, pair in enumerate(report["pairs"]):
        for r, d in enumerate(pair["retrieval"]):
            assert {("pairs", p, "retrieval", r, c) for c in ("R@1", "R@5", "R@10", "mAP@10", "mean_rank")} <= keys
            assert {("pairs", p, "retrieval", r, "worst", j, "rank") for j in range(len(d["worst"]))} <= keys
        assert {("pairs", p, "procrustes", "linear_cka"), ("pairs", p, "losses", "info_nce"),
                ("pairs", p, "gap", "shift", "R@1_ab", 0)} <= keys
    report, html = reports["fuse"]
    keys = table_keys(Page(html))
    for name in report["scores"]["methods"]:
        assert {("scores", "methods", name, m) for m in ("accuracy", "macro_f1", "nll", "ece", "entropy")} <= keys
    assert {("curves", 0, "summary", name, "area") for name in report["curves"][0]["summary"]} <= keys


@pytest.mark.parametrize("kind", ["compare", "align", "fuse"])
def test_the_page_is_self_contained_and_its_figures_parse(reports, kind):
    _, html = reports[kind]
    page = Page(html)
    tags = [tag for tag, _ in page.elements]
    assert not {"script", "link", "iframe", "object", "embed"} & set(tags)
    for tag, attrs in page.elements:
        for name in ("src", "href", "xlink:href"):
            if name in attrs:
                assert attrs[name].startswith(("data:image/png;base64,", "#")), (tag, attrs[name][:60])
    assert not re.search(r"@import|url\((?!#)", html)
    assert re.findall(r"https?://[^\"' >]+", html) == ["http://www.w3.org/2000/svg"] * html.count("<svg ")
    svgs = re.findall(r"<svg .*?</svg>", html, re.S)
    assert len(svgs) >= 3
    for svg in svgs:
        ET.fromstring(svg)  # every figure is well-formed XML
    pictures = [a.get("href") for t, a in page.elements if t == "image"]
    assert (len(pictures) > 0) == (kind == "align")  # align's similarity matrices
    for uri in pictures:
        with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as im:
            im.load()
            assert im.size == (40, 40) or im.size == (39, 39)


@pytest.mark.parametrize("kind", ["compare", "align", "fuse"])
def test_user_text_shows_as_text(reports, kind):
    _, html = reports[kind]
    page = Page(html)
    text = "".join(page.text)
    assert EVIL_LABEL not in html and "<b>" not in html and "a & b" not in html
    if kind != "align":  # align shows no labels
        assert EVIL_LABEL in text and AMP_LABEL in text
    if kind != "fuse":  # fuse shows no sample ids
        assert EVIL_ID + "01" in text or EVIL_ID + "00" in text
    assert "m&0" in text  # the model's name


def command_lines(files, out):
    return {"compare": ["compare", str(files / "a.parquet"), str(files / "b.parquet"), "--out", str(out)],
            "align": ["align", str(files / "a.parquet"), "--out", str(out)],
            "fuse": ["fuse", str(files / "a.parquet"), "--label", "label", "--out", str(out)]}


@pytest.mark.parametrize("kind", ["compare", "align", "fuse"])
def test_a_bad_out_path_is_refused_before_any_work(files, tmp_path, capsys, monkeypatch, kind):
    def no_reading(*args, **kwargs):
        raise AssertionError("the table was read before --out was checked")

    monkeypatch.setattr(EmbeddingTable, "read", staticmethod(no_reading))
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "folder.html").mkdir()
    cases = [(tmp_path / "r.pdf", ".pdf is not an output format here"),
             (tmp_path / "folder.html", "is a folder"),
             (tmp_path / "a_file" / "r.html", "is not a folder")]
    for out, reason in cases:
        capsys.readouterr()
        assert main(command_lines(files, out)[kind]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"mmstudio {kind}: --out {out}") and reason in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_page_replaces_an_old_one_whole_and_leaves_no_scratch_file(files, tmp_path, capsys):
    out = tmp_path / "r.html"
    out.write_text("an old report")
    assert main(command_lines(files, out)["align"]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
    assert f"wrote {out}" in capsys.readouterr().err


def test_figures_escape_their_labels_and_carry_their_values():
    from mmstudio.export.svg_figures import Series, bar_chart, line_plot

    svg = bar_chart(["<i>x</i> & y", "z"], [Series("s<1>", [0.25, None], [0.1, None], [0.4, None], [["a"], ["b"]])],
                    title="t & <t>")
    root = ET.fromstring(svg)
    texts = "".join(root.itertext())
    assert "<i>x</i> & y" in texts and "t & <t>" in texts
    bars = [e for e in root.iter() if e.get("class") == "bar"]
    assert len(bars) == 1 and json.loads(bars[0].get("data-key")) == ["a"]  # None draws no bar
    assert "0.250 [0.100, 0.400]" in "".join(bars[0].itertext())
    whisker = next(e for e in root.iter() if e.get("class") == "whisker")
    xs = [float(v) for v in re.findall(r"[MH]([\d.]+)", whisker.get("d"))]
    bar_x, bar_w = float(bars[0].get("x")), float(bars[0].get("width"))
    # the bar runs from 0 to 0.25 and the whisker from 0.1 to 0.4 on the same axis
    scale = bar_w / 0.25
    assert xs[0] == pytest.approx(bar_x + 0.1 * scale, abs=0.15) and xs[1] == pytest.approx(bar_x + 0.4 * scale, abs=0.15)
    zero = ET.fromstring(bar_chart(["a"], [Series("", [0.0])], title="no change"))
    mark = next(e for e in zero.iter() if e.get("class") == "bar")
    assert float(mark.get("width")) >= 2  # a 0 stays visible on the axis
    plot = ET.fromstring(line_plot([0, 1, 2], [Series("<a>", [0.1, None, 0.3])], title="c"))
    assert len([e for e in plot.iter() if e.tag.endswith("polyline")]) == 2  # None breaks the line


def test_axis_ticks_are_round_and_cover_the_values():
    from mmstudio.export.svg_figures import nice_ticks, tick_text

    for lo, hi in [(-0.047, 0.057), (0, 1), (-0.62, 1.24), (0.3, 0.31), (0, 31)]:
        ticks = nice_ticks(lo, hi)
        steps = np.diff(ticks)
        assert ticks[0] <= lo and ticks[-1] >= hi and np.allclose(steps, steps[0]) and 3 <= len(ticks) <= 8
        assert ticks[1] - ticks[0] > (hi - lo) / 6  # not needlessly fine
    assert nice_ticks(-0.047, 0.057) == [-0.05, -0.025, 0.0, 0.025, 0.05, 0.075]
    ticks = nice_ticks(-0.047, 0.057)
    assert [tick_text(t, ticks) for t in ticks][:3] == ["−0.050", "−0.025", "0.000"]  # 0.025 needs 3 decimals
    assert nice_ticks(0, 0) == [-0.1, -0.05, 0.0, 0.05, 0.1]  # one value: a small range around it


CHROMIUM = next((c for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium) to "
                                                              "open the reports in a real browser")


def chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'profile'}", *args], capture_output=True, timeout=300)


def colour_counts(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct colours of a picture ((n, 3) ints) and how many pixels have each."""
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    codes, counts = np.unique(packed, return_counts=True)
    return np.stack([codes >> 16, (codes >> 8) & 255, codes & 255], axis=1).astype(int), counts


def pixels_near(found, colour, tol=12) -> int:
    colours, counts = found
    return int(counts[(np.abs(colours - np.array(colour)) <= tol).all(axis=1)].sum())


@needs_chromium
@pytest.mark.parametrize("kind", ["compare", "align"])
def test_a_real_browser_renders_the_figures(reports, files, tmp_path, kind):
    _, html = reports[kind]
    url = (files / f"{kind}.html").as_uri()
    dom = chromium(tmp_path, "--dump-dom", url).stdout.decode("utf-8")
    assert dom.count("<svg") == html.count("<svg ") and dom.count("<tr>") == html.count("<tr>")
    assert "<script" not in dom and "&lt;b&gt;s01" in dom  # sample ids shown as text
    shot = tmp_path / "shot.png"
    chromium(tmp_path, "--window-size=1100,4000", f"--screenshot={shot}", url)
    found = colour_counts(np.asarray(Image.open(shot).convert("RGB")))
    # bars of the first two series colours: only the figures use them
    assert pixels_near(found, BLUE) > 2000 and pixels_near(found, ORANGE) > 1000
    if kind == "align":  # the first similarity matrix, drawn from its PNG: 360 × 360 pixels of viridis colours
        from mmstudio.export.colormaps import lut

        colours, counts = found
        viridis = {tuple(c) for c in lut("viridis").tolist()}
        in_viridis = counts[[tuple(c) in viridis for c in colours.tolist()]]
        assert in_viridis.sum() > 0.8 * 360 * 360  # its colour bar has 14 × 360
        assert (in_viridis > 20).sum() > 50  # many values, not one flat colour
