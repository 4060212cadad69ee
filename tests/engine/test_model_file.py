"""Model files an artist can take elsewhere (`export-model`): copied alone into an empty folder, a file opens, draws
the pixels its checkpoint draws, says where it came from in its header, and fine-tunes a new project."""
from __future__ import annotations

import datetime
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from engine import api, checkpoints, files
from engine.model_file import _seconds_from_log, app_version
from engine.models import get_family
from engine.training_data import dataset_hash
from engine.transfer import start_from

from .family_fixtures import FAMILIES, FIXTURES
from .helpers import cli, digits_project, tiny


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_digits_dir):
    project = digits_project(tmp_path_factory.mktemp("model-file"), small_digits_dir)
    api.train(project, tiny(steps=6, checkpoint_every=3))
    return project


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """The project's model exported by the CLI, then copied alone into an empty folder."""
    out = tmp_path_factory.mktemp("exported") / "digits.safetensors"
    result = cli("export-model", str(trained.root), "--out", str(out), "--licence", "CC BY 4.0")
    assert result.returncode == 0 and "wrote" in result.stdout, result.stderr
    alone = tmp_path_factory.mktemp("alone") / "digits.safetensors"
    shutil.copy(out, alone)
    assert [p.name for p in alone.parent.iterdir()] == ["digits.safetensors"]
    return alone


def test_the_header_says_what_the_model_is_and_where_it_came_from(trained, exported, small_digits_dir):
    tensors, meta = files.load_tensors(exported)
    record = files.read_json(checkpoints.meant_by(trained.root))
    model = api.open_model(trained.root)
    rows = api.manifest(trained)
    assert meta["kind"] == "model" and meta["family"] == "dcgan" and meta["config"]["latent_dim"] == 16
    assert (meta["channels"], meta["height"], meta["width"]) == (3, 16, 16)
    assert meta["step"] == 6 and meta["model_id"] == model.id and meta["label_names"] == [str(d) for d in range(10)]
    assert 0 < meta["training_seconds"] < 120 and meta["training_seconds"] == record["train_seconds"]
    assert meta["dataset_hash"] == record["dataset_hash"] == dataset_hash([row["hash"] for row in rows], 16)
    assert meta["image_count"] == len(rows) == 300
    assert meta["sources"] == [str(small_digits_dir.resolve())]
    assert meta["app_version"] == app_version() == "0.1.0" and meta["licence"] == "CC BY 4.0"
    date = datetime.datetime.fromisoformat(meta["date"])
    assert date.utcoffset() == datetime.timedelta(0)
    assert abs((datetime.datetime.now(datetime.timezone.utc) - date).total_seconds()) < 600
    assert tensors.keys() == model.net.state_dict().keys()  # every network the sampler uses, nothing else


def test_a_file_alone_draws_the_pixels_of_its_checkpoint(trained, exported, tmp_path):
    model = api.open_model(exported)
    assert model.id == api.open_model(trained.root).id and model.step == 6
    result = cli("generate", str(exported), "--count", "4", "--out", str(tmp_path / "file"))
    assert result.returncode == 0, result.stderr
    api.generate(api.open_model(trained.root), 4, tmp_path / "checkpoint")
    names = sorted(p.name for p in (tmp_path / "file").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "checkpoint").iterdir()) and len(names) == 4
    for name in names:
        assert np.array_equal(np.asarray(Image.open(tmp_path / "file" / name)),
                              np.asarray(Image.open(tmp_path / "checkpoint" / name)))


def test_a_file_fine_tunes_a_new_project(exported, tmp_path, small_digits_dir):
    result = cli("train", "--project", str(tmp_path / "new"), "--data", str(small_digits_dir / "3"),
                 str(small_digits_dir / "8"), "--from", str(exported), "--steps", "3", "--checkpoint-every", "3")
    assert result.returncode == 0, result.stderr
    assert "fine-tuning digits.safetensors (step 6)" in result.stdout
    run = api.Project.open(tmp_path / "new").runs()[-1]
    assert files.read_json(run / "config.json")["from_model"] == str(exported.resolve())
    again = api.open_model(tmp_path / "new")
    assert again.family == "dcgan" and again.step == 3 and again.cfg.latent_dim == 16


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_keeps_its_whole_sampler_and_a_re_export_keeps_its_provenance(family, tmp_path):
    """A VQ-VAE's prior and a VAE's encoder travel too; checkpoints made before training kept time, and outside a
    project, leave what cannot be known null."""
    checkpoint = next((FIXTURES / family).glob("step-*.json"))
    path = api.export_model(checkpoint, tmp_path / "model.safetensors")
    tensors, meta = files.load_tensors(path)
    model = api.open_model(checkpoint)
    assert tensors.keys() == model.net.state_dict().keys()
    prefixes = {key.split(".")[0] for key in tensors}
    assert {"vqvae": {"vqvae", "prior"}, "vae": {"encoder", "to_stats", "decoder"}}.get(family, set()) <= prefixes
    assert meta["dataset_hash"] == json.loads(checkpoint.read_text())["dataset_hash"]
    assert meta["training_seconds"] is None and meta["image_count"] is None and meta["sources"] is None
    z = api.latents_for_seed(5, model.latent_dim, 3)
    labels = [0, 1, 2] if model.cfg.num_classes else None
    assert np.array_equal(api.open_model(path).render(z, labels), model.render(z, labels))
    again = api.export_model(path, tmp_path / "again.safetensors", licence="mine")
    kept = files.load_tensors(again)[1]
    assert kept["licence"] == "mine" and kept["dataset_hash"] == meta["dataset_hash"]
    assert api.export_model(again, tmp_path / "third.safetensors").exists()
    assert files.load_tensors(tmp_path / "third.safetensors")[1]["licence"] == "mine"  # a file keeps its licence

    # fine-tuning from the file starts every network of the sampler from it; only a GAN's discriminator is fresh
    learner = get_family(family).Learner(model.cfg, torch.device("cpu"))
    step, fresh = start_from(learner, str(path), torch.device("cpu"))
    assert step == meta["step"] and fresh == (["discriminator"] if "discriminator" in learner.nets else [])


def test_training_time_is_read_back_from_the_log_of_an_older_run(tmp_path):
    """Each loss line's images per second cover the steps since the line before; a rollback says where training
    went back to, and lines past the checkpoint's step do not count."""
    log = tmp_path / "log.jsonl"
    rows = [{"step": 10, "images_per_s": 80.0}, {"step": 20, "images_per_s": 40.0},
            {"step": 20, "event": "rollback", "to_step": 10}, {"step": 20, "images_per_s": 80.0},
            {"step": 30, "images_per_s": 8.0}]
    log.write_text("".join(json.dumps(row) + "\n" for row in rows))
    record = {"step": 20, "config": {"batch": 16}}
    assert _seconds_from_log(log, record) == pytest.approx(10 * 16 / 80 + 10 * 16 / 40 + 10 * 16 / 80)
    assert _seconds_from_log(tmp_path / "missing.jsonl", record) is None
