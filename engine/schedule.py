"""What changes over a run, as pure functions of its progress in [0, 1] (step / last step), so a resumed run
follows the same curve and a longer or shorter run is a whole schedule, not a truncated one."""
from __future__ import annotations

import math

LR_FLOOR = 0.1  # cosine decay ends at this fraction of the learning rate


def learning_rate_factor(progress: float, decay: str) -> float:
    """The factor on the initial learning rate: 1 throughout for "none"; for "cosine", a half cosine from 1 at
    the start down to LR_FLOOR at the end."""
    if decay == "none":
        return 1.0
    progress = min(1.0, max(0.0, progress))
    return LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + math.cos(math.pi * progress))
