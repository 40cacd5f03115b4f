"""The HTML report of ``mmstudio align``: retrieval per direction, the worst pairs, the modality gap and
retrieval along it, Procrustes and CKA, the held-out maps, the losses and the similarity matrix.

Built from :func:`mmstudio.analysis.alignment.report.align_report`'s dict; every number shown is one
of its numbers (see :mod:`mmstudio.export.html_page`).
"""

from __future__ import annotations

from mmstudio.export.html_page import at, details, figure, heading, inline, note, para, row, table
from mmstudio.export.svg_figures import Series, bar_chart, heat_map, line_plot

SCORES = ("R@1", "R@5", "R@10", "mAP@10")
COLUMNS = ("n", "R@1", "R@5", "R@10", "median_rank", "mean_rank", "mAP@10", "label_R@1", "label_mAP@10", "label_queries")
HEADERS = ("queries", "R@1", "R@5", "R@10", "median rank", "mean rank", "mAP@10", "label R@1", "label mAP@10",
           "label queries")


def align_sections(report: dict, name: str = "") -> tuple[str, list[str], list[str]]:
    """(title, meta lines, body parts) of the report on ``report``."""
    r = report
    model = [", model ", r["model"]] if r["model"] else []
    meta = [inline(name or "the table", ": ", at(r, ["rows"]), " rows, ", len(r["modalities"]), " modalities (",
                   ", ".join(r["modalities"]), "), ", at(r, ["dim"]), "-d", *model)]
    body = [para("Ties are broken ", r["settings"]["ties"], ". InfoNCE temperature ", at(r, ["settings", "temperature"]),
                 ", triplet margin ", at(r, ["settings", "margin"]), ", seed ", at(r, ["settings", "seed"]),
                 " (train/held-out split and subsamples).", cls="settings")]
    body += _overview(r)
    for pi, pair in enumerate(r["pairs"]):
        body += _pair(r, pi, pair)
    return f"mmstudio align: {name or 'the table'}", meta, body


def _overview(r: dict) -> list[str]:
    found = [(pi, ri, d) for pi, p in enumerate(r["pairs"]) for ri, d in enumerate(p.get("retrieval", []))]
    if not found:
        return []
    cats = [f"{d['query']} → {d['gallery']}" for _, _, d in found]
    series = [Series(m, [d[m] for _, _, d in found], keys=[["pairs", pi, "retrieval", ri, m] for pi, ri, _ in found])
              for m in SCORES]
    return [heading("Retrieval per direction"),
            figure(bar_chart(cats, series, title="Retrieval of each sample's partner", x_label="score", lo=0, hi=1),
                   "R@k: the share of queries whose partner ranks in the first k; mAP@10: the mean of 1/rank over "
                   "queries whose partner ranks in the first 10.")]


def _pair(r: dict, pi: int, pair: dict) -> list[str]:
    a, b = pair["modalities"]
    base = ["pairs", pi]
    out = [heading(f"{a} ↔ {b}"), para(at(r, [*base, "n_pairs"]), " paired samples.")]
    if "note" in pair:
        return out + [note(pair["note"])]
    if "captions" in pair:
        out.append(para(pair["captions"]["protocol"], " (", pair["captions"]["paired"], ")", cls="settings"))
    out.append(table(["direction", *HEADERS],
                     [[f"{d['query']} → {d['gallery']}"] + [at(r, [*base, "retrieval", ri, c], 2 if c == "mean_rank" else
                                                               1 if c == "median_rank" else 3) for c in COLUMNS]
                      for ri, d in enumerate(pair["retrieval"])]))
    out += [_scored_on(r, [*base, "retrieval", ri], d) for ri, d in enumerate(pair["retrieval"])]
    out += [heading("Worst aligned pairs", 3),
            row(*[_worst(r, [*base, "retrieval", ri], d) for ri, d in enumerate(pair["retrieval"])])]
    out += _gap(r, pi, pair, a, b)
    p = [*base, "procrustes"]
    out += [heading("Procrustes and CKA", 3),
            table(["orthogonal residual", "relative", "similarity disparity", "linear CKA"],
                  [[at(r, [*p, k]) for k in ("orthogonal_residual", "orthogonal_relative", "similarity_disparity",
                                              "linear_cka")]]),
            para(f"Computed on {pair['procrustes']['scope']}.", cls="settings")]
    m = [*base, "maps"]
    rows = [[name, *[at(r, [*m, key, c]) if c in pair["maps"][key] else "—" for c in ("R2", "residual", "R@1")]]
            for name, key in (("linear", "linear"), ("MLP", "mlp"), ("unmapped", "unmapped"))]
    out += [heading(f"Map {a} → {b}", 3),
            para(pair["maps"]["sentence"] + (f" ({pair['maps']['scope']})" if "scope" in pair["maps"] else "")),
            para("Fitted on ", at(r, [*m, "n_train"]), " pairs, scored on ", at(r, [*m, "n_test"]), " held out."),
            table(["map", "held-out R²", "residual", "R@1 on the held-out pairs"], rows)]
    lo = [*base, "losses"]
    out += [heading("Losses", 3),
            table(["temperature", "symmetric InfoNCE", "margin", f"triplet hardest {a} → {b}", f"triplet hardest {b} → {a}",
                   f"triplet semi-hard {a} → {b}", f"triplet semi-hard {b} → {a}"],
                  [[at(r, [*lo, "temperature"]), at(r, [*lo, "info_nce"], 4), at(r, [*lo, "margin"]),
                    *[at(r, [*lo, k], 4) for k in ("triplet_hardest_ab", "triplet_hardest_ba", "triplet_semihard_ab",
                                                    "triplet_semihard_ba")]]]),
            _losses_on(r, lo, pair["losses"], a, b)]
    if pair.get("similarity") is not None:
        sim = pair["similarity"]
        out.append(figure(heat_map(sim, title=f"Cosine similarity, {a} × {b}", row_label=f"{a} of each sample",
                                   column_label=f"{b} of each sample", lo=-1, hi=1),
                          f"Rows: the {a} of each paired sample, columns: the {b} of each, in the same order; "
                          "the diagonal holds the partners."))
    return out


