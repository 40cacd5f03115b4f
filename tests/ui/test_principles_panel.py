"""The principles lab panel: live PoE/MoE sliders against the closed forms, the XOR page's bars,
the cache, settings and the report — on a small synthetic
table (image and audio rows with ``shape`` and ``xor`` columns) handed to the panel as its demo
table, so nothing is rendered or embedded."""

import numpy as np
import pytest
from ui_helpers import finish_principle as finish
from ui_helpers import small_table


@pytest.fixture
def panel(principles_panel):
    return principles_panel




def test_poe_moe_sliders_redraw_the_closed_form_variances(panel):
    from mmstudio.analysis.principles.poe_moe import gaussian, moe_moments, poe_moments

    page = panel.pages["poe-moe"]
    panel.show_page("poe-moe")
    panel.run("poe-moe")
    for key, position in (("variance1", 59), ("variance2", 9), ("mean1", 30), ("mean2", 75), ("weight1", 80)):
        page.sliders[key].slider.setValue(position)    # as a drag would: the page redraws at once
        v = page.values()
        means, variances = (v["mean1"], v["mean2"]), (v["variance1"], v["variance2"])
        weights = (v["weight1"], 1 - v["weight1"])
        poe_mean, poe_var = poe_moments(means, variances)
        moe_mean, moe_var = moe_moments(means, variances, weights)
        assert page.shown["poe_variance"] == pytest.approx(poe_var)
        assert page.shown["moe_variance"] == pytest.approx(moe_var)
        assert page.shown["poe_mean"] == pytest.approx(poe_mean)
        assert f"{poe_var:.3f}" in page.readout.text() and f"{moe_var:.3f}" in page.readout.text()
        x, y = page.curves["product (PoE)"].getData()
        np.testing.assert_allclose(y, gaussian(x, poe_mean, poe_var), rtol=1e-6, atol=1e-9)
        x, y = page.curves["mixture (MoE)"].getData()
        mixture = weights[0] * gaussian(x, means[0], variances[0]) + weights[1] * gaussian(x, means[1], variances[1])
        np.testing.assert_allclose(y, mixture, rtol=1e-9, atol=1e-12)
        x, y = page.curves["expert 1"].getData()
        np.testing.assert_allclose(y, gaussian(x, means[0], variances[0]), rtol=1e-9)
    assert v == {"variance1": 3.0, "variance2": 0.5, "mean1": -2.0, "mean2": 2.5, "weight1": 0.8}
    assert page.statement.text() == panel.results["poe-moe"].statement and "narrower" in page.statement.text()


def test_xor_page_additive_at_chance_interaction_solves_it(panel, qtbot):
    page = panel.pages["complementarity"]
    assert page.data_label.text().startswith("Data: the demo world")   # the workspace has no table
    page = finish(qtbot, panel, "complementarity")
    assert page.values["additive"] == pytest.approx(0.5, abs=0.06)
    assert page.values["interaction"] >= 0.99
    assert page.values["interaction_emap"] == pytest.approx(0.5, abs=0.06)
    assert "demo_mlp" in page.values and "EMAP gap" in page.readout.text()
    assert page.statement.text() == panel.results["complementarity"].statement
    bars = [item for item in page.toy_plot.getPlotItem().items if type(item).__name__ == "BarGraphItem"]
    np.testing.assert_allclose(bars[0].opts["height"], [page.values[k] for k in
                                                        ("additive", "interaction", "interaction_emap")])
    # every bar carries its 95 % interval over the seeds, as the JSON does
    result = panel.results["complementarity"]
    whiskers = [item for item in page.demo_plot.getPlotItem().items if type(item).__name__ == "ErrorBarItem"]
    assert len(result.seeds) == 5 and whiskers[0].isVisible()
    low = whiskers[0].opts["y"] - whiskers[0].opts["bottom"]
    high = whiskers[0].opts["y"] + whiskers[0].opts["top"]
    keys = [f"xor.{k}" for k in ("image", "audio", "additive", "mlp", "mlp_emap")]
    np.testing.assert_allclose(low, [result.headline[k]["ci95"][0] for k in keys], atol=1e-9)
    np.testing.assert_allclose(high, [result.headline[k]["ci95"][1] for k in keys], atol=1e-9)
    assert "means over 5 seeds" in page.readout.text()
    # the same options again: from the cache, no job
    jobs = []
    panel.runner.started.connect(jobs.append)
    panel.run("complementarity")
    assert not jobs and not panel.busy() and page.result is panel.results["complementarity"]


