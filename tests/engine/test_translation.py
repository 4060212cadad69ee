"""Image-to-image on real digits: pairs and two collections ingested, pix2pix learning edges -> colour, CycleGAN
learning colour -> edges from halves of the set that share no picture, exact resumes, and `translate` from the CLI.

The second view of each digit is derived from it by Pillow (tests/digits.py: its edge map); the held-out digits
the models are judged on (indices 1000 on) are in neither project."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from engine import api, checkpoints, cli
from engine.augment import augment_pair

from ..digits import digit_views, write_paired_digits, write_unpaired_digits

HELD_OUT = 1000  # the first digit judged; the projects hold digits 0-299


def ingest_pairs(project, root):
    api.ingest(project, [root / "A"], layout="paired", side="A", size=32)
    return api.ingest(project, [root / "B"], side="B")


@pytest.fixture(scope="module")
def paired(tmp_path_factory):
    root = tmp_path_factory.mktemp("paired")
    project = api.Project.create(root / "project")
    ingest_pairs(project, write_paired_digits(root / "pairs", 300))
    return project


@pytest.fixture(scope="module")
def unpaired(tmp_path_factory):
    root = tmp_path_factory.mktemp("unpaired")
    source = write_unpaired_digits(root / "halves", 300)
    project = api.Project.create(root / "project")
    api.ingest(project, [source / "A"], layout="unpaired", side="A", size=32)
    api.ingest(project, [source / "B"], side="B")
    return project


def config(family, **overrides):
    return api.TrainConfig(**{**dict(family=family, device="cpu", precision="fp32", seed=0, sample_every=1000,
                                     checkpoint_every=1000, log_every=50), **overrides})


@pytest.fixture(scope="module")
def pix2pix(paired):
    return api.train(paired, config("pix2pix", steps=400), new=True)


@pytest.fixture(scope="module")
def cyclegan(unpaired):
    return api.train(unpaired, config("cyclegan", steps=CYCLE_STEPS), new=True)


CYCLE_STEPS = 400


def held_out(count=100):
    views = digit_views(count, start=HELD_OUT)
    return np.stack([np.asarray(v[1]) for v in views]), np.stack([np.asarray(v[2]) for v in views])


def grey(images):
    return images[..., :3].astype(np.float64).mean(-1)


def correlation(made, truth) -> float:
    """Mean over pictures of the Pearson correlation of their pixels."""
    a, b = (x.reshape(len(x), -1) - x.reshape(len(x), -1).mean(1, keepdims=True) for x in (made, truth))
    return float(((a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1) + 1e-12)).mean())


# --- ingest ---------------------------------------------------------------------------------------------------------

def test_pairs_are_matched_by_name_and_the_lonely_ones_are_listed(tmp_path):
    root = write_paired_digits(tmp_path / "pairs", 12)
    (root / "A" / "digit-0003.png").unlink()
    (root / "B" / "extra").mkdir()
    mirrored = Image.open(root / "B" / "digit-0004.png").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    mirrored.save(root / "B" / "extra" / "digit-0004.png")  # the same name in another sub-folder: no A of its own
    project = api.Project.create(tmp_path / "project")
    result = ingest_pairs(project, root)
    stats = api.dataset_stats(project)
    assert stats["layout"] == "paired" and stats["pairs"] == 11 and stats["sides"] == {"A": 11, "B": 13}
    lonely = "\n".join(result.unmatched)
    assert len(result.unmatched) == 2 and "digit-0003.png" in lonely and "extra/digit-0004.png" in lonely
    assert api.read_report(project)["unmatched"] == list(result.unmatched)
    assert api.Project.open(project.root).dataset.layout == "paired"
    data = api.load_dataset(project)
    for a, b in data.pairs:
        rows = api.manifest(project)
        assert rows[a]["pair"] == rows[b]["pair"] and (rows[a]["side"], rows[b]["side"]) == ("A", "B")
        assert data.split[a] == data.split[b]  # a pair is held out together
    with pytest.raises(ValueError, match="holds pairs of images; single images go in a new project"):
        api.ingest(project, [root / "A"], layout="images")


def test_side_by_side_pictures_split_into_the_same_pairs_as_two_folders(tmp_path):
    folders, sheets = api.Project.create(tmp_path / "folders"), api.Project.create(tmp_path / "sheets")
    ingest_pairs(folders, write_paired_digits(tmp_path / "pairs", 20))
    result = api.ingest(sheets, [write_paired_digits(tmp_path / "sheets-src", 20, side_by_side=True)], halves=True,
                        size=32)
    assert result.kept == 40 and not result.unmatched
    a, b = api.load_dataset(folders), api.load_dataset(sheets)
    assert np.array_equal(a.images[a.pairs], b.images[b.pairs])  # the same pixels, pair by pair


def test_two_collections_keep_their_sides_and_the_same_picture_may_be_on_both(tmp_path):
    root = write_unpaired_digits(tmp_path / "halves", 20)
    Image.open(root / "A" / "digit-0000.png").save(root / "B" / "copy-of-a.png")
    project = api.Project.create(tmp_path / "project")
    api.ingest(project, [root / "A"], layout="unpaired", side="A", size=32)
    again = api.ingest(project, [root / "B", root / "A" / "digit-0001.png"], side="B")
    assert again.kept == 12 and again.duplicates == 0  # a copy on the other side is not a duplicate
    assert api.ingest(project, [root / "A"], side="A").duplicates == 10  # on its own side it is
    assert api.dataset_stats(project)["sides"] == {"A": 10, "B": 12}
    with pytest.raises(ValueError, match="takes images on side A or B"):
        api.ingest(project, [root / "A"])


def test_cli_ingest_takes_the_pair_flags_instead_of_sources(tmp_path, capsys):
    root = write_paired_digits(tmp_path / "pairs", 6)
    (root / "B" / "digit-0002.png").unlink()
    project = tmp_path / "project"
    assert cli.main(["ingest", "--project", str(project), "--size", "32", "--paired", str(root / "A"),
                     str(root / "B")]) == 0
    out = capsys.readouterr().out
    assert "without a partner:" in out and "digit-0002.png (side A" in out
    assert cli.main(["ingest", str(root), "--project", str(project), "--paired", str(root / "A"),
                     str(root / "B")]) == 2
    assert "leave the other sources out" in capsys.readouterr().err


# --- training -------------------------------------------------------------------------------------------------------

def test_a_pair_whose_b_is_its_a_stays_equal_through_augmentation(paired):
    data = api.load_dataset(paired)
    a = api_unit(data.images[data.pairs[:16, 0]])
    gen = torch.Generator().manual_seed(3)
    moved_a, moved_b = augment_pair(a, a.clone(), gen, flip=True)
    assert torch.equal(moved_a, moved_b) and not torch.equal(moved_a, a)


def api_unit(images):
    from engine.pixels import to_unit

    return to_unit(np.ascontiguousarray(images[..., :3]))


def test_pix2pix_learns_edges_to_colour_far_better_than_copying_or_the_mean_picture(paired, pix2pix):
    edges, colour = held_out()
    model = api.open_model(pix2pix.checkpoint)
    made = np.stack([model.translate(e) for e in edges])[..., :3].astype(np.float64)
    data = api.load_dataset(paired)
    mean = data.images[data.pairs[~data.split[data.pairs[:, 0]], 1]][..., :3].astype(np.float64).mean(0)
    error = {name: np.abs(guess - colour).mean() / 255 for name, guess in
             (("model", made), ("copy", edges.astype(np.float64)), ("mean", np.broadcast_to(mean, colour.shape)))}
    print("held-out L1:", {k: round(v, 4) for k, v in error.items()})
    assert error["model"] <= 0.75 * min(error["copy"], error["mean"])
    record = json.loads(pix2pix.checkpoint.read_text())
    assert record["measure"] == "held-out L1" and record["quality"] < 0.75 * error["mean"]
    grid = np.asarray(Image.open(sorted((pix2pix.checkpoint.parents[1] / "samples").glob("*.png"))[-1]))
    assert grid.shape[1] > 1.9 * grid.shape[0] / 2  # input | output | target, twice per row


def test_cyclegan_learns_colour_to_edges_from_collections_without_pairs(unpaired, cyclegan):
    edges, colour = held_out()
    model = api.open_model(cyclegan.checkpoint)
    assert model.directions == ("a2b", "b2a")
    made = grey(np.stack([model.translate(c, "a2b") for c in colour]))
    data = api.load_dataset(unpaired)
    mean = grey(data.images[data.sides == "B"]).mean(0)
    truth = grey(edges)
    score = {"model": correlation(made, truth), "mean edges": correlation(np.broadcast_to(mean, truth.shape), truth),
             "greyscale": correlation(grey(colour), truth)}
    print("correlation with the true edges:", {k: round(v, 3) for k, v in score.items()})
    # about twice the better baseline at 400 steps: 2.0x and up where it was written, 1.97x on another machine
    # (torch 2.14.1, same seed), so the bar is 1.8x
    assert score["model"] >= 1.8 * max(score["mean edges"], score["greyscale"])
    record = json.loads(cyclegan.checkpoint.read_text())
    assert record["measure"] == "KID of translated held-out pictures" and record["quality"] is not None


@pytest.mark.parametrize("family", ["pix2pix", "cyclegan"])
def test_stopping_at_40_and_resuming_to_80_equals_running_straight_to_80(paired, family):
    straight = api.train(paired, config(family, steps=80, width=8, log_every=10), new=True)
    control = api.Control()
    first = api.train(paired, config(family, steps=80, width=8, log_every=10), control=control, new=True,
                      on_event=lambda e: control.request_stop() if isinstance(e, api.StepDone) and e.step == 40
                      else None)
    assert first.step == 40
    resumed = api.train(paired, config(family, steps=80, width=8, log_every=10))
    assert resumed.step == 80 and resumed.checkpoint.parents[1] == first.checkpoint.parents[1]
    a, b = (checkpoints.read(c)[1] for c in (straight.checkpoint, resumed.checkpoint))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)


def test_families_refuse_projects_of_the_wrong_kind(paired, small_digits_dir, tmp_path):
    singles = api.Project.create(tmp_path / "singles")
    api.ingest(singles, [small_digits_dir], size=32)
    with pytest.raises(ValueError, match="pix2pix learns from pairs of images, and this project holds single"):
        api.train(singles, config("pix2pix", steps=2), new=True)
    with pytest.raises(ValueError, match="DCGAN makes new pictures from single images.*train pix2pix"):
        api.train(paired, config("dcgan", steps=2), new=True)
    assert api.suggest_config(paired).family == "pix2pix"
    assert api.recommended_families(0, "paired") == ["pix2pix", "cyclegan"]


# --- translate ------------------------------------------------------------------------------------------------------

def test_translate_writes_one_png_per_picture_at_its_own_size_and_keeps_alpha(paired, pix2pix, tmp_path, capsys):
    edges, _ = held_out(3)
    inputs = tmp_path / "in"
    (inputs / "deeper").mkdir(parents=True)
    Image.fromarray(edges[0]).save(inputs / "sketch.png")
    Image.fromarray(edges[1]).save(inputs / "deeper" / "sketch.png")  # the same stem, in a sub-folder
    wide = np.concatenate([edges[2], edges[0][:, :8]], 1)  # 40 x 32: not the network's multiple
    rgba = np.dstack([wide, np.where(np.arange(40) < 20, 255, 0).astype(np.uint8)[None, :].repeat(32, 0)])
    Image.fromarray(rgba, "RGBA").save(inputs / "wide.png")
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "out"
    (out).mkdir()
    Image.fromarray(edges[0]).save(out / "wide.png")  # already there: kept
    checkpoint = str(pix2pix.checkpoint)  # the project also holds the resume tests' runs
    code = cli.main(["translate", checkpoint, str(inputs), "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0 and "skipped" in printed.err and "broken.png" in printed.err
    assert sorted(p.name for p in out.glob("*.png")) == ["sketch-2.png", "sketch.png", "wide-2.png", "wide.png"]
    assert "written as sketch-2.png" in printed.out and "written as wide-2.png" in printed.out
    made = np.asarray(Image.open(out / "wide-2.png"))
    assert made.shape == (32, 40, 4) and np.array_equal(made[..., 3], rgba[..., 3])
    record = api.read_png_latent(out / "sketch.png") or json.loads(Image.open(out / "sketch.png").text["latent-studio"])
    model = api.open_model(pix2pix.checkpoint)
    assert record["model_id"] == model.id and record["direction"] == "a2b"
    assert record["source"].endswith("deeper/sketch.png") or record["source"].endswith("in/sketch.png")
    assert np.array_equal(np.asarray(Image.open(out / "sketch.png"))[..., :3], model.translate(edges[0])[..., :3])
    assert cli.main(["translate", checkpoint, str(inputs / "sketch.png"), "--out", str(out),
                     "--direction", "b2a"]) == 2
    assert "translates a2b; it cannot translate b2a" in capsys.readouterr().err
    assert cli.main(["translate", checkpoint, str(inputs / "broken.png"), "--out", str(out)]) == 1
    half = np.dstack([edges[1], np.full((32, 32), 255, np.uint8)])  # a picture with no file (half of a pair)
    given = api.translate_files(model, [], out, pictures=[("pair-0001.png", half)])
    assert [p.name for p in given.written] == ["pair-0001.png"] and not given.skipped
    assert np.array_equal(np.asarray(Image.open(out / "pair-0001.png")), model.translate(half))


def test_cyclegan_translates_back_from_the_cli(unpaired, cyclegan, tmp_path):
    edges, colour = held_out(2)
    Image.fromarray(edges[0]).save(tmp_path / "edges.png")
    assert cli.main(["translate", str(cyclegan.checkpoint), str(tmp_path / "edges.png"), "--out", str(tmp_path / "out"),
                     "--direction", "b2a"]) == 0
    made = np.asarray(Image.open(tmp_path / "out" / "edges.png"))
    assert made.shape == (32, 32, 4)
    paper = made[..., :3][grey(edges[:1])[0] < 10].mean(0)  # where the edge map is black the digit's paper is
    assert paper.mean() > 120  # edges -> colour: cream paper comes back, not the black of the edge map
