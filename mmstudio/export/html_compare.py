"""The HTML report of ``mmstudio compare``: what it prints (and its ``--json`` holds), as figures and tables.

Built from :func:`mmstudio.analysis.alignment.compare.compare_tables`'s dict; every number shown is
one of its numbers (see :mod:`mmstudio.export.html_page`).
"""

from __future__ import annotations

from mmstudio.export.html_page import Num, at, details, figure, heading, inline, note, para, row, table
from mmstudio.export.svg_figures import Series, bar_chart

METRICS = ("R@1", "R@5", "mAP@10")
LABELS_DRAWN = 15  # a figure of per-label changes draws the most gained and most lost this many each


def compare_sections(report: dict, name_a: str = "A", name_b: str = "B") -> tuple[str, list[str], list[str]]:
    """(title, meta lines, body parts) of the report on ``report``."""
    r, s = report, report["settings"]
    meta = [inline("A = ", *_side(r, "A", name_a)), inline("B = ", *_side(r, "B", name_b))]
    body = [para(at(r, ["matched", "samples"]), " samples (", at(r, ["matched", "rows"]), " rows) in both, matched by ",
                 r["matched"]["by"], ".", cls="settings"),
            para("Intervals: ", s["interval"], " (", at(r, ["settings", "resamples"]),
                 " resamples, the same for A and B), of B − A. Baselines: ", at(r, ["settings", "permutations"]),
                 " shuffles of B's rows. Neighbours: the ", at(r, ["settings", "k"]),
                 " nearest by cosine. Ties count ", s["ties"], ". Per-label changes: labels with at least ",
                 at(r, ["settings", "min_label_queries"]), " queries. Seed ", at(r, ["settings", "seed"]), ".",
                 cls="settings")]
    body += _modalities(r)
    body += _retrieval_overview(r)
    for pi, pair in enumerate(r["pairs"]):
        body += _pair(r, pi, pair)
    body += _gaps(r)
    return f"mmstudio compare: {name_a} vs {name_b}", meta, body


def _side(r: dict, side: str, name: str) -> list:
    model = [f"model {r[side]['model']}, "] if r[side]["model"] else []
    return [f"{name} (", *model, at(r, [side, "rows"]), " rows, ", at(r, [side, "samples"]), " samples, ",
            at(r, [side, "dim"]), "-d)"]


def _modalities(r: dict) -> list[str]:
    out = [heading("Per modality: how alike the two spaces are")]
    done = [(i, m) for i, m in enumerate(r["modalities"]) if "note" not in m]
    for m in r["modalities"]:
        if "note" in m:
            out.append(note(f"{m['modality']}: {m['note']}"))
    if not done:
        return out
    names = [m["modality"] for _, m in done]

    def series(name, path):
        return Series(name, [_get(m, path) for _, m in done], keys=[["modalities", i, *path] for i, _ in done])

    out.append(figure(bar_chart(names, [series("A vs B", ["cka", "value"]),
                                        series("B shuffled: mean", ["cka", "permuted_mean"]),
                                        series("B shuffled: 95 % quantile", ["cka", "permuted_q95"])],
                                title="Linear CKA of A against B", x_label="linear CKA (1 = the same up to rotation and scale)",
                                lo=0, hi=1),
                      "Linear CKA between A's and B's vectors of the same items, beside its value with B's rows "
                      "shuffled: a value above the shuffled 95 % quantile is more alike than chance."))
    out.append(table(["modality", "rows", "dim A", "dim B", "linear CKA", "shuffled B: mean", "shuffled B: 95 % quantile",
                      "shuffles"],
                     [[m["modality"], at(r, ["modalities", i, "rows"]), at(r, ["modalities", i, "dim_a"]),
                       at(r, ["modalities", i, "dim_b"]), at(r, ["modalities", i, "cka", "value"]),
                       at(r, ["modalities", i, "cka", "permuted_mean"]), at(r, ["modalities", i, "cka", "permuted_q95"]),
                       at(r, ["modalities", i, "cka", "permutations"])] for i, m in done]))
    maps = [series("linear", ["maps", "linear"]), series("linear, B shuffled (mean)", ["maps", "linear_permuted_mean"])]
    if any("orthogonal" in m["maps"] for _, m in done):
        maps += [series("rotation + scale", ["maps", "orthogonal"]),
                 series("rotation + scale, B shuffled (mean)", ["maps", "orthogonal_permuted_mean"])]
    out.append(figure(bar_chart(names, maps, title="Held-out residual of a map A → B",
                                x_label="share of B's variance left on held-out rows (0 = exact)", lo=0),
                      "A map fitted on part of the rows, scored on the rest; rotation + scale only where A and B "
                      "have the same width."))
    out.append(table(["modality", "fitted on", "held out", "linear", "linear, shuffled (mean)", "linear, shuffled (5 %)",
                      "rotation + scale", "rotation + scale, shuffled (mean)", "rotation + scale, shuffled (5 %)"],
                     [[m["modality"]] + [_at_or_dash(r, ["modalities", i, "maps", k]) for k in
                                         ("train", "held_out", "linear", "linear_permuted_mean", "linear_permuted_q05",
                                          "orthogonal", "orthogonal_permuted_mean", "orthogonal_permuted_q05")]
                      for i, m in done]))
    out.append(figure(bar_chart(names, [series("mean Jaccard A vs B", ["neighbours", "mean_jaccard"]),
                                        series("chance", ["neighbours", "chance"])],
                                title="How much each item's nearest neighbours changed",
                                x_label="mean Jaccard of an item's neighbours in A and in B (1 = unchanged)", lo=0, hi=1)))
    out.append(table(["modality", "k", "mean Jaccard A vs B", "chance"],
                     [[m["modality"], at(r, ["modalities", i, "neighbours", "k"]),
                       at(r, ["modalities", i, "neighbours", "mean_jaccard"]),
                       at(r, ["modalities", i, "neighbours", "chance"])] for i, m in done]))
    out.append(heading("The items whose neighbours changed most", 3))
    out.append(row(*[_changed(r, i, m) for i, m in done]))
    return out


