"""The mouse wheel scrolls a panel, not the control that passes under the pointer.

In a scrolled panel (the Explore room's tools, the Train room's settings) a wheel turn meant to scroll moved
whichever slider, spin box or list was under the pointer: the truncation went from 1.00 to 0.91 on the way down.
Such a control takes the wheel only once it has the focus (a click, or Tab); until then the turn goes on to the
panel. Nor does the wheel give it the focus: Qt focuses a spin box or list under a system wheel turn before any
filter sees the turn (their policy is WheelFocus), so the Train room's learning-rate decay changed on the way down.
Installed once on the application (`install`) when the engine has loaded: an application's event filter runs in
Python for every event, which must not wait on the import's GIL. Scroll bars keep their wheel.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QScrollArea, QScrollBar,
                               QWidget)

CONTROLS = (QAbstractSlider, QAbstractSpinBox, QComboBox)


def in_scrolled_panel(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def no_wheel_focus(widget: QWidget) -> None:
    """A control the wheel does not focus: a click or Tab still does."""
    if isinstance(widget, CONTROLS) and widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


class WheelGuard(QObject):
    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Polish:  # every widget made from now on, before it is first shown
            no_wheel_focus(watched)
        elif (event.type() == QEvent.Type.Wheel and isinstance(watched, CONTROLS)
                and not isinstance(watched, QScrollBar) and not watched.hasFocus() and in_scrolled_panel(watched)):
            event.ignore()  # ignored and filtered: Qt hands the turn to the parents, up to the scroll area
            return True
        return False


def install(app) -> WheelGuard:
    """Guard every control of the app's scrolled panels from now on (once per application)."""
    guard = app.findChild(WheelGuard)
    if guard is None:
        guard = WheelGuard(app)
        app.installEventFilter(guard)
        for widget in QApplication.allWidgets():  # the ones made before
            no_wheel_focus(widget)
    return guard
