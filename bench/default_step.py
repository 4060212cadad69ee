"""The default 64 px family's training step (Projected FastGAN) as the app runs it, against the plain ways it ran
before, side by side in one process.

    .venv/bin/python bench/default_step.py [--data FOLDER] [--rounds 4] [--steps 6]

Variants, alternated in rounds so machine noise hits all alike:
- ours: every core (devices.every_core, what the app's training thread uses), the ImageNet network with its
  BatchNorms folded (features.network);
- baseline: one core fewer (devices.leave_a_core_for_the_ui, what the app's training had before) and the network
  as the weights file builds it, BatchNorms apart;
- and each change alone.
Prints seconds per step (the median of the rounds) and the ratio to the baseline. Measures only.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import ROOT, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "resources" / "demo" / "images")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per variant and round")
    args = parser.parse_args()

    import torch

    from engine import api, features
    from engine.devices import MACHINE_THREADS
    from engine.train_config import complete_config
    from engine.training import Trainer

    project = api.Project.create(Path(tempfile.mkdtemp(prefix="bench-project-")))
    api.ingest(project, [args.data], size=64)
    trainer = Trainer(project, complete_config(project, api.TrainConfig(family="projected", size=64, device="cpu",
                                                                         steps=0, minutes=60)))
    trainer.start(None)  # the precision a run of an hour picks here
    folded = trainer.learner.pyramid.net
    apart = features.EfficientNetLite0()
    apart.load_state_dict(torch.load(features.weights_path(), weights_only=True))
    apart.eval().requires_grad_(False)
    fewer = max(1, MACHINE_THREADS - 1)
    variants = {"ours (every core, folded)": (MACHINE_THREADS, folded), "every core alone": (MACHINE_THREADS, apart),
                "folded alone": (fewer, folded), "baseline (a core fewer, apart)": (fewer, apart)}
    seconds = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (threads, net) in variants.items():
            torch.set_num_threads(threads)
            trainer.learner.pyramid.net = net
            float(trainer.step()["g"])  # settle
            start = time.perf_counter()
            for _ in range(args.steps):
                losses = trainer.step()
            float(losses["g"])
            seconds[name].append((time.perf_counter() - start) / args.steps)
    median = {name: sorted(times)[len(times) // 2] for name, times in seconds.items()}
    base = median["baseline (a core fewer, apart)"]
    print(f"{trainer.data.count} images at 64 px, batch {trainer.cfg.batch}, {trainer.amp_dtype}, "
          f"{MACHINE_THREADS} cores")
    print(table([(name, f"{s:.3f}", f"{base / s:.2f}x") for name, s in median.items()],
                ("variant", "s/step", "speed vs baseline")))


if __name__ == "__main__":
    main()
