"""Style mixing and crossbreeding, for models whose styles can come from two points (StyleGAN-style families).

The current point is A. A second point, B, comes from a seed, a bookmark, or the current point itself ("Use this
point as B": a projected photo, a variation, anything). Choosing a range of styles (coarse: the layout, middle,
fine: the texture and colour, or any range) makes the canvas show A with those styles taken from B, live, as one
undoable move. Crossbreed renders a grid of children of A and B on the render thread: each named range mixed both
ways, each with a small variation beside it; a click makes a child the current point.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QGridLayout, QGroupBox, QLabel, QMenu, QPushButton, QSpinBox, QToolButton,
                               QVBoxLayout)
from superqt import QLabeledRangeSlider

from .. import imaging
from ..widgets.modes import ModeGrid
from .tool import Tool

MAX_SEED = 2**31 - 1
NUDGE = 0.35  # how far a child's small variation strays (the variations' spread)
NAMES = {"coarse": "Coarse: layout", "middle": "Middle: features", "fine": "Fine: texture, colour"}


def _api():
    from engine import api  # loaded with the model, on the engine's thread

    return api


class MixingTool(Tool):
    name = "mixing"
    title = "Style mixing"
    children_ready = Signal(int)  # the number of children in the crossbreed grid now drawn

    def __init__(self, context):
        super().__init__(context)
        self._b: np.ndarray | None = None  # the second point's latent
        self._children: list = []  # the Looks of the crossbreed grid
        self._captions: list[str] = []  # what each child is
        self.seed = QSpinBox(toolTip="B's seed: the point whose styles are mixed in")
        self.seed.setRange(0, MAX_SEED)
        self.seed.setKeyboardTracking(False)
        self.take_button = QPushButton("Use this point as B", toolTip="The current point (a bookmark, a projected "
                                       "photo, a variation…) becomes the second point, B")
        self.bookmark_button = QToolButton(text="Bookmark…", toolTip="Take B from a bookmark",
                                           popupMode=QToolButton.ToolButtonPopupMode.InstantPopup)
        self.bookmark_button.setMenu(QMenu(self.bookmark_button))
        self.bookmark_button.menu().aboutToShow.connect(self._fill_bookmarks)
        self.b_image = QLabel(toolTip="B, the second point")
        self.b_image.setFixedSize(64, 64)
        self.range_choice = QComboBox(toolTip="Which of A's styles are replaced by B's: coarse (4-8 px layers: pose, "
                                              "layout), middle (16-32 px), fine (64 px and up: texture, colour), or "
                                              "any range")
        self.span = QLabeledRangeSlider(Qt.Orientation.Horizontal, toolTip="The styles taken from B, from the "
                                        "coarsest (left) to the finest (right)")
        self.crossbreed_button = QPushButton("Crossbreed", toolTip="A grid of children of the current point and B: "
                                             "each range mixed both ways, with small variations; click one to go "
                                             "there (Ctrl+K)")
        self.grid = ModeGrid(side=56)
        self.grid.setToolTip("Children of A and B: click one to make it the current point")
        self.grid.hide()
        layout = QGridLayout()
        layout.addWidget(QLabel("B"), 0, 0)
        layout.addWidget(self.seed, 0, 1)
        layout.addWidget(self.b_image, 0, 2, 2, 1)
        layout.addWidget(self.take_button, 1, 1)
        layout.addWidget(self.bookmark_button, 2, 1)
        layout.addWidget(QLabel("Styles"), 3, 0)
        layout.addWidget(self.range_choice, 3, 1, 1, 2)
        layout.addWidget(self.span, 4, 0, 1, 3)
        self.widget = QGroupBox(self.title)
        box = QVBoxLayout(self.widget)
        box.addLayout(layout)
        box.addWidget(self.crossbreed_button)
        box.addWidget(self.grid)
        self.shortcuts = [("Ctrl+K", self.crossbreed, "Crossbreed the point with a bookmark")]
        self.seed.valueChanged.connect(lambda seed: self.set_b(self._seed_latent(seed), f"B: seed {seed}"))
        self.take_button.clicked.connect(lambda: self.set_b(self.context.look().latent, "B: the current point"))
        self.range_choice.activated.connect(self._on_range_chosen)
        self.span.valueChanged.connect(self._on_span_dragged)
        self.span.sliderReleased.connect(lambda: self.context.commit("Mix range"))
        self.crossbreed_button.clicked.connect(self.crossbreed)
        self.grid.picked.connect(self._on_child_picked)

    def applies_to(self, info) -> bool:
        return info.can(_api().Capability.STYLE_MIXING)

    # --- hooks -------------------------------------------------------------------------------------------
    def model_opened(self, info) -> None:
        self.range_choice.clear()
        self.range_choice.addItem("Off: A alone", None)
        for name in info.style_ranges:
            self.range_choice.addItem(f"{NAMES.get(name, name)} from B", name)
        self.range_choice.addItem("Any range from B", "custom")
        self.span.setRange(0, info.num_styles)
        self._quietly(self.span.setValue, (0, info.num_styles // 3))
        self.grid.clear()
        self.grid.hide()
        self._b = None
        self._quietly(self.seed.setValue, 1)
        self.set_b(self._seed_latent(1))

    def model_closed(self) -> None:
        self._b, self._children = None, []

    def point_changed(self, point) -> None:
        """Show the point's mix: a restored PNG or bookmark brings its B and range with it."""
        if point.mix is not None and (self._b is None or not np.array_equal(self._b, point.mix)):
            self._b = np.asarray(point.mix, np.float32)
        span = point.mix_layers if point.mix is not None else None
        names = {tuple(v): name for name, v in self.context.info().style_ranges.items()}
        index = self.range_choice.findData(names.get(span, "custom")) if span is not None else 0
        self._quietly(self.range_choice.setCurrentIndex, index if index >= 0 else self.range_choice.count() - 1)
        if span is not None:
            self._quietly(self.span.setValue, span)
        self.span.setEnabled(span is not None)
        self._request_b()

    def weights_changed(self, step: int) -> None:
        self._request_b()
        if self._children:
            self.context.request_strip(self, "children", self._children)

    def strip_rendered(self, name: str, images) -> None:
        if name == "b":
            self.b_image.setPixmap(imaging.thumbnail(images[0], 64))
        else:
            self.grid.set_count(len(images))
            self.grid.set_images(images)
            for row, text in enumerate(self._captions):
                self.grid.item(row).setToolTip(text)
            self.grid.show()
            self.children_ready.emit(len(images))

    # --- B -------------------------------------------------------------------------------------------------
    def set_b(self, latent, text: str = "") -> None:
        """Make `latent` the second point; the mix on the canvas, if any, follows it."""
        if self.context.info() is None:
            return
        self._b = np.asarray(latent, np.float32).reshape(-1)
        self._request_b()
        point = self.context.point()
        if point.mix is not None:
            self.context.go_to(replace(point, mix=tuple(float(v) for v in self._b)), text or "Mix with B")

    def b_latent(self) -> np.ndarray | None:
        return self._b

    def _request_b(self) -> None:
        if self._b is not None and self.context.info() is not None:
            look = self.context.look()
            self.context.request_strip(self, "b", [_api().Look(self._b, look.label, look.psi)])

    def _seed_latent(self, seed: int) -> np.ndarray:
        return _api().latents_for_seed(seed, self.context.info().latent_dim)[0]

    def _fill_bookmarks(self) -> None:
        menu = self.bookmark_button.menu()
        menu.clear()
        info = self.context.info()
        usable = [b for b in self.context.bookmarks() if info is not None and len(b.get("latent", ())) ==
                  info.latent_dim]
        for bookmark in usable:
            menu.addAction(bookmark.get("name", "Bookmark"),
                           lambda b=bookmark: self.set_b(self.context.look_of(b).latent, f"B: {b.get('name')}"))
        if not usable:
            menu.addAction("No bookmarks of this model yet (Ctrl+B keeps a point)").setEnabled(False)

    # --- the range -----------------------------------------------------------------------------------------
    def mix(self, span) -> None:
        """Show A with the styles `span` (start, stop) taken from B; None: A alone."""
        point = self.context.point()
        if span is None or self._b is None:
            self.context.go_to(replace(point, mix=None, mix_layers=(0, 0)), "Mix off")
            return
        b = tuple(float(v) for v in self._b)
        self.context.go_to(replace(point, mix=b, mix_layers=tuple(int(v) for v in span)), "Mix styles")

    def _on_range_chosen(self, index: int) -> None:
        choice = self.range_choice.itemData(index)
        self.mix(tuple(self.span.value()) if choice == "custom" else self.context.info().style_ranges.get(choice))

    def _on_span_dragged(self, span) -> None:
        if self._b is None:
            return
        self._quietly(self.range_choice.setCurrentIndex, self.range_choice.count() - 1)
        self.context.move(replace(self.context.point(), mix=tuple(float(v) for v in self._b),
                                  mix_layers=tuple(int(v) for v in span)))

    # --- crossbreeding -----------------------------------------------------------------------------------------
    def crossbreed(self) -> None:
        """Children of the current point (A, as shown but unmixed) and B, rendered on the render thread."""
        info = self.context.info()
        if info is None or self._b is None:
            return
        api = _api()
        a = replace(self.context.look(), mix_latent=None, mix_layers=(0, 0))
        seed = self.context.point().seed
        self._children, self._captions = [], []
        for name, span in info.style_ranges.items():
            for first, second, text in ((a.latent, self._b, f"A with B's {name} styles"),
                                        (self._b, a.latent, f"B with A's {name} styles")):
                nudged = api.variations(first, 1, NUDGE, seed=seed + len(self._children))[0]
                for latent, note in ((first, ""), (nudged, ", varied")):
                    self._children.append(replace(a, latent=np.asarray(latent, np.float32),
                                                  mix_latent=np.asarray(second, np.float32), mix_layers=tuple(span)))
                    self._captions.append(text + note)
        self.grid.set_count(len(self._children))
        self.grid.show()
        self.context.request_strip(self, "children", self._children)

    def _on_child_picked(self, index: int) -> None:
        if index < len(self._children):
            self.context.go_to(self.context.point().at(self._children[index]), f"Child: {self._captions[index]}")

    @staticmethod
    def _quietly(setter, value) -> None:
        widget = setter.__self__
        widget.blockSignals(True)
        setter(value)
        widget.blockSignals(False)
