"""Sample quality side by side: every family in the registry trained for the same wall-clock minutes on the same
real images, then KID of 512 samples against the real set in two feature spaces (engine/features.py): ImageNet
EfficientNet-Lite0, and the same network with random weights and BatchNorm calibrated on the real set (Naeem et al.
2020), which no model can have trained against; with images/s. The floor is the KID between two disjoint halves of
the real set: no model can be expected to beat it by much.

    python bench/quality.py                                   # sklearn digits at 32 px, 4 minutes per family
    python bench/quality.py --minutes 1 --families dcgan fastgan
    python bench/quality.py FOLDER --size 64 --families dcgan fastgan --seeds 3

The FastGAN-vs-DCGAN claim ("on a CPU at equal wall time, 4 minutes at 64 px, FastGAN gives lower KID, mean of 3
seeds, than DCGAN on both sets") runs on two Debian packages (`apt-get install crawl-tiles-data openclipart-png`).
Debian 12's crawl-tiles-data ships sprite sheets, not single tiles: --tile 32 cuts main.png (the item sprites) into
its ~990 non-empty 32 x 32 tiles, upscaled to 64 px by the ingest.

    python bench/quality.py /usr/share/crawl/dat/tiles/main.png --tile 32 --size 64 --families dcgan fastgan --seeds 3
    python bench/quality.py /usr/share/openclipart/png --size 64 --families dcgan fastgan --seeds 3 --limit 1000
    python bench/quality.py --emoji --size 64 --families projected dcgan --seeds 2 --limit 1000  # Noto's emoji

Image-to-image families (pix2pix, CycleGAN) have measures of their own, held-out L1 and KID of translations:

    python bench/quality.py --translation --minutes 4 --seeds 2     # bench/translation_quality.py

(--limit keeps N images drawn at random, the same N every time: 100-1,000 is the range FastGAN is meant for.) Each
training runs with the presets a user gets on this device; the machine's load is printed before and after, since
wall-clock comparisons on a shared machine mean little without it.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engine import api, features  # noqa: E402
from engine.dataset import composite  # noqa: E402
from engine.metrics import kid  # noqa: E402
from tests.digits import write_digits  # noqa: E402  (scikit-learn's real digits as PNG folders)

SAMPLES = 512
REAL = 2048


def parse_field(name: str, text: str):
    """A TrainConfig field's value from --set NAME=TEXT, typed as the field's default (true/false for a flag); a field
    left to the family (None) takes a number."""
    default = getattr(api.TrainConfig(), name)
    if isinstance(default, bool):
        return text.lower() in ("1", "true", "yes", "on")
    return float(text) if default is None else type(default)(text)


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def gather(sources: list[Path], limit: int, tile: int, dest: Path) -> Path:
    """The images under `sources` in dest/: `limit` of them drawn with a fixed seed (0 = all); with `tile`, every
    image cut into tile x tile pieces first, fully transparent pieces dropped."""
    from PIL import Image

    suffixes = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"}
    paths = sorted(p for s in sources for p in ([s] if s.is_file() else s.rglob("*"))
                   if p.suffix.lower() in suffixes and p.is_file())
    if tile:
        pieces = []
        for path in paths:
            sheet = np.asarray(Image.open(path).convert("RGBA"))
            for y in range(0, sheet.shape[0] - tile + 1, tile):
                for x in range(0, sheet.shape[1] - tile + 1, tile):
                    if sheet[y:y + tile, x:x + tile, 3].max() > 0:
                        pieces.append(sheet[y:y + tile, x:x + tile])
        chosen = np.random.default_rng(0).permutation(len(pieces))[:limit or None]
        for i in sorted(chosen):
            Image.fromarray(pieces[i]).save(dest / f"{i:05d}.png")
        return dest
    chosen = np.random.default_rng(0).permutation(len(paths))[:limit or None]
    for i in sorted(chosen):
        (dest / f"{i:05d}{paths[i].suffix.lower()}").symlink_to(paths[i].resolve())
    return dest


def samples(model, background, count: int = SAMPLES) -> np.ndarray:
    """count samples as RGB, laid on the background the real images are laid on (RGBA models' too)."""
    latents = api.latents_for_seed(4321, model.latent_dim, count=count)
    labels = [i % len(model.label_names) for i in range(count)] if model.label_names else None
    made = np.concatenate([model.render(latents[i:i + 64], None if labels is None else labels[i:i + 64])
                           for i in range(0, count, 64)])
    return composite(made, background) if made.shape[-1] == 4 else made


def spread_text(values: list[float]) -> str:
    """KIDs x 10^3 as 'mean ± sd' (the mean alone for one seed)."""
    spread = f" ± {statistics.stdev(values) * 1e3:.2f}" if len(values) > 1 else ""
    return f"{statistics.mean(values) * 1e3:.2f}{spread}"


def save_grid(images: np.ndarray, path: Path, columns: int = 8) -> None:
    from PIL import Image

    n, h, w, c = images.shape
    rows = -(-n // columns)
    sheet = np.full((rows * h, columns * w, c), 255, np.uint8)
    for i, image in enumerate(images):
        sheet[i // columns * h:(i // columns + 1) * h, i % columns * w:(i % columns + 1) * w] = image
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(path)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--translation" in argv:
        from bench import translation_quality

        return translation_quality.main([a for a in argv if a != "--translation"])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sources", nargs="*", type=Path, help="folders or images; default: sklearn's digits")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--minutes", type=float, default=4.0, help="wall-clock training minutes per family and seed")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--first-seed", type=int, default=0, help="seeds FIRST to FIRST + SEEDS - 1 (more seeds later)")
    p.add_argument("--families", nargs="+", help="default: every family in the registry")
    p.add_argument("--limit", type=int, default=0, help="use N of the images, drawn with a fixed seed")
    p.add_argument("--emoji", action="store_true",
                   help="add Noto's colour emoji (apt-get install fonts-noto-color-emoji) to the sources")
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="TrainConfig fields to set for every run, e.g. ada_target=0 lr=1e-4 (screening a lever)")
    p.add_argument("--alpha", choices=["auto", "on", "off"], help="transparency (default: the ingest's, auto)")
    p.add_argument("--crop", choices=["auto", "center", "pad"], default="center",
                   help="center: the middle square; pad: all of each picture; auto: pad cut-outs, crop the rest "
                        "(default center, as every table so far was measured; new projects take auto)")
    p.add_argument("--tile", type=int, default=0, help="cut every image (a sprite sheet) into N x N tiles")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                   help="auto: bf16 where it times at least 10%% faster at the run's start (engine/devices.py)")
    p.add_argument("--keep", type=Path, help="keep the project here instead of a temporary folder")
    p.add_argument("--points", type=int, default=4, help="checkpoints per run, each judged: a row is a curve")
    p.add_argument("--grids", type=Path, help="write 64 samples of every run (and checkpoint) here, to look at")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: on a shared 2-core machine two threads thrash, see STYLE.md)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    overrides = {key: parse_field(key, value) for key, value in (item.split("=", 1) for item in args.set)}

    work = Path(tempfile.mkdtemp(prefix="quality-"))
    try:
        if args.emoji:
            from bench.common import emoji_folder

            args.sources.append(emoji_folder(work / "emoji"))
        if not args.sources:
            source, name = write_digits(work / "digits", px=32), "sklearn digits"
        else:
            source = gather(args.sources, args.limit, args.tile, Path(tempfile.mkdtemp(dir=work)))
            name = " ".join(map(str, args.sources)) + (f" in {args.tile} px tiles" if args.tile else "")
        project = api.Project.create(args.keep or work / "project")
        ingested = api.ingest(project, [source], size=args.size, alpha=args.alpha, crop=args.crop)
        print(f"{name}: {ingested.total} images at {args.size} px; {load()}; torch threads {torch.get_num_threads()}")

        data = api.load_dataset(project, args.size)
        pick = np.random.default_rng(0).permutation(len(data.hashes))[:REAL]
        start = time.perf_counter()
        real_images = data.rgb(np.sort(pick))
        # two spaces: ImageNet's, and the same network with random weights and BatchNorm calibrated on the real set
        # (Naeem et al. 2020), which no model can have trained against
        spaces = {"imagenet": None, "random": features.random_network(real_images)}
        real = {space: features.uint8_features(real_images, net=net) for space, net in spaces.items()}
        print(f"real features: {len(real_images)} images in two spaces in {time.perf_counter() - start:.0f} s "
              f"({features.INPUT_SIZE} px input)")
        # two disjoint halves drawn at random (the images come in the order of their folders: halves in that order
        # would compare some labels with others and set the floor far too high)
        order = torch.from_numpy(np.random.default_rng(1).permutation(len(real_images)))
        halves = order[:len(order) // 2], order[len(order) // 2:2 * (len(order) // 2)]
        floor = {space: kid(f[halves[0]], f[halves[1]], subset_size=500) for space, f in real.items()}

        def judge(made: np.ndarray) -> dict[str, float]:
            return {space: kid(features.uint8_features(made, net=net), real[space], subset_size=500)
                    for space, net in spaces.items()}

        labelled = len(data.label_names) >= 2 and (data.labels >= 0).all()
        rows, curve_rows = [], []
        for family in args.families or [f.name for f in api.families() if api.family_layout(f.name) == "images"]:
            info = next(f for f in api.families() if f.name == family)
            if "labels" in info.capabilities and not labelled:
                rows.append((family, "needs labelled sub-folders", None, None, None))
                continue
            kids, rates, steps = {space: [] for space in spaces}, [], []
            curves = []  # per seed: [(minutes, {space: KID})] at every checkpoint
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                kept = []  # copies of the checkpoints, judged after the run so judging costs the run no time

                def keep(event, kept=kept):
                    if isinstance(event, api.CheckpointSaved):
                        path = Path(event.path)
                        copy = work / "curve" / f"{family}-{seed}-{len(kept)}" / path.name
                        copy.parent.mkdir(parents=True)
                        for part in (path, path.with_suffix(".safetensors")):
                            shutil.copy(part, copy.parent / part.name)
                        kept.append((json.loads(path.read_text())["train_seconds"] / 60, copy))

                # minutes without steps, as `train --minutes M`: the budget is the whole schedule (lr decay, EMA).
                # Figures before December 2026 passed steps=10**9, so the minutes only stopped the run (EMA at its
                # longest; no decay either way, as lr_decay is off by default): --set steps=1000000000 repeats them.
                # From random weights unless asked (--set base=true or from_model=FILE): a shipped base model
                # may have seen the very set it would be judged on
                cfg = api.TrainConfig(**{**dict(family=family, size=args.size, steps=0, minutes=args.minutes,
                                                seed=seed, device="cpu", precision=args.precision, kid_every=0,
                                                sample_every=10**9, checkpoint_every=10**9,
                                                checkpoint_minutes=args.minutes / args.points,
                                                early_stop_patience=0, base=False), **overrides})
                began = time.perf_counter()
                result = api.train(project, cfg, on_event=keep, new=True)
                wall = time.perf_counter() - began
                model = api.open_model(result.checkpoint)
                made = samples(model, data.background)
                if args.grids:
                    save_grid(made[:64], args.grids / f"{family}-seed{seed}.png")
                for space, value in judge(made).items():
                    kids[space].append(value)
                final = json.loads(result.checkpoint.read_text())
                curve = []
                for minutes, copy in kept:
                    if json.loads(copy.read_text())["step"] < final["step"]:
                        earlier = samples(api.open_model(copy), data.background)
                        if args.grids:
                            save_grid(earlier[:64], args.grids / f"{family}-seed{seed}-{minutes:.1f}min.png")
                        curve.append((minutes, judge(earlier)))
                curves.append(curve + [(final["train_seconds"] / 60, {space: v[-1] for space, v in kids.items()})])
                rates.append(result.step * model.cfg.batch / wall)
                steps.append(result.step)
                print(f"  {family} seed {seed}: {result.step} steps, KID x 10^3 "
                      + ", ".join(f"{space} {kids[space][-1] * 1e3:.2f}" for space in spaces) + f"; {load()}",
                      flush=True)
            rows.append((family, "", kids, statistics.mean(rates), statistics.mean(steps)))
            curve_rows.append((family, curves))

        print(f"\n{name}, {args.size} px, {args.minutes:g} min per run, {args.seeds} seed(s), KID x 10^3 on "
              f"EfficientNet-Lite0 features, ImageNet and random weights ({SAMPLES} samples vs {len(real_images)} "
              f"real); {load()}\n")
        spread_note = " (mean ± sd)" if args.seeds > 1 else ""
        print(f"| family | KID ImageNet{spread_note} | KID random{spread_note} | images/s | steps |")
        print("|---|---|---|---|---|")
        for family, note, kids, rate, steps in rows:
            if kids is None:
                print(f"| {family} | — ({note}) | | | |")
                continue
            cells = [spread_text(values) for values in kids.values()]
            print(f"| {family} | {' | '.join(cells)} | {rate:.0f} | {steps:.0f} |")
        print(f"| real vs real (floor) | {floor['imagenet'] * 1e3:.2f} | {floor['random'] * 1e3:.2f} | | |")
        print(f"\nCurves: KID x 10^3 at each checkpoint{spread_note}\n")
        print("| family | minutes | KID ImageNet | KID random |")
        print("|---|---|---|---|")
        for family, curves in curve_rows:
            for points in zip(*curves):  # the i-th checkpoint of every seed
                cells = [spread_text([p[1][space] for p in points]) for space in spaces]
                print(f"| {family} | {statistics.mean(p[0] for p in points):.1f} | {' | '.join(cells)} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
