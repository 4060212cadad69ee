"""Generating images from a trained model, and refusing model files that are not ours."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from engine import api

from .helpers import cli, digits_project, tiny


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_digits_dir):
    project = digits_project(tmp_path_factory.mktemp("gen"), small_digits_dir)
    api.train(project, tiny(steps=10))
    return project


def test_generated_pngs_record_what_makes_them_again(trained, tmp_path):
    result = cli("generate", str(trained.root), "--count", "5", "--out", str(tmp_path), "--seed", "7",
                 "--truncation", "0.8")
    assert result.returncode == 0, result.stderr
    paths = sorted(tmp_path.glob("*.png"))
    assert len(paths) == 5
    model = api.open_model(trained.root)
    for path in paths:
        record = api.read_png_latent(path)
        assert record["model_id"] == model.id and record["truncation"] == 0.8
        again = model.render(api.latents_for_seed(record["seed"], model.latent_dim, 1, 0.8))[0]
        from_latent = model.render(record["latent"][None])[0]
        pixels = np.asarray(Image.open(path).convert("RGB"))
        assert np.array_equal(pixels, again) and np.array_equal(pixels, from_latent)
    assert not np.array_equal(np.asarray(Image.open(paths[0])), np.asarray(Image.open(paths[1])))
    # --project names the model too, as ingest and train take the project (argparse refused it)
    again = cli("generate", "--count", "5", "--project", str(trained.root), "--out", str(tmp_path / "again"),
                "--seed", "7", "--truncation", "0.8")
    assert again.returncode == 0, again.stderr
    assert [Image.open(p).tobytes() for p in sorted((tmp_path / "again").glob("*.png"))] == [
        Image.open(p).tobytes() for p in paths]


def test_an_exported_model_file_opens_alone(trained, tmp_path):
    model = api.open_model(trained.root)
    path = model.export(tmp_path / "digits.safetensors")
    again = api.open_model(path)
    z = api.latents_for_seed(3, model.latent_dim, 2)
    assert again.id == model.id and np.array_equal(again.render(z), model.render(z))


def hostile_files(tmp_path, trained):
    """(path, words the refusal must contain) for every kind of file we must not load."""
    pickled = tmp_path / "weights.pt"
    torch.save({"generator": torch.zeros(3)}, pickled)
    legacy = tmp_path / "legacy.pth"
    torch.save({"x": 1}, legacy, _use_new_zipfile_serialization=False)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    noise = tmp_path / "noise.safetensors"
    noise.write_bytes(bytes(range(256)) * 10)
    ours = api.open_model(trained.root).export(tmp_path / "ours.safetensors")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(ours.read_bytes()[: ours.stat().st_size // 2])
    fake_record = tmp_path / "step-000001.json"
    fake_record.write_text(json.dumps({"format": "something-else"}))
    return [(pickled, "pickle"), (legacy, "pickle"), (foreign, "not a Latent Studio"),
            (noise, "not a safetensors"), (truncated, "safetensors"), (fake_record, "not a Latent Studio"),
            (tmp_path / "missing.safetensors", "does not exist")]


def test_hostile_or_foreign_model_files_are_refused_with_one_line(trained, tmp_path):
    for path, words in hostile_files(tmp_path, trained):
        with pytest.raises(api.FileRefused, match=words):
            api.open_model(path)
        result = cli("generate", str(path), "--out", str(tmp_path / "out"))
        assert result.returncode != 0
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_a_pickle_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "model.pt"
    torch.save({"x": Evil()}, path)
    with pytest.raises(api.FileRefused):
        api.open_model(path)
    assert not marker.exists()


def test_the_engine_never_imports_qt():
    code = ("import sys, engine.api, engine.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'PySide6', 'PyQt5', 'PyQt6', 'qtpy', 'shiboken6', 'superqt', 'gui'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
