"""The first steps of a run that starts from a base model: does it draw worse for a while before it draws better,
and does training the discriminator alone first (its heads start from random weights) spare the artist that?

    .venv/bin/python bench/fine_tune_start.py                     # Noto's emoji, never seen by clip-art-64
    .venv/bin/python bench/fine_tune_start.py --seeds 2 --warm 100 --grids /tmp/grids
    .venv/bin/python bench/fine_tune_start.py --ways plain gentle --steps 0,100,300,800 --end  # 15 minutes each

Each way fine-tunes the same base on the same pictures at the same seeds, with the settings a new project gets:
- plain: as the app trains, generator and discriminator from the first step;
- warm-up: the first WARM steps update the discriminator only (the generator, and so its average, stay the base's);
- steady average: the generator's average (EMA) skips the warm-up that suits random weights and keeps its full
  horizon from the first step, so the base's weights fade out of it slowly;
- gentle: the learning rates ramp up from a tenth over the first RAMP share of the run, so the generator leaves the
  base's pictures slowly at first.
At each of the steps listed, and with --end at the end of the run (MINUTES of training, its schedules whole), 512
samples of the averaged generator are judged by KID in two feature spaces (as bench/quality.py: ImageNet
EfficientNet-Lite0, and the same network with random weights calibrated on the real set), step 0 being the base
itself. Prints KID x 10^3, mean ± sd over the seeds, beside the real-vs-real floor.
Each run alone on the machine; it measures only.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import ROOT, emoji_folder, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", type=Path, help="folders of pictures; default: Noto's colour emoji")
    parser.add_argument("--limit", type=int, default=1000, help="use N of the pictures, drawn with a fixed seed")
    parser.add_argument("--base", type=Path, default=ROOT / "resources" / "base" / "clip-art-64.safetensors")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--warm", type=int, default=100, help="discriminator-only steps of the warm-up")
    parser.add_argument("--ramp", type=float, default=0.1, help="share of the run the gentle way's ramp takes")
    parser.add_argument("--ways", nargs="+", default=["plain", "warm-up"],
                        choices=["plain", "warm-up", "steady", "gentle"])
    parser.add_argument("--steps", default="0,50,100,200,300,450,600,800", help="where to judge, comma-separated")
    parser.add_argument("--minutes", type=float, default=15, help="the run's budget of training time")
    parser.add_argument("--end", action="store_true", help="train to the end of the budget and judge there too")
    parser.add_argument("--grids", type=Path, help="write 64 samples of every judged step here, to look at")
    args = parser.parse_args()

    import numpy as np
    import torch

    from engine import api, features, schedule
    from engine.metrics import kid
    from engine.train_config import complete_config
    from engine.training import Trainer
    from quality import gather, samples, save_grid

    work = Path(tempfile.mkdtemp(prefix="fine-tune-start-"))
    sources = args.sources or [emoji_folder(work / "emoji")]
    project = api.Project.create(work / "project")
    api.ingest(project, [gather(sources, args.limit, 0, Path(tempfile.mkdtemp(dir=work)))], size=64, crop="center")
    data = api.load_dataset(project, 64)
    real_images = data.rgb(np.sort(np.random.default_rng(0).permutation(len(data.hashes))[:2048]))
    spaces = {"imagenet": None, "random": features.random_network(real_images)}
    real = {space: features.uint8_features(real_images, net=net) for space, net in spaces.items()}
    halves = np.array_split(np.random.default_rng(1).permutation(len(real_images)), 2)
    floor = {space: kid(f[halves[0]], f[halves[1]], subset_size=500) * 1e3 for space, f in real.items()}
    points = [int(step) for step in args.steps.split(",")]

    def judged(trainer: Trainer, name: str, seed: int, step: int) -> dict:
        made = samples(api.open_model(trainer._checkpoint()), data.background)
        if args.grids:
            save_grid(made[:64], args.grids / f"{name}-seed{seed}-step{step:05d}.png")
        return {space: kid(features.uint8_features(made, net=net), real[space], subset_size=500) * 1e3
                for space, net in spaces.items()}

    kids = {}  # (way, step or "end", space) -> [KID per seed]
    ends = {}  # way -> [the step each seed's run ended on]
    for seed in range(args.seeds):
        for way in args.ways:
            cfg = complete_config(project, api.TrainConfig(
                family="projected", size=64, steps=0, minutes=args.minutes, seed=seed, device="cpu", kid_every=0,
                sample_every=10**9, checkpoint_every=10**9, checkpoint_minutes=10**6, early_stop_patience=0,
                from_model=str(args.base)))
            trainer = Trainer(project, cfg)
            trainer.start(None)
            if way == "warm-up":
                generator_pass = trainer.learner.generator_pass
                trainer.learner.generator_pass = lambda fakes, loss_of, dtype, t=trainer, g=generator_pass: (
                    torch.zeros(()) if t.step_count < args.warm else g(fakes, loss_of, dtype))
            ema_decay, lr_factor = schedule.ema_decay, schedule.learning_rate_factor
            if way == "steady":  # as if many updates had passed: the warm-up term never binds
                schedule.ema_decay = lambda updates, planned, longest: ema_decay(updates + 10**9, planned, longest)
            if way == "gentle":
                schedule.learning_rate_factor = lambda progress, decay: lr_factor(progress, decay) * (
                    0.1 + 0.9 * min(1.0, progress / args.ramp))
            for step in points + (["end"] if args.end else []):
                while trainer.step_count < (10**9 if step == "end" else step) and not trainer.horizon.done(
                        trainer.step_count, trainer.seconds):
                    started = time.perf_counter()
                    trainer.step()
                    trainer.step_seconds = time.perf_counter() - started  # as the Trainer's loop counts its time
                    trainer.seconds += trainer.step_seconds
                for space, value in judged(trainer, way, seed, trainer.step_count).items():
                    kids.setdefault((way, step, space), []).append(value)
                print(f"{way}, seed {seed}, step {trainer.step_count}: " + ", ".join(
                    f"{space} {kids[(way, step, space)][-1]:.1f}" for space in spaces), flush=True)
            ends.setdefault(way, []).append(trainer.step_count)
            schedule.ema_decay, schedule.learning_rate_factor = ema_decay, lr_factor

    def spread(values: list[float]) -> str:
        return f"{statistics.mean(values):.1f}" + (f" ± {statistics.stdev(values):.1f}" if len(values) > 1 else "")

    ways = list(dict.fromkeys(way for way, _, _ in kids))
    rows = [(step, *(spread(kids[(way, step, space)]) for way in ways for space in spaces)) for step in points]
    if args.end:  # the runs end at different steps: their last judgement, and the steps they reached
        rows.append(("end", *(spread(kids[(way, "end", space)]) for way in ways for space in spaces)))
        print(f"steps reached in {args.minutes:g} minutes: " + "; ".join(
            f"{way} {spread(ends[way])}" for way in ways))

    print(f"\nKID x 10^3 of the averaged generator, {args.seeds} seed(s), from {args.base.name}; floor (real vs real) "
          f"imagenet {floor['imagenet']:.2f}, random {floor['random']:.2f}\n")
    print(table(rows, ("step", *(f"{way} {space}" for way in ways for space in spaces))))


if __name__ == "__main__":
    main()
