"""The dominance page: the per-epoch curves, the α sweep with its intervals and the readout come from
one result (the CLI's JSON), on a small synthetic table handed to the panel as its demo table."""

import numpy as np
import pytest
from ui_helpers import finish_principle as finish


@pytest.fixture
def panel(principles_panel):
    return principles_panel




def test_dominance_page_draws_the_sweep_the_result_holds(panel, qtbot):
    from mmstudio.analysis.principles.result import ci_text

    page = panel.pages["dominance"]
    page.epochs.setValue(6)
    page._options_timer.stop()            # run now rather than after the debounce
    page.ogm.setChecked(True)
    finish(qtbot, panel, "dominance")
    r = page.result
    assert page.statement.text() == r.statement and len(r.seeds) == 5
    assert page.shown_run == "OGM-GE α=0.5"
    curves = page.grad_plot.getPlotItem().listDataItems()
    np.testing.assert_allclose(curves[0].yData, r.runs["OGM-GE α=0.5"].grad_norm[r.modalities[0]].mean(axis=0))
    assert len(curves[0].getData()[0]) == 6
    # the sweep plot: one point per setting and series at the headline's mean, whiskers at its interval
    settings = list(r.runs)
    assert settings == ["plain", "OGM-GE α=0", "OGM-GE α=0.1", "OGM-GE α=0.3", "OGM-GE α=0.5", "OGM-GE α=1",
                        "re-weighted"]
    points = [item for item in page.sweep_plot.getPlotItem().listDataItems() if item.opts["symbol"] == "o"]
    for item, (label, key) in zip(points, (("fused", "fused accuracy: {}"), (f"{r.weak} probe", f"{r.weak} probe: {{}}"))):
        means = [r.headline[key.format(s)]["mean"] for s in settings]
        np.testing.assert_allclose(item.getData()[1], means)
        for s in settings:
            e = r.headline[key.format(s)]
            assert page.sweep[label][s] == pytest.approx((e["mean"], *e["ci95"]))
    gain = r.headline["fused accuracy gain: OGM-GE α=0.5 − plain"]
    assert f"fused accuracy OGM-GE α=0.5 − plain: <b>{ci_text(gain)}</b>" in page.readout.text()
    assert ci_text(gain) in r.statement or "raises the fused accuracy" not in r.statement
    with_ogm = page.shown_ratio
    page.ogm.setChecked(False)            # display only: no retraining
    assert not panel.busy()
    plain = page.shown_ratio
    assert page.shown_run == "plain" and plain == pytest.approx(np.mean(r.runs["plain"].grad_ratio(r.dominant, r.weak)))
    assert plain > 1 and with_ogm < plain
    assert f"{plain:.2f}" in page.readout.text()
    # a new α: "computing…" with the previous plot kept until the new result arrives
    page.ogm.setChecked(True)
    page.alpha.setValue(1.0)
    page._options_timer.stop()
    with qtbot.waitSignal(panel.resultShown, timeout=60_000):
        panel.run("dominance")
        assert page.status.text().startswith("computing") and page.result is r
        assert page.grad_plot.getPlotItem().listDataItems()
    assert page.result is not r and page.result.alpha == 1.0 and page.shown_run == "OGM-GE α=1"
    assert page.status.text() == "" and page.statement.text() == page.result.statement
