"""The widgets and layout of the Explore room's own parts (its setupUi): the toolbar and the canvas, the point's
controls, and the places the tools' widgets go (`side`, beside the canvas; `below`, under it). An image-to-image
model is shown in the Translate view instead of the canvas (`views`), with its buttons in the toolbar, and hides
what only latents need (`latent_only`).

Only creates and arranges widgets as attributes of the room; connecting them is the room's job (gui/explore_room.py).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSpinBox, QStackedWidget, QToolButton, QVBoxLayout, QWidget)
from superqt import QLabeledDoubleSlider

from .translate_view import TranslateView
from .widgets.canvas import Canvas
from .widgets.elided_label import ElidedLabel

MAX_SEED = 2**31 - 1
NO_SEED = -1  # the Seed box's value while the point is not a seed's (a grid picture, a variation, a bookmark)
SEED_TIP = "The seed picks a point; the same seed always gives the same image"
OWN_POINT_TIP = ("This picture is a point of its own (from a training grid, a variation, a bookmark or a "
                 "picture), not a seed's: type a seed, or press R, to go back to seeds")


def build(room) -> None:
    room.canvas = Canvas()
    room.zoom_label = QLabel("Fit")
    room.zoom_label.setMinimumWidth(room.zoom_label.fontMetrics().horizontalAdvance("Fit · 10000 %"))
    room.translate_view = TranslateView(room)
    room.views = QStackedWidget()
    room.views.addWidget(room.canvas)
    room.views.addWidget(room.translate_view)
    tools = QHBoxLayout()
    tools.addWidget(room.translate_view.bar)  # the Translate view's buttons, shown with it
    room.translate_view.bar.hide()
    room.latent_only = []
    for text, tip, slot in (("−", "Zoom out (-)", room.canvas.zoom_out), ("+", "Zoom in (+)", room.canvas.zoom_in),
                            ("Fit", "Fit the image to the canvas (0)", room.canvas.fit)):
        button = QToolButton(text=text, toolTip=tip)
        button.clicked.connect(slot)
        tools.addWidget(button)
        room.latent_only.append(button)
    tools.addWidget(room.zoom_label)
    room.smooth_button = QToolButton(text="Smooth", checkable=True,
                                     toolTip="Smooth scaling instead of exact pixels (S)")
    tools.addWidget(room.smooth_button)
    # takes the row's spare width, and shortens rather than widen the room past a laptop's screen when there is none
    room.model_label = ElidedLabel("The model shown, and the training step of its weights",
                                   alignment=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    tools.addWidget(room.model_label, 1)
    room.follow_button = QToolButton(text="Follow", checkable=True, checked=True,
                                     toolTip="Follow training: show the newest weights of whichever run trains, "
                                             "switching to a new run at its first checkpoint")
    room.open_button = QToolButton(text="Open", toolTip="Explore the best or an earlier checkpoint of any run, or "
                                                          "a model file (stops following training)")
    tools.addWidget(room.follow_button)
    tools.addWidget(room.open_button)
    tools.addSpacing(12)
    room.undo_button = QToolButton(text="Undo", toolTip="Go back to the previous point (Ctrl+Z)")
    room.redo_button = QToolButton(text="Redo", toolTip="Go forward again (Ctrl+Shift+Z)")
    room.png_button = QPushButton("Export PNG…", toolTip="Save the current image; its latent goes in the "
                                  "file, so dropping it back here returns to this exact point (Ctrl+E)")
    for widget in (room.undo_button, room.redo_button, room.png_button):
        tools.addWidget(widget)

    left = QVBoxLayout()
    left.addLayout(tools)
    left.addWidget(room.views, 1)
    room.below = QVBoxLayout()
    left.addLayout(room.below)

    room.seed = QSpinBox(toolTip=SEED_TIP)
    room.seed.setRange(NO_SEED, MAX_SEED)
    room.seed.setSpecialValueText("none")  # shown at NO_SEED: a point of its own, not a seed's
    room.seed.setKeyboardTracking(False)
    room.randomise_button = QPushButton("Randomise", toolTip="A new random seed (R)")
    seed_row = QHBoxLayout()
    seed_row.addWidget(room.seed, 1)
    seed_row.addWidget(room.randomise_button)
    room.truncation = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
    room.truncation.setRange(0.0, 1.5)
    room.truncation.setValue(1.0)
    room.truncation.setToolTip("Truncation pulls the point towards the average image. Below 1: more typical, less "
                               "varied; above 1: wilder. A bookmark, variation or dropped PNG starts at 1, exactly "
                               "as it was kept")
    room.temperature = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
    room.temperature.setRange(0.1, 2.0)
    room.temperature.setValue(1.0)
    room.temperature.setToolTip("Temperature: how boldly the model picks each piece of the image. Below 1: safer, "
                                "more typical images; above 1: wilder")
    room.top_k = QSpinBox(specialValueText="No limit")
    room.top_k.setRange(0, 1024)
    room.top_k.setKeyboardTracking(False)
    room.top_k.setToolTip("Top-k: at each place the model chooses only among its k likeliest pieces. Small: cleaner "
                          "but more alike; No limit (0): every piece it knows")
    room.label_choice = QComboBox(toolTip="The class the model draws")
    room.point_box = QGroupBox("Point")
    form = QFormLayout(room.point_box)
    form.addRow("Seed", seed_row)
    form.addRow("Truncation", room.truncation)
    form.addRow("Class", room.label_choice)
    form.addRow("Temperature", room.temperature)
    form.addRow("Top-k", room.top_k)
    room.point_form = form
    side = QWidget()
    room.side = QVBoxLayout(side)
    room.side.addWidget(room.point_box)
    scroll = QScrollArea(widgetResizable=True, horizontalScrollBarPolicy=Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(side)
    scroll.setMinimumWidth(340)
    room.latent_only += [room.zoom_label, room.smooth_button, room.undo_button, room.redo_button, room.png_button,
                         scroll]

    explorer = QWidget()
    row = QHBoxLayout(explorer)
    row.setContentsMargins(0, 0, 0, 0)
    row.addLayout(left, 1)
    row.addWidget(scroll)
    room.empty = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
    room.empty.setTextFormat(Qt.TextFormat.RichText)
    room.pages = QStackedWidget()
    room.pages.addWidget(room.empty)
    room.pages.addWidget(explorer)
    QVBoxLayout(room).addWidget(room.pages)

