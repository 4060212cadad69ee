"""FastGAN stories: it trains, generates and resumes exactly (augmentation strength included), every loss and
penalty runs, and a new run fine-tunes an earlier one."""
from __future__ import annotations

import json
import math

import pytest
import torch

from engine import api, checkpoints, files
from engine.train_config import settle
from engine.training import Trainer
from engine.transfer import adopt_source

from .helpers import digits_project, tiny


@pytest.fixture(scope="module")
def project(tmp_path_factory, small_digits_dir):
    return digits_project(tmp_path_factory.mktemp("fastgan"), small_digits_dir)


@pytest.fixture(scope="module")
def finished_run(project):
    """A FastGAN run trained straight to step 8, with an ADA target low enough that p has to rise."""
    result = api.train(project, tiny("fastgan", steps=8, checkpoint_every=8, ada_target=0.01), new=True)
    return result.checkpoint


def weights_of(checkpoint_json) -> dict:
    _, tensors = checkpoints.read(checkpoint_json)
    return {k: v for k, v in tensors.items() if k.startswith(("net.", "ema.", "opt."))}


def test_fastgan_stopped_at_6_and_resumed_to_8_matches_a_straight_run_including_ada(project, finished_run):
    control = api.Control()

    def stop_at_6(event):
        if isinstance(event, api.StepDone) and event.step == 6:
            control.request_stop()

    cfg = tiny("fastgan", steps=8, checkpoint_every=1000, log_every=2, ada_target=0.01)  # p moves every 4 steps
    first = api.train(project, cfg, on_event=stop_at_6, control=control, new=True)
    assert first.reason == "stopped" and first.step == 6
    resumed = api.train(project, cfg)
    assert resumed.step == 8
    a, b = weights_of(finished_run), weights_of(resumed.checkpoint)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)
    straight, again = files.read_json(finished_run)["extra"], files.read_json(resumed.checkpoint)["extra"]
    assert straight["ada"]["p"] > 0 and straight == again
    run = resumed.checkpoint.parent.parent
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert all("p" in row for row in logged if "d" in row)  # the strength is logged beside the losses
    model, latents = api.open_model(run), api.latents_for_seed(0, 16, count=4)
    assert model.render(latents).shape == (4, 16, 16, 3)
    with torch.no_grad():  # eight steps in, the grey digits' model draws within a grey level of mid-grey
        assert model.net(torch.from_numpy(latents)).std() > 0


@pytest.mark.parametrize("options", [dict(loss="bce"), dict(loss="hinge", spectral_norm=False),
                                     dict(loss="wgan-gp"), dict(loss="hinge", r1=1.0)],
                         ids=["bce", "hinge-without-sn", "wgan-gp", "hinge-r1"])
def test_each_loss_and_penalty_trains_with_finite_losses(project, options):
    trainer = Trainer(project, tiny("fastgan", batch=8, **options))
    before = {k: v.clone() for k, v in trainer.learner.nets["discriminator"].state_dict().items()}
    for _ in range(4 if options.get("r1") else 2):  # R1 is lazy: it runs on the 4th step
        losses = trainer.step()
    assert all(math.isfinite(float(v)) for v in losses.values()), losses
    after = trainer.learner.nets["discriminator"].state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert trainer.cfg.loss == options["loss"]


def test_a_new_run_fine_tunes_an_earlier_one_from_its_weights(project, finished_run):
    source_run = finished_run.parent.parent
    trainer = Trainer(project, tiny("fastgan", from_model=str(source_run)))
    trainer.start(None)
    _, saved = checkpoints.read(finished_run)
    ema = {k[4:]: v for k, v in saved.items() if k.startswith("ema.")}
    for key, value in trainer.learner.nets["generator"].state_dict().items():
        assert torch.equal(value, ema[key]), key
    for key, value in trainer.learner.ema.state_dict().items():
        assert torch.equal(value, ema[key]), key
    disc = {k[len("net.discriminator."):]: v for k, v in saved.items() if k.startswith("net.discriminator.")}
    for key, value in trainer.learner.nets["discriminator"].state_dict().items():
        assert torch.equal(value, disc[key]), key

    result = api.train(project, api.TrainConfig(steps=2, device="cpu", from_model=str(finished_run)))
    config = files.read_json(result.checkpoint.parent.parent / "config.json")
    assert config["from_model"] == str(finished_run.resolve())
    assert (config["family"], config["width"], config["latent_dim"], config["size"]) == ("fastgan", 8, 16, 16)


def test_fine_tuning_refuses_a_model_of_another_shape_or_family(project, finished_run):
    with pytest.raises(ValueError, match="16 px fastgan.*asks for size 32"):
        api.train(project, tiny("fastgan", size=32, from_model=str(finished_run)))
    with pytest.raises(ValueError, match="holds a fastgan model"):
        api.train(project, tiny("dcgan", from_model=str(finished_run)))


