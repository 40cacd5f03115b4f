"""The sample-complexity page: accuracy curves with their intervals, the samples-to-target markers and
the readout come from one result, on a small synthetic table handed to the panel as its demo table."""

import numpy as np
import pytest
from ui_helpers import finish_principle as finish


@pytest.fixture
def panel(principles_panel):
    return principles_panel




def test_sample_complexity_page_draws_samples_to_target_from_the_result(panel, qtbot):
    page = panel.pages["sample-complexity"]
    assert page.options() == {"task": "shape", "points": 6}               # two noisy views: the default noise
    page.points.setValue(4)
    page._options_timer.stop()
    finish(qtbot, panel, "sample-complexity")
    r = page.result
    assert r.noise == {"image": 3.0, "audio": 3.0} and len(r.seeds) == 5 and len(r.sizes) == 4
    assert page.statement.text() == r.statement
    items = page.acc_plot.getPlotItem().listDataItems()
    curves = {item.name(): item for item in items if item.name() in r.sets}
    for s in r.sets:
        np.testing.assert_allclose(curves[s].getData()[1], r.accuracy[s].mean(axis=0))
        e = r.headline.get(f"samples to target: {s}")
        if e is None:
            assert page.to_target[s] is None and f"{s} <b>not reached</b>" in page.readout.text()
        else:
            assert page.to_target[s] == pytest.approx((e["mean"], *e["ci95"]))
            assert f"{s} <b>n ≈ {e['mean']:.0f}</b> [{e['ci95'][0]:.0f}, {e['ci95'][1]:.0f}]" in page.readout.text()
            diamonds = [i for i in items if i.opts["symbol"] == "d" and i.xData[0] == pytest.approx(e["mean"])]
            assert diamonds and diamonds[0].yData[0] == pytest.approx(r.target, abs=0.02)   # on the target line
    assert f"target {r.target:.2f}" in [i.name() for i in items]
    # whiskers: the 95 % interval of the mean accuracy at every size
    whiskers = [i for i in items if i.opts.get("connect") == "pairs"]
    np.testing.assert_allclose(whiskers[0].getData()[1], r.accuracy_ci(r.sets[0]).ravel())
    # the plain task: no noise, a new result
    page.task.setCurrentText("shape")
    page._options_timer.stop()
    assert page.options() == {"task": "shape", "noise": {}, "points": 4}
    finish(qtbot, panel, "sample-complexity")
    assert page.result is not r and page.result.noise == {} and page.statement.text() == page.result.statement
