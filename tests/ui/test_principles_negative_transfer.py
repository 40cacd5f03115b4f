"""The negative-transfer page: the curves, intervals and marks it draws are the result's numbers,
its caption is the statement the command line prints, and its controls set what is computed — on a
small synthetic table (``shape`` in the image and, louder, in the audio) handed to the panel as its
demo table, so nothing is rendered or embedded."""

import numpy as np
import pytest


@pytest.fixture
def panel(principles_panel):
    return principles_panel


def test_the_page_draws_the_results_curves_marks_and_statement(panel, qtbot):
    page = panel.pages["negative-transfer"]
    page.levels.setValue(3)
    page._options_timer.stop()               # run now rather than after the debounce
    assert page.options() == {"strengths": (0.0, 0.4, 0.8), "seeds": 5}
    with qtbot.waitSignal(panel.resultShown, timeout=120_000, check_params_cb=lambda n: n == "negative-transfer"):
        panel.run("negative-transfer")
    r = page.result
    assert r.strengths == [0.0, 0.4, 0.8] and len(r.seeds) == 5
    assert page.statement.text() == r.statement
    for view in ("test only", "also at training"):
        for method in ("best single", "logit sum", "concat MLP"):
            key = f"{view}: {method}"
            if key in page.curves:
                assert page.curves[key] == pytest.approx([e["mean"] for e in r.accuracy[view][method]])
                np.testing.assert_allclose(page.intervals[key], [e["ci95"] for e in r.accuracy[view][method]])
    assert page.curves["test only: gate (oracle)"] == pytest.approx([e["mean"] for e in r.accuracy["test only"]["gate (oracle)"]])
    # what the plot holds: a line per curve, named; the oracle says it leaks labels
    items = {item.name(): item for item in page.test_plot.getPlotItem().listDataItems() if item.name()}
    assert "gate, oracle (leaks test-corruption labels)" in items
    np.testing.assert_allclose(items["logit sum (no gate)"].getData()[1], page.curves["test only: logit sum"])
    # the marks: exactly the (fusion, share) pairs with negative transfer beyond the seeds' noise
    assert sorted(page.marked) == sorted((m, f) for m, flags in r.negative.items()
                                         for f, on in zip(r.strengths, flags) if on)
    assert page.marked, r.statement           # the audio carries shape far louder: swapping it hurts fusion
    assert ("negative transfer from f = " in page.readout.text()) and r.verdict in ("shown", "mixed")
    # a control that changes what is computed: a new run with that many seeds
    page.seeds.setValue(3)
    page._options_timer.stop()
    with qtbot.waitSignal(panel.resultShown, timeout=120_000):
        panel.run("negative-transfer")
    assert len(page.result.seeds) == 3 and page.result is not r
    assert panel.settings()["pages"]["negative-transfer"] == {"largest": 0.8, "levels": 3, "seeds": 3}
