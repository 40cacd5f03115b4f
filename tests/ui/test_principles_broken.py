"""The broken-assumptions page: the panel runs it as a job on its (small, synthetic) demo table; the
three plots draw the result's numbers, the caption is the CLI's statement, and moving ρ reruns it."""

import numpy as np
import pytest
from ui_helpers import finish_principle as finish


@pytest.fixture
def panel(principles_panel):
    return principles_panel




def test_the_three_plots_caption_and_readout_show_one_result(panel, qtbot):
    name = "broken-assumptions"
    assert panel.pages[name].data_label.text().startswith("Data: the demo world")
    page = finish(qtbot, panel, name)
    r = page.result
    assert page.statement.text() == r.statement and r.verdict in ("shown", "mixed")
    assert "stand-in, not a second encoder" in r.statement          # no second table: said so
    # (1) NLL against ρ: the curves are the result's means, the marker at the chosen ρ
    ind = page.shown["independence"]
    assert ind["x"] == r.independence["rhos"]
    for method in ("logit sum", "true posterior", "probability average"):
        assert ind[method] == [e["mean"] for e in r.independence["curves"][method]["nll"]]
    curves = {c.name(): c.getData() for c in page.independence_plot.getPlotItem().listDataItems()}
    np.testing.assert_allclose(curves["logit sum"][1], ind["logit sum"])
    at = r.independence["rhos"].index(0.8)
    assert ind["logit sum"][at] > ind["true posterior"][at]
    # (2) accuracy with the missing view against ρ
    imp = page.shown["imputation"]
    assert imp["imputed"][-1] > imp["mean-filled"][-1] + 0.05
    curves = {c.name(): c.getData() for c in page.imputation_plot.getPlotItem().listDataItems()}
    np.testing.assert_allclose(curves["imputed"][1], [e["mean"] for e in r.imputation["accuracy"]["imputed"]])
    # (3) bars per modality: the residual, the shuffled pairing's, the rotated copy's (≈ 0)
    bars = [i for i in page.procrustes_plot.getPlotItem().items if type(i).__name__ == "BarGraphItem"]
    p = r.procrustes
    np.testing.assert_allclose(bars[0].opts["height"], [p["numbers"][m]["residual"]["mean"] for m in p["modalities"]])
    assert max(page.shown["procrustes"]["rotated copy"]) < 1e-6
    assert f"{p['numbers']['image']['residual']['mean']:.3f}" in page.readout.text()
    assert f"{r.independence['headline']['independence: NLL logit sum']['mean']:.3f}" in page.readout.text()
    # ρ = 0: the views are conditionally independent, the first part has nothing broken to show
    page.rho.setValue(0.0)
    page._options_timer.stop()
    page = finish(qtbot, panel, name)
    assert page.result.independence["rho"] == 0.0 and page.result.part_verdicts["independence"] == "not shown"
    assert page.result.verdict == "mixed" and page.statement.text().startswith("Mixed: not shown for independence")
    assert panel.settings()["pages"][name] == {"rho": 0.0}
