"""The alignment metrics of a group of rows (the selection, a subset): ``mmstudio align``'s report
(:func:`~mmstudio.analysis.alignment.report.align_report`) on just those rows, shown as one column per
group so two subsets read side by side, each with its n."""

from __future__ import annotations

from itertools import combinations

from PySide6 import QtCore, QtWidgets

from mmstudio.analysis.common.pairing import sample_rows
from mmstudio.core.values import num


def pair_counts(table, rows) -> dict[tuple[str, str], int]:
    """For each pair of modalities among ``rows``, how many samples have an item of both among them."""
    part = table.take(rows)
    per_sample = sample_rows(part)
    return {(a, b): sum(1 for r in per_sample.values() if a in r and b in r)
            for a, b in combinations(part.modalities, 2)}


def no_pairs_reason(table, rows, what: str = "the selection") -> str | None:
    """Why ``rows`` have no alignment metrics (one line), or None when they hold pairs."""
    if len(rows) == 0:
        return f"{what} is empty"
    if any(pair_counts(table, rows).values()):
        return None
    samples = len(set(table.sample_id[rows].tolist()))
    return (f"{what} holds no pairs: none of its {samples:,} sample{'s' if samples != 1 else ''} has items of two "
            "modalities in it (alignment compares each sample's image, sound and caption)")


def align_rows(table, rows, job=None) -> dict:
    """``mmstudio align``'s report on ``rows`` of ``table`` alone."""
    from mmstudio.analysis.alignment.report import align_report

    return align_report(table.take(rows), job=job)


def metric_rows(report: dict) -> list[tuple[str, str]]:
    """(what, value) lines of a report: items, then per modality pair its pairs, retrieval both ways,
    the gap and CKA (or the report's note when too few pairs)."""
    lines = [("items", f"{report['rows']:,}")]
    for pair in report["pairs"]:
        a, b = pair["modalities"]
        lines.append((f"{a} ↔ {b} pairs (n)", f"{pair['n_pairs']:,}"))
        if "note" in pair:
            lines.append((f"{a} ↔ {b}", pair["note"]))
            continue
        for result in pair["retrieval"]:
            q, g = result["query"], result["gallery"]
            lines += [(f"{q} → {g} queries scored", scored(result.get("scope"))),
                      (f"{q} → {g} R@1", num(result["R@1"]) + _interval(result, "R@1")),
                      (f"{q} → {g} R@5", num(result["R@5"]) + _interval(result, "R@5")),
                      (f"{q} → {g} median rank", num(result["median_rank"], 1)),
                      (f"{q} → {g} mAP@10", num(result["mAP@10"]))]
        lines += [(f"{a} ↔ {b} modality gap", num(pair["gap"]["distance"])),
                  (f"{a} ↔ {b} linear CKA", num(pair["procrustes"]["linear_cka"])),
                  (f"{a} ↔ {b} InfoNCE", num(pair["losses"]["info_nce"], 4))]
    return lines


def scored(scope: dict | None) -> str:
    """The queries a direction was scored on, short: "all 300" or "9,375 of 500,000, random (seed 0)"."""
    if not scope:
        return ""
    if scope["method"] == "exact":
        return f"all {scope['total']:,}"
    return f"{scope['scored']:,} of {scope['total']:,}, random (seed {scope['seed']})"


def _interval(result: dict, metric: str) -> str:
    """" (95 %: 0.401–0.423)" after a sampled value, nothing after an exact one."""
    if "intervals" not in result:
        return ""
    low, high = result["intervals"][metric]
    return f" (95 %: {num(low)}–{num(high)})"


class QtMetricsTable(QtWidgets.QTableWidget):
    """Metrics down, one column per group (the selection, or subset A and subset B), each headed with its n."""

    def __init__(self, parent=None):
        super().__init__(0, 0, parent)
        self.columns: list[tuple[str, dict]] = []
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setDefaultAlignment(QtCore.Qt.AlignmentFlag.AlignRight
                                                    | QtCore.Qt.AlignmentFlag.AlignVCenter)

    def show_reports(self, columns: list[tuple[str, dict]]) -> None:
        """``columns``: (title, report) each; the title gets the report's number of items."""
        self.columns = columns
        per_column = [dict(metric_rows(report)) for _, report in columns]
        names = list(dict.fromkeys(name for lines in per_column for name in lines))
        self.clear()
        self.setColumnCount(1 + len(columns))
        self.setHorizontalHeaderLabels(["metric"] + [f"{title}\nn = {report['rows']:,} items"
                                                     for title, report in columns])
        self.setRowCount(len(names))
        for i, name in enumerate(names):
            self.setItem(i, 0, QtWidgets.QTableWidgetItem(name))
            for j, lines in enumerate(per_column):
                item = QtWidgets.QTableWidgetItem(lines.get(name, "—"))
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.setItem(i, j + 1, item)

    def value(self, metric: str, column: int = 0) -> str | None:
        """The text shown for ``metric`` in a group's column (None when the metric is not listed)."""
        for i in range(self.rowCount()):
            if self.item(i, 0).text() == metric:
                return self.item(i, column + 1).text()
        return None
