"""The Retrieval tab: an item (the one selected on the map, in the library or the inspector) or a typed
text as the query; per modality, the items most similar to it as a row of tiles, best first, with their
cosine and rank; where the query's true partner ranks (the rank ``mmstudio align`` counts), highlighted
when it is among them; the query's sample side by side (:mod:`.pair_view`).

A click on a tile selects the item on the map; a double-click makes it the query (Back returns). The
Alignment panel's worst pairs open here (:func:`add_retrieval_panel` links them). The numbers come from
:mod:`mmstudio.analysis.alignment.browse` in a job; the panel computes nothing itself.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
from PySide6 import QtCore, QtWidgets

from mmstudio.ui.guard import guarded
from mmstudio.ui.panel_visibility import on_screen
from mmstudio.ui.retrieval.gallery import TILE, QtGallery, Tile
from mmstudio.ui.retrieval.pair_view import MEDIA_WORDS, AttentionLink, QtPairView

K = 10
NOUNS = {"image": ("image", "images"), "audio": ("sound", "sounds"), "text": ("caption", "captions")}
GOOD, BAD = "#1e7b34", "#b3261e"


@dataclass(frozen=True)
class Query:
    """A table row (and its sample, to know it again when the table changes), or a typed text and its vector."""

    row: int | None = None
    text: str | None = None
    vector: np.ndarray | None = field(default=None, compare=False)
    sample_id: object = field(default=None, compare=False)

    def still_in(self, table) -> bool:
        """Does ``table`` still hold this query (its row, of the same sample; or rows of its vector's width)?"""
        if table is None or len(table) == 0:
            return False
        if self.row is None:
            return self.vector is None or len(self.vector) == table.dim
        return self.row < len(table) and table.sample_id[self.row] == self.sample_id


@dataclass
class Shown:
    """What one job found for a query (the browse result, the sample's rows, the captions to show)."""

    query: Query
    table: object
    result: object          # analysis.alignment.browse.Browse
    sample: dict            # modality → the sample's row
    texts: dict             # row → caption


class QtRetrievalPanel(QtWidgets.QWidget):
    shown = QtCore.Signal()                       # a result is drawn
    attentionShown = QtCore.Signal(int, str)      # the media row (now selected) and the text to map on it

    lazy = False  # the window sets it: compute only while the tab is on screen

    def __init__(self, workspace, parent=None):
        super().__init__(parent)
        self.workspace = workspace
        self.query: Query | None = None
        self.history: list[Query] = []
        self.current: Shown | None = None
        self._seen_query = None          # the workspace's text query last taken
        self._selecting = False          # True while the panel itself changes the selection
        self._stale = False
        self._cache = (None, None)       # (table, TableCache): what its queries share
        self._build()
        workspace.selectionChanged.connect(self._selection_changed)
        workspace.tableChanged.connect(self._table_changed)
        workspace.modelChanged.connect(lambda _: self._draw())

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        self.back = QtWidgets.QPushButton("◀ Back")
        self.back.setToolTip("The query before this one")
        self.back.setEnabled(False)
        self.back.clicked.connect(self.go_back)
        self.query_label = QtWidgets.QLabel()
        self.query_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.query_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.text = QtWidgets.QLineEdit()
        self.text.setPlaceholderText("or type a text, Enter: what it retrieves")
        self.text.setClearButtonEnabled(True)
        self.text.setMinimumWidth(150)
        self.text.returnPressed.connect(self.search_text)
        self.k = QtWidgets.QSpinBox()
        self.k.setRange(1, 100)
        self.k.setValue(K)
        self.k.setPrefix("top ")
        self.k.setToolTip("How many items of each modality to show")
        self.k.valueChanged.connect(lambda _: self.refresh())
        self.status = QtWidgets.QLabel()
        self.status.setStyleSheet("color: gray")
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 0)
        bar.addWidget(self.back)
        bar.addWidget(self.query_label, 3)
        bar.addWidget(self.text, 2)
        bar.addWidget(self.k)
        bar.addWidget(self.status)

        self.pair = QtPairView()
        self.pair.picked.connect(self.select_row)
        self.pair.opened.connect(self.open_row)
        self.pair.attentionRequested.connect(self.show_attention)
        self.sections_box = QtWidgets.QWidget()
        self.sections_layout = QtWidgets.QVBoxLayout(self.sections_box)
        self.sections_layout.setContentsMargins(4, 2, 4, 2)
        self.sections_layout.setSpacing(2)
        self.sections_layout.addStretch(1)
        self.sections: dict[str, tuple[QtWidgets.QLabel, QtGallery]] = {}
        self.results_area = scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.sections_box)
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.pair)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([3 * TILE.width() + 20, 900])   # a sample's three modalities side by side
        self.hint = QtWidgets.QLabel()
        self.hint.setWordWrap(True)
        self.hint.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("color: gray")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.hint, 1)          # one of the two is shown
        layout.addWidget(self.splitter, 1)
        self._draw()

    def section(self, modality: str) -> tuple[QtWidgets.QLabel, QtGallery]:
        """The title and tiles of one modality (made on first use)."""
        if modality not in self.sections:
            title = QtWidgets.QLabel()
            title.setTextFormat(QtCore.Qt.TextFormat.RichText)
            title.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
            gallery = QtGallery()
            gallery.picked.connect(self.select_row)
            gallery.opened.connect(self.open_row)
            at = self.sections_layout.count() - 1  # before the stretch
            self.sections_layout.insertWidget(at, title)
            self.sections_layout.insertWidget(at + 1, gallery)
            self.sections[modality] = (title, gallery)
        return self.sections[modality]

    # ------------------------------------------------------------------ what the query is
    def _selection_changed(self) -> None:
        if self._selecting:
            return
        ws = self.workspace
        if ws.query is not self._seen_query:
            self._seen_query = ws.query
            if ws.query is not None:
                self.set_query(Query(text=ws.query[0], vector=np.asarray(ws.query[1], np.float32)))
                return
        if len(ws.selection) and ws.table is not None:
            if self.query is not None and self.query.row is not None and self.query.row in ws.selection:
                return  # the query is still among the selected items (its partner was added, say)
            row = int(ws.selection[0])
            self.set_query(Query(row=row, sample_id=ws.table.sample_id[row]))

    def _table_changed(self) -> None:
        """Rows joined (the query and the Back list stay, ranked again) or the rows were replaced (what is
        no longer there goes)."""
        table = self.workspace.table
        self.history = [q for q in self.history if q.still_in(table)]
        if self.query is not None and not self.query.still_in(table):
            self.query, self.current = None, None
        self.refresh()

    def set_query(self, query: Query, remember: bool = True) -> None:
        """Show what ``query`` retrieves (a job); the one before it goes to the Back list."""
        if query == self.query:
            return
        if remember and self.query is not None:
            self.history.append(self.query)
        self.query = query
        self.refresh()

    def open_row(self, row: int) -> None:
        """Make an item the query (a double-click on a tile, a worst pair opened from the Alignment panel)."""
        table = self.workspace.table
        if table is not None and 0 <= int(row) < len(table):
            self.set_query(Query(row=int(row), sample_id=table.sample_id[int(row)]))

    def go_back(self) -> None:
        if not self.history:
            return
        self.set_query(self.history.pop(), remember=False)
        if self.query.row is not None:
            self._select([self.query.row])

    def search_text(self) -> None:
        """The typed text as the query: the workspace embeds it (the map shows it as a star too)."""
        text = self.text.text().strip()
        if not text:
            return
        ws = self.workspace
        if ws.encoder is None:
            self.status.setText("no model loaded to embed the text")
            return
        self.status.setText("embedding the text…")
        ws.set_query(text)

    # ------------------------------------------------------------------ actions on items
    def _select(self, rows) -> None:
        self._selecting = True
        try:
            self.workspace.select(rows)
        finally:
            self._selecting = False

    def select_row(self, row: int) -> None:
        """A tile clicked: that item is selected on the map (the query stays)."""
        if self.workspace.query is not None:
            self.workspace.clear_query()
            self._seen_query = None
        self._select([int(row)])

    def show_attention(self, media_row: int, text: str) -> None:
        """Select the picture or sound and ask for the map of ``text`` on it (the window shows the Inspector)."""
        self._select([int(media_row)])
        self.attentionShown.emit(int(media_row), text)

    # ------------------------------------------------------------------ computing
    @guarded(None)
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.came_on_screen()

    def came_on_screen(self) -> None:
        if self._stale and on_screen(self):
            self.refresh()

    def refresh(self) -> None:
        """Compute what the query retrieves (a job; the newest wins)."""
        table, query = self.workspace.table, self.query
        if query is None or not query.still_in(table):
            self.current = None
            wrong_width = query is not None and query.vector is not None and table is not None and len(table)
            self._draw(f"cannot search: the text's vector is {len(query.vector)}-d, the table's {table.dim}-d"
                       if wrong_width else "")
            return
        self._stale = self.lazy and not on_screen(self)
        if self._stale:
            return
        k, cache = self.k.value(), self._table_cache(table)

        def work(job):
            from mmstudio.analysis.alignment.browse import browse_row, browse_vector, sample_rows
            from mmstudio.ui.tooltips import item_text

            if query.row is not None:
                result = browse_row(table, query.row, k, cache=cache, job=job)
                sample = sample_rows(table, result.sample_id)
                if result.sample_id is None:
                    sample = {result.modality: query.row}
            else:
                result = browse_vector(table, query.vector, k, cache=cache, job=job)
                sample = {}
            rows = {r for hits in result.hits.values() for r in hits.rows.tolist()} | set(sample.values())
            texts = {r: item_text(table, r) or "" for r in rows if table.modality[r] == "text"}
            return Shown(query, table, result, sample, texts)

        self.status.setText("searching…")
        self.workspace.runner.start("retrieval", work, label="retrieval", on_done=self._computed,
                                    on_error=lambda _m: self.status.setText("the search failed (see the Log)"))

    def _table_cache(self, table):
        if self._cache[0] is not table:
            from mmstudio.analysis.alignment.browse import TableCache

            self._cache = (table, TableCache(table))
        return self._cache[1]

    def _computed(self, shown: Shown) -> None:
        if shown.table is not self.workspace.table or shown.query != self.query:
            return
        if self.current is None or self.current.query != shown.query:
            self.results_area.verticalScrollBar().setValue(0)   # a new query starts at its first modality
            if shown.query.row is not None:
                self.text.clear()                         # the text typed is no longer the query
        self.current = shown
        self.status.setText("")
        self._draw()
        self.shown.emit()

    # ------------------------------------------------------------------ drawing
    def _draw(self, note: str = "") -> None:
        self.back.setEnabled(bool(self.history))
        shown = self.current
        if shown is None:
            self.query_label.setText("")
            self.hint.setText(note or "Select an item (on the map, in the library or the inspector) or type a text: "
                                      "the items of every other modality most similar to it come here, best first, "
                                      "with where its own caption, picture or sound ranks.")
            self.hint.setVisible(True)
            self.splitter.setVisible(False)
            return
        self.hint.setVisible(False)
        self.splitter.setVisible(True)
        table, result, query = shown.table, shown.result, shown.query
        self.query_label.setText(self._query_words(shown))
        for modality in list(self.sections):
            if modality not in result.hits:
                title, gallery = self.sections[modality]
                title.setVisible(False)
                gallery.setVisible(False)
        for modality, hits in result.hits.items():
            title, gallery = self.section(modality)
            title.setVisible(True)
            gallery.setVisible(True)
            title.setText(self._section_title(hits, query))
            gallery.set_tiles(self._hit_tiles(shown, hits))
        self._draw_pair(shown)
        if len(result.hits) == 0:
            self.hint.setText(f"the table has only {table.modality[query.row]} items: nothing of another modality to "
                              "retrieve")
            self.hint.setVisible(True)

    def _query_words(self, shown: Shown) -> str:
        query, table = shown.query, shown.table
        if query.row is None:
            return f"Query: typed text <i>{html.escape(query.text or '')}</i>"
        row = query.row
        label = table.label[row]
        return (f"Query: {table.modality[row]} <b>{html.escape(str(table.sample_id[row]))}</b>"
                + (f" ({html.escape(str(label))})" if label not in (None, "") else ""))

    def _section_title(self, hits, query: Query) -> str:
        one, many = NOUNS.get(hits.modality, (hits.modality, hits.modality + "s"))
        k = len(hits.rows)
        if query.row is None:
            return f"<b>{many}</b> · the {k} most similar of {hits.size:,}"
        if hits.partner is None:
            return f"<b>{many}</b> · no true partner (its sample has no {one}) · the {k} most similar of {hits.size:,}"
        rank = hits.partner_rank
        colour = GOOD if rank == 1 else BAD
        where = "framed green below" if rank <= k else f"not among the {k} shown"
        text = (f"<b>{many}</b> · true partner: <b style='color:{colour}'>rank {rank:,} of {hits.size:,}</b> "
                f"(cos {hits.partner_score:.3f}), {where}")
        if hits.size < hits.total:
            query_one = NOUNS.get(hits.paired_with, (hits.paired_with,))[0]
            text += (f" · ranked among the {hits.size:,} of {hits.total:,} {many} whose sample has a {query_one}, "
                     "as mmstudio align ranks them")
        return text

    def _tile(self, shown: Shown, row: int, headline: str, mark=None, tip: str = "") -> Tile:
        table = shown.table
        label = table.label[row]
        footer = str(table.sample_id[row]) + (f" · {label}" if label not in (None, "") else "")
        path = str(table.path[row]) if table.path[row] else ""
        return Tile(int(row), str(table.modality[row]), headline, path, shown.texts.get(int(row), ""), footer, mark, tip)

    def _hit_tiles(self, shown: Shown, hits) -> list[Tile]:
        tiles = []
        missed = hits.partner is not None and hits.partner_rank > 1
        for i, (row, score) in enumerate(zip(hits.rows.tolist(), hits.scores.tolist())):
            partner = row == hits.partner
            mark = "partner" if partner else ("instead" if i == 0 and missed else None)
            headline = f"#{i + 1} · {score:.3f}"
            tip = (f"rank {i + 1} of {hits.size:,}, cosine {score:.4f}" + (" — the query's true partner" if partner else "")
                   + ("; put first instead of the partner" if mark == "instead" else "")
                   + "\nclick: select it on the map · double-click: make it the query")
            tiles.append(self._tile(shown, row, headline, mark, tip))
        return tiles

    def _draw_pair(self, shown: Shown) -> None:
        table, result, query = shown.table, shown.result, shown.query
        if query.row is None:
            tile = Tile(None, "text", "typed query", text=query.text or "", mark="query",
                        tip="the text typed (not an item of the table)")
            links = [self._link(shown, "query", f"first {MEDIA_WORDS[m]}", int(hits.rows[0]), query.text or "")
                     for m, hits in result.hits.items() if m in MEDIA_WORDS and len(hits.rows)]
            self.pair.show_sample("<b>Typed query</b>", [tile], [], links[:2])
            return
        tiles, instead = [], []
        for modality in table.modalities:
            if modality == result.modality:
                tiles.append(self._tile(shown, query.row, "query", "query",
                                        "the query\nclick: select it on the map"))
                continue
            hits = result.hits.get(modality)
            if hits is None or hits.partner is None:
                continue
            rank = hits.partner_rank
            tiles.append(self._tile(shown, hits.partner, f"rank {rank:,} · {hits.partner_score:.3f}",
                                    "partner" if rank == 1 else "missed",
                                    f"the query's true partner: rank {rank:,} of {hits.size:,}, cosine "
                                    f"{hits.partner_score:.4f}\nclick: select it on the map"))
            if rank > 1 and len(hits.rows):
                first = int(hits.rows[0])
                instead.append(f"<b>{NOUNS.get(modality, (modality,))[0]}</b> put first instead: "
                               f"{self._describe(shown, first)} · cos {hits.scores[0]:.3f} "
                               f"(its partner's {hits.partner_score:.3f})")
        sid = html.escape(str(result.sample_id))
        self.pair.show_sample(f"<b>Sample {sid}</b>: every modality of it", tiles, instead, self._links(shown))

    def _describe(self, shown: Shown, row: int, rich: bool = True) -> str:
        """An item in a few words: a caption's start, or a sample id and label."""
        table = shown.table
        escape = html.escape if rich else str
        sid = escape(str(table.sample_id[row]))
        if table.modality[row] == "text":
            text = shown.texts.get(row, "")
            text = escape(text if len(text) <= 70 else text[:69] + "…")
            return (f"<i>{text}</i>" if rich else f"“{text}”") + f" ({sid})"
        label = table.label[row]
        return f"{sid}" + (f" ({escape(str(label))})" if label not in (None, "") else "")

    def _links(self, shown: Shown) -> list[AttentionLink]:
        """The attention buttons of a row query: the sample's caption on its picture (else its sound), and on
        the other side of a misplaced pair, the caption put first, or the picture put first."""
        result, sample, query = shown.result, shown.sample, shown.query
        text_row = sample.get("text")
        links = []
        for media in ("image", "audio"):
            media_row = query.row if result.modality == media else sample.get(media)
            if media_row is None or text_row is None:
                continue
            word = MEDIA_WORDS[media]
            caption = shown.texts.get(text_row, "")
            links.append(self._link(shown, "caption", word, media_row, caption))
            hits = result.hits.get("text" if result.modality == media else media)
            if hits is not None and hits.partner is not None and hits.partner_rank > 1 and len(hits.rows):
                first = int(hits.rows[0])
                if result.modality == media:   # the caption the model put first, on this picture
                    links.append(self._link(shown, "first caption", word, media_row, shown.texts.get(first, "")))
                elif result.modality == "text":  # the caption on the picture the model put first
                    links.append(self._link(shown, "caption", f"first {word}", first, caption))
            break  # the picture when there is one, else the sound
        return links

    def _link(self, shown: Shown, what: str, where: str, media_row: int, text: str) -> AttentionLink:
        encoder, table = self.workspace.encoder, shown.table
        modality = str(table.modality[media_row])
        label = f"Attention: {what} → {where}"
        tip = (f"Where “{text}” looks in the {NOUNS[modality][0]} {self._describe(shown, int(media_row), rich=False)}: "
               "the Inspector's attention map")
        if encoder is None:
            return AttentionLink(label, int(media_row), text, "no model is loaded to draw attention maps", False)
        if not tuple(getattr(encoder, "attention_methods", {}).get(modality, ())):
            return AttentionLink(label, int(media_row), text, f"{encoder.name} draws no attention maps for "
                                 f"{NOUNS[modality][1]}", False)
        if not table.path[media_row]:
            return AttentionLink(label, int(media_row), text, "the item has no file to draw on", False)
        return AttentionLink(label, int(media_row), text, tip)


def add_retrieval_panel(window, alignment=None) -> QtRetrievalPanel:
    """The Retrieval tab in ``window``, opened by the Alignment panel's worst pairs; its attention buttons
    show the map in the Inspector."""
    panel = QtRetrievalPanel(window.workspace)
    panel.lazy = True
    dock = window.add_panel("Retrieval", panel)

    def open_pair(query_row: int, _partner_row: int) -> None:
        panel.open_row(query_row)
        dock.show()
        dock.raise_()

    def attention(media_row: int, text: str) -> None:
        pane = window.inspector.attention
        if pane.row == media_row and pane.text.isEnabled() and text:
            pane.text.setCurrentText(text)
            pane.compute()
        inspector = window.docks.get("Inspector")
        if inspector is not None:
            inspector.show()
            inspector.raise_()

    if alignment is not None:
        alignment.pairOpened.connect(open_pair)
    panel.attentionShown.connect(attention)
    return panel
