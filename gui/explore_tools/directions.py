"""Direction sliders: the model's main directions (GANSpace for GANs, KL-ranked dimensions for VAEs), fitted on the
render thread when a model opens. For a style-based model they move the styles in W, all of them or one range
(coarse, middle, fine), so a slider can change the layout alone or the texture alone."""
from __future__ import annotations

from dataclasses import replace
from functools import partial

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QVBoxLayout

from .. import explore_jobs
from ..widgets.latent_sliders import LatentSliders
from .tool import Tool

COUNT = 8  # sliders


def _api():
    from engine import api  # loaded with the model, on the engine's thread

    return api


class DirectionsTool(Tool):
    name = "directions"
    title = "Directions"
    ready = Signal()  # the sliders are there

    def __init__(self, context):
        super().__init__(context)
        self.directions = None
        self.sliders = LatentSliders()
        self.layers = QComboBox(toolTip="Which styles the sliders move: all of them, or only the coarse (layout), "
                                        "middle or fine (texture, colour) ones")
        self.layers_row = QHBoxLayout()
        self.layers_row.addWidget(QLabel("Styles"))
        self.layers_row.addWidget(self.layers, 1)
        self.widget = QGroupBox(self.title)
        layout = QVBoxLayout(self.widget)
        layout.addLayout(self.layers_row)
        layout.addWidget(self.sliders)
        self.sliders.amounts_changed.connect(lambda a: context.move(replace(context.point(), amounts=tuple(a))))
        self.sliders.edit_finished.connect(lambda: context.commit("Directions"))
        self.layers.activated.connect(self._on_layers_chosen)

    def applies_to(self, info) -> bool:
        return info.can(_api().Capability.CONTINUOUS_LATENT)

    def model_opened(self, info) -> None:
        self.directions = None
        self.sliders.set_directions([])
        self.sliders.set_waiting_text("Finding the main directions…")
        self.layers.clear()
        self.layers.addItem("All styles", "")
        for name in info.style_ranges:
            self.layers.addItem(name.capitalize(), name)
        for index in range(self.layers_row.count()):
            self.layers_row.itemAt(index).widget().setVisible(info.in_w)
        load = None
        Capability, project = _api().Capability, self.context.project()
        if info.can(Capability.ENCODER) and project is not None:
            load = partial(explore_jobs.direction_inputs, project, info.size, info.aspect,
                           info.can(Capability.LABELS))
        self.context.compute(self, "fit", partial(_fit, load))

    def model_closed(self) -> None:
        self.directions = None

    def computed(self, name: str, directions) -> None:
        self.directions = directions
        where = "in W" if directions.space == "w" else "in latent units"
        tips = [f"{name}: one typical step is {scale:.2f} {where}"
                for name, scale in zip(directions.names, directions.scales)]
        self.sliders.set_directions(list(directions.names), tips)
        self.sliders.set_amounts(self.context.point().amounts)
        self.ready.emit()

    def computed_failed(self, name: str, reason: str) -> None:
        self.sliders.set_waiting_text(f"No directions: {reason}")

    def point_changed(self, point) -> None:
        self.sliders.set_amounts(point.amounts)
        names = {tuple(span): name for name, span in self.context.info().style_ranges.items()}
        self.layers.setCurrentIndex(max(0, self.layers.findData(names.get(point.layers, ""))))

    def shape(self, point, look):
        if self.directions is None or not any(point.amounts):
            return look
        api = _api()
        if self.directions.space == "w":
            return replace(look, w_shift=api.shift_in_w(self.directions, point.amounts, self.context.info().num_styles,
                                                        point.layers, look.w_shift))
        return replace(look, latent=api.apply_directions(look.latent, self.directions, point.amounts))

    def _on_layers_chosen(self, index: int) -> None:
        span = self.context.info().style_ranges.get(self.layers.itemData(index))
        self.context.go_to(replace(self.context.point(), layers=None if span is None else tuple(span)),
                           f"Directions on {self.layers.itemText(index).lower()}")


def _fit(load, model):
    """On the render thread: the directions, with a VAE's training images to rank its dimensions by."""
    from engine import api

    return api.fit_directions(model, count=COUNT, **(load() if load is not None else {}))
