"""The widgets and layout of the Explore room (its setupUi): canvas and tools on the left, the point, modes,
directions and bookmarks on the right, variations and the interpolation path under the canvas.

Only creates and arranges widgets as attributes of the room; connecting them is the room's job (gui/explore_room.py).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSpinBox, QStackedWidget, QToolButton, QVBoxLayout, QWidget)
from superqt import QLabeledDoubleSlider

from .widgets.animation import InterpolationPanel
from .widgets.bookmarks import BookmarkPanel
from .widgets.canvas import Canvas
from .widgets.latent_sliders import LatentSliders
from .widgets.modes import ModesPanel
from .widgets.strip import ImageStrip

MAX_SEED = 2**31 - 1
VARIATIONS = 8  # thumbnails in the variations strip


def build(room) -> None:
    room.canvas = Canvas()
    room.zoom_label = QLabel("Fit")
    room.zoom_label.setMinimumWidth(room.zoom_label.fontMetrics().horizontalAdvance("Fit · 10000 %"))
    tools = QHBoxLayout()
    for text, tip, slot in (("−", "Zoom out (-)", room.canvas.zoom_out), ("+", "Zoom in (+)", room.canvas.zoom_in),
                            ("Fit", "Fit the image to the canvas (0)", room.canvas.fit)):
        button = QToolButton(text=text, toolTip=tip)
        button.clicked.connect(slot)
        tools.addWidget(button)
    tools.addWidget(room.zoom_label)
    room.smooth_button = QToolButton(text="Smooth", checkable=True,
                                     toolTip="Smooth scaling instead of exact pixels (S)")
    tools.addWidget(room.smooth_button)
    tools.addStretch(1)
    room.model_label = QLabel(toolTip="The model shown, and the training step of its weights")
    tools.addWidget(room.model_label)
    room.follow_button = QToolButton(text="Follow", checkable=True, checked=True,
                                     toolTip="Follow training: show the newest weights of whichever run trains, switching to a "
                                             "new run at its first checkpoint")
    room.open_button = QToolButton(text="Open…", toolTip="Explore a checkpoint, a run or a model file "
                                                               "(stops following training)")
    tools.addWidget(room.follow_button)
    tools.addWidget(room.open_button)
    tools.addSpacing(12)
    room.undo_button = QToolButton(text="Undo", toolTip="Go back to the previous point (Ctrl+Z)")
    room.redo_button = QToolButton(text="Redo", toolTip="Go forward again (Ctrl+Shift+Z)")
    room.png_button = QPushButton("Export PNG…", toolTip="Save the current image; its latent goes in the "
                                  "file, so dropping it back here returns to this exact point (Ctrl+E)")
    for widget in (room.undo_button, room.redo_button, room.png_button):
        tools.addWidget(widget)

    room.spread = QLabeledDoubleSlider(Qt.Orientation.Horizontal, toolTip="How far the variations stray")
    room.spread.setRange(0.05, 1.5)
    room.spread.setValue(0.5)
    room.spread.setMaximumWidth(220)
    room.variation_strip = ImageStrip(side=64)
    room.variation_strip.setToolTip("Variations around the current point: click one to go there")
    room.variations_box = QGroupBox("Variations")
    spread_row = QHBoxLayout()
    spread_row.addWidget(QLabel("Spread"))
    spread_row.addWidget(room.spread)
    spread_row.addStretch(1)
    box = QVBoxLayout(room.variations_box)
    box.addLayout(spread_row)
    box.addWidget(room.variation_strip)
    room.interpolation = InterpolationPanel()
    room.interpolation_box = QGroupBox("Interpolation")
    QVBoxLayout(room.interpolation_box).addWidget(room.interpolation)

    left = QVBoxLayout()
    left.addLayout(tools)
    left.addWidget(room.canvas, 1)
    left.addWidget(room.variations_box)
    left.addWidget(room.interpolation_box)

    room.seed = QSpinBox(toolTip="The seed picks a point; the same seed always gives the same image")
    room.seed.setRange(0, MAX_SEED)
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
    room._point_form = form
    room.modes_panel = ModesPanel()
    room.modes_box = QGroupBox("Modes")
    room.modes_box.hide()  # shown for models whose latent space has modes to fit (the VAE families)
    QVBoxLayout(room.modes_box).addWidget(room.modes_panel)
    room.sliders = LatentSliders()
    room.directions_box = QGroupBox("Directions")
    QVBoxLayout(room.directions_box).addWidget(room.sliders)
    room.bookmark_panel = BookmarkPanel()
    room.bookmarks_box = QGroupBox("Bookmarks")
    QVBoxLayout(room.bookmarks_box).addWidget(room.bookmark_panel)
    room.projection_box = QGroupBox("Your picture, and its closest point")
    room.projection_box.setToolTip("Drop a picture of your own on the canvas: the model's closest point becomes the "
                                   "current one. Left: your picture as the model sees it; right: what the point "
                                   "draws")
    room.projection_target, room.projection_found = QLabel(), QLabel()
    room.projection_error = QLabel(wordWrap=True, toolTip="The mean squared difference between the two, with pixels "
                                                          "from -1 to 1: 0 is identical")
    pair = QHBoxLayout()
    pair.addWidget(room.projection_target)
    pair.addWidget(room.projection_found)
    pair.addStretch(1)
    box = QVBoxLayout(room.projection_box)
    box.addLayout(pair)
    box.addWidget(room.projection_error)
    room.projection_box.hide()  # shown once a picture has been projected
    side = QWidget()
    side_layout = QVBoxLayout(side)
    for widget in (room.point_box, room.projection_box, room.modes_box, room.directions_box, room.bookmarks_box):
        side_layout.addWidget(widget)
    side_layout.addStretch(1)
    scroll = QScrollArea(widgetResizable=True, horizontalScrollBarPolicy=Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(side)
    scroll.setMinimumWidth(340)

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

