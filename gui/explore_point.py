"""The explorer's current point as a plain value, and the undo command that moves between two of them.

A point is where the artist stands in latent space: a seed or an explicit latent (from a bookmark, a variation, an
interpolation frame or a dropped PNG), scaled by its truncation, plus amounts along the fitted directions. For a
style-based model it also holds a second point whose styles in `mix_layers` replace its own, an explicit move in W
(`shift`, from a bookmark or PNG) and the range of styles the direction sliders move (`layers`). An explicit latent
is the point at truncation 1 (for z; a style-based model keeps its ψ apart), so going to one shows it exactly. It is
immutable and compares by value, so the undo history can skip no-op moves. Turning a point into a latent is the
room's job (through engine.api); this module holds no Qt widgets and does no maths.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtGui import QUndoCommand


@dataclass(frozen=True)
class Point:
    seed: int = 0
    truncation: float = 1.0  # pulls the base latent (seed or explicit) towards the mean; 1 = as it is
    latent: tuple | None = None  # explicit base latent (floats); None: the seed's latent
    amounts: tuple = ()  # typical steps along each fitted direction
    label: int | None = None  # class index, for models with labels
    mix: tuple | None = None  # a second point's latent, whose styles in `mix_layers` are taken (style-based)
    mix_layers: tuple = (0, 0)  # (start, stop) of those styles
    shift: tuple | None = None  # an explicit move in W, num_styles x D flattened (style-based)
    layers: tuple | None = None  # (start, stop) of the styles the direction sliders move; None: all

    def with_seed(self, seed: int) -> "Point":
        """The seed's point, with the same mix (image i of a mixed batch mixes seed A + i with B)."""
        return replace(self, seed=int(seed), latent=None, amounts=tuple(0.0 for _ in self.amounts), shift=None)

    def at(self, look, seed: int | None = None) -> "Point":
        """Stand exactly where an engine Look is (a variation, a bookmark, a dropped PNG, a projection): its
        latent, ψ, label, mix and move in W, with the direction sliders at zero."""
        shift = None if look.w_shift is None else tuple(float(v) for v in look.w_shift.reshape(-1))
        mixed = look.mix_latent is not None
        return replace(self, latent=tuple(float(v) for v in look.latent), truncation=float(look.psi),
                       seed=self.seed if seed is None else int(seed), amounts=tuple(0.0 for _ in self.amounts),
                       label=self.label if look.label is None else look.label, shift=shift,
                       mix=tuple(float(v) for v in look.mix_latent) if mixed else None,
                       mix_layers=tuple(int(v) for v in look.mix_layers) if mixed else (0, 0))

    def with_latent(self, latent, seed: int | None = None, label: int | None = None) -> "Point":
        """Stand exactly on `latent` (truncation 1, directions at zero); keeps the seed for display, and the label,
        when none is given."""
        return replace(self, latent=tuple(float(v) for v in latent), seed=self.seed if seed is None else int(seed),
                       truncation=1.0, amounts=tuple(0.0 for _ in self.amounts), shift=None,
                       label=self.label if label is None else label)


class PointCommand(QUndoCommand):
    """One step of the history: `apply(before)` on undo, `apply(after)` on redo (skipped when first pushed)."""

    def __init__(self, apply, before: Point, after: Point, text: str):
        super().__init__(text)
        self._apply, self.before, self.after = apply, before, after
        self._pushed = False

    def redo(self) -> None:
        if self._pushed:
            self._apply(self.after)
        self._pushed = True

    def undo(self) -> None:
        self._apply(self.before)
