"""ONNX export of every family that draws images: one self-contained file, named inputs and output, a free batch
size, and onnxruntime's images within two grey levels of PyTorch's, run from a folder that holds the file alone.

Six families come from the tiny checkpoints of tests/fixtures/families (real digits, see family_fixtures.py); the
StyleGAN, which has no fixture, trains for two steps on real digits here."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from engine import api
from engine.onnx_export import HEADER_KEY, MAX_GREY_LEVELS, _plain, input_names, reference
from engine.pixels import to_uint8

from .family_fixtures import FAMILIES, FIXTURES, config
from .helpers import ROOT, cli

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

EXPECTED_INPUTS = {"dcgan": ("latent",), "fastgan": ("latent",), "vae": ("latent",), "cgan": ("latent", "label"),
                   "cvae": ("latent", "label"), "vqvae": ("codes",), "stylegan": ("latent", "psi")}


@pytest.fixture(scope="module")
def stylegan_checkpoint(tmp_path_factory):
    """A StyleGAN2-lite of the fixtures' size, two steps on 40 real digits."""
    from engine.training import Trainer

    from ..digits import write_digits

    root = tmp_path_factory.mktemp("stylegan")
    project = api.Project.create(root / "project")
    api.ingest(project, [write_digits(root / "digits", per_class=4, px=16)], size=16)
    trainer = Trainer(project, replace(config("stylegan"), steps=2), run_dir=root / "run")
    trainer.start(None)
    for _ in range(2):
        trainer.step()
    return trainer._checkpoint()


def checkpoint_of(family, stylegan_checkpoint):
    return stylegan_checkpoint if family == "stylegan" else next((FIXTURES / family).glob("step-*.json"))


def session_alone(path, tmp_path):
    """An onnxruntime session on a copy of `path` in an empty folder: an external data file would be missing."""
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(path, alone / "model.onnx")
    assert [p.name for p in alone.iterdir()] == ["model.onnx"]
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(alone / "model.onnx"), options, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("family", FAMILIES + ("stylegan",))
def test_every_family_exports_one_file_that_draws_what_pytorch_draws(family, stylegan_checkpoint, tmp_path):
    checkpoint = checkpoint_of(family, stylegan_checkpoint)
    done = api.export_onnx(checkpoint, tmp_path / "out" / f"{family}.onnx")
    assert done.inputs == EXPECTED_INPUTS[family] and done.max_difference <= MAX_GREY_LEVELS
    assert [p.name for p in (tmp_path / "out").iterdir()] == [f"{family}.onnx"]  # no data file, no leftovers

    proto = onnx.load(str(done.path))
    graph = proto.graph
    assert [i.name for i in graph.input] == list(done.inputs) and [o.name for o in graph.output] == ["image"]
    for value in list(graph.input) + list(graph.output):
        if value.name != "psi":
            assert value.type.tensor_type.shape.dim[0].dim_param, f"{value.name}'s batch size is fixed"
    types = {i.name: i.type.tensor_type.elem_type for i in graph.input}
    assert types.get("label", onnx.TensorProto.INT64) == onnx.TensorProto.INT64
    assert types.get("codes", onnx.TensorProto.INT64) == onnx.TensorProto.INT64
    assert types.get("latent", onnx.TensorProto.FLOAT) == onnx.TensorProto.FLOAT
    assert not any(node.op_type.startswith("aten") for node in graph.node)
    header = json.loads({p.key: p.value for p in proto.metadata_props}[HEADER_KEY])

    model = api.open_model(checkpoint)
    out = model.output
    assert header["family"] == family and header["model_id"] == model.id and list(header["inputs"]) == list(done.inputs)
    assert [d.dim_value for d in graph.output[0].type.tensor_type.shape.dim[1:]] == [out.channels, out.height,
                                                                                      out.width]
    session = session_alone(done.path, tmp_path)
    given, _ = reference(model, range(5))
    if "latent" in given:  # generate's latents, one seed each, and its labels, each in turn
        assert np.array_equal(given["latent"], np.concatenate([api.latents_for_seed(s, model.latent_dim)
                                                               for s in range(5)]))
    if "label" in given:
        assert given["label"].tolist() == [s % model.cfg.num_classes for s in range(5)]
    if "codes" in given:
        grid = model.net.vqvae.grid
        assert given["codes"].shape == (5, grid, grid) and header["inputs"]["codes"] == ["N", grid, grid]
    worst = 0
    for n in (1, 5):
        image = session.run(["image"], {key: value[:n] for key, value in given.items()})[0]
        assert image.shape == (n, out.channels, out.height, out.width) and image.dtype == np.float32
        assert image.min() >= -1 and image.max() <= 1
        drawn = model.draw(model.inputs.for_seeds(list(range(n)), "cpu"))  # what generate writes for seeds 0..n-1
        worst = max(worst, int(np.abs(to_uint8(torch.from_numpy(image)).astype(int) - drawn.astype(int)).max()))
    assert worst <= MAX_GREY_LEVELS
    print(f"{family}: largest difference {worst} grey levels")