def test_the_bundled_demo_model_can_be_fine_tuned(tmp_path, small_digits_dir):
    if not api.demo_available():
        pytest.skip("resources/demo/model.safetensors is not there yet")
    from engine.demo import DEMO_MODEL
    from engine.train_config import complete_config

    project = digits_project(tmp_path / "p", small_digits_dir, size=64)
    cfg = complete_config(project, adopt_source(api.TrainConfig(from_model=str(DEMO_MODEL), device="cpu")))
    demo = api.open_model(DEMO_MODEL)
    assert (cfg.family, cfg.size, cfg.width, cfg.latent_dim) == (demo.family, 64, demo.cfg.width, demo.latent_dim)
    events = []
    trainer = Trainer(project, cfg, on_event=events.append)
    trainer.start(None)
    for key, value in demo.net.state_dict().items():
        assert torch.equal(trainer.learner.nets["generator"].state_dict()[key], value), key
    assert any("discriminator from scratch" in e.text for e in events if isinstance(e, api.Message))


def test_fastgan_trains_with_hinge_and_spectral_norm():
    cfg = settle(api.TrainConfig(family="fastgan", device="cpu"))
    assert (cfg.loss, cfg.spectral_norm, cfg.early_stop_patience) == ("hinge", True, 0)
    with pytest.raises(ValueError, match="does not take --loss"):
        settle(api.TrainConfig(family="dcgan", loss="hinge", device="cpu"))


def test_the_cli_passes_loss_and_penalty_choices_to_the_run(tmp_path, small_digits_dir, monkeypatch):
    from engine import cli as engine_cli

    project = digits_project(tmp_path / "p", small_digits_dir)
    asked = []

    def train(project, cfg, **kwargs):
        asked.append(cfg)
        return api.RunFinished(0, "done", None)

    monkeypatch.setattr(api, "train", train)
    code = engine_cli.main(["train", "--project", str(project.root), "--loss", "wgan-gp", "--r1", "2",
                            "--no-spectral-norm", "--lr-decay", "cosine", "--kid-every", "0", "--early-stop", "3",
                            "--from", "elsewhere"])
    assert code == 0
    cfg = asked[0]
    assert (cfg.family, cfg.loss, cfg.r1, cfg.spectral_norm, cfg.lr_decay) == ("", "wgan-gp", 2.0, False, "cosine")
    assert (cfg.kid_every, cfg.early_stop_patience, cfg.from_model) == (0, 3, "elsewhere")


DDP_SCRIPT = """
import os, sys
sys.path.insert(0, {root!r})
from safetensors.torch import save_file
from engine import api
from engine.training import Trainer
from tests.engine.helpers import tiny
trainer = Trainer(api.Project.open({project!r}), tiny("fastgan", steps=4, checkpoint_every=4, sample_every=4,
                                                     batch=8, r1=1.0, loss={loss!r}))
trainer.run(None)
weights = {{f"net.{{n}}.{{k}}": v for n, net in trainer.learner.nets.items()
           for k, v in net.module.state_dict().items()}}
weights.update({{f"ema.{{k}}": v for k, v in trainer.learner.ema.state_dict().items()}})
save_file({{k: v.contiguous() for k, v in weights.items()}}, {out!r} + os.environ["RANK"] + ".safetensors")
from engine import distributed
distributed.teardown()
"""


@pytest.mark.slow  # about 10 s on an idle 2-core machine: run by hand, `pytest -m slow`
def test_two_ranks_agree_on_every_weight_with_gradient_penalties(tmp_path, small_digits_dir):
    """WGAN-GP's penalty every step and R1 on step 4, both through the unwrapped discriminator (adversarial.py)."""
    import subprocess
    import sys

    from safetensors.torch import load_file

    from .helpers import ROOT

    project = digits_project(tmp_path / "p", small_digits_dir)
    script = tmp_path / "ddp_fastgan.py"
    script.write_text(DDP_SCRIPT.format(root=str(ROOT), project=str(project.root), out=str(tmp_path / "rank"),
                                        loss="wgan-gp"))
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                             "--master_port", "29541", str(script)], capture_output=True, text=True, timeout=300,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert rank0.keys() == rank1.keys() and len(rank0) > 10
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key


@pytest.mark.parametrize("size", [128, 256])
def test_fastgan_trains_and_draws_at_128_and_256_px(tmp_path, size):
    """The resolutions a GPU is for: the networks grow a block per doubling, train, checkpoint and draw (a CPU
    smoke run with narrow networks; the quality at these sizes needs a GPU's hours)."""
    from ..digits import write_digits

    project = digits_project(tmp_path / "project", write_digits(tmp_path / "digits", per_class=2), size=size)
    result = api.train(project, tiny("fastgan", size=size, steps=2, batch=4, checkpoint_every=2), new=True)
    assert result.reason == "done" and result.checkpoint is not None
    model = api.open_model(result.checkpoint)
    latents = api.latents_for_seed(0, model.latent_dim, count=2)
    assert model.render(latents).shape == (2, size, size, 3)
    with torch.no_grad():  # two steps in, the grey digits' model draws within a grey level of mid-grey: look closer
        assert model.net(torch.from_numpy(latents)).std() > 0