def test_settings_round_trip_and_report(panel, qtbot):
    from mmstudio.ui.principles.panel import QtPrinciplesPanel

    assert panel.report() is None
    panel.show_page("poe-moe")
    panel.pages["poe-moe"].sliders["variance2"].set_value(2.0)   # redraws the PoE page at once
    assert set(panel.report()) == {"poe-moe"}
    panel.pages["dominance"].alpha.setValue(0.8)
    panel.pages["dominance"]._options_timer.stop()
    panel.pages["dominance"].ogm.setChecked(False)
    finish(qtbot, panel, "late-fusion", timeout=120_000)
    panel.run("poe-moe")
    report = panel.report()
    assert set(report) == {"late-fusion", "poe-moe"}
    assert report["poe-moe"]["variances"] == [1.0, 2.0]
    assert report["late-fusion"]["scores"]["exact"]["logit sum"]["ece"] < 0.05
    settings = panel.settings()
    assert settings["page"] == "poe-moe" and settings["pages"]["dominance"] == {
        "alpha": 0.8, "epochs": 20, "ogm": False, "reweight": True}

    other = QtPrinciplesPanel(panel.workspace)
    qtbot.addWidget(other)
    other.apply_settings(settings)
    assert other.settings() == settings
    assert other.results["poe-moe"].poe_variance == pytest.approx(1 / (1 / 1.0 + 1 / 2.0))
    assert not other.busy()              # nothing trains for a page that is not on screen


def test_uses_the_workspace_table_when_it_has_the_columns(panel, qtbot, monkeypatch):
    from mmstudio.analysis.principles import registry

    monkeypatch.setattr(registry, "SAMPLE_LIMIT", 250)   # a "large" table: the principle learns from a sample
    table = small_table(seed=1)
    panel.workspace.table = table
    panel.workspace.tableChanged.emit()
    assert "open table" not in panel.pages["redundancy"].data_label.text()  # written once the panel is shown
    panel.show()
    assert panel.table_for("redundancy", {})[0] is table
    assert "open table (300 samples" in panel.pages["redundancy"].data_label.text()
    assert panel.table_for("late-fusion", {})[0] is None          # takes no table
    without_xor = table.take(np.arange(len(table)))
    del without_xor.columns["xor"]
    panel.workspace.table = without_xor
    assert panel.table_for("redundancy", {})[0] is None           # falls back to the demo world
    panel.workspace.table = table
    page = finish(qtbot, panel, "redundancy")
    assert page.data_label.text().endswith("It learned from a random 250 of 300 samples (seed 0).")
    assert page.result.sample_note == "a random 250 of 300 samples (seed 0)"
    assert page.values["shape"]["both"] >= 0.9
    assert page.values["xor"]["no audio"] <= 0.7                  # a complementary task falls without one
    page.how.setCurrentIndex(1)
    assert page.values["xor"]["no image"] == pytest.approx(page.result.mean_filled["xor"]["image"])
    assert any(key[0] == "redundancy" for key in panel.cache)
    panel.workspace.table = small_table(seed=2)      # a new table: the old one's results are forgotten
    panel.workspace.tableChanged.emit()
    assert not any(key[0] == "redundancy" for key in panel.cache)


def test_captions_readouts_and_bars_show_the_same_numbers(panel, qtbot):
    """One result feeds the bars, the readout and the caption: in the mode the page shows."""
    page = finish(qtbot, panel, "late-fusion")
    page.kind.setCurrentText("learned")
    learned = page.result.scores["learned"]
    for method in ("logit sum", "probability average"):
        assert page.values[method]["nll"] == pytest.approx(learned[method]["nll"])
        assert f"{learned[method]['nll']:.3f}" in page.readout.text()
        assert f"{learned[method]['nll']:.3f}" in page.statement.text()     # the caption names both modes
    page = finish(qtbot, panel, "redundancy")
    page.how.setCurrentIndex(1)                                             # fused model, mean-filled
    r = page.result
    for t in r.tasks:
        drop = r.both[t] - min(r.mean_filled[t].values())
        assert f"{t} <b>{drop:+.2f}</b>" in page.readout.text()
        assert page.values[t]["both"] - min(v for k, v in page.values[t].items() if k != "both") == pytest.approx(drop)
