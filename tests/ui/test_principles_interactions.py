"""The interactions page of the principles lab: the bars and whiskers are the result's numbers, the
interval picker redraws without a new run, the task picker computes the other label, and the caption is
the statement the command line prints — on the small synthetic table the panel tests use."""

import numpy as np
import pytest


@pytest.fixture
def panel(principles_panel):
    return principles_panel


def bars(plot):
    return [item for item in plot.getPlotItem().items if type(item).__name__ == "BarGraphItem"]


def whiskers(plot):
    items = [item for item in plot.getPlotItem().items if type(item).__name__ == "ErrorBarItem" and item.isVisible()]
    assert len(items) == 1
    o = items[0].opts
    return o["y"] - o["bottom"], o["y"] + o["top"]


def test_interactions_page_draws_the_decomposition_it_computed(panel, qtbot):
    from mmstudio.analysis.principles.interactions import keys

    page = panel.pages["interactions"]
    assert page.task.currentText() == "xor"
    with qtbot.waitSignal(panel.resultShown, timeout=120_000, check_params_cb=lambda n: n == "interactions"):
        panel.run("interactions")
    r = page.result
    assert r is panel.results["interactions"] and r.task == "xor"
    names = keys(r.modalities)
    atoms, infos = names[:4], names[4:7]
    # the bars: means over the seeds; the whiskers: the bootstrap interval (the default)
    np.testing.assert_allclose(bars(page.atoms_plot)[0].opts["height"], [r.headline[k]["mean"] for k in atoms])
    np.testing.assert_allclose(bars(page.info_plot)[0].opts["height"], [r.headline[k]["mean"] for k in infos])
    lo, hi = whiskers(page.atoms_plot)
    np.testing.assert_allclose(lo, [r.bootstrap[k][0] for k in atoms], atol=1e-12)
    np.testing.assert_allclose(hi, [r.bootstrap[k][1] for k in atoms], atol=1e-12)
    assert sum(page.values[k] for k in atoms) == pytest.approx(page.values["info_joint"], abs=1e-9)
    text = page.readout.text()
    assert f"{r.headline['info_joint']['mean']:.3f}" in text and f"{r.headline['info_image']['mean']:.3f}" in text
    assert f"H(xor) = {r.label_entropy:.3f}" in text
    assert page.statement.text() == r.statement and r.statement.split(":")[0] in ("Shown", "Not shown on this data")
    # the interval picker only redraws: the whiskers become the t-intervals over the seeds
    jobs = []
    panel.runner.started.connect(jobs.append)
    page.interval.setCurrentIndex(1)
    lo, hi = whiskers(page.atoms_plot)
    np.testing.assert_allclose(lo, [r.headline[k]["ci95"][0] for k in atoms], atol=1e-12)
    np.testing.assert_allclose(hi, [r.headline[k]["ci95"][1] for k in atoms], atol=1e-12)
    assert not jobs and page.result is r and "over 5 seeds" in page.readout.text()
    # the task picker computes the other label
    with qtbot.waitSignal(panel.resultShown, timeout=120_000, check_params_cb=lambda n: n == "interactions"):
        page.task.setCurrentText("shape")
        page._options_timer.stop()        # run now rather than after the debounce
        panel.run("interactions")
    assert page.result.task == "shape" and page.result is not r
    np.testing.assert_allclose(bars(page.atoms_plot)[0].opts["height"],
                               [page.result.headline[k]["mean"] for k in atoms])
    assert "H(shape)" in page.readout.text() and page.statement.text() == page.result.statement
    assert panel.report()["interactions"]["task"] == "shape"