def _changed(r: dict, i: int, m: dict) -> str:
    entries = m["neighbours"]["most_changed"]
    if not entries:
        return para(f"{m['modality']}: no item's neighbours changed.")
    captions = any("caption_index" in e for e in entries)
    rows = [[e["sample_id"], *([_caption(e)] if captions else []),
             at(r, ["modalities", i, "neighbours", "most_changed", j, "jaccard"])] for j, e in enumerate(entries)]
    return table(["sample id", *(["caption"] if captions else []), "Jaccard A vs B"], rows, caption=m["modality"])


def _retrieval_overview(r: dict) -> list[str]:
    cats, values, lows, highs, keys = [], [], [], [], []
    for pi, pair in enumerate(r["pairs"]):
        for ri, d in enumerate(pair.get("retrieval", [])):
            diff = d["difference"]["R@1"]
            cats.append(f"{d['query']} → {d['gallery']}")
            values.append(diff["value"])
            lows.append(diff["low"])
            highs.append(diff["high"])
            keys.append(["pairs", pi, "retrieval", ri, "difference", "R@1", "value"])
    if not cats:
        return []
    return [heading("Retrieval: what changed"),
            figure(bar_chart(cats, [Series("B − A", values, lows, highs, keys)], title="Change of R@1, B − A",
                             x_label="R@1 of B − R@1 of A, with its 95 % interval"),
                   "Each direction's change of R@1 with its paired bootstrap interval; an interval that does not "
                   "cross 0 is a change beyond resampling noise.")]


def _pair(r: dict, pi: int, pair: dict) -> list[str]:
    a, b = pair["modalities"]
    out = [heading(f"{a} ↔ {b}", 3), para(at(r, ["pairs", pi, "n_pairs"]), " paired samples.")]
    if "note" in pair:
        return out + [note(pair["note"])]
    if "captions" in pair:
        out.append(para(pair["captions"]["protocol"], cls="settings"))
    cats, series = [], {"A": [], "B": []}
    keys = {"A": [], "B": []}
    diff = Series("B − A", [], [], [], [])
    rows = []
    for ri, d in enumerate(pair["retrieval"]):
        base = ["pairs", pi, "retrieval", ri]
        for metric in METRICS:
            cats.append(f"{d['query']} → {d['gallery']} {metric}")
            for side in ("A", "B"):
                series[side].append(d[side][metric])
                keys[side].append([*base, side, metric])
            dd = d["difference"][metric]
            diff.values.append(dd["value"])
            diff.low.append(dd["low"])
            diff.high.append(dd["high"])
            diff.keys.append([*base, "difference", metric, "value"])
            rows.append([f"{d['query']} → {d['gallery']}", metric, at(r, [*base, "A", metric]), at(r, [*base, "B", metric]),
                         *_interval(r, [*base, "difference", metric])])
    out.append(row(figure(bar_chart(cats, [Series(s, series[s], keys=keys[s]) for s in ("A", "B")],
                                    title=f"Retrieval {a} ↔ {b}: A and B", x_label="score", lo=0, hi=1, width=500)),
                   figure(bar_chart(cats, [diff], title=f"Retrieval {a} ↔ {b}: B − A",
                                    x_label="B − A with its 95 % interval", width=500))))
    out.append(table(["direction", "metric", "A", "B", "B − A", "interval low", "interval high", "excludes 0"], rows))
    for ri, d in enumerate(pair["retrieval"]):
        out += _labels(r, pi, ri, d)
    return out


