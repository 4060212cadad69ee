"""The bundled demo: on first launch with no images, the artist gets a project with pictures and a trained model."""
from __future__ import annotations

import pytest

from engine import api

pytestmark = pytest.mark.skipif(not api.demo_available(), reason="resources/demo is not bundled in this checkout")


def test_the_demo_project_can_be_explored_and_trained_at_once(tmp_path):
    bundled = sorted((api.DEMO_DIR / "images").rglob("*.png"))
    project = api.create_demo_project(tmp_path / "Demo")

    stats, report = api.dataset_stats(project), api.read_report(project)
    # every picture is kept, except files that decode to the same pixels as another, which count once
    assert stats["count"] == report["last"]["kept"] == len(bundled) - report["last"]["duplicates"] > 250
    assert report["rejected"] == []
    assert set(stats["labels"]) == {folder.name for folder in (api.DEMO_DIR / "images").iterdir() if folder.is_dir()}

    model = api.open_model(project.root)
    assert (model.family, model.size) == (api.default_family(64), 64)  # made with the winning recipe
    images = model.render(api.latents_for_seed(7, model.latent_dim, 8))
    assert images.shape == (8, 64, 64, 3)
    assert images.std() > 10  # pictures, not a flat colour
    assert api.resumable_run(project) is None  # the demo run is finished: nothing to "continue"

    again = api.create_demo_project(tmp_path / "Demo")  # the next launch opens what is there
    assert again.root == project.root and len(again.runs()) == 1

    # asking for more steps of the same family goes on from the demo model, in its run
    demo_run, step = project.runs()[0], model.step
    assert api.train(project, api.TrainConfig(family=model.family, steps=step + 1, device="cpu")).step == step + 1
    assert project.runs() == [demo_run]

    # and a run of the artist's own starts beside it
    finished = api.train(project, api.TrainConfig(size=64, steps=3, batch=8, width=8, latent_dim=16,
                                                  precision="fp32", device="cpu"), new=True)
    assert finished.step == 3 and finished.checkpoint is not None
    assert len(project.runs()) == 2
    assert api.open_model(project.root).latent_dim == 16


def test_a_folder_with_other_things_in_it_is_refused_and_left_alone(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an empty folder"):
        api.create_demo_project(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
