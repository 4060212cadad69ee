"""The Explore room's Point box: the seed, truncation and class widgets shown from the current point and turned
into moves, and the temperature and top-k of models that draw codes. A mixin of ExploreRoom (gui/explore_room.py),
split out to keep each file to one concern; the point's moves and their undo history are the room's (go_to, move,
commit).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .explore_layout import MAX_SEED, NO_SEED, OWN_POINT_TIP, SEED_TIP
from .explore_point import Point


class PointBoxMixin:
    def randomise(self) -> None:
        if self._info is not None:
            self.seed.setValue(int(np.random.default_rng().integers(0, MAX_SEED)))

    def _show_point(self, point: Point) -> None:
        """Set the widgets to `point` without their signals, then render it (also used by undo/redo)."""
        self._point = self._committed = point
        for widget, value in ((self.seed, self._seed_shown(point)), (self.truncation, point.truncation)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.seed.setToolTip(OWN_POINT_TIP if self.seed.value() == NO_SEED else SEED_TIP)
        if point.label is not None:
            self.label_choice.blockSignals(True)
            self.label_choice.setCurrentIndex(point.label)
            self.label_choice.blockSignals(False)
        self._request_canvas()
        self.refresh()

    def _seed_shown(self, point: Point) -> int:
        """The Seed box's value: the point's seed, or "none" where the point is an explicit latent other than the
        seed's (a grid picture, a variation), which typing that seed would not draw again."""
        if point.latent is None or self._info is None:
            return point.seed
        from engine import api  # the room imported it already: the window does not wait here

        seeds = api.latents_for_seed(point.seed, self._info.latent_dim, 1)[0]
        same = len(seeds) == len(point.latent) and np.allclose(seeds, point.latent, atol=1e-6)
        return point.seed if same else NO_SEED

    def _on_seed_changed(self, seed: int) -> None:
        if seed == NO_SEED:  # stepped below 0: "none" is shown, never chosen
            self.seed.blockSignals(True)
            self.seed.setValue(self._seed_shown(self._point))
            self.seed.blockSignals(False)
            return
        self.move(self._point.with_seed(seed))
        self.seed.setToolTip(SEED_TIP)
        self.commit("Seed")

    def _on_label_changed(self, index: int) -> None:
        self.move(replace(self._point, label=index))
        self.commit("Class")

    # --- sampling settings (models that draw codes) -----------------------------------------------------------
    def set_sampling(self, settings: dict) -> None:
        """Show and use `settings` (temperature, top_k; missing ones stay), e.g. those a dropped PNG recorded."""
        if self._info is None or not self._sampling:
            return
        settings = {key: settings[key] for key in self._sampling if settings.get(key) is not None}
        for widget, key in ((self.temperature, "temperature"), (self.top_k, "top_k")):
            if key in settings:
                widget.blockSignals(True)
                widget.setValue(settings[key])
                widget.blockSignals(False)
        self._use_sampling({**self._sampling, **settings})

    def _on_sampling_changed(self) -> None:
        if self._info is not None and self._sampling:
            values = {"temperature": float(self.temperature.value()), "top_k": int(self.top_k.value())}
            self._use_sampling({key: values[key] for key in self._sampling})

    def _use_sampling(self, settings: dict) -> None:
        """New temperature or top-k: the model takes them before the next render, and every image is made again."""
        if settings == self._sampling:
            return
        self._sampling = settings
        self.render.set_sampling(**settings)
        self._request_canvas()
        for tool in self._tools_shown():
            tool.weights_changed(self._info.step)
