"""Tiny checkpoints of every model family, made by the code as it stood before the family contract (issue 10),
and what they must still do: render the same images and give the same losses for 20 seeded steps.

`python -m tests.engine.family_fixtures` remakes them under tests/fixtures/families/ (only ever on purpose: the
point is that today's code meets yesterday's files). The test that uses them is test_family_fixtures.py.

Each family's folder holds:
  step-XXXXXX.safetensors / .json   a complete checkpoint of a 16 px run on real digits
  expected.safetensors              `render`: what open_model(checkpoint).render draws for RENDER_SEED's latents;
                                    `losses`: steps x losses of the 20 steps after resuming from the checkpoint
  expected.json                     the loss names, in the order of `losses`' columns
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "families"
FAMILIES = ("dcgan", "vae", "cgan", "cvae", "vqvae", "fastgan")
PER_CLASS = 12  # 120 real digits: labelled, so the conditional families train on the same project
RENDER_SEED = 77
RENDER_COUNT = 6
RESUMED_STEPS = 20


def config(family: str):
    """The fixture runs' settings: 16 px, narrow, fp32 on the CPU so the numbers repeat exactly."""
    from engine import api

    vq = family == "vqvae"
    return api.TrainConfig(family=family, size=16, steps=40, batch=8, width=4, latent_dim=16 if vq else 8,
                           precision="fp32", device="cpu", checkpoint_every=1000, sample_every=1000, log_every=1000,
                           kid_every=0, lr=1e-3 if family in ("vae", "cvae", "vqvae") else 2e-4,
                           r1=0.1 if family == "fastgan" else 0.0)


def checkpoint_step(family: str) -> int:
    """The VQ-VAE's checkpoint falls in its second stage (past 60% of 40 steps), so both networks are covered."""
    return 26 if family == "vqvae" else 12


def digits_project(root: Path):
    from engine import api

    from ..digits import write_digits

    source = write_digits(root / "digits", per_class=PER_CLASS, px=32)
    project = api.Project.create(root / "project")
    api.ingest(project, [source], size=16)
    return project


def render_inputs(model) -> tuple[np.ndarray, list[int] | None]:
    from engine.sampling import latents_for_seed

    latents = latents_for_seed(RENDER_SEED, model.latent_dim, RENDER_COUNT)
    labels = [i % model.cfg.num_classes for i in range(RENDER_COUNT)] if model.cfg.num_classes else None
    return latents, labels


def resumed_losses(trainer) -> torch.Tensor:
    """RESUMED_STEPS steps x losses, in the order of the learner's loss dict."""
    rows = []
    for _ in range(RESUMED_STEPS):
        losses = trainer.step()
        rows.append({k: float(v) for k, v in losses.items()})
    return rows


def make(family: str, project, out: Path) -> None:
    from engine import api, files
    from engine.training import Trainer

    run_dir = Path(tempfile.mkdtemp())
    trainer = Trainer(project, config(family), run_dir=run_dir)
    trainer.start(None)
    for _ in range(checkpoint_step(family)):
        trainer.step()
    checkpoint = trainer._checkpoint()
    rows = resumed_losses(trainer)
    model = api.open_model(checkpoint)
    latents, labels = render_inputs(model)
    image = model.render(latents, labels)
    out.mkdir(parents=True, exist_ok=True)
    for path in (checkpoint, checkpoint.with_suffix(".safetensors")):
        shutil.copy(path, out / path.name)
    names = list(rows[0])
    files.save_tensors(out / "expected.safetensors",
                       {"render": torch.from_numpy(image),
                        "losses": torch.tensor([[row[k] for k in names] for row in rows], dtype=torch.float64)})
    (out / "expected.json").write_text(json.dumps({"losses": names, "checkpoint": checkpoint.name}, indent=1))
    shutil.rmtree(run_dir)


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        project = digits_project(Path(tmp))
        for family in FAMILIES:
            make(family, project, FIXTURES / family)
            size = sum(p.stat().st_size for p in (FIXTURES / family).iterdir())
            print(f"{family}: {size / 1024:.0f} kB")


if __name__ == "__main__":
    main()
