"""A bar over the map when the built-in model is used on media that are not the demo world's: the
numbers (:mod:`mmstudio.encoders.builtin.domain`), and a button to the model dialog. Dismissed,
it stays away until the numbers change."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from mmstudio.core.dataset import Dataset


class QtModelNote(QtWidgets.QFrame):
    def __init__(self, main_window):
        view = main_window.view
        super().__init__(view)
        self.setObjectName("model-note")
        self.workspace, self.runner = main_window.workspace, main_window.runner
        self.demo_fit = None          # the last check's result (a DemoFit), or None
        self._dismissed: str | None = None
        self.setStyleSheet("#model-note { background: #fff4ce; border: 1px solid #e0c060; border-radius: 3px; }"
                           "#model-note QLabel { color: #3a3000; }")
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_button = QtWidgets.QPushButton("Model > Model…")
        self.model_button.setToolTip("Choose another model: CLIP, SigLIP, CLAP or BLIP from the Hugging Face "
                                     "cache, or a model folder")
        self.model_button.clicked.connect(main_window.choose_model)
        self.dismiss_button = QtWidgets.QToolButton()
        self.dismiss_button.setText("✕")
        self.dismiss_button.setAutoRaise(True)
        self.dismiss_button.setToolTip("Hide this note (it comes back if the numbers change)")
        self.dismiss_button.clicked.connect(self.dismiss)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        row.addWidget(self.label, 1)
        row.addWidget(self.model_button)
        row.addWidget(self.dismiss_button)
        layout = view.layout()
        layout.insertWidget(layout.indexOf(view.plot), self)   # right above the map
        self.hide()
        self.workspace.datasetChanged.connect(self.check)
        self.workspace.modelChanged.connect(self.check)

    def check(self, *_args) -> None:
        """Measure the open samples against the built-in model's demo world, in a job."""
        ws = self.workspace
        encoder = ws.encoder
        if encoder is None or getattr(encoder, "name", None) != "builtin" or not len(ws.dataset):
            self.demo_fit = None
            self.hide()
            return
        dataset = Dataset(samples=list(ws.dataset.samples))   # later opens extend the workspace's list

        def work(job):
            from mmstudio.encoders.builtin.domain import builtin_fit

            return builtin_fit(dataset, encoder, job=job)

        self.runner.start("demo-fit", work, label="checking the media against the built-in model",
                          on_done=self._checked)

    def _checked(self, fit) -> None:
        if self.workspace.encoder is None or getattr(self.workspace.encoder, "name", None) != "builtin":
            return   # another model was chosen meanwhile
        self.demo_fit = fit
        note = fit.note() if fit is not None else None
        if note is None or note == self._dismissed:
            self.hide()
            return
        self.label.setText(note[0].upper() + note[1:] + ".")
        self.setToolTip(fit.criterion())
        self.show()
        self.workspace.message.emit(f"note: {note} (Model > Model… chooses another)")

    def note(self) -> str | None:
        """The sentence shown, or None when the bar is hidden."""
        return self.label.text() if self.isVisible() else None

    def dismiss(self) -> None:
        self._dismissed = self.demo_fit.note() if self.demo_fit is not None else None
        self.hide()