def _labels(r: dict, pi: int, ri: int, d: dict) -> list[str]:
    if "labels" not in d:
        return []
    direction = f"{d['query']} → {d['gallery']}"
    base = ["pairs", pi, "retrieval", ri]
    min_q = at(r, ["settings", "min_label_queries"])
    left = at(r, [*base, "labels_left_out"])
    if not d["labels"]:
        return [para(f"R@1 by label ({direction}): no label has ", min_q, " queries (", left, " labels with fewer).")]
    entries = list(enumerate(d["labels"]))
    drawn = entries if len(entries) <= 2 * LABELS_DRAWN else entries[:LABELS_DRAWN] + entries[-LABELS_DRAWN:]
    clear = sum(e["difference"]["excludes_0"] for e in d["labels"])
    chart = bar_chart([e["label"] for _, e in drawn],
                      [Series("B − A", [e["difference"]["value"] for _, e in drawn],
                              [e["difference"]["low"] for _, e in drawn], [e["difference"]["high"] for _, e in drawn],
                              [[*base, "labels", j, "difference", "value"] for j, _ in drawn])],
                      title=f"R@1 by label, {direction}: B − A", x_label="B − A with its 95 % interval", digits=2)
    caption = (f"Labels with at least {r['settings']['min_label_queries']} queries, most gained to most lost"
               + (f"; the {LABELS_DRAWN} most gained and most lost of {len(entries)} are drawn, the table lists all"
                  if len(drawn) < len(entries) else "") + ".")
    rows = [[e["label"], at(r, [*base, "labels", j, "queries"]), at(r, [*base, "labels", j, "R@1_A"]),
             at(r, [*base, "labels", j, "R@1_B"]), *_interval(r, [*base, "labels", j, "difference"])] for j, e in entries]
    return [heading(f"R@1 by label, {direction}", 4),
            para(clear, " of ", len(d["labels"]), " labels with an interval excluding 0; ", left,
                 " labels with fewer than ", min_q, " queries are left out."),
            figure(chart, caption),
            details(f"the {len(entries)} labels", table(["label", "queries", "R@1 A", "R@1 B", "B − A", "interval low",
                                                          "interval high", "excludes 0"], rows))]


def _gaps(r: dict) -> list[str]:
    done = [(pi, p) for pi, p in enumerate(r["pairs"]) if "gap" in p]
    if not done:
        return []
    names = [" ↔ ".join(p["modalities"]) for _, p in done]
    chart = bar_chart(names, [Series(side, [p["gap"][side] for _, p in done], keys=[["pairs", pi, "gap", side] for pi, _ in done])
                              for side in ("A", "B")],
                      title="Modality gap of A and of B", x_label="distance between the modalities' centroids", lo=0)
    rows = [[n, at(r, ["pairs", pi, "gap", "A"]), at(r, ["pairs", pi, "gap", "B"]), *_interval(r, ["pairs", pi, "gap", "difference"])]
            for n, (pi, _) in zip(names, done)]
    return [heading("Modality gap"), figure(chart, "The distance between the centroids of the normalised embeddings "
                                            "of the two modalities, in each table."),
            table(["pair", "A", "B", "B − A", "interval low", "interval high", "excludes 0"], rows)]


def _interval(r: dict, key: list) -> list[Num]:
    return [at(r, [*key, "value"], signed=True), at(r, [*key, "low"]), at(r, [*key, "high"]), at(r, [*key, "excludes_0"])]


def _get(d: dict, path: list):
    for part in path:
        if part not in d:
            return None
        d = d[part]
    return d


def _at_or_dash(r: dict, key: list):
    try:
        return at(r, key)
    except KeyError:
        return "—"


def _caption(entry: dict) -> str:
    return f"caption {entry['caption_index'] + 1}" if "caption_index" in entry else ""
