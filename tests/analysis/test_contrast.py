"""The colour scale of an attention map: each scale against its numpy formula, the built-in model's peaked
maps made visible, and colour-bar ticks that are the scale's own numbers."""

import math

import numpy as np
import pytest
from PIL import Image
from ui_helpers import DEMO

from mmstudio.analysis.attention.contrast import DECADES, PERCENTILES, Scale, fit_scale, tick_label
from mmstudio.analysis.attention.heatmaps import AttentionSession, upsample


def test_percentile_scale_is_numpys_percentile_clip():
    values = np.random.default_rng(0).lognormal(size=(8, 8))
    scale = fit_scale(values, "percentile")
    lo, hi = np.percentile(values, PERCENTILES)
    assert (scale.kind, scale.lo, scale.hi) == ("percentile", lo, hi)
    np.testing.assert_allclose(scale.unit(values), np.clip((values - lo) / (hi - lo), 0, 1), rtol=1e-6, atol=1e-7)
    assert (scale.unit(values) == 1).sum() == (values >= hi).sum()


def test_min_max_and_log_scales_are_their_formulas():
    values = np.random.default_rng(1).lognormal(sigma=4, size=(8, 8))
    linear = fit_scale(values, "min-max")
    np.testing.assert_allclose(linear.unit(values), (values - values.min()) / np.ptp(values), rtol=1e-6, atol=1e-7)
    log = fit_scale(values, "log")
    floor = max(values.min(), values.max() * 10.0 ** -DECADES)
    assert log.kind == "log" and log.lo == floor and log.hi == values.max()
    expected = (np.log10(np.maximum(values, floor)) - np.log10(floor)) / (np.log10(values.max()) - np.log10(floor))
    np.testing.assert_allclose(log.unit(values), expected, rtol=1e-5, atol=1e-6)


def test_a_map_with_values_at_or_below_zero_gets_the_percentile_scale_and_says_why():
    cosines = np.linspace(-0.4, 0.7, 64).reshape(8, 8)
    scale = fit_scale(cosines, "log")
    assert scale.kind == "percentile" and "log needs values > 0" in scale.describe()
    assert fit_scale(np.full(5, 0.25), "percentile").kind == "min-max"       # no spread: nothing to clip
    assert not fit_scale(np.full(5, np.nan)).unit([1.0]).any()
    with pytest.raises(ValueError, match="unknown scale"):
        fit_scale(cosines, "sqrt")


@pytest.fixture(scope="module")
def builtin_maps():
    """The built-in model's maps of eight demo scenes: each whole caption and each of its words."""
    import csv

    from mmstudio.analysis.attention.heatmaps import SPECIAL
    from mmstudio.encoders.registry import load_encoder

    session = AttentionSession(load_encoder("builtin", device="cpu"))
    grids = []
    with open(DEMO / "manifest.csv", newline="") as f:
        for row in list(csv.DictReader(f))[:8]:
            result = session.map(Image.open(DEMO / row["image"]).convert("RGB"), row["caption"])
            grids += [result.grid] + [result.per_word[i] for i, w in enumerate(result.words) if w not in SPECIAL]
    return grids


def test_the_builtin_models_peaked_maps_light_more_of_the_picture_on_the_log_scale(builtin_maps):
    """Cross-attention puts ~1 on a patch or two and ~1e-10 elsewhere: on a min–max scale one patch
    glows. On the log scale no map loses area drawn in the upper three quarters of the colour map,
    the peak keeps the top colour, and the typical map's area doubles (measured on 40 scenes: median
    2.6 % of the picture on min–max, 5.1 % on log)."""
    areas = []
    for grid in builtin_maps:
        linear = upsample(fit_scale(grid, "min-max").unit(grid), (64, 64))
        log = upsample(fit_scale(grid, "log").unit(grid), (64, 64))
        areas.append(((linear > 0.25).mean(), (log > 0.25).mean()))
        assert areas[-1][1] >= areas[-1][0]
        assert fit_scale(grid, "log").unit(grid).flat[grid.argmax()] == 1.0       # the peak stays the top colour
    linear, log = np.median(areas, axis=0)
    assert np.median([g.max() / np.median(g) for g in builtin_maps]) > 1e6      # peaked, as the issue says
    assert log >= 1.7 * linear, (linear, log)


def test_colour_bar_ticks_are_the_scales_numbers_at_their_places():
    scale = Scale("log", 3.7e-7, 0.93)
    ticks = scale.ticks(most=6)
    assert ticks[0] == (3.7e-7, 0.0) and ticks[-1] == (0.93, 1.0)
    inner = [value for value, _ in ticks[1:-1]]
    assert inner and all(math.log10(v).is_integer() for v in inner)         # powers of ten between
    for value, place in ticks:
        assert place == pytest.approx(float(scale.unit([value])[0]), abs=1e-6)
        assert float(tick_label(value)) == pytest.approx(value, rel=5e-3)   # the label reads as the number
    places = [p for _, p in ticks]
    assert min(np.diff(places)) >= 0.98 / 5 and len(ticks) <= 6
    narrow = Scale("log", 0.216, 0.435)                                     # no power of ten inside
    assert [v for v, _ in narrow.ticks(5)][1:-1] and all(round(v / 0.05, 9).is_integer() for v, _ in narrow.ticks(5)[1:-1])
    linear = Scale("min-max", -0.23, 0.61)
    values = [v for v, _ in linear.ticks(5)]
    assert values[0] == -0.23 and values[-1] == 0.61
    assert all(round(v / 0.2, 9).is_integer() for v in values[1:-1])       # round steps between
    assert [tick_label(v) for v in (1e-6, 2.5e-5, 0.00123, 0.5, 12345.0, 0)] == ["1e-6", "2.5e-5", "0.00123", "0.5",
                                                                                 "1.23e4", "0"]
