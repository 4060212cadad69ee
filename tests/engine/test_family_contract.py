"""The family contract: a family defined only in the tests, registered with one line, trains, resumes and generates
from the CLI; and no module outside engine/models/ branches on a family's name, nor does gui/ spell a capability."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from engine import api, checkpoints, cli
from engine.models import FAMILIES, Capability, ConditionalGAN
from engine.models.adversarial import ADA_TARGET
from engine.train_config import COMMON, complete_config, project_family, settle, suggest_config

from ..tiny_family import Moments
from .helpers import ROOT, digits_project, tiny


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(FAMILIES, "moments", Moments)  # the one registry line


@pytest.fixture(scope="module")
def project(tmp_path_factory, small_digits_dir):
    return digits_project(tmp_path_factory.mktemp("contract"), small_digits_dir)


def moments(**overrides):
    return tiny("moments", **{**dict(latent_dim=8, width=1, lr=1e-2), **overrides})


def test_a_family_from_the_tests_trains_resumes_and_generates_from_the_cli(registered, project, tmp_path):
    straight = api.train(project, moments(steps=40, checkpoint_every=20), new=True)
    assert straight.reason == "done" and straight.step == 40
    log = (straight.checkpoint.parents[1] / "log.jsonl").read_text().splitlines()
    losses = [row["moments"] for row in map(json.loads, log) if "moments" in row]
    assert losses[-1] < losses[0]  # it learns

    control = api.Control()
    first = api.train(project, moments(steps=40, checkpoint_every=1000),
                      on_event=lambda e: control.request_stop() if isinstance(e, api.StepDone) and e.step == 20
                      else None, control=control, new=True)
    assert first.reason == "stopped" and first.step == 20
    resumed = api.train(project, moments(steps=40, checkpoint_every=1000))
    assert resumed.step == 40 and resumed.checkpoint.parents[1] == first.checkpoint.parents[1]
    a, b = (checkpoints.read(c)[1] for c in (straight.checkpoint, resumed.checkpoint))
    for key in a:
        if key.startswith(("net.", "ema.", "opt.")):
            torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)

    out = tmp_path / "out"
    assert cli.main(["generate", str(project.root), "--count", "3", "--seed", "5", "--out", str(out)]) == 0
    pngs = sorted(out.glob("*.png"))
    assert [p.name for p in pngs] == ["seed-000005.png", "seed-000006.png", "seed-000007.png"]
    record = api.read_png_latent(pngs[0])
    assert record["family"] == "moments" and len(record["latent"]) == 8
    model = api.open_model(project.root)
    assert (model.render(record["latent"])[0] == api.open_model(project.root).render(record["latent"])[0]).all()


def test_a_family_that_does_not_read_an_option_refuses_it(registered, project):
    with pytest.raises(ValueError, match="does not take --loss; FastGAN does"):
        api.train(project, moments(loss="hinge"), new=True)


def test_every_family_declares_its_contract():
    for family in FAMILIES.values():
        cfg = api.TrainConfig(family=family.info.name, size=32, latent_dim=16, num_classes=3, width=4)
        assert all(isinstance(c, Capability) for c in family.info.capabilities)
        assert family.output(cfg) == api.Output(3, 32, 32)
        inputs = family.inputs(cfg)
        if inputs.kind == api.InputKind.IMAGE:  # image-to-image: pictures in, pictures of the same shape out
            assert family.layout in ("paired", "unpaired") and family.directions[0] == "a2b"
            pictures = torch.rand(2, 3, 32, 32) * 2 - 1
            for direction in family.directions:
                made = family.sample(family.build_sampler(cfg), {"image": pictures, "direction": direction})
                assert made.shape == pictures.shape
        else:
            batch = inputs.for_seeds([1, 2], "cpu")
            assert batch["z"].shape == (2, 16) and family.layout == "images"
            assert ("label" in batch) == (Capability.LABELS in family.info.capabilities)
        assert set(family.options) <= {f for f in api.TrainConfig.__dataclass_fields__}
        preset = family.preset(500, 32, "cpu")
        assert {"latent_dim", "width", "batch", "lr"} <= set(preset)
        assert set(preset) <= COMMON | family.options  # a preset sets nothing its family would refuse


def test_the_gans_augment_every_image_of_a_small_set_and_let_ada_decide_for_a_larger_one(tmp_path, small_digits_dir,
                                                                                         digits_dir):
    small, large = (digits_project(tmp_path / name, source) for name, source in
                    (("small", small_digits_dir), ("large", digits_dir)))
    assert complete_config(small, tiny(ada_target=None)).ada_target == 0  # 300 pictures: fixed augmentation
    assert complete_config(large, tiny(ada_target=None)).ada_target == ADA_TARGET  # 1,797
    assert complete_config(small, tiny(ada_target=0.3)).ada_target == 0.3  # the artist's choice stands
    assert settle(tiny("fastgan", ada_target=None)).ada_target == ADA_TARGET  # the other families: ADA
    assert settle(tiny("vae", ada_target=None)).ada_target is None  # not a GAN: nothing to record
    # the conditional GAN likewise, with its own higher target (its projection term keeps real logits positive)
    assert complete_config(small, tiny("cgan", ada_target=None)).ada_target == 0
    cgan_target = ConditionalGAN.choices["ada_target"]
    assert complete_config(large, tiny("cgan", ada_target=None)).ada_target == cgan_target > ADA_TARGET
    assert settle(tiny("cgan", ada_target=None)).ada_target == cgan_target
    # 0 is a choice (fixed augmentation), not a request for the family's target
    for family in ("dcgan", "cgan", "fastgan", "stylegan"):
        assert settle(tiny(family, ada_target=0.0)).ada_target == 0.0
        assert settle(tiny(family, ada_target=None)).ada_target > 0


def test_a_labelled_set_below_64_px_trains_the_conditional_gan_unless_a_picture_lacks_a_label(tmp_path,
                                                                                             small_digits_dir):
    labelled = digits_project(tmp_path / "labelled", small_digits_dir)  # ten sub-folders, 16 px
    assert project_family(labelled) == suggest_config(labelled).family == "cgan"
    assert project_family(labelled, 64) == "projected"  # from 64 px up the labels do not choose
    loose = tmp_path / "loose"
    loose.mkdir()
    Image.open(next(small_digits_dir.rglob("*.png"))).transpose(Image.Transpose.ROTATE_90).save(loose / "stray.png")
    api.ingest(labelled, [loose], size=16)  # one picture with no label (turned: a copy would be left out)
    assert project_family(labelled) == "dcgan"
    assert api.default_family(32, "images", 10) == "cgan" and api.default_family(32) == "dcgan"


def string_constants(path: Path) -> list[tuple[int, str]]:
    """String literals in a module, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_only_the_families_name_families_and_the_gui_spells_no_capability():
    names = set(FAMILIES)
    outside = [path for folder in ("engine", "gui") for path in (ROOT / folder).rglob("*.py")
               if (ROOT / "engine" / "models") not in path.parents]
    named = [f"{path.relative_to(ROOT)}:{line}: {text!r}" for path in outside for line, text in string_constants(path)
             if text in names]
    assert not named, "modules outside engine/models/ name a family:\n" + "\n".join(named)
    spelled = {c.value for c in Capability}
    in_gui = [f"{path.relative_to(ROOT)}:{line}: {text!r}" for path in (ROOT / "gui").rglob("*.py")
              for line, text in string_constants(path) if text in spelled]
    assert not in_gui, "gui/ spells capabilities (use api.Capability):\n" + "\n".join(in_gui)


def test_the_scan_sees_a_branch_on_a_family_name(tmp_path):
    branch = tmp_path / "branchy.py"
    branch.write_text('"""A module."""\ndef f(cfg):\n    if cfg.family == "vqvae":\n        return 1\n')
    assert (3, "vqvae") in string_constants(branch) and len(string_constants(branch)) == 1
