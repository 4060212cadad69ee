"""Every family's training path on a GPU, where the tests (pinned to the CPU) never go: a short run per family on
real digits (labelled, paired or unpaired as the family needs) with KID measured twice, a resume of it, and
samples (or translations) from the saved model;
then the same through torchrun, and compiled networks for the families whose penalties need the eager module.

    python3 bench/device_check.py [--device cuda] [--steps 120] [--families dcgan,stylegan] [--compile] [--torchrun]

Prints one row per run: steps, seconds, images/s, the last losses and the sample grid's spread (0 would be a blank
model), so a path that breaks or trains to nothing shows at a glance.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import ROOT, table


def data_for(layout: str, root: Path) -> Path:
    from tests.digits import write_digits, write_paired_digits, write_unpaired_digits

    if layout == "paired":
        return write_paired_digits(root / "paired", count=200)
    if layout == "unpaired":
        return write_unpaired_digits(root / "unpaired", count=200)
    return write_digits(root / "digits", per_class=60)


def run(*args: str, launcher: tuple[str, ...] = (sys.executable,)) -> tuple[int, str, float]:
    started = time.perf_counter()
    done = subprocess.run([*launcher, str(ROOT / "main.py"), *args], capture_output=True, text=True, cwd=ROOT)
    return done.returncode, done.stdout + done.stderr, time.perf_counter() - started


def last_log(project: Path) -> dict:
    logs = sorted(project.glob("runs/*/log.jsonl"))
    lines = [json.loads(line) for line in logs[-1].read_text().splitlines()] if logs else []
    reports = [line for line in lines if "images_per_s" in line]
    return reports[-1] if reports else {}


def ingest_args(layout: str, data: Path) -> tuple[str, ...]:
    if layout == "images":
        return (str(data),)
    return (f"--{layout}", str(data / "A"), str(data / "B"))


def check(family: str, layout: str, data: Path, args, extra: tuple[str, ...] = (), launcher=(sys.executable,),
          label: str = "") -> tuple:
    import numpy as np
    from PIL import Image

    project = Path(tempfile.mkdtemp(prefix=f"device-{family}-"))
    common = ("--project", str(project), "--model", family, "--size", "32", "--device", args.device,
              "--checkpoint-every", str(args.steps // 2), "--sample-every", str(args.steps // 2),
              "--kid-every", str(args.steps // 2), *extra)
    rc, out, _ = run("ingest", *ingest_args(layout, data), "--project", str(project), "--size", "32")
    if rc:
        return (label or family, "INGEST FAILED", "", "", out.strip().splitlines()[-1][:90], "")
    rc, out, seconds = run("train", "--steps", str(args.steps), *common, launcher=launcher)
    if rc:
        return (label or family, "FAILED", f"{seconds:.0f}", "", out.strip().splitlines()[-1][:90], "")
    rc2, out2, _ = run("train", "--steps", str(args.steps + args.steps // 2), *common, launcher=launcher)
    log = last_log(project)
    made = project / "made"
    if layout == "images":
        rc3, out3, _ = run("generate", str(project), "--count", "16", "--out", str(made))
    else:  # an image-to-image model translates A pictures, on the GPU too
        rc3, out3, _ = run("translate", str(project), str(data / "A"), "--out", str(made), "--device", args.device)
    spread = ""
    if rc3 == 0 and list(made.glob("*.png")):
        pictures = np.stack([np.asarray(Image.open(p).convert("RGB"), dtype=np.float32)
                             for p in sorted(made.glob("*.png"))])
        spread = f"{pictures.std():.1f}"
    elif rc3:
        spread = "generate failed: " + out3.strip().splitlines()[-1][:60]
    resumed = "resumed" if rc2 == 0 else "RESUME FAILED: " + out2.strip().splitlines()[-1][:60]
    losses = {k: round(v, 3) for k, v in log.items() if k not in ("step", "images_per_s", "lr")}
    return (label or family, resumed, f"{seconds:.0f}", f"{log.get('images_per_s', 0):.0f}", str(losses), spread)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--families", default="", help="comma-separated; default: all")
    parser.add_argument("--compile", default="", help="families to check again with --compile on")
    parser.add_argument("--torchrun", default="", help="families to check again under torchrun (all GPUs)")
    parser.add_argument("--parallel", type=int, default=1, help="runs at once (a large GPU has room for several)")
    args = parser.parse_args()

    import torch

    from engine.models import FAMILIES

    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}", flush=True)
    root = Path(tempfile.mkdtemp(prefix="device-data-"))
    data = {layout: data_for(layout, root) for layout in ("images", "paired", "unpaired")}
    names = args.families.split(",") if args.families else list(FAMILIES)
    plan = [(name, (), (sys.executable,), name) for name in names]
    plan += [(name, ("--compile", "on"), (sys.executable,), f"{name}, compiled")
             for name in filter(None, args.compile.split(","))]
    gpus = max(1, torch.cuda.device_count())
    torchrun = (sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={gpus}")
    plan += [(name, (), torchrun, f"{name}, torchrun x{gpus}") for name in filter(None, args.torchrun.split(","))]
    def one(name, extra, launcher, label):
        layout = FAMILIES[name].layout
        row = check(name, layout, data[layout], args, extra, launcher, label)
        print(" | ".join(row), flush=True)
        return row

    with ThreadPoolExecutor(args.parallel) as pool:
        rows = list(pool.map(lambda planned: one(*planned), plan))
    print(table(rows, ("run", "resume", "train s", "images/s", "last losses", "sample spread")))


if __name__ == "__main__":
    main()
