"""The widgets and layout of the Train room (its setupUi): on the left a scrolling form (the banner of an
interrupted run, the family, device, speed and duration, the advanced settings, the run's buttons and the queue),
on the right the live run (samples, progress, reports).

Only creates and arranges widgets as attributes of the room; connecting them is the room's job (gui/train_room.py).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import (QFormLayout, QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout,
                               QWidget)

from .run_queue_panel import QueuePanel
from .settings import queue_path
from .widgets.duration import DurationChoice
from .widgets.family_picker import FamilyPicker
from .widgets.live_run import LiveRun
from .widgets.train_settings import TrainSettings


class FormScroll(QScrollArea):
    """Scrolls the settings form up and down only, and is never narrower than the form: with no horizontal
    scrolling a narrower one clips the form's right edge (the folds and the theme's fonts widen it after start)."""

    def minimumSizeHint(self) -> QSize:
        form = self.widget().minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
        return QSize(max(340, form), super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        return self.minimumSizeHint().expandedTo(QSize(0, super().sizeHint().height()))

    def eventFilter(self, watched, event) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the form's hint changed: the room's layout asks again
        return super().eventFilter(watched, event)


def build(room) -> None:
    room.family = FamilyPicker(room)
    # the picker's widgets, by the names the form and the tests know them by
    room.family_box, room.family_text, room.labels_hint = room.family.box, room.family.text, room.family.labels_hint
    room.device_label = _wrapped_label()
    room.speed_label = _wrapped_label("Not measured yet")
    room.measure_button = QPushButton("Measure speed", toolTip="Run the real training step for two seconds to time "
                                                               "it on this machine")
    room.warning_label = _wrapped_label()
    room.warning_label.setObjectName("warning")
    room.warning_label.hide()
    room.settings = TrainSettings()
    room.duration = DurationChoice()
    room.advanced = None  # a superqt QCollapsible holding `settings`, made in set_api (see _fold_settings)
    room.advanced_holder = _holder()
    room.queue_holder = _holder()

    room.start_button = _button("Start", "Start a new run with these settings (Ctrl+Return)", "Ctrl+Return")
    room.pause_button = _button("Pause", "Pause between two steps; nothing is lost (Ctrl+P)", "Ctrl+P")
    room.resume_button = _button("Resume", "Go on from where it paused (Ctrl+R)", "Ctrl+R")
    room.stop_button = _button("Stop", "Stop and save a checkpoint; the run can be continued later (Ctrl+.)",
                               "Ctrl+.")
    room.queue_button = _button("Add to queue", "Add a run with these settings to the queue below, to run later, one "
                                "after another (Ctrl+Shift+Return)", "Ctrl+Shift+Return")
    buttons = QHBoxLayout()
    for button in (room.start_button, room.pause_button, room.resume_button, room.stop_button):
        buttons.addWidget(button)
    room.queue_panel = QueuePanel(queue_path())

    room.banner_label = _wrapped_label()
    room.continue_button = _button("Continue run", "Go on with the unfinished run from its newest checkpoint")
    room.banner = QFrame()
    room.banner.setObjectName("banner")
    banner_layout = QHBoxLayout(room.banner)
    banner_layout.addWidget(room.banner_label, 1)
    banner_layout.addWidget(room.continue_button)
    room.banner.hide()

    setup = QWidget()
    form = QFormLayout(setup)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    form.addRow(room.banner)
    form.addRow("Model", room.family_box)
    form.addRow(room.family_text)
    form.addRow(room.labels_hint)
    form.addRow("Device", room.device_label)
    form.addRow("Speed", room.speed_label)
    form.addRow("Train for", room.duration)
    form.addRow("", room.measure_button)
    form.addRow(room.warning_label)
    form.addRow(room.advanced_holder)
    form.addRow(buttons)
    form.addRow(room.queue_button)
    form.addRow(room.queue_holder)
    scroll = FormScroll()
    scroll.setWidget(setup)
    scroll.setWidgetResizable(True)
    scroll.setMaximumWidth(420)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    room.live = LiveRun()
    # its widgets, by the names the room and the tests know them by
    room.samples, room.state_label, room.reports = room.live.samples, room.live.state_label, room.live.reports

    layout = QHBoxLayout(room)
    layout.addWidget(scroll)
    layout.addWidget(room.live, 1)


def _holder() -> QWidget:
    """An empty place in the form that a widget made later goes into."""
    holder = QWidget()
    QVBoxLayout(holder).setContentsMargins(0, 0, 0, 0)
    return holder


def _wrapped_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def _button(text: str, tip: str, shortcut: str | None = None) -> QPushButton:
    button = QPushButton(text, toolTip=tip)
    if shortcut:
        button.setShortcut(shortcut)
    return button
