"""Named subsets in the window: saved from the selection, a "Colour by" choice that colours its members
(also points that join the map later), kept in the project and back with the same members and colour."""

from selection_data import paired_table, rows_of
from ui_helpers import settled

from mmstudio.ui import colors
from mmstudio.ui.map.subset_colouring import OTHERS


def keys(table, rows):
    return sorted(zip(table.sample_id[rows].tolist(), table.modality[rows].tolist()))


def drawn_colours(window):
    return [tuple(c) for c in window.view.cloud.rgb.tolist()]


def test_a_subset_colours_the_map_and_comes_back_with_the_project(make_window, qtbot, tmp_path):
    paired_table(n=30, modalities=("image", "text")).write(tmp_path / "first.parquet")
    paired_table(n=8, modalities=("audio",), seed=3).write(tmp_path / "sounds.parquet")
    window = make_window()
    ws, view = window.workspace, window.view
    ws.projection["method"] = "pca"
    window.open_paths([str(tmp_path / "first.parquet")])
    qtbot.waitUntil(lambda: settled(window), timeout=120_000)
    chosen = rows_of(ws.table, ["s001", "s004", "s005"])
    ws.select(chosen)
    panel = window.panels["Selection"]
    assert panel.save_subset("picked") is None
    colour = ws.subsets.colour("picked")
    assert view.color_by.findText("subset: picked") >= 0
    view.color_by.setCurrentText("subset: picked")
    expected = [colors.hex_to_rgb(colour) if i in set(chosen.tolist()) else OTHERS for i in range(len(ws.table))]
    assert drawn_colours(window) == expected
    assert "picked (6)" in [entry[0] for entry in view._legend_shown]

    n = len(ws.table)   # the sounds of samples s000… join the map: placed, nothing else moves
    added = []
    ws.pointsAdded.connect(added.append)
    window.open_paths([str(tmp_path / "sounds.parquet")])
    qtbot.waitUntil(lambda: settled(window) and len(ws.table) == n + 8, timeout=120_000)
    assert added == [n]
    assert keys(ws.table, ws.subset_rows("picked")) == keys(ws.table, chosen)
    members = set(ws.subset_rows("picked").tolist())
    assert drawn_colours(window) == [colors.hex_to_rgb(colour) if i in members else OTHERS for i in range(n + 8)]

    ws.subsets.recolour("picked", "#123456")   # recoloured: the map follows
    assert drawn_colours(window)[min(members)] == (0x12, 0x34, 0x56)
    path = tmp_path / "study.mmstudio"
    assert window.projects.save_to(path)

    other = make_window()
    other.open_paths([str(path)])
    ows = other.workspace
    assert list(ows.subsets) == ["picked"]      # back before the rows come; they find their members as they join
    qtbot.waitUntil(lambda: settled(other) and ows.table is not None and len(ows.table) == n + 8
                    and other.view.color_by.currentText() == "subset: picked", timeout=120_000)
    assert ows.subsets.colour("picked") == "#123456"
    assert keys(ows.table, ows.subset_rows("picked")) == keys(ws.table, chosen)
    again = set(ows.subset_rows("picked").tolist())
    assert drawn_colours(other) == [(0x12, 0x34, 0x56) if i in again else OTHERS for i in range(n + 8)]
    assert other.panels["Selection"].subsets.list.item(0).text() == "picked · 6 items"
