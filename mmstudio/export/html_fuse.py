"""The HTML report of ``mmstudio fuse``: every fusion method's scores under the knobs, what each
modality contributes, the gate, the experts' weights, cross-attention, and the robustness curves.

Built from the dict ``mmstudio fuse --json`` prints (``file``, ``label``, ``lab``, ``scores``,
``curves``); every number shown is one of its numbers (see :mod:`mmstudio.export.html_page`).
"""

from __future__ import annotations

from mmstudio.export.html_page import at, details, figure, heading, inline, para, table
from mmstudio.export.svg_figures import Series, bar_chart, line_plot

SCORES = (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("nll", "NLL"), ("ece", "ECE"), ("entropy", "entropy"))
TRUST = {"confidence": "each expert's confidence per sample (label-free); clean validation accuracy",
         "clean-accuracy": "clean validation accuracy",
         "oracle": "ORACLE: validation accuracy under these knobs, which needs labels of the corrupted data"}


def fuse_sections(report: dict, model: str = "") -> tuple[str, list[str], list[str]]:
    """(title, meta lines, body parts) of the report on ``report``; ``model``: the table's model, if known."""
    from mmstudio.analysis.fusion.attention import attention_words

    r, lab, sc = report, report["lab"], report["scores"]
    meta = [inline(r["file"], *([f" (model {model})"] if model else []), ": predicting ", repr(r["label"]), ", ", len(lab["classes"]), " classes (",
                   ", ".join(str(c) for c in lab["classes"]), "), modalities ", ", ".join(lab["modalities"])),
            inline(at(r, ["lab", "split", "train"]), " train / ", at(r, ["lab", "split", "val"]), " validation / ",
                   at(r, ["lab", "split", "test"]), " test samples; ", at(r, ["lab", "fits"]), " heads trained; seed ",
                   at(r, ["lab", "seed"]), ", modality dropout ", at(r, ["lab", "dropout"], 2))]
    body = [_knobs(r)]
    if lab.get("captions"):
        body.append(para("Several captions per sample: ", lab["captions"], cls="settings"))
    body += _scores(r)
    gated = sc["methods"].get("gated")
    if gated is not None:
        body.append(para("Gate: open on a share ", at(r, ["scores", "methods", "gated", "gate_open_rate"]),
                         " of the test samples at threshold ", at(r, ["scores", "knobs", "gate"], 2), "; trust: ",
                         TRUST[sc["knobs"]["trust"]], ": ",
                         *_listed(r, ["scores", "trust"], sc["trust"])))
    for name in ("poe", "moe"):
        if name in sc["methods"]:
            extra = sc["methods"][name]["extra"]
            base = ["scores", "methods", name, "extra"]
            more = ["; disagreement ", at(r, [*base, "disagreement"]), " nats"] if "disagreement" in extra else []
            body.append(para(f"{name}: mean expert weight ", *_listed(r, [*base, "mean_weight"], extra.get("mean_weight", {})),
                             *more))
    if "cross-attention" in sc["methods"]:
        body.append(para(attention_words(sc["methods"]["cross-attention"]["extra"])))
    for ci, curve in enumerate(r["curves"]):
        body += _curve(r, ci, curve)
    body += _confusions(r)
    return f"mmstudio fuse: {r['file']} on {r['label']!r}", meta, body


def _listed(r: dict, key: list, values: dict) -> list:
    out = []
    for i, name in enumerate(values):
        out += ([", "] if i else []) + [f"{name} ", at(r, [*key, name])]
    return out


def _knobs(r: dict) -> str:
    k = r["scores"]["knobs"]
    key = ["scores", "knobs"]

    def levels(kind):
        return _listed(r, [*key, kind], k[kind]) or ["none"]

    lab = r["lab"]
    attention = ["; cross-attention over ", lab["attention"]] + ([" (", lab["why_pooled"], ")"] if lab.get("why_pooled") else [])
    return para("Knobs at test time: missing ", *levels("missing"), " (imputed: ", k["impute"], "), noise ",
                *levels("noise"), ", mismatch ", *levels("mismatch"), "; gate threshold ", at(r, [*key, "gate"], 2),
                " (", k["agreement"], "), trust ", k["trust"], "; seed ", at(r, [*key, "seed"]), *attention, ".",
                cls="settings")


def _scores(r: dict) -> list[str]:
    sc = r["scores"]
    methods = list(sc["methods"])
    mods = r["lab"]["modalities"]
    base = ["scores", "methods"]
    chart = bar_chart(methods, [Series(label, [sc["methods"][m][key] for m in methods],
                                       keys=[[*base, m, key] for m in methods])
                                for key, label in SCORES[:2]],
                      title=f"Accuracy of each method on {sc['n_test']} test samples", x_label="score", lo=0, hi=1)
    contrib = bar_chart(methods, [Series(f"without {mod}", [sc["methods"][m]["contribution"].get(mod) for m in methods],
                                         keys=[[*base, m, "contribution", mod] for m in methods]) for mod in mods],
                        title="What each modality contributes", x_label="accuracy lost when it is removed from every test sample")
    rows = [[m, *[at(r, [*base, m, key]) for key, _ in SCORES], at(r, [*base, m, "gate_open_rate"]),
             *[at(r, [*base, m, "contribution", mod]) if mod in sc["methods"][m]["contribution"] else "—" for mod in mods]]
            for m in methods]
    present = table(list(sc["present_rate"]), [[at(r, ["scores", "present_rate", mod]) for mod in sc["present_rate"]]],
                    caption="share of test samples with each modality present")
    return [heading("Scores per method"), para("Test samples: ", at(r, ["scores", "n_test"]), "."), figure(chart),
            table(["method", *[label for _, label in SCORES], "gate open", *[f"Δ {mod}" for mod in mods]], rows),
            para("Δ modality: accuracy lost when that modality is removed from every test sample."),
            figure(contrib), present]


def _curve(r: dict, ci: int, c: dict) -> list[str]:
    base = ["curves", ci]
    names = list(c["values"])
    series = [Series(m, c["values"][m], keys=[[*base, "values", m, i] for i in range(len(c["levels"]))]) for m in names]
    rows = [[m, *[at(r, [*base, "summary", m, k]) for k in ("clean", "worst_level", "area", "relative", "effective")]]
            for m in c["summary"]]
    points = [[at(r, [*base, "levels", i]), *[at(r, [*base, "values", m, i]) for m in names]] for i in range(len(c["levels"]))]
    return [heading(f"Robustness: {c['metric']} vs {c['knob']} ({c['modality']})"),
            figure(line_plot(c["levels"], series, title=f"{c['metric']} as {c['knob']} ({c['modality']}) grows",
                             x_label=f"{c['knob']} level", y_label=c["metric"], lo=0, hi=1, height=340)),
            para("Effective robustness against ", c["baseline"], "; area: the mean over the levels (trapezoids)."),
            table(["method", "clean", "worst", "area", "relative", "effective"], rows),
            details("every level", table(["level", *names], points))]


def _confusions(r: dict) -> list[str]:
    sc = r["scores"]
    classes = [str(c) for c in sc["classes"]]
    parts = []
    for m, s in sc["methods"].items():
        rows = [[classes[i], *[at(r, ["scores", "methods", m, "confusion", i, j]) for j in range(len(row))]]
                for i, row in enumerate(s["confusion"])]
        parts.append(table(["true \\ predicted", *classes], rows, caption=m))
    return [details("confusion matrices (rows: true class, columns: predicted)", *parts)] if parts else []
