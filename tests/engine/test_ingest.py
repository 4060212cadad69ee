"""Dropping folders, files and zips into a project: what is kept, what is refused and why, and the cache left behind.

Every picture here is a real handwritten digit (scikit-learn), saved in the formats people actually hand us.
"""
from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine.control import Cancelled, Control
from engine.dataset import dataset_stats, ingest, load_dataset, remove_images
from engine.events import Message, Progress
from engine.project import Project
from tests.digits import write_digits
from tests.engine.dropped_files import (bomb_png, copy_first, digit, grey, make_unreadable, sideways_photo,
                                        write_formats)

SIZE = 32  # the digits fixtures are 32 px, so at this size the cache holds their exact pixels


@pytest.fixture
def messy(tmp_path, small_digits_dir, monkeypatch) -> Path:
    """40 good digits in label folders, every kind of bad file, a folder named like an image, and other formats."""
    root = copy_first(small_digits_dir, tmp_path / "messy", per_label=4)
    shutil.copy(digit(small_digits_dir, 0, 0), root / "3" / "a-zero-filed-under-three.png")
    (root / "empty.png").write_bytes(b"")
    whole = digit(small_digits_dir, 1, 20).read_bytes()
    (root / "truncated.png").write_bytes(whole[:len(whole) // 2])
    (root / "x.png").write_text("a note to self, not a picture")
    (root / "bomb.png").write_bytes(bomb_png(20000, 20000))
    (root / "folder.png").mkdir()
    shutil.copy(digit(small_digits_dir, 2, 20), root / "folder.png" / "inside.png")
    (root / "dangling.png").symlink_to(tmp_path / "deleted-long-ago.png")
    shutil.copy(digit(small_digits_dir, 3, 20), root / "locked.png")
    make_unreadable(root / "locked.png", monkeypatch)
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    write_formats(root / "formats", small_digits_dir)
    return root


def by_name(project: Project, size: int = SIZE) -> dict[str, tuple[dict, np.ndarray]]:
    """Manifest row and cached RGBA pixels of every kept image, by file name."""
    rows = json.loads(project.manifest_path.read_text())["images"]
    cache = np.load(project.cache_path(size))
    return {row["source"].rsplit("/", 1)[-1]: (row, cache[i]) for i, row in enumerate(rows)}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- stories ---------------------------------------------------------------------------------------------------------

def test_a_folder_with_broken_files_keeps_the_good_ones_and_lists_the_rest(tmp_path, messy):
    project = Project.create(tmp_path / "project")
    result = ingest(project, [messy], size=SIZE, workers=2)

    # 40 digits + the one inside folder.png/ + 8 formats; the copied zero is a duplicate; the 8 px BMP is small
    assert (result.kept, result.rejected, result.duplicates, result.small, result.total) == (49, 6, 1, 1, 49)
    reasons = {Path(path).name: reason for path, reason in result.rejects}
    assert reasons.pop("empty.png") == "empty file"
    assert reasons.pop("truncated.png").startswith("truncated or corrupt image: ")
    assert reasons.pop("x.png") == "not an image"
    assert reasons.pop("bomb.png") == ("too large to open safely (20,000 x 20,000 px): the limit is 89 million pixels; "
                                       "save a smaller copy")
    assert reasons.pop("dangling.png") == "broken link"
    assert reasons.pop("locked.png") == "permission denied"
    assert reasons == {}  # .DS_Store and Thumbs.db are skipped silently, folder.png/ is scanned as a folder

    report = json.loads(project.report_path.read_text())
    assert [(e["path"], e["reason"]) for e in report["rejected"]] == list(result.rejects)
    assert report["last"] == {"kept": 49, "rejected": 6, "duplicates": 1, "small": 1}

    cache = np.load(project.cache_path(SIZE))
    assert cache.shape == (49, SIZE, SIZE, 4) and cache.dtype == np.uint8
    manifest = json.loads(project.manifest_path.read_text())
    assert manifest["labels"] == sorted([str(label) for label in range(10)] + ["folder.png", "formats"])
    rows = {Path(row["source"]).name: row for row in manifest["images"]}
    assert rows["inside.png"]["label"] == "folder.png"
    assert rows["cmyk.jpg"]["label"] == "formats"
    assert "a-zero-filed-under-three.png" not in rows  # the first copy met wins; the second is the duplicate
    assert all(row["split"] == ("holdout" if int(row["hash"][:8], 16) % 10 == 0 else "train")
               for row in manifest["images"])
    reopened = Project.open(project.root)
    assert reopened.dataset.size == SIZE and reopened.dataset.sources == [str(messy)]


def test_every_common_format_decodes_to_the_picture_it_shows(tmp_path, small_digits_dir):
    formats = tmp_path / "formats"
    write_formats(formats, small_digits_dir)
    project = Project.create(tmp_path / "project")
    result = ingest(project, [formats], size=SIZE)
    assert (result.kept, result.rejected, result.small) == (8, 0, 1)
    images = by_name(project)

    row, pixels = images["grey16.png"]  # 16-bit values are scaled down (>> 8), not clipped to white
    assert np.array_equal(pixels[..., 0], grey(digit(small_digits_dir, 5, 10)))
    assert (pixels[..., 3] == 255).all()
    _, pixels = images["palette.png"]
    assert np.abs(pixels[..., 0].astype(int) - grey(digit(small_digits_dir, 6, 10))).max() <= 8
    _, pixels = images["rgba.png"]  # black ink whose alpha is the digit: the alpha survives untouched
    assert np.array_equal(pixels[..., 3], grey(digit(small_digits_dir, 7, 10)))
    _, pixels = images["digit.webp"]
    assert np.array_equal(pixels[..., 1], grey(digit(small_digits_dir, 8, 10)))
    _, pixels = images["digit.tif"]
    assert np.array_equal(pixels[..., 2], grey(digit(small_digits_dir, 5, 11)))
    _, pixels = images["two-frames.gif"]  # the first frame, not the inverted second one
    assert np.abs(pixels[..., 0].astype(int) - grey(digit(small_digits_dir, 6, 11))).max() <= 2
    row, _ = images["tiny.bmp"]
    assert (row["width"], row["height"]) == (8, 8)

    row, pixels = images["cmyk.jpg"]  # EXIF orientation applied: upright it is 40 x 60 with the black band on top
    assert (row["width"], row["height"]) == (40, 60)
    assert pixels[:6, :, :3].mean() < 40  # top rows dark
    assert pixels[12:, :8, :3].mean() > 215  # left edge below the band white (unrotated it would be black)


def test_a_zip_is_read_in_memory_and_unsafe_member_names_are_refused(tmp_path, small_digits_dir):
    folder = copy_first(small_digits_dir, tmp_path / "zipped" / "digits", per_label=2)
    archive = Path(shutil.make_archive(str(tmp_path / "digits"), "zip", tmp_path / "zipped"))
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr("../evil.png", digit(small_digits_dir, 4, 20).read_bytes())
        z.writestr("/etc/absolute.png", digit(small_digits_dir, 4, 21).read_bytes())
    shutil.rmtree(folder.parent)
    before = snapshot(tmp_path)

    project = Project.create(tmp_path / "project")
    result = ingest(project, [archive], size=SIZE)

    assert (result.kept, result.rejected, result.duplicates) == (20, 2, 0)
    assert dict(result.rejects) == {f"{archive}::../evil.png": "unsafe name in archive",
                                    f"{archive}::/etc/absolute.png": "unsafe name in archive"}
    manifest = json.loads(project.manifest_path.read_text())
    assert manifest["labels"] == [str(label) for label in range(10)]  # the zip's one top folder reads as the folder
    assert manifest["images"][0]["source"] == f"{archive}::digits/0/{digit(small_digits_dir, 0, 0).name}"
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("project")} == before  # nothing written outside
    assert not (tmp_path.parent / "evil.png").exists()

    rebuilt = load_dataset(project, size=16)  # a new size is decoded again from the zip's members
    assert rebuilt.images.shape == (20, 16, 16, 4)
    assert rebuilt.label_names == [str(label) for label in range(10)]


def test_adding_the_same_folder_again_keeps_nothing_new_and_counts_duplicates(tmp_path, messy):
    project = Project.create(tmp_path / "project")
    ingest(project, [messy], size=SIZE)
    kept_state = snapshot(project.dataset_dir)

    again = ingest(project, [messy])

    assert (again.kept, again.duplicates, again.rejected, again.total) == (0, 50, 6, 49)
    assert len(json.loads(project.report_path.read_text())["rejected"]) == 6  # listed once, not twice
    assert snapshot(project.dataset_dir)["manifest.json"] == kept_state["manifest.json"]
    assert np.array_equal(np.load(project.cache_path(SIZE)), np.load(io.BytesIO(kept_state[f"images-{SIZE}.npy"])))
    assert Project.open(project.root).dataset.sources == [str(messy)]


def test_adding_an_overlapping_folder_adds_only_the_new_images(tmp_path, small_digits_dir):
    project = Project.create(tmp_path / "project")
    ingest(project, [copy_first(small_digits_dir, tmp_path / "first", per_label=4)], size=SIZE)
    first_rows = np.load(project.cache_path(SIZE))
    load_dataset(project, size=16)
    assert project.cache_path(16).exists()

    more = write_digits(tmp_path / "more", per_class=6)  # the same first 4 of each digit, plus 2 new ones each
    result = ingest(project, [more])

    assert (result.kept, result.duplicates, result.total) == (20, 40, 60)
    cache = np.load(project.cache_path(SIZE))
    assert cache.shape == (60, SIZE, SIZE, 4)
    assert np.array_equal(cache[:40], first_rows)  # appended, earlier rows untouched
    assert not project.cache_path(16).exists()  # stale at the other size: rebuilt on demand
    assert load_dataset(project, size=16).images.shape == (60, 16, 16, 4)
    assert len(Project.open(project.root).dataset.sources) == 2


def test_a_new_training_size_is_built_from_the_sources_and_vanished_ones_are_dropped(tmp_path, small_digits_dir):
    folder = copy_first(small_digits_dir, tmp_path / "first", per_label=4)
    project = Project.create(tmp_path / "project")
    ingest(project, [folder], size=SIZE)
    events = []

    small = load_dataset(project, size=16, on_event=events.append)

    assert small.images.shape == (40, 16, 16, 4) and project.cache_path(16).exists()
    assert events[-1] == Progress("cache 16 px", 40, 40)
    at_32 = np.load(project.cache_path(SIZE))
    halved = at_32.reshape(40, 16, 2, 16, 2, 4).mean(axis=(2, 4))
    assert np.abs(small.images.astype(float) - halved).mean() < 8  # the same pictures, smaller
    assert small.labels.tolist() == [label for label in range(10) for _ in range(4)]
    assert small.label_names == [str(label) for label in range(10)]

    gone = folder / "3" / digit(small_digits_dir, 3, 1).name
    gone.unlink()
    events.clear()
    rebuilt = load_dataset(project, size=24, on_event=events.append)

    assert rebuilt.images.shape == (39, 24, 24, 4)
    warnings = [e for e in events if isinstance(e, Message)]
    assert len(warnings) == 1 and warnings[0].level == "warning" and gone.name in warnings[0].text
    assert len(json.loads(project.manifest_path.read_text())["images"]) == 39
    assert load_dataset(project, size=SIZE).images.shape == (39, SIZE, SIZE, 4)  # kept in step, not rebuilt
    assert np.array_equal(np.load(project.cache_path(SIZE)), np.delete(at_32, 13, axis=0))


def test_pad_keeps_the_whole_picture_on_a_transparent_square_and_crop_can_change_later(tmp_path):
    sideways_photo(tmp_path / "photo.jpg")
    project = Project.create(tmp_path / "project")
    project.dataset.background = (255, 0, 0)
    ingest(project, [tmp_path / "photo.jpg"], size=SIZE, crop="pad")

    assert Project.open(project.root).dataset.crop == "pad"
    data = load_dataset(project)
    alpha = data.images[0, ..., 3]
    assert (alpha[:, :4] == 0).all() and (alpha[:, -4:] == 0).all() and (alpha[:, 8:24] == 255).all()
    assert (data.rgb()[0, :, 0] == (255, 0, 0)).all()  # the padding shows the background colour

    result = ingest(project, [], crop="center")  # no new files: the images already there are cropped again
    assert (result.kept, result.total) == (0, 1)
    assert (load_dataset(project).images[0, ..., 3] == 255).all()


def test_removing_selected_images_updates_the_manifest_and_every_cache(tmp_path, small_digits_dir):
    project = Project.create(tmp_path / "project")
    ingest(project, [copy_first(small_digits_dir, tmp_path / "first", per_label=4)], size=SIZE)
    at_16 = load_dataset(project, size=16).images.copy()
    data = load_dataset(project)
    before = np.array(data.images)

    assert remove_images(project, [data.hashes[0], data.hashes[5], "not-in-the-project"]) == 2

    after = load_dataset(project)
    assert after.hashes == [h for i, h in enumerate(data.hashes) if i not in (0, 5)]
    assert np.array_equal(after.images, np.delete(before, [0, 5], axis=0))
    assert np.array_equal(np.load(project.cache_path(16)), np.delete(at_16, [0, 5], axis=0))
    assert remove_images(project, ["not-in-the-project"]) == 0


def test_stats_come_from_the_manifest_and_the_report(tmp_path, messy):
    project = Project.create(tmp_path / "project")
    assert dataset_stats(project) == {"count": 0, "labels": {}, "median_size": 0, "rejected": 0, "transparent": 0,
                                      "median_aspect": 1.0, "aspect": "1:1", "alpha": False, "layout": "images",
                                      "sides": {"A": 0, "B": 0}, "pairs": 0, "unmatched": 0,
                                      "grey": False, "undoable_removals": 0}
    ingest(project, [messy], size=SIZE)
    stats = dataset_stats(project)
    assert stats["count"] == 49 and stats["rejected"] == 6 and stats["median_size"] == 32
    assert stats["labels"] == {**{str(label): 4 for label in range(10)}, "folder.png": 1, "formats": 8}


def test_cancelling_leaves_the_project_as_it_was(tmp_path, small_digits_dir):
    project = Project.create(tmp_path / "project")
    ingest(project, [copy_first(small_digits_dir, tmp_path / "first", per_label=4)], size=SIZE)
    before = snapshot(project.root)
    control = Control()

    def stop_midway(event):  # after the images already there were re-cropped, while the new ones decode
        if isinstance(event, Progress) and event.what == "ingest" and event.done > 0:
            control.request_stop()

    with pytest.raises(Cancelled):
        ingest(project, [small_digits_dir], size=16, crop="pad", on_event=stop_midway, control=control)

    assert snapshot(project.root) == before  # no new file, no temporary left over, nothing rewritten
    assert Project.open(project.root).dataset.size == SIZE


def test_files_and_folders_can_be_given_one_by_one(tmp_path, small_digits_dir):
    source = tmp_path / "source"
    (source / "shots.png").mkdir(parents=True)
    shutil.copy(digit(small_digits_dir, 1, 0), source / "shots.png" / "one.png")
    shutil.copy(digit(small_digits_dir, 2, 0), source / "two.png")
    project = Project.create(source / "project")  # a project kept inside the folder being added is not ingested
    ingest(project, [source / "two.png"])

    result = ingest(project, [source / "shots.png", source / "two.png", source / "missing.png", source], size=SIZE)

    assert (result.kept, result.duplicates) == (1, 3)
    assert dict(result.rejects) == {str(source / "missing.png"): "not found"}
    labels = {Path(row["source"]).name: row["label"] for row in json.loads(project.manifest_path.read_text())["images"]}
    assert labels == {"two.png": "", "one.png": ""}  # a folder given directly has no label of its own


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_picture_just_over_the_pixel_limit_is_refused_too(tmp_path):
    (tmp_path / "big.png").write_bytes(bomb_png(10000, 10000))  # Pillow itself only warns at this size
    project = Project.create(tmp_path / "project")
    result = ingest(project, [tmp_path / "big.png"])
    assert result.rejects == ((str(tmp_path / "big.png"), "too large to open safely (10,000 x 10,000 px): the limit "
                                                          "is 89 million pixels; save a smaller copy"),)


def test_progress_moves_in_whole_percents_and_any_thread_count_gives_the_same_dataset(tmp_path, small_digits_dir):
    events = []
    one = Project.create(tmp_path / "one")
    ingest(one, [small_digits_dir], size=16, workers=1, on_event=events.append)
    two = Project.create(tmp_path / "two")
    ingest(two, [small_digits_dir], size=16, workers=2)

    progress = [(e.done, e.total) for e in events if isinstance(e, Progress) and e.what == "ingest"]
    assert progress[0] == (0, 300) and progress[-1] == (300, 300) and len(progress) == 101
    assert one.manifest_path.read_text() == two.manifest_path.read_text()
    assert np.array_equal(np.load(one.cache_path(16)), np.load(two.cache_path(16)))


def test_the_ingest_command_lists_each_rejected_file_then_the_counts(tmp_path, messy):
    from .helpers import cli

    (messy / "locked.png").unlink()  # unreadable only inside this process (monkeypatched: tests run as root)
    result = cli("ingest", str(messy), "--project", str(tmp_path / "p"), "--size", "16")
    assert result.returncode == 0, result.stderr
    *rejects, summary = result.stdout.strip().splitlines()
    assert "kept 49" in summary and "rejected 5" in summary and "duplicates 1" in summary
    rejects = [line for line in rejects if line.startswith("rejected ")]
    assert len(rejects) == 5 and all(": " in line.removeprefix("rejected ") for line in rejects)  # with reasons
    nothing = tmp_path / "empty-folder"
    nothing.mkdir()
    result = cli("ingest", str(nothing), "--project", str(tmp_path / "q"), "--size", "16")
    assert result.returncode != 0 and "kept 0" in result.stdout
