"""The Retrieval tab, as a user sees it: the partner ranks it prints are `mmstudio align`'s, a typed text
lists what text_query finds, a click selects and a double-click browses (Back returns), the Alignment
panel's worst pairs open side by side, and from there one click draws the attention map."""

import dataclasses
import json
import re

import numpy as np
import pytest
from PySide6 import QtCore
from sklearn.metrics.pairwise import cosine_similarity

from mmstudio.__main__ import main
from mmstudio.analysis.alignment.browse import sample_rows
from mmstudio.analysis.alignment.report import pair_rows
from mmstudio.analysis.alignment.retrieval import normalise, retrieve
from mmstudio.core.tables.table import EmbeddingTable

RANK = re.compile(r"true partner: rank ([\d,]+) of ([\d,]+)")
LEFT = QtCore.Qt.MouseButton.LeftButton


def noisy_table(n=30, dim=16, seed=5) -> EmbeddingTable:
    """Images, sounds and captions of ``n`` samples around shared points, noisy enough that partners rank
    anywhere from 1 to far down (captions inline, as a manifest gives them)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, dim))
    mods = ["image"] * n + ["audio"] * n + ["text"] * n
    vectors = np.vstack([base + s * rng.normal(size=(n, dim)) for s in (0.9, 1.3, 1.1)])
    captions = np.array([None] * 2 * n + [f"caption of sample {i}" for i in range(n)], object)
    return EmbeddingTable(np.array([f"s{i:02d}" for i in range(n)] * 3, object), np.array(mods, object),
                          np.array([""] * 3 * n, object), np.array([["cat", "dog"][i % 2] for i in range(3 * n)], object),
                          normalise(vectors), {"caption": captions}, model="test")


@pytest.fixture
def browser(qtbot):
    """The Retrieval panel on a workspace holding ``noisy_table()`` (nothing embedded, no map)."""
    from mmstudio.ui.app import make_app
    from mmstudio.ui.retrieval.panel import QtRetrievalPanel
    from mmstudio.ui.workers import QtRunner
    from mmstudio.ui.workspace import Workspace

    make_app()
    runner = QtRunner(threads=2)
    workspace = Workspace(runner)
    panel = QtRetrievalPanel(workspace)
    qtbot.addWidget(panel)
    panel.resize(1300, 420)
    panel.show()
    workspace.table = noisy_table()
    workspace.tableChanged.emit()
    yield panel
    runner.cancel_all()
    runner.wait(30000)


def pick(panel, qtbot, rows):
    """Select ``rows`` as the map would and wait until the panel has drawn what the first retrieves."""
    with qtbot.waitSignal(panel.shown, timeout=30_000):
        panel.workspace.select(rows)


def shown_ranks(panel) -> dict:
    """modality → (the partner's rank, the gallery size), read from the section titles on screen."""
    out = {}
    for modality, (title, gallery) in panel.sections.items():
        if title.isVisible():
            found = RANK.search(re.sub("<[^>]+>", "", title.text()))
            if found:
                out[modality] = tuple(int(g.replace(",", "")) for g in found.groups())
    return out


def test_partner_ranks_shown_are_aligns_and_give_its_recall(browser, qtbot, tmp_path, capsys):
    table = browser.workspace.table
    path = tmp_path / "t.parquet"
    table.write(path)
    assert main(["align", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    seen = {}   # (query modality, gallery modality) → the ranks shown, query by query
    for row in range(len(table)):
        pick(browser, qtbot, [row])
        for gallery, (rank, size) in shown_ranks(browser).items():
            seen.setdefault((table.modality[row], gallery), []).append(rank)
            assert size == 30
            tiles = browser.sections[gallery][1].tiles.tiles
            framed = [i for i, t in enumerate(tiles) if t.mark == "partner"]
            assert framed == ([rank - 1] if rank <= len(tiles) else [])   # the partner sits at its rank
            assert [t.headline.split(" · ")[0] for t in tiles] == [f"#{i + 1}" for i in range(len(tiles))]
    checked = 0
    for pair in report["pairs"]:
        for direction in pair["retrieval"]:
            ranks = np.array(seen[(direction["query"], direction["gallery"])])
            assert len(ranks) == direction["n"]
            assert np.mean(ranks <= 1) == pytest.approx(direction["R@1"], abs=1e-12)
            assert np.mean(ranks <= 5) == pytest.approx(direction["R@5"], abs=1e-12)
            pairs = pair_rows(table, direction["query"], direction["gallery"])
            expected = retrieve(table.vectors[pairs.rows_a], table.vectors[pairs.rows_b]).ranks
            assert ranks.tolist() == expected.tolist()   # query by query, not only on average
            checked += 1
    assert checked == 6 and 0 < report["pairs"][0]["retrieval"][0]["R@1"] < 1


def test_a_typed_text_lists_what_text_query_finds(browser, qtbot):
    from mmstudio.analysis.alignment.neighbours import text_query
    from mmstudio.encoders.registry import load_encoder

    ws = browser.workspace
    ws.encoder = load_encoder("builtin", device="cpu")
    rng = np.random.default_rng(0)   # the table in the model's width, so that its text can be searched in it
    ws.table = EmbeddingTable(ws.table.sample_id, ws.table.modality, ws.table.path, ws.table.label,
                              normalise(rng.normal(size=(len(ws.table), ws.encoder.dim))), ws.table.columns)
    ws.tableChanged.emit()
    browser.text.setText("a big red star")
    with qtbot.waitSignal(browser.shown, timeout=60_000):
        qtbot.keyClick(browser.text, QtCore.Qt.Key.Key_Return)
    assert browser.query.text == "a big red star" and browser.query.row is None
    found = text_query(ws.encoder, ws.table, "a big red star", k=len(ws.table)).nearest
    for modality in ws.table.modalities:
        tiles = browser.sections[modality][1].tiles.tiles
        expected = [r for r in found if ws.table.modality[r] == modality][:10]
        assert [t.row for t in tiles] == expected
    assert browser.pair.sample.tiles.tiles[0].text == "a big red star"


def test_a_click_selects_a_double_click_browses_and_back_returns(browser, qtbot):
    ws = browser.workspace
    pick(browser, qtbot, [3])
    gallery = browser.sections["text"][1]
    tile = gallery.tile(2)
    qtbot.mouseClick(gallery.viewport(), LEFT, pos=gallery.tile_rect(2).center())
    assert ws.selection.tolist() == [tile.row]                   # on the map (and in the inspector)
    assert browser.query.row == 3                                  # the query stays
    sample = browser.pair.sample                                   # so does a tile of the query's sample
    qtbot.mouseClick(sample.viewport(), LEFT, pos=sample.tile_rect(1).center())
    assert ws.selection.tolist() == [sample.tile(1).row] and browser.query.row == 3
    with qtbot.waitSignal(browser.shown, timeout=30_000):
        qtbot.mouseDClick(gallery.viewport(), LEFT, pos=gallery.tile_rect(2).center())
    assert browser.query.row == tile.row and browser.back.isEnabled()
    assert set(browser.sections) >= {"image", "audio"} and browser.sections["image"][0].isVisible()
    assert not browser.sections["text"][0].isVisible()           # a caption retrieves pictures and sounds
    with qtbot.waitSignal(browser.shown, timeout=30_000):
        qtbot.mouseClick(browser.back, LEFT)
    assert browser.query.row == 3 and ws.selection.tolist() == [3] and not browser.back.isEnabled()


def test_worst_pairs_come_in_rank_order_and_open_their_sample_side_by_side(browser, qtbot):
    from mmstudio.ui.alignment.panel import QtAlignmentPanel

    ws = browser.workspace
    table = ws.table
    alignment = QtAlignmentPanel(ws)
    qtbot.addWidget(alignment)
    alignment.pairOpened.connect(lambda q, _p: browser.open_row(q))
    alignment.resize(1300, 380)
    alignment.show()
    with qtbot.waitSignal(alignment.reportReady, timeout=120_000):
        alignment.refresh()
    a, b = alignment.current_pair()
    shown = [alignment.worst.item(i).text() for i in range(alignment.worst.count())]
    ranks = [int(re.match(r"rank (\d+) · ", s).group(1)) for s in shown]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > 1
    pairs = pair_rows(table, a, b)
    expected = sorted([r for _, r in retrieve(table.vectors[pairs.rows_a], table.vectors[pairs.rows_b],
                                              sample_ids=pairs.sample_ids).worst(10)]
                      + [r for _, r in retrieve(table.vectors[pairs.rows_b], table.vectors[pairs.rows_a],
                                                sample_ids=pairs.sample_ids).worst(10)], reverse=True)
    assert ranks == expected
    item = alignment.worst.item(0)
    query_row, partner_row = item.data(QtCore.Qt.ItemDataRole.UserRole)
    with qtbot.waitSignal(browser.shown, timeout=30_000):
        qtbot.mouseClick(alignment.worst.viewport(), LEFT, pos=alignment.worst.visualItemRect(item).center())
    assert sorted(ws.selection.tolist()) == sorted([query_row, partner_row])
    sid = table.sample_id[query_row]
    tiles = browser.pair.sample.tiles.tiles
    assert [t.row for t in tiles] == list(sample_rows(table, sid).values())   # image, sound, caption of it
    assert [t.mark for t in tiles if t.row == query_row] == ["query"]
    partner = next(t for t in tiles if t.row == partner_row)
    assert partner.headline.startswith(f"rank {ranks[0]} · ") and partner.mark == "missed"
    # what the model put first instead, by brute force over the same gallery
    g = table.modality[partner_row]
    gallery = pair_rows(table, table.modality[query_row], g).rows_b
    first = gallery[np.argmax(cosine_similarity(table.vectors[[query_row]], table.vectors[gallery])[0])]
    words = browser.pair.instead.text()
    assert str(table.sample_id[first]) in words and browser.sections[g][1].tile(0).row == first
    assert browser.sections[g][1].tile(0).mark == "instead"


def test_three_clicks_from_the_alignment_tab_to_where_a_misplaced_caption_looks(demo_window, qtbot):
    from mmstudio.ui.panel_visibility import on_screen

    window = demo_window
    ws = window.workspace
    rng = np.random.default_rng(0)   # the demo aligns perfectly: noise misplaces some of its captions
    ws.table = dataclasses.replace(ws.table, vectors=normalise(ws.table.vectors + 0.2 * rng.normal(
        size=ws.table.vectors.shape).astype(np.float32)))
    ws.tableChanged.emit()
    table = ws.table
    alignment, browser = window.panels["Alignment"], window.panels["Retrieval"]
    with qtbot.waitSignal(alignment.reportReady, timeout=120_000):
        window.strip.open("Alignment")                                  # click 1: the Alignment tab
    worst = alignment.worst
    item = next(worst.item(i) for i in range(worst.count()) if "text → image" in worst.item(i).text())
    query_row, _ = item.data(QtCore.Qt.ItemDataRole.UserRole)   # a misplaced caption: its image ranks low
    with qtbot.waitSignal(browser.shown, timeout=60_000):
        qtbot.mouseClick(worst.viewport(), LEFT, pos=worst.visualItemRect(item).center())   # click 2: a worst pair
    assert on_screen(browser) and browser.query.row == query_row
    sample = sample_rows(table, table.sample_id[query_row])
    caption = browser.current.texts[sample["text"]]
    button = next(b for b in browser.pair.buttons if b.text() == "Attention: caption → image")
    pane = window.inspector.attention
    with qtbot.waitSignal(pane.mapReady, timeout=60_000):
        qtbot.mouseClick(button, LEFT)                                  # click 3: where the caption looks
    assert ws.selection.tolist() == [sample["image"]] and pane.row == sample["image"]
    assert pane.text.currentText() == caption and pane.result.query == caption
    assert pane.isVisible() and pane.grid is not None and pane.grid.size > 1
    assert on_screen(pane)
    # and where the same caption looks in the picture the model put first instead
    link, button = browser.pair.links[1], browser.pair.buttons[1]
    first = browser.sections["image"][1].tile(0).row
    assert button.text() == "Attention: caption → first image" and (link.media_row, link.text) == (first, caption)
    assert first != sample["image"]
    with qtbot.waitSignal(pane.mapReady, timeout=60_000):
        qtbot.mouseClick(button, LEFT)
    assert pane.row == link.media_row and pane.text.currentText() == link.text == pane.result.query


def test_rows_that_join_are_ranked_and_a_replaced_table_drops_the_query(browser, qtbot):
    ws = browser.workspace
    pick(browser, qtbot, [3])
    assert shown_ranks(browser)["text"][1] == 30
    more = noisy_table(n=5, seed=9)
    more = EmbeddingTable(np.array([f"new{s}" for s in more.sample_id], object), more.modality, more.path,
                          more.label, more.vectors, more.columns)
    with qtbot.waitSignal(browser.shown, timeout=30_000):
        ws.table = EmbeddingTable.concat([ws.table, more])   # as the map's feed adds rows: old rows keep their place
        ws.tableChanged.emit()
    assert browser.query.row == 3 and shown_ranks(browser)["text"][1] == 35
    other = noisy_table(seed=11)                               # other samples at the same places (another model)
    ws.table = EmbeddingTable(np.array([f"other{s}" for s in other.sample_id], object), other.modality, other.path,
                              other.label, other.vectors, other.columns)
    ws.tableChanged.emit()
    assert browser.query is None and browser.hint.isVisible() and not browser.splitter.isVisible()
