"""Build the bundled demo in resources/demo/: the images, their licence, a small trained model and its preview.

Run by hand, from the repository root, on a machine with Debian's openclipart-png package installed
(`apt-get install openclipart-png`; public-domain clip art from the Open Clip Art Library):

    .venv/bin/python tools/make_demo.py                  # images + licence, then train 15 minutes on the CPU
    .venv/bin/python tools/make_demo.py --minutes 30     # a longer run
    .venv/bin/python tools/make_demo.py --minutes 0 --steps 4000   # a fixed number of steps, however long
    .venv/bin/python tools/make_demo.py --images-only    # only rebuild resources/demo/images and LICENSE.md
    .venv/bin/python tools/make_demo.py --train-only     # only retrain on the images already there

The bundled model was made with `--minutes 0 --steps 10000` (72 minutes on one core of a busy machine).

The chosen files are listed in tools/demo_images.txt, one "label path" per line (the path is relative to the
package's png folder; the label becomes the sub-folder, which the dataset reads as a label). Each image is
trimmed to its visible content, given a small margin, shrunk to at most 128 px on its longer side and saved as
an optimised PNG with its alpha kept. The model is a small DCGAN trained at 64 px with the engine's own
`api.train` in a temporary project; its EMA generator is exported to resources/demo/model.safetensors and a
grid of 36 samples to resources/demo/preview.png. engine/demo.py installs both into a new project.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEMO = ROOT / "resources" / "demo"
IMAGES = DEMO / "images"
LIST = Path(__file__).with_name("demo_images.txt")
SOURCE = Path("/usr/share/openclipart/png")
COPYRIGHT = Path("/usr/share/doc/openclipart-png/copyright")
LONGEST_SIDE = 128
MARGIN = 0.04  # of the longer side, on each side of the trimmed picture
PREVIEW_SEED = 2024


def chosen(list_path: Path = LIST) -> list[tuple[str, str]]:
    """(label, path relative to the package's png folder) for every line of the list."""
    rows = []
    for line in list_path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            label, path = line.split(maxsplit=1)
            rows.append((label, path))
    return rows


def build_images(source: Path = SOURCE, out: Path = IMAGES) -> list[tuple[str, str, str]]:
    """Write the subset into `out` (emptied first); returns (label, original path, written name) per image."""
    from PIL import Image

    if not source.is_dir():
        sys.exit(f"{source} not found: install Debian's openclipart-png package first")
    if out.exists():
        shutil.rmtree(out)
    written, seen = [], set()
    for label, relative in chosen():
        data = (source / relative).read_bytes()
        digest = hashlib.sha1(data).hexdigest()
        if digest in seen:  # the package ships some files in two folders
            continue
        seen.add(digest)
        with Image.open(source / relative) as img:
            picture = _prepare(img.convert("RGBA"))
        name = Path(relative).name
        target = out / label / name
        if target.exists():
            sys.exit(f"two chosen files would both be {target}: rename one in {LIST.name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        picture.save(target, format="PNG", optimize=True)
        written.append((label, relative, f"{label}/{name}"))
    return written


def _prepare(img):
    """Trim to the visible content, add a margin, shrink to LONGEST_SIDE: small objects fill the frame."""
    from PIL import Image, ImageChops

    alpha = img.getchannel("A")
    if alpha.getextrema()[0] < 250:  # transparent background: keep what is visible
        box = alpha.point(lambda a: 255 if a > 8 else 0).getbbox()
    else:  # opaque: keep what is not (nearly) white
        difference = ImageChops.difference(img.convert("RGB"), Image.new("RGB", img.size, "white"))
        box = difference.convert("L").point(lambda v: 255 if v > 12 else 0).getbbox()
    if box:
        img = img.crop(box)
    margin = round(max(img.size) * MARGIN)
    framed = Image.new("RGBA", (img.width + 2 * margin, img.height + 2 * margin), (255, 255, 255, 0))
    framed.paste(img, (margin, margin))
    scale = min(1.0, LONGEST_SIDE / max(framed.size))
    if scale < 1.0:
        size = (max(1, round(framed.width * scale)), max(1, round(framed.height * scale)))
        framed = framed.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return framed


def write_licence(written: list[tuple[str, str, str]], out: Path = DEMO / "LICENSE.md") -> None:
    notice = COPYRIGHT.read_text().split("Copyright:", 1)[-1].strip("\n") if COPYRIGHT.exists() else ""
    counts: dict[str, int] = {}
    for label, _, _ in written:
        counts[label] = counts.get(label, 0) + 1
    lines = [
        "# The demo images",
        "",
        f"The {len(written)} pictures in `images/` ({', '.join(f'{n} {label}' for label, n in counts.items())})",
        "are clip art from the Open Clip Art Library (http://www.openclipart.org), taken from Debian's",
        "`openclipart-png` package (version 1:0.18+dfsg-19). Every work in that library is dedicated to the public",
        "domain. The package's copyright file (/usr/share/doc/openclipart-png/copyright) says:",
        "",
        "```",
        notice,
        "```",
        "",
        "Each picture was trimmed to its visible content, given a small transparent margin and shrunk to at most",
        f"{LONGEST_SIDE} px on its longer side by `tools/make_demo.py`; nothing else was changed. The sub-folder is",
        "the label the dataset gives it. `model.safetensors` is a small DCGAN trained on these pictures by the same",
        "script, and `preview.png` shows 36 of its samples; both are released under the same public domain",
        "dedication.",
        "",
        "## Files (this folder's name, then the original under /usr/share/openclipart/png/)",
        "",
    ]
    lines += [f"- `{name}`: `{relative}`" for _, relative, name in written]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


def train_demo(minutes: float, steps: int, width: int, seed: int) -> None:
    from engine import api
    from engine.files import save_png
    from engine.sampling import grid

    api.leave_a_core_for_the_ui()
    with tempfile.TemporaryDirectory(prefix="latent-demo-") as folder:
        project = api.Project.create(Path(folder) / "demo", name="Demo")
        result = api.ingest(project, [IMAGES], size=64, crop="pad")
        print(f"ingested {result.kept} images ({result.duplicates} duplicates, {result.rejected} rejected)")
        config = api.TrainConfig(family="dcgan", size=64, steps=steps, minutes=minutes, batch=32, width=width,
                                 latent_dim=64, lr=2e-4, device="cpu", precision="fp32", seed=seed,
                                 sample_every=500, checkpoint_every=2000, log_every=100, flip=True, kid_every=0,
                                 lr_decay="cosine" if not minutes else "none")
        started = time.monotonic()

        def show(event):
            if isinstance(event, api.StepDone) and event.step % 500 == 0:
                print(f"step {event.step}: " + ", ".join(f"{k} {v:.3f}" for k, v in event.losses.items())
                      + f", {event.images_per_s:.0f} images/s, {(time.monotonic() - started) / 60:.1f} min",
                      flush=True)

        finished = api.train(project, config, on_event=show, new=True)
        print(f"stopped at step {finished.step} ({finished.reason})")
        model = api.open_model(project.root)
        path = model.export(DEMO / "model.safetensors")
        print(f"model: {path} ({path.stat().st_size / 1e6:.1f} MB)")
        images = model.render(api.latents_for_seed(PREVIEW_SEED, model.latent_dim, 36))
        save_png(DEMO / "preview.png", grid(images, columns=6))
        print(f"preview: {DEMO / 'preview.png'}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--minutes", type=float, default=15.0, help="training time on the CPU (default 15; 0: no limit)")
    p.add_argument("--steps", type=int, default=200_000, help="stop earlier after this many steps")
    p.add_argument("--width", type=int, default=16, help="channel multiplier of the networks (16-24)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--source", type=Path, default=SOURCE, help="the package's png folder")
    stage = p.add_mutually_exclusive_group()
    stage.add_argument("--images-only", action="store_true")
    stage.add_argument("--train-only", action="store_true")
    args = p.parse_args(argv)
    if not args.train_only:
        written = build_images(args.source)
        write_licence(written)
        size = sum(f.stat().st_size for f in IMAGES.rglob("*.png"))
        print(f"{len(written)} images in {IMAGES} ({size / 1e6:.2f} MB)")
    if not args.images_only:
        train_demo(args.minutes, args.steps, args.width, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
