"""The window's dialogs and widgets as Qt sees them: no Python attribute hides a Qt method."""

from PySide6 import QtCore, QtWidgets


def shadowed_qt_members(widget: QtWidgets.QWidget) -> list[str]:
    """Names of ``widget``'s instance attributes that hide a member of its PySide6 base class
    (``self.metric = QComboBox()`` hides ``QPaintDevice.metric()``, which Qt calls while painting)."""
    qt_base = next(c for c in type(widget).__mro__ if c.__module__.startswith("PySide6"))
    return sorted(name for name, value in vars(widget).items()
                  if hasattr(qt_base, name) and not isinstance(value, QtCore.SignalInstance))  # PySide6's own


def test_the_reproject_dialog_shows_and_keeps_its_values(demo_window, qtbot):
    from mmstudio.ui.dialogs import ProjectionDialog

    params = {"method": "umap", "n_neighbors": 30, "min_dist": 0.25, "metric": "euclidean", "seed": 7}
    dialog = ProjectionDialog(params, demo_window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.repaint()  # PySide6 reported 25 "Error calling Python override of QDialog::metric()" here
    assert dialog.values() == params


def test_no_widget_of_the_window_hides_a_qt_method(demo_window):
    from mmstudio.ui.dialogs import ModelDialog, PreferencesDialog, ProjectionDialog

    widgets = [demo_window, *demo_window.findChildren(QtWidgets.QWidget),
               ModelDialog("builtin", [], demo_window), ProjectionDialog({}, demo_window),
               PreferencesDialog(demo_window.settings, demo_window)]
    found = {f"{type(w).__name__}.{name}" for w in widgets if type(w).__module__.startswith("mmstudio")
             for name in shadowed_qt_members(w)}
    assert not found, f"attributes that hide Qt methods: {sorted(found)}"