INTERVALS = (("R@1", 3), ("R@5", 3), ("R@10", 3), ("median_rank", 1), ("mean_rank", 2), ("mAP@10", 3),
             ("label_R@1", 3), ("label_mAP@10", 3))


def _scored_on(r: dict, key: list, d: dict) -> str:
    """What a direction's retrieval was computed on: every query, or a stated sample with its 95 % intervals."""
    parts = [f"{d['query']} → {d['gallery']} scored on: {d['scope']['sentence']}"]
    found = [(name, digits) for name, digits in INTERVALS if name in d.get("intervals", {})]
    if found:
        parts.append("; over all queries:")
    for i, (name, digits) in enumerate(found):
        parts += [("," if i else "") + f" {name.replace('_', ' ')} ", at(r, [*key, "intervals", name, 0], digits), "–",
                  at(r, [*key, "intervals", name, 1], digits)]
    return para(*parts, cls="settings")


def _losses_on(r: dict, key: list, loss: dict, a: str, b: str) -> str:
    parts = [f"Computed on: {loss['scope']['sentence']}"]
    names = {"info_nce": "InfoNCE", "triplet_hardest_ab": f"hardest {a} → {b}", "triplet_hardest_ba": f"hardest {b} → {a}",
             "triplet_semihard_ab": f"semi-hard {a} → {b}", "triplet_semihard_ba": f"semi-hard {b} → {a}"}
    found = [name for name in names if name in loss.get("intervals", {})]
    if found:
        parts.append("; over all pairs (95 %):")
    for i, name in enumerate(found):
        parts += [("," if i else "") + f" {names[name]} ", at(r, [*key, "intervals", name, 0], 4), "–",
                  at(r, [*key, "intervals", name, 1], 4)]
    return para(*parts, cls="settings")


def _gap(r: dict, pi: int, pair: dict, a: str, b: str) -> list[str]:
    g = ["pairs", pi, "gap"]
    s = pair["gap"]["shift"]
    deltas = s["deltas"]
    sh = [*g, "shift"]
    series = [Series(f"R@1 {a} → {b}", s["R@1_ab"], keys=[[*sh, "R@1_ab", i] for i in range(len(deltas))]),
              Series(f"R@1 {b} → {a}", s["R@1_ba"], keys=[[*sh, "R@1_ba", i] for i in range(len(deltas))]),
              Series("gap after the shift", s["gap_after"], keys=[[*sh, "gap_after", i] for i in range(len(deltas))])]
    rows = [[at(r, [*sh, "deltas", i]), at(r, [*sh, "gap_after", i]), at(r, [*sh, "R@1_ab", i]), at(r, [*sh, "R@1_ba", i]),
             at(r, [*sh, "mean_rank_ab", i], 2), at(r, [*sh, "mean_rank_ba", i], 2), "as is" if deltas[i] == 0 else ""]
            for i in range(len(deltas))]
    return [heading("Modality gap", 3),
            para(f"Modality gap {a} ↔ {b}: ", at(r, [*g, "distance"]), " (distance between the centroids of the "
                 f"normalised embeddings). Shifting {a} by −δ/2 and {b} by +δ/2 along it (",
                 *([pair["gap"]["scope"]] if pair["gap"].get("scope") else [at(r, [*sh, "n"]), " pairs"]),
                 "), R@1 is best at δ = ", at(r, [*g, "best_delta"]), ": ", at(r, [*g, "best_R@1_ab"]), " / ",
                 at(r, [*g, "best_R@1_ba"]), "."),
            figure(line_plot(deltas, series, title=f"Retrieval as {a} and {b} are shifted along the gap",
                             x_label="δ (0: as is)", y_label="R@1, gap", lo=0, marker_x=0.0)),
            details(f"the {len(deltas)} shifts", table(["δ", "gap", f"R@1 {a} → {b}", f"R@1 {b} → {a}",
                                                         f"mean rank {a} → {b}", f"mean rank {b} → {a}", ""], rows))]


def _worst(r: dict, key: list, d: dict) -> str:
    direction = f"{d['query']} → {d['gallery']}"
    if not d["worst"]:
        return para(f"{direction}: none.")
    captions = any("caption_index" in w for w in d["worst"])
    rows = [[w["sample_id"], *([_caption(w)] if captions else []), at(r, [*key, "worst", j, "rank"])]
            for j, w in enumerate(d["worst"])]
    return table(["sample id", *(["caption"] if captions else []), "partner's rank"], rows, caption=direction)


def _caption(entry: dict) -> str:
    return f"caption {entry['caption_index'] + 1}" if "caption_index" in entry else ""
