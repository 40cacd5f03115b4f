"""The pointing game for any encoder and method: hand-made maps score what they must (a Gaussian at the
box centre always hits, a map peaked outside every box never does, uniform peaks hit at the chance level
the result states), the interval is scipy's Wilson interval, and a Hugging Face CLIP plays the game end
to end on the demo scenes, from Python, from ``mmstudio attend --pointing`` and from the benchmark."""

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from mmstudio.__main__ import main
from mmstudio.analysis.attention.heatmaps import AttentionSession, pointing_hit
from mmstudio.analysis.attention.pointing import PointingCase, pointing_game, score_maps, wilson_interval
from mmstudio.demo.pointing import pointing_cases
from mmstudio.demo.world import make_scenes
from mmstudio.encoders.registry import load_encoder

ROOT = Path(__file__).resolve().parents[2]


def _gaussian(shape, centre_xy, size, sigma_px):
    """A grid of ``shape`` (rows, cols) sampling a Gaussian at ``centre_xy`` (pixels) over an image of ``size``."""
    rows, cols = shape
    width, height = size
    ys = (np.arange(rows) + 0.5) * height / rows
    xs = (np.arange(cols) + 0.5) * width / cols
    cx, cy = centre_xy
    return np.exp(-((xs[None, :] - cx) ** 2 + (ys[:, None] - cy) ** 2) / (2 * sigma_px ** 2))


