"""What changes over a run, as pure functions of its progress in [0, 1], so a resumed run follows the same curve
and a longer or shorter run is a whole schedule, not a truncated one.

A run's horizon is its step count, or, when the artist gives time instead ("train for 15 minutes"), its budget of
training time: progress is then the share of the budget spent (kept across resumes), and the step count is what
the measured speed will reach. Learning-rate decay, the EMA's horizon, a VQ-VAE's stages and the KID's cadence all
follow the progress, so a 15-minute run and an overnight one each end their schedules on their last step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

LR_FLOOR = 0.1  # cosine decay ends at this fraction of the learning rate
EMA_SHARE = 0.25  # the EMA's half-life is at most this share of the planned steps...
KID_SHARE = 0.05  # ...and the quality measurements take at most this share of a time budget,
KID_MOST = 10  # ...with at most this many of them: one at the end of each tenth


def learning_rate_factor(progress: float, decay: str) -> float:
    """The factor on the initial learning rate: 1 throughout for "none"; for "cosine", a half cosine from 1 at
    the start down to LR_FLOOR at the end."""
    if decay == "none":
        return 1.0
    progress = min(1.0, max(0.0, progress))
    return LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + math.cos(math.pi * progress))


def ema_decay(updates: int, planned_steps: float, longest: float) -> float:
    """The EMA's decay at update `updates`: a short average while the networks change fast (warm-up), never longer
    than the family's own (`longest`), and with a half-life of at most EMA_SHARE of the planned steps, so a short
    run's average is not made of its first weights."""
    half_life = max(1.0, EMA_SHARE * planned_steps)
    return min(longest, 0.5 ** (1 / half_life), (1 + updates) / (10 + updates))


def kid_parts(budget_s: float, seconds_each: float) -> int:
    """Into how many equal parts a time budget is cut, each ending with a quality measurement: as many as
    measurements of `seconds_each` fit in KID_SHARE of it, at most KID_MOST (0: not even one fits)."""
    return min(KID_MOST, int(KID_SHARE * budget_s / max(seconds_each, 1e-9)))


def kid_due(seconds: float, last_at: float, budget_s: float, parts: int) -> bool:
    """Whether training time `seconds` has passed the end of one of the budget's `parts` since the last measurement
    (at `last_at`). The last part ends with the run, whose last step the Trainer measures besides."""
    part = budget_s / parts
    return seconds // part > last_at // part


@dataclass(frozen=True)
class Horizon:
    """Where a run ends: `steps` (0: none) or `budget_s` seconds of training time (0: none), whichever comes first.
    Of a time budget, `reserve_s` is kept for the quality measurement after the last step, so that the run ends on
    time with it: training itself ends at `training_s`."""
    steps: int
    budget_s: float
    reserve_s: float = 0.0

    @property
    def by_time(self) -> bool:
        """The budget is time alone: the step count follows from the speed."""
        return not self.steps and self.budget_s > 0

    @property
    def training_s(self) -> float:
        return max(0.0, self.budget_s - self.reserve_s)

    def progress(self, step: int, seconds: float, step_seconds: float = 0.0) -> float:
        """How far along the run is when it takes step `step + 1`, having trained `seconds` (and expecting that
        step to take `step_seconds`, so the last step gets the schedule's end)."""
        done = 0.0
        if self.steps:
            done = step / max(1, self.steps - 1)
        if self.budget_s:
            done = max(done, (seconds + step_seconds) / max(self.training_s, 1e-9))
        return min(1.0, done)

    def planned_steps(self, step: int, seconds: float) -> int:
        """The steps the run will take: its step count, or what its speed so far reaches in its budget."""
        if not self.by_time:
            return self.steps
        if seconds <= 0 or step == 0:
            return 0
        return max(step, round(step * self.training_s / seconds))

    def done(self, step: int, seconds: float) -> bool:
        return bool(self.steps and step >= self.steps) or bool(self.budget_s and seconds >= self.training_s)


def minutes_text(minutes: float) -> str:
    """ "1 minute", "15 minutes", "0.5 minutes"."""
    return f"{minutes:g} minute" + ("" if minutes == 1 else "s")
