"""The modes of an encoder model's latent space in the Explore room: the components of the Gaussian mixture fitted to
the encoded training images (engine/mixture.py), shown heaviest first; a click draws a fresh image from one, and
the variations show more draws from it.

The mixture comes from `api.mixture_for` on the QThreadPool (gui/explore_jobs.py): a stored fit loads at once, a
new fit encodes the training images and takes seconds. A result for a model no longer shown is dropped (each fetch
carries a generation number). Drawing a few latents from a component is cheap NumPy inside the engine and runs
here, as variations do. The modes stay those of the checkpoint opened: training snapshots redraw the thumbnails
with newer weights but never refit.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QVBoxLayout

from .. import explore_jobs
from ..explore_point import Point
from ..widgets.modes import ModesPanel
from ..workers import run_task
from .tool import Tool
from .variations import COUNT as VARIATIONS

MAX_SEED = 2**31 - 1


def _needs() -> frozenset:
    """A latent space with a density to fit: the VAE families."""
    from engine.api import Capability  # loaded with the room, on the engine's thread

    return frozenset({Capability.CONTINUOUS_LATENT, Capability.ENCODER})


@dataclass(frozen=True)
class ModeVisit:
    """The point a mode click went to and more draws from that mode, shown as variations while the room stays."""
    point: Point
    position: int  # of the mode in the strip, heaviest first
    samples: np.ndarray  # VARIATIONS x D latents from the same component, drawn with the same seed


class ModesTool(Tool):
    name = "modes"
    title = "Modes"
    ready = Signal(int)  # the count of modes now shown (their thumbnails follow)

    def __init__(self, context):
        super().__init__(context)
        self.panel = ModesPanel()
        self.widget = QGroupBox(self.title)
        QVBoxLayout(self.widget).addWidget(self.panel)
        self._mixture = None
        self._mode_order: list[int] = []  # the mixture component of each thumbnail, heaviest first
        self._mode_visit: ModeVisit | None = None
        self._modes_generation = 0  # bumped by every fetch and model change; older results are dropped
        self._modes_control = None  # stops the fit under way when it is no longer wanted
        self._modes_jobs = 0  # fetches not yet finished (tests wait on it)
        self._modes_label = None  # the class the thumbnails were drawn in
        self._mode_seeds = np.random.default_rng()  # each click draws another image from the mode
        self.panel.picked.connect(self._on_mode_picked)
        self.panel.refit_requested.connect(lambda: self._fetch_modes(refit=True))

    def applies_to(self, info) -> bool:
        return _needs() <= info.capabilities

    def mixture(self):
        """The api.Mixture whose components the strip shows; None while there is none."""
        return self._mixture

    def mode_components(self) -> list[int]:
        """The mixture component behind each thumbnail, left to right."""
        return list(self._mode_order)

    def model_closed(self) -> None:
        """The model is changing: stop any fit, drop what was shown and whatever arrives for the old model."""
        self._stop_modes_job()
        self._mixture, self._mode_order, self._mode_visit = None, [], None
        self.panel.show_message("")

    def shutdown(self) -> None:
        self._stop_modes_job()

    def _stop_modes_job(self) -> None:
        self._modes_generation += 1
        if self._modes_control is not None:
            self._modes_control.request_stop()
            self._modes_control = None

    def model_opened(self, info) -> None:
        self._fetch_modes(refit=False)

    def weights_changed(self, step: int) -> None:
        self._request_mode_thumbnails()  # the same modes, drawn with the newer weights

    def point_changed(self, point) -> None:
        if self._mixture is not None and point.label != self._modes_label:
            self._request_mode_thumbnails()  # drawn in the class shown

    def strip_rendered(self, name: str, images) -> None:
        self.panel.set_images(images)

    def _fetch_modes(self, refit: bool) -> None:
        from engine.api import Control

        if self.context.info() is None:
            return
        self._stop_modes_job()
        generation, path, control = self._modes_generation, self.context.info().path, Control()
        self._modes_control = control
        if self._mixture is None:
            self.panel.show_message("Finding the modes of your images…", busy=True)
        else:
            self.panel.show_busy("Fitting the modes again…")
        self._modes_jobs += 1
        run_task(lambda _on_event, job_control: explore_jobs.mixture(path, refit, job_control), control=control,
                 on_done=lambda mixture: self._on_mixture(generation, mixture),
                 owner=self.widget, on_failed=lambda reason: self._on_mixture_failed(generation, reason),
                 on_finished=self._on_modes_job_finished)

    def _on_modes_job_finished(self) -> None:
        self._modes_jobs -= 1

    def _on_mixture(self, generation: int, mixture) -> None:
        if generation != self._modes_generation or self.context.info() is None:
            return  # asked for a model no longer shown, or replaced by a newer fetch
        self._modes_control = None
        if mixture.latent_dim != self.context.info().latent_dim:  # a refit, and the newest model has another shape
            self._on_mixture_failed(generation, f"the newest checkpoint has latents of {mixture.latent_dim} numbers, "
                                    f"this model {self.context.info().latent_dim}; open it to see its modes")
            return
        self._mixture, self._mode_visit = mixture, None
        self._mode_order = [int(k) for k in np.argsort(-mixture.weights, kind="stable")]
        count = mixture.components
        tips = [f"Mode {position + 1} of {count}: {mixture.weights[k]:.0%} of your images\n"
                "Click for a fresh image from this mode; click again for another"
                for position, k in enumerate(self._mode_order)]
        step = self.context.info().step
        explanation = (f"The modes of the checkpoint opened (step {step}): the {count} groups that a "
                       "Gaussian mixture finds among your encoded training images, heaviest first, each drawn at "
                       "its centre. While training runs they are drawn with its newest weights but not fitted "
                       "again: Refit does that.")
        self.panel.set_modes(f"{count} mode{'s' if count > 1 else ''} in your images", explanation, tips)
        self._request_mode_thumbnails()
        self.context.refresh()  # a refit ends a visit to an old mode
        self.context.notify(f"Found {count} mode{'s' if count > 1 else ''} in the images the model was trained on")
        self.ready.emit(count)

    def _on_mixture_failed(self, generation: int, reason: str) -> None:
        if generation != self._modes_generation:
            return
        self._modes_control, self._mixture, self._mode_order, self._mode_visit = None, None, [], None
        self.panel.show_message(f"No modes for this model: {reason}")
        self.context.notify(f"Explore could not find the modes: {reason}")

    def _request_mode_thumbnails(self) -> None:
        """Each mode drawn at its centre, in the current class for a conditional model."""
        if self._mixture is not None:
            look = self.context.look()
            self._modes_label = look.label
            self.context.request_strip(self, "modes", [replace(look, latent=mean) for mean in
                                                       self._mixture.means[self._mode_order].astype(np.float32)])

    def _on_mode_picked(self, position: int) -> None:
        if self._mixture is None or position >= len(self._mode_order):
            return
        seed = int(self._mode_seeds.integers(0, MAX_SEED))
        drawn = self._mixture.sample(1 + VARIATIONS, self._mode_order[position], seed=seed)
        point = self.context.point().with_latent(drawn[0])
        self._mode_visit = ModeVisit(point, position, drawn[1:])
        self.context.go_to(point, f"Mode {position + 1}")

    def variations(self, point):
        """More draws from the mode just visited, while the room still stands where the click went."""
        visit = self._mode_visit
        if visit is None or visit.point != point:
            self.panel.mark(None)
            return None
        self.panel.mark(visit.position)
        return f"Variations: more from Mode {visit.position + 1}", visit.samples