def _random_cases(rng, n, size=(80, 48), min_side=14):
    """Cases with two disjoint boxes (left half, right half) of at least ``min_side`` pixels."""
    width, height = size
    image = np.zeros((height, width, 3), np.uint8)
    cases = []
    for _ in range(n):
        boxes = []
        for left in (0, width // 2):
            w, h = rng.integers(min_side, width // 2 - 4), rng.integers(min_side, height - 8)
            x0, y0 = left + rng.integers(0, width // 2 - w), rng.integers(4, height - h)
            boxes.append((int(x0), int(y0), int(x0 + w), int(y0 + h)))
        k = int(rng.integers(2))
        cases.append(PointingCase(image, "a thing", boxes[k], (boxes[1 - k],)))
    return cases


def _centre(box):
    x0, y0, x1, y1 = box
    return (x0 + x1) / 2, (y0 + y1) / 2


@pytest.mark.parametrize("grid", [(48, 80), (6, 10)])  # full resolution, and 8-pixel cells upsampled
def test_a_gaussian_at_the_box_centre_always_hits_and_a_peak_outside_every_box_never(grid):
    rng = np.random.default_rng(0)
    cases = _random_cases(rng, 60)
    size = (80, 48)
    at_box = [_gaussian(grid, _centre(c.box), size, 6.0) for c in cases]
    result = score_maps(at_box, cases)
    assert (result.hits, result.n, result.rate, result.other_rate) == (60, 60, 1.0, 0.0)
    assert result.named_share[0] == 1.0 and result.grid == grid

    outside = []
    for case in cases:  # the top row's far corner: the boxes start 4 px below the top
        corner = (2.0, 1.0) if case.box[0] > 40 else (78.0, 1.0)
        outside.append(_gaussian(grid, corner, size, 3.0))
    assert all(not pointing_hit(np.asarray(m), c.box) for m, c in zip(outside, cases) if m.shape == (48, 80))
    missed = score_maps(outside, cases)
    assert (missed.hits, missed.rate, missed.other_rate, missed.named_share) == (0, 0.0, 0.0, None)

    on_the_other = score_maps([_gaussian(grid, _centre(c.others[0]), size, 6.0) for c in cases], cases)
    assert (on_the_other.rate, on_the_other.other_rate, on_the_other.named_share[0]) == (0.0, 1.0, 0.0)
    assert "below chance" in on_the_other.lines()[0] and "prefers the other object" in on_the_other.lines()[1]


def test_chance_is_the_mean_box_share_and_uniform_peaks_hit_at_that_rate():
    rng = np.random.default_rng(1)
    cases = _random_cases(rng, 1500)
    shares = []
    for case in cases:  # the share of the image's pixels inside the box, counted on a mask
        mask = np.zeros((48, 80), bool)
        x0, y0, x1, y1 = case.box
        mask[y0:y1, x0:x1] = True
        shares.append(mask.mean())
    noise = [rng.random((48, 80)) for _ in cases]  # full resolution: the peak is uniform over the pixels
    result = score_maps(noise, cases)
    assert result.chance == pytest.approx(np.mean(shares), abs=1e-12)
    sd = np.sqrt(result.chance * (1 - result.chance) / result.n)
    assert abs(result.rate - result.chance) < 4 * sd, (result.rate, result.chance)
    assert result.low <= result.chance <= result.high
    assert "not distinguishable from chance" in result.lines()[0]


@pytest.mark.parametrize("hits, n", [(0, 10), (10, 10), (7, 20), (2039, 2040), (321, 2040)])
def test_wilson_interval_matches_scipy(hits, n):
    reference = binomtest(hits, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(hits, n) == pytest.approx((reference.low, reference.high), abs=1e-9)


def test_pointing_cases_are_the_two_object_scenes_each_object_named_once():
    scenes = make_scenes(30, seed=777)
    two = [s for s in scenes if len(s.objects) == 2]
    cases = pointing_cases(30, 777)
    assert len(cases) == 2 * len(two) > 0
    assert [c.box for c in cases] == [o.box for s in two for o in s.objects]
    assert all(len(c.others) == 1 and c.others[0] != c.box for c in cases)
    with pytest.raises(ValueError, match="no two-object scene"):
        pointing_cases(1, 777)  # the first scene of seed 777 has one object


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    import tiny_models

    return tiny_models.build_tiny_clip(tmp_path_factory.mktemp("pointing") / "tiny-clip")


@pytest.mark.parametrize("method", ["patch-similarity", "relevance"])
def test_a_random_tiny_clip_plays_the_game_on_the_demo_scenes(tiny_clip, method):
    encoder = load_encoder(str(tiny_clip), device="cpu")
    cases = pointing_cases(12, 777)
    result = pointing_game(encoder, cases, method)
    assert result.n == len(cases) and result.grid == (4, 4) and result.method == method
    assert 0 <= result.low <= result.rate <= result.high <= 1
    assert result.chance == pytest.approx(np.mean([(c.box[2] - c.box[0]) * (c.box[3] - c.box[1]) / 64 ** 2
                                                  for c in cases]))
    session = AttentionSession(encoder)  # the game scores the maps the app shows
    hits = [pointing_hit(session.map(c.image, c.text, method=method).upsampled((64, 64)), c.box) for c in cases]
    assert result.hits == sum(hits)


def test_the_built_in_model_scores_as_its_shipped_evaluation_on_the_same_scenes():
    from mmstudio.demo.evaluate import pointing

    builtin = load_encoder("builtin", device="cpu")
    cases = pointing_cases(16, 777)
    shipped = pointing(builtin, make_scenes(16, seed=777), 777)
    for method, key in (("cross-attention", "cross_attention"), ("patch-similarity", "patch_similarity")):
        assert pointing_game(builtin, cases, method).rate == shipped[key]


def test_attend_pointing_prints_the_rate_its_interval_and_chance(tiny_clip, capsys):
    assert main(["attend", "--pointing", "--model", str(tiny_clip), "--scenes", "12",
                 "--method", "patch-similarity"]) == 0
    out = capsys.readouterr().out
    expected = pointing_game(load_encoder(str(tiny_clip), device="cpu"), pointing_cases(12, 777), "patch-similarity")
    assert f"first 12 scenes drawn with seed 777: {expected.n} captions" in out
    line = re.search(r"patch-similarity: pointing ([\d.]+) \((\d+)/(\d+)\), 95 % Wilson interval ([\d.]+)–([\d.]+); "
                     r"chance ([\d.]+)", out)
    assert line, out
    assert [float(v) for v in line.groups()] == pytest.approx(
        [expected.rate, expected.hits, expected.n, expected.low, expected.high, expected.chance], abs=5e-4)
    assert main(["attend", "--pointing", "--model", str(tiny_clip), "--scenes", "12", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in report["results"]] == ["patch-similarity", "relevance"]  # every method it offers
    assert report["results"][0]["hits"] == expected.hits and report["cases"] == expected.n
    assert main(["attend", "--help"]) == 0
    assert "mmstudio attend --pointing --model openai/clip-vit-base-patch32" in capsys.readouterr().out


@pytest.mark.parametrize("argv, says", [
    (["attend", "x.png", "--pointing"], "leave out IMAGE_OR_AUDIO"),
    (["attend", "x.png", "--text", "a", "--out", "m.png", "--scenes", "5"], "--scenes: only with --pointing"),
    (["attend", "--text", "a red circle"], "give IMAGE_OR_AUDIO, --out to draw a map"),
    (["attend", "--pointing", "--scenes", "1"], "no two-object scene"),
    (["attend", "--pointing", "--method", "relevance"], "offers cross-attention, patch-similarity over images, not relevance"),
    (["attend", "--pointing", "--method", "cross-attention", "--subtract-empty"],
     "--subtract-empty applies to patch-similarity, not cross-attention"),
])
def test_attend_pointing_refuses_options_that_do_not_go_together(argv, says, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_the_benchmark_prints_both_rows_with_chance(tiny_clip, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("pointing_benchmark", ROOT / "benchmarks" / "pointing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--scenes", "12", "--model", str(tiny_clip), "--work", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out.strip().splitlines()[-1])["rows"]
    assert [(r["model"], r["method"]) for r in rows] == [
        ("built-in (trained with boxes)", "cross-attention"), ("built-in (trained with boxes)", "patch-similarity"),
        (str(tiny_clip), "patch-similarity"), (str(tiny_clip), "patch-similarity minus the empty prompt"),
        (str(tiny_clip), "relevance")]
    assert len({r["chance"] for r in rows}) == 1 and all(r["wilson_95"][0] <= r["rate"] <= r["wilson_95"][1] for r in rows)
    assert f"| {tiny_clip} | relevance |" in out and f"{tiny_clip} (its own weights)" in out
