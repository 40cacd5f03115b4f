"""A horizontal slider over a float range with its value written beside it (fusion knobs, the
principles' sliders)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class QtSlider(QtWidgets.QWidget):
    """Values ``low, low + step, …, high``; ``valueChanged(float)`` when the user moves it."""

    valueChanged = QtCore.Signal(float)

    def __init__(self, low: float, high: float, step: float, value: float, fmt: str, tip: str = "", parent=None):
        super().__init__(parent)
        self.low, self.step, self.fmt = low, step, fmt
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        positions = round((high - low) / step)
        self.slider.setRange(0, positions)
        self.slider.setPageStep(max(1, positions // 10))
        self.slider.setMinimumWidth(36)
        self.text = QtWidgets.QLabel()
        self.text.setMinimumWidth(34)
        self.text.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        if tip:
            self.setToolTip(tip)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.slider, 1)
        row.addWidget(self.text)
        self.set_value(value)
        self.slider.valueChanged.connect(self._moved)

    def value(self) -> float:
        return round(self.low + self.slider.value() * self.step, 6)

    def set_value(self, value: float) -> None:
        """Move to ``value`` (the nearest step); ``valueChanged`` follows when the position changes."""
        self.slider.setValue(round((float(value) - self.low) / self.step))
        self.show_value()

    def set_hidden_note(self, note: str | None) -> None:
        """Show ``note`` instead of the value, with the slider disabled (None: back to normal)."""
        self.slider.setEnabled(note is None)
        self.text.setText(note if note is not None else self.fmt.format(self.value()))

    def show_value(self) -> None:
        """Write the value beside the slider (after it was moved with its signals blocked)."""
        if self.slider.isEnabled():
            self.text.setText(self.fmt.format(self.value()))

    def _moved(self, _position: int) -> None:
        self.show_value()
        self.valueChanged.emit(self.value())