def test_a_style_based_model_takes_psi_or_leaves_it_at_one(stylegan_checkpoint, tmp_path):
    path = api.export_onnx(stylegan_checkpoint, tmp_path / "stylegan.onnx").path
    psi = [i for i in onnx.load(str(path)).graph.initializer if i.name == "psi"]
    assert len(psi) == 1 and onnx.numpy_helper.to_array(psi[0]).tolist() == [1.0]
    model = api.open_model(stylegan_checkpoint)
    session = session_alone(path, tmp_path)
    z = api.latents_for_seed(11, model.latent_dim, 3)
    for value, given in ((0.5, np.array([0.5], np.float32)), (0.7, np.full(3, 0.7, np.float32))):
        batch = dict(model.batch(z), psi=torch.full((3,), value))
        image = session.run(["image"], {"latent": z, "psi": given})[0]
        assert np.abs(to_uint8(torch.from_numpy(image)).astype(int) - model.draw(batch).astype(int)).max() <= 2
    image = session.run(["image"], {"latent": z})[0]
    assert np.abs(to_uint8(torch.from_numpy(image)).astype(int) - model.render(z).astype(int)).max() <= 2


def test_the_cli_prints_the_largest_difference_and_the_example_script_draws_generates_image(tmp_path):
    checkpoint = next((FIXTURES / "cgan").glob("step-*.json"))
    out = tmp_path / "cgan.onnx"
    result = cli("export-onnx", str(checkpoint), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "grey levels" in result.stdout and out.is_file()
    script = subprocess.run([sys.executable, str(ROOT / "docs" / "onnx_example.py"), str(out), "--seed", "13",
                             "--out", str(tmp_path / "seed-13.png")], capture_output=True, text=True, timeout=120)
    assert script.returncode == 0, script.stderr
    from PIL import Image

    model = api.open_model(checkpoint)
    drawn = np.asarray(Image.open(tmp_path / "seed-13.png").convert("RGB")).astype(int)
    expected = model.draw(model.inputs.for_seeds([13], "cpu"))[0].astype(int)  # label 13 % 10, as generate draws
    assert np.abs(drawn - expected).max() <= MAX_GREY_LEVELS


def test_a_family_that_cannot_export_says_which_and_why():
    translator = SimpleNamespace(family="pix2pix", inputs=SimpleNamespace(kind=api.InputKind.IMAGE))
    with pytest.raises(ValueError, match="pix2pix model translates images"):
        input_names(translator)
    result = cli("export-onnx", str(ROOT / "README.md"), "--out", "/nonexistent/x.onnx")
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_spectral_norm_is_baked_into_plain_weights():
    """Both spectral-norm APIs, on a FastGAN discriminator (the one network here that has it) fed real digits."""
    from sklearn.datasets import load_digits
    from torch.nn.utils import parametrize

    from engine.models.fastgan import Discriminator

    torch.manual_seed(0)
    digits = torch.from_numpy(np.kron(load_digits().images[:4], np.ones((2, 2))) / 8 - 1).float()
    x = digits[:, None].expand(-1, 3, -1, -1)
    new_style = Discriminator(4, 16, spectral_norm=True).eval()
    old_style = torch.nn.Sequential(torch.nn.utils.spectral_norm(torch.nn.Conv2d(3, 4, 3))).eval()
    for net in (new_style, old_style):
        plain = _plain(net)
        assert not any(parametrize.is_parametrized(m) for m in plain.modules())
        assert not any(hook for m in plain.modules() for hook in m._forward_pre_hooks.values())
        with torch.no_grad():
            torch.testing.assert_close(plain(x), net(x))
