"""The inspector's attention pane: where a text looks in the selected image or sound, and which
words of a selected text matter for its picture or sound.

The maps come from :class:`mmstudio.analysis.attention.heatmaps.AttentionSession` on a worker thread
(the media side is cached, so a new text costs only the text). The pane keeps what it draws
(``result``, ``grid``: the map of the word, layer and head shown; ``heat``; ``scale``: its colour
scale), which the tests read; :class:`~mmstudio.ui.inspector.attention_canvas.QtAttentionCanvas`
draws it: the image beside its overlay, or the whole sound's spectrogram with the model's window.
"""

from __future__ import annotations

import html
import threading

import numpy as np
from PySide6 import QtCore, QtWidgets

from mmstudio.analysis.alignment.neighbours import top_k
from mmstudio.analysis.attention.contrast import DEFAULT, SCALES
from mmstudio.core.tables.categories import same_sample
from mmstudio.ui.inspector.attention_canvas import QtAttentionCanvas
from mmstudio.ui.thumbnail_loader import qimage as _qimage
from mmstudio.ui.tooltips import item_text

WHOLE = "(whole text)"
MAX_SIDE = 512           # larger pictures are drawn at this size
SOUND_SECONDS = 600.0    # the spectrogram shows at most this much of a sound


class QtAttentionPane(QtWidgets.QWidget):
    """Controls (text, method, layer, head, colour map, contrast, opacity), the word strip, the picture
    and a caption naming what it shows."""

    mapReady = QtCore.Signal()

    def __init__(self, workspace, parent=None):
        super().__init__(parent)
        self.workspace = workspace
        self.row: int | None = None
        self.media = None                 # decoded PIL image or audio samples of the shown row, as the model saw it
        self.sound = None                 # the whole sound (up to SOUND_SECONDS) and its spectrogram
        self.heard: tuple[float, float] | None = None   # the seconds of the sound the model saw
        self.result = None                # AttentionMap shown (for a text row: over its sample's media)
        self.grid: np.ndarray | None = None   # the map of the word, layer and head shown
        self.heat: np.ndarray | None = None   # that map at the picture's size (image) or over time (audio)
        self.scale = None                 # its colour scale (analysis.attention.contrast.Scale)
        self.word: str | None = None
        self._word_index: int | None = None
        self.token_relevance: list[tuple[str, float]] = []
        self.error = ""
        self._session = None
        self._lock = threading.Lock()
        self._player = None
        self._build()
        workspace.modelChanged.connect(lambda _: setattr(self, "_session", None))

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        self.text = QtWidgets.QComboBox()
        self.text.setEditable(True)
        self.text.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
        self.text.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.text.setMinimumContentsLength(12)  # long captions must not widen the inspector
        self.text.lineEdit().setPlaceholderText("a text to look for, Enter to draw")
        self.text.activated.connect(lambda _: self.compute())
        self.text.lineEdit().returnPressed.connect(self.compute)
        self.method = _combo([], "how the map is computed")
        self.method.activated.connect(lambda _: self.compute())
        self.layer = _spin("layer")
        self.head = _spin("head")
        for spin in (self.layer, self.head):
            spin.valueChanged.connect(lambda _: self.compute())
        self.colormap = _combo(["inferno", "viridis", "turbo", "gray"], "colour map")
        self.colormap.activated.connect(lambda _: self.draw())
        self.contrast = _combo(list(SCALES), "how values become colours: log (decades below the peak), "
                                             "percentile (2nd to 98th) or min–max")
        self.contrast.setCurrentText(DEFAULT)
        self.contrast.activated.connect(lambda _: self.draw())
        self.opacity = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setMinimumWidth(40)
        self.opacity.setToolTip("opacity of the map over the image (the original is beside it)")
        self.opacity.valueChanged.connect(lambda _: self.draw())
        self.words = QtWidgets.QListWidget()
        self.words.setFlow(QtWidgets.QListView.Flow.LeftToRight)
        self.words.setWrapping(True)
        self.words.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.words.setSpacing(1)
        self.words.setMaximumHeight(2 * self.fontMetrics().height() + 16)
        self.words.setToolTip("click a word to see its own map")
        self.words.itemClicked.connect(self._word_clicked)
        self.canvas = QtAttentionCanvas()
        self.canvas.setToolTip("double-click: open the picture in a window of its own")
        self.canvas.doubleClicked.connect(self.open_large)
        self.large: QtWidgets.QWidget | None = None   # the picture in a window of its own, kept in step
        self.caption = QtWidgets.QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.caption.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.tokens = QtWidgets.QLabel()
        self.tokens.setWordWrap(True)
        self.tokens.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.play = QtWidgets.QPushButton("Play")
        self.play.clicked.connect(self.toggle_play)
        controls = QtWidgets.QGridLayout()
        controls.setSpacing(3)
        controls.addWidget(self.text, 0, 0, 1, 3)
        controls.addWidget(self.method, 1, 0, 1, 3)   # a method's name ("cross-attention") needs the whole row
        controls.addWidget(self.layer, 2, 0)
        controls.addWidget(self.head, 2, 1)
        controls.addWidget(self.colormap, 2, 2)
        controls.addWidget(self.contrast, 3, 0)
        controls.addWidget(self.opacity, 3, 1, 1, 2)
        controls.addWidget(self.play, 3, 1, 1, 2)     # a sound has Play where a picture has the opacity
        for column in range(3):
            controls.setColumnStretch(column, 1)
        for control in (self.method, self.layer, self.head, self.colormap, self.contrast):
            control.setMinimumWidth(56)  # a narrow inspector elides them rather than scrolling sideways
        self.text.setMinimumWidth(100)
        inner = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(inner)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.canvas, 1)   # the picture first: a low pane (a panel raised below) still shows it
        layout.addWidget(self.caption)
        layout.addLayout(controls)
        layout.addWidget(self.words)
        layout.addWidget(self.tokens)
        layout.addStretch()  # a text row has no picture: its words stay under the controls
        # the picture fills the space the pane is given; only a pane squeezed below its controls scrolls
        # (its minimum must not set the window's), and then the controls go below the fold, not the picture
        self.scroller = QtWidgets.QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.scroller.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroller.setWidget(inner)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroller)

    # ------------------------------------------------------------------ what is shown
    def show_row(self, row: int) -> bool:
        """Prepare the pane for a table row; False when the model draws no maps for it."""
        ws = self.workspace
        table, encoder = ws.table, ws.encoder
        self._stop()
        self.row, self.result, self.grid, self.heat, self.media, self.word = row, None, None, None, None, None
        self.sound, self.heard, self.scale = None, None, None
        self.token_relevance = []
        for canvas in self._canvases():
            canvas.clear()
        if table is None or encoder is None:
            return False
        modality = table.modality[row]
        target = modality if modality != "text" else self._partner_modality(row)
        methods = tuple(encoder.attention_methods.get(target, ())) if target else ()
        if not methods or (modality != "text" and not table.path[row]):
            return False
        current = self.method.currentText()
        self.method.clear()
        self.method.addItems(methods)
        if current in methods:
            self.method.setCurrentText(current)
        self.text.clear()
        if modality == "text":
            self.text.addItem(item_text(table, row) or "")
            self.text.setEnabled(False)
        else:
            self.text.setEnabled(True)
            for text in self._texts(row):
                self.text.addItem(text)
        self.text.lineEdit().setCursorPosition(0)
        self.play.setVisible(modality == "audio")
        self.canvas.setVisible(modality != "text")
        self.tokens.setVisible(modality == "text")
        self.words.setVisible(modality != "text")
        for control in (self.colormap, self.contrast):
            control.setVisible(modality != "text")
        self.opacity.setVisible(modality == "image")
        self.compute()
        return True

    def _texts(self, row: int) -> list[str]:
        """The query typed (if any), the sample's own caption, then the captions nearest to the item."""
        ws, table = self.workspace, self.workspace.table
        texts = [ws.query[0]] if ws.query is not None else []
        own = [r for r in same_sample(table, row) if table.modality[r] == "text"]
        texts += [item_text(table, r) for r in own]
        text_rows = table.rows("text")
        if len(text_rows):   # one product with every row (no copy of the text rows' vectors), a partial sort
            texts += [item_text(table, r) for r in top_k(table.vectors @ table.vectors[row], text_rows, 8)]
        return list(dict.fromkeys(t for t in texts if t))

    def _partner_modality(self, row: int) -> str | None:
        """For a text row: its sample's image (else sound), which the words are scored against."""
        partner = self._partner(row)
        return None if partner is None else self.workspace.table.modality[partner]

    def _partner(self, row: int) -> int | None:
        table = self.workspace.table
        same = same_sample(table, row)
        for modality in ("image", "audio"):
            for r in same:
                if table.modality[r] == modality and table.path[r]:
                    return int(r)
        return None

    # ------------------------------------------------------------------ computing
    def compute(self) -> None:
        ws = self.workspace
        if self.row is None or ws.table is None or ws.encoder is None:
            return
        table, encoder = ws.table, ws.encoder
        text = self.text.currentText().strip()
        if not text:
            return
        media_row = self.row if table.modality[self.row] != "text" else self._partner(self.row)
        if media_row is None:
            return
        modality, path = table.modality[media_row], str(table.path[media_row])
        method = self.method.currentText() or None
        layers = [self.layer.value()] if self.layer.value() >= 0 and method == "cross-attention" else None
        heads = [self.head.value()] if self.head.value() >= 0 and method == "cross-attention" else None
        session = self._session_for(encoder)
        lock = self._lock

        def work(job):
            from mmstudio.core.dataset import MediaRef
            from mmstudio.core.media.decode import decode

            job.status("attention map")
            ref = MediaRef(modality, path=path)
            media = decode(ref, audio_rate=encoder.audio_rate, max_audio_seconds=encoder.max_audio_seconds)
            sound = None
            if modality == "audio":  # the model hears the start (``media``); the picture shows the whole sound
                from mmstudio.export.spectrogram import spectrogram

                whole = decode(ref, audio_rate=encoder.audio_rate, max_audio_seconds=SOUND_SECONDS)
                sound = whole, spectrogram(whole, encoder.audio_rate)
            with lock:
                result = session.map(media, text, modality=modality, method=method, layers=layers, heads=heads)
            return media, sound, result

        self.caption.setText("drawing…")
        if self.large is not None:
            self.large.caption.setText("drawing…")
        self.workspace.runner.start("attention", work, label="attention map", on_done=self._computed,
                                    on_error=self._failed)

    def _session_for(self, encoder):
        if self._session is None or self._session.encoder is not encoder:
            from mmstudio.analysis.attention.heatmaps import AttentionSession

            self._session = AttentionSession(encoder)
        return self._session

    def _computed(self, payload) -> None:
        self.media, self.sound, self.result = payload
        self.heard = None
        if self.sound is not None:
            rate, whole = self.workspace.encoder.audio_rate, self.sound[0]
            self.heard = (0.0, min(len(self.media), len(whole)) / rate)
        self.error = ""
        index, word = self._word_index, self.word     # a word picked before keeps its map at another layer or head
        self._fill_words()
        kept = [i for i in range(self.words.count()) if word is not None and self.words.item(i).text() == word
                and self.words.item(i).data(QtCore.Qt.ItemDataRole.UserRole) == index]
        self.word, self._word_index = (word, index) if kept else (None, None)
        self.words.setCurrentRow(kept[0] if kept else 0)
        self._limit_spins()
        if self.row is not None and self.workspace.table.modality[self.row] == "text":
            self._shade_tokens()
            self.grid = self.result.grid
            self.caption.setText(self.result.caption())
        self.draw()
        self.mapReady.emit()

    def _failed(self, message: str) -> None:
        self.error = message.splitlines()[0]
        self.caption.setText(self.error)

    def _fill_words(self) -> None:
        from mmstudio.analysis.attention.heatmaps import SPECIAL, clean_token

        self.words.clear()
        self.words.addItem(WHOLE)
        if self.result.per_word is None:
            return
        for i, token in enumerate(self.result.words):
            if token in SPECIAL or not clean_token(token):
                continue
            item = QtWidgets.QListWidgetItem(clean_token(token))
            item.setData(QtCore.Qt.ItemDataRole.UserRole, i)
            self.words.addItem(item)
        row = self.words.sizeHintForRow(0) + 2 * self.words.spacing()
        self.words.setMaximumHeight(2 * row + 2 * self.words.frameWidth() + 2)  # two lines; more scroll

    def _limit_spins(self) -> None:
        cross = self.result.method == "cross-attention" and self.result.n_layers > 0
        for spin, count in ((self.layer, self.result.n_layers), (self.head, self.result.n_heads)):
            spin.blockSignals(True)
            spin.setMaximum(max(count - 1, -1))
            spin.setEnabled(cross)
            spin.blockSignals(False)

    def _word_clicked(self, item) -> None:
        index = item.data(QtCore.Qt.ItemDataRole.UserRole)
        self.word = None if index is None else item.text()
        self._word_index = index
        self.draw()

    def select_word(self, word: str | None) -> None:
        """Show one word's map (``None``: the whole text), as clicking it in the strip does."""
        for i in range(self.words.count()):
            item = self.words.item(i)
            if (word is None and item.text() == WHOLE) or item.text() == word:
                self.words.setCurrentItem(item)
                self._word_clicked(item)
                return
        raise ValueError(f"{word!r} is not a word of the map")

    # ------------------------------------------------------------------ drawing
    def _grid(self) -> np.ndarray:
        if self.word is not None and self.result.per_word is not None:
            return self.result.per_word[self._word_index]
        return self.result.grid

    def draw(self) -> None:
        """Draw the map of the word shown, on the scale the contrast control picks, and say what it is."""
        if self.result is None or self.media is None or self.workspace.table.modality[self.row] == "text":
            return
        from mmstudio.analysis.attention.contrast import fit_scale
        from mmstudio.analysis.attention.heatmaps import upsample
        from mmstudio.export.overlay import image_overlay

        colormap = self.colormap.currentText()
        self.grid = np.asarray(self._grid(), np.float32)
        self.scale = fit_scale(self.grid, self.contrast.currentText())
        if self.result.modality == "image":
            image = self.media
            if max(image.size) > MAX_SIDE:
                image = image.copy()
                image.thumbnail((MAX_SIDE, MAX_SIDE))
            self.heat = self.result.upsampled(image.size, self.grid)
            unit = upsample(self.scale.unit(self.grid), image.size)
            picture = image_overlay(image, unit, colormap=colormap, opacity=self.opacity.value() / 100, min_size=0)
            original, overlay = _qimage(image), _qimage(picture)
            for canvas in self._canvases():
                canvas.show_image(original, overlay, self.scale, colormap)
        else:
            self.heat = self.grid
            for canvas in self._canvases():
                canvas.show_sound(self.sound[1], self.scale.unit(self.grid), self.result.times, self.heard,
                                  self.scale, colormap)
        self.caption.setText(self.describe())
        if self.large is not None:
            self.large.caption.setText(self.caption.text())
            self.large.setWindowTitle(f"Attention — {self.result.query}")

    def _canvases(self) -> list[QtAttentionCanvas]:
        return [self.canvas] + ([self.large.canvas] if self.large is not None else [])

    def open_large(self) -> None:
        """The picture in a window of its own, as large as the window; it follows what the pane draws."""
        if self.large is None:
            self.large = QtWidgets.QWidget(self, QtCore.Qt.WindowType.Window)
            self.large.canvas = QtAttentionCanvas()
            self.large.caption = QtWidgets.QLabel()
            self.large.caption.setWordWrap(True)
            layout = QtWidgets.QVBoxLayout(self.large)
            layout.addWidget(self.large.canvas, 1)
            layout.addWidget(self.large.caption)
            self.large.resize(960, 540)
        self.draw()
        self.large.show()
        self.large.raise_()

    def describe(self) -> str:
        """The caption: the word, method, layers and heads of the map shown, its colour scale, and for a
        sound the part the model heard."""
        text = f"{self.result.caption(self._word_index if self.word is not None else None)} · {self.scale.describe()}"
        if self.heard is not None:
            shown = self.sound[1].duration
            text += f" · the model heard {self.heard[0]:.3g}–{self.heard[1]:.3g} s of {shown:.3g} s"
            if shown >= SOUND_SECONDS - 1e-6:
                text += f" (first {SOUND_SECONDS:g} s drawn)"
        return text

    def _shade_tokens(self) -> None:
        """A text row: each word shaded by how strongly it points into its sample's picture or sound."""
        from mmstudio.analysis.attention.heatmaps import SPECIAL, clean_token

        r = self.result
        spans, values = [], []
        if r.per_word is not None:
            flat = r.per_word.reshape(len(r.per_word), -1)
            keep = [i for i, t in enumerate(r.words) if t not in SPECIAL and clean_token(t)]
            values = flat[keep].max(axis=1) if keep else np.zeros(0)
            lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
            unit = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
            self.token_relevance = [(clean_token(r.words[i]), float(v)) for i, v in zip(keep, values)]
            for (word, _), u in zip(self.token_relevance, unit):
                colour = f"rgb(255,{int(255 - 110 * u)},{int(255 - 220 * u)})"
                spans.append(f'<span style="background:{colour}">&nbsp;{html.escape(word)}&nbsp;</span>')
        partner = self.workspace.table.modality[self._partner(self.row)]
        self.tokens.setText(f"<small>words shaded by their pull on this sample's {partner}</small><br>"
                            + " ".join(spans))

    # ------------------------------------------------------------------ sound
    def toggle_play(self) -> None:
        if self._player is not None and self._playing():
            self._stop()
            return
        try:
            from PySide6 import QtMultimedia
        except ImportError as exc:  # pragma: no cover - depends on the Qt build
            self.caption.setText(f"cannot play sound: {exc}")
            return
        if self._player is None:
            self._player = QtMultimedia.QMediaPlayer(self)
            self._audio_out = QtMultimedia.QAudioOutput(self)
            self._player.setAudioOutput(self._audio_out)
            self._player.positionChanged.connect(self._cursor)
            self._player.playbackStateChanged.connect(
                lambda _: self.play.setText("Stop" if self._playing() else "Play"))
        self._player.setSource(QtCore.QUrl.fromLocalFile(str(self.workspace.table.path[self.row])))
        self._player.play()

    def _playing(self) -> bool:
        from PySide6 import QtMultimedia

        return self._player.playbackState() == QtMultimedia.QMediaPlayer.PlaybackState.PlayingState

    def _stop(self) -> None:
        if self._player is not None:
            self._player.stop()
            self._cursor(None)

    def _cursor(self, position_ms) -> None:
        """The play cursor: a line across the spectrogram at the playing time."""
        for canvas in self._canvases():
            canvas.set_cursor(None if position_ms is None else position_ms / 1000)


def _spin(name: str) -> QtWidgets.QSpinBox:
    spin = QtWidgets.QSpinBox()
    spin.setRange(-1, 63)
    spin.setValue(-1)
    spin.setSpecialValueText(f"all {name}s")
    spin.setPrefix(f"{name} ")
    spin.setToolTip(f"cross-attention {name} (all: averaged)")
    return spin


def _combo(items: list[str], tip: str) -> QtWidgets.QComboBox:
    combo = QtWidgets.QComboBox()
    combo.addItems(items)
    combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(5)  # the inspector may be narrow
    combo.setToolTip(tip)
    return combo
