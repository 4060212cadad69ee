"""What lets a run take care of itself between steps, apart from the loop: noticing that it diverged (the Trainer
then rolls back), and keeping the best checkpoint's figures for early stopping. Plain bookkeeping, no tensors."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

MAX_ROLLBACKS = 3  # tries before a diverging run gives up
DIVERGENCE = 50.0  # a logged loss beyond this many times its recent median (and beyond 50) counts as divergence
HISTORY = 20  # logged values per loss the median is taken over
MIN_HISTORY = 5  # values needed before a median means anything
RESEED = 7919  # a prime: rollback k reseeds with seed + RESEED * k, far from the seeds of neighbouring runs


class DivergenceWatch:
    """Looks at each logged set of losses: NaN or infinite values, or a loss that exploded past its recent median."""

    def __init__(self):
        self._history: dict[str, list[float]] = {}

    def trouble(self, values: dict[str, float], nonfinite: bool) -> str | None:
        """Why the run must go back, or None. `nonfinite`: a NaN/inf was seen in a step since the last look."""
        if nonfinite or not all(math.isfinite(v) for v in values.values()):
            return "NaN or infinite losses"
        for key, value in values.items():
            recent = self._history.get(key, [])
            if len(recent) >= MIN_HISTORY:
                median = statistics.median(abs(v) for v in recent)
                if abs(value) > DIVERGENCE * max(median, 1.0):
                    return f"the {key} loss exploded ({value:.3g}, recent median {median:.3g})"
        for key, value in values.items():
            self._history.setdefault(key, []).append(value)
            del self._history[key][:-HISTORY]
        return None

    def forget(self) -> None:
        self._history.clear()


def gave_up(trouble: str, step: int, last_good: int | None) -> str:
    """What the artist reads when MAX_ROLLBACKS were not enough."""
    return (f"training failed: {trouble} at step {step}, even after {MAX_ROLLBACKS} rollbacks with a lower learning "
            "rate each time; gave up. The last good checkpoint "
            + (f"is step {last_good}" if last_good is not None else "does not exist")
            + ". Try a smaller --lr, another --loss, or more images.")


@dataclass
class BestSoFar:
    """The best checkpoint's figure (lower is better) under the measure in force, and how many checkpoints since."""
    quality: float | None = None
    step: int | None = None
    measure: str | None = None  # what quality measures (engine.models.base.Learner.measure)
    since: int = 0  # checkpoints with a figure but no improvement

    def judge(self, quality: float | None, measure: str, step: int) -> bool:
        """Take a checkpoint's figure; True when it is the best so far. A new measure (a new training stage) starts
        afresh, since figures of two measures do not compare."""
        if measure != self.measure:
            self.quality, self.step, self.since, self.measure = None, None, 0, measure
        best = quality is not None and (self.quality is None or quality < self.quality)
        if best:
            self.quality, self.step, self.since = quality, step, 0
        elif quality is not None:
            self.since += 1
        return best

    def ran_out(self, patience: int) -> bool:
        return bool(patience) and self.since >= patience

    def record(self) -> dict:
        return {"best_quality": self.quality, "best_step": self.step, "since_best": self.since}

    @classmethod
    def from_record(cls, record: dict) -> "BestSoFar":
        return cls(record.get("best_quality"), record.get("best_step"), record.get("measure"),
                   record.get("since_best", 0))
