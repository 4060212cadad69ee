"""Removing images from a dataset can be undone: the newest removal first, with the same pixels in every cache that
was kept, and a cache made since (another size) rebuilt from the sources. On real digits."""
from __future__ import annotations

import shutil

import numpy as np

from engine import removed_images
from engine.dataset import dataset_stats, ingest, load_dataset, remove_images, restore_removed
from engine.project import Project


def test_removals_are_put_back_newest_first_with_their_pixels(tmp_path, small_digits_dir):
    source = shutil.copytree(small_digits_dir, tmp_path / "digits")
    project = Project.create(tmp_path / "p")
    ingest(project, [source], size=16, workers=1)
    before = load_dataset(project)
    hashes = list(before.hashes)
    first, second = hashes[3:6], hashes[100:101]
    pixels = {h: before.images[hashes.index(h)].copy() for h in first + second}

    assert remove_images(project, first) == 3 and remove_images(project, second) == 1
    assert dataset_stats(project)["count"] == 296 and dataset_stats(project)["undoable_removals"] == 2
    shutil.rmtree(source)  # the pictures come back from what was kept, not from their files
    assert restore_removed(project) == 1  # the newest removal comes back first
    after = load_dataset(project)
    assert list(after.hashes)[-1] == second[0]
    np.testing.assert_array_equal(after.images[-1], pixels[second[0]])
    assert restore_removed(project) == 3
    after = load_dataset(project)
    assert len(after) == 300 and list(after.hashes)[-3:] == first
    for row, h in zip(range(297, 300), first):
        np.testing.assert_array_equal(after.images[row], pixels[h])
    assert dataset_stats(project)["undoable_removals"] == 0 and restore_removed(project) == 0


def test_a_cache_made_after_the_removal_is_rebuilt_and_images_added_again_stay_once(tmp_path, small_digits_dir):
    project = Project.create(tmp_path / "p")
    ingest(project, [small_digits_dir], size=16, workers=1)
    hashes = list(load_dataset(project).hashes)
    remove_images(project, hashes[:10])
    at_32 = load_dataset(project, size=32)  # a size whose cache did not exist when the images went
    assert len(at_32) == 290
    ingest(project, [small_digits_dir], workers=1)  # the folder added again brings the ten back already
    assert dataset_stats(project)["count"] == 300
    assert restore_removed(project) == 0  # nothing to put back twice
    assert len(load_dataset(project, size=32)) == 300 and len(load_dataset(project, size=16)) == 300


def test_only_the_newest_removals_are_kept(tmp_path, small_digits_dir, monkeypatch):
    monkeypatch.setattr(removed_images, "KEPT", 2)
    project = Project.create(tmp_path / "p")
    ingest(project, [small_digits_dir], size=16, workers=1)
    for h in list(load_dataset(project).hashes)[:3]:
        remove_images(project, [h])
    assert removed_images.undoable(project) == 2
    assert restore_removed(project) == 1 and restore_removed(project) == 1 and restore_removed(project) == 0
    assert dataset_stats(project)["count"] == 299  # the oldest removal was forgotten
