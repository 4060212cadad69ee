"""Training and ingest speed of our path against a plain baseline, side by side in one process.

    .venv/bin/python bench/train_speed.py [--data FOLDER] [--size 32] [--seconds 20] [--batch N] [--device auto]
                                          [--compile]

Baseline: the same DCGAN networks and loss, fed by torchvision's ImageFolder + DataLoader that decodes and resizes
every image every epoch, in fp32 with no other tricks, at the same batch as ours (the preset's on this device unless
--batch says). Ours: the Trainer's step on the cached uint8 array on the device, in the precision a run's "auto"
picks (bf16 where it times 10% faster than fp32), also in bf16 and fp32 (on a GPU also without the guard that copies
the state before each step, and with --compile through torch.compile, plain and with CUDA graphs, its build left out
of the timing), with no host sync per step, as the Trainer's loop runs. They alternate in short rounds so machine
noise hits all alike.
Ingest: our threaded decode-once ingest against one DataLoader pass over the same files (and a second epoch,
where ours reads the cache), and the ceiling of any first pass: the files only decoded. Prints images/s and the
ratio.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import digits_folder, table


def decode_only(path: str) -> None:
    from PIL import Image

    with Image.open(path) as img:
        img.load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--batch", type=int, default=0, help="images per step, ours and the baseline's alike; "
                        "default: the DCGAN preset's on this device")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--compile", action="store_true", help="also time the compiled networks")
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    from engine import api, devices
    from engine.augment import diff_augment
    from engine.models.dcgan import Discriminator, Generator
    from engine.train_config import complete_config
    from engine.training import Trainer

    data = args.data or digits_folder(px=args.size)
    device = devices.pick_device(args.device)
    rows = []

    # --- ingest: decode once into the cache vs. a DataLoader pass that decodes every epoch ------------------------
    project = api.Project.create(Path(tempfile.mkdtemp(prefix="bench-project-")))
    start = time.perf_counter()
    result = api.ingest(project, [data], size=args.size, workers=args.workers)
    ours_ingest = result.kept / (time.perf_counter() - start)
    start = time.perf_counter()
    api.load_dataset(project, args.size).rgb()
    ours_epoch2 = result.kept / (time.perf_counter() - start)
    tf = transforms.Compose([transforms.Resize(args.size), transforms.CenterCrop(args.size), transforms.ToTensor(),
                             transforms.Normalize([0.5] * 3, [0.5] * 3)])
    folder = datasets.ImageFolder(str(data), transform=lambda img: tf(img.convert("RGB")))
    loader = DataLoader(folder, batch_size=args.batch or 32, shuffle=True, num_workers=args.workers, drop_last=True)
    start = time.perf_counter()
    seen = sum(len(x) for x, _ in loader)
    base_ingest = seen / (time.perf_counter() - start)
    rows.append(("ingest (first pass)", f"{ours_ingest:.0f}", f"{base_ingest:.0f}",
                 f"{ours_ingest / base_ingest:.2f}x"))
    rows.append(("dataset epoch after", f"{ours_epoch2:.0f}", f"{base_ingest:.0f}",
                 f"{ours_epoch2 / base_ingest:.1f}x"))
    # the ceiling of any first pass: the same files only opened and decoded, on a pool of as many threads
    start = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(decode_only, [path for path, _ in folder.samples]))
    decoded = len(folder.samples) / (time.perf_counter() - start)
    rows.append(("decoding alone (ceiling)", f"{decoded:.0f}", f"{base_ingest:.0f}", f"{decoded / base_ingest:.2f}x"))

    # --- training step ---------------------------------------------------------------------------------------------
    cfg = complete_config(project, api.TrainConfig(family="dcgan", size=args.size, batch=args.batch,
                                                   device=args.device))
    def trainer(**changes) -> Trainer:
        return Trainer(project, cfg.__class__(**{**cfg.__dict__, **changes}))

    # "ours" is an artist's run: its precision is what "auto" picks at the start of a run of an hour (on a CPU it
    # times bf16 against fp32 there, devices.timed_precision); compiled only in its own row below
    ours = trainer(steps=0, minutes=60.0, compile="off")
    ours.start(None)
    variants = {"ours": ours, "ours bf16 autocast": trainer(precision="bf16"), "ours fp32": trainer(precision="fp32")}
    if device.type != "cpu":
        variants["ours, no memory guard"] = unguarded = trainer()
        unguarded.memory_guard = False
    if args.compile:
        variants["ours, compiled, no guard"] = compiled = trainer(compile="on")
        compiled.memory_guard = False
        if device.type == "cuda":  # CUDA graphs replay each network's kernels in one launch: a screen of the lever
            from functools import partial
            from unittest import mock

            with mock.patch.object(torch, "compile", partial(torch.compile, mode="reduce-overhead")):
                variants["ours, compiled + CUDA graphs, no guard"] = graphed = trainer(compile="on")
            graphed.memory_guard = False
    g = Generator(cfg.latent_dim, cfg.width, cfg.size).to(device)
    d = Discriminator(cfg.width, cfg.size).to(device)
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    gen = torch.Generator(device).manual_seed(0)
    loader = DataLoader(folder, batch_size=cfg.batch, shuffle=True, num_workers=min(2, args.workers),
                        drop_last=True, persistent_workers=True)

    def baseline_batches():
        while True:
            yield from loader

    batches = baseline_batches()

    def baseline_step():
        real = next(batches)[0].to(device)
        z = torch.randn(len(real), cfg.latent_dim, device=device)
        fake = g(z)
        opt_d.zero_grad()
        loss_d = (F.softplus(-d(diff_augment(real, gen))).mean()
                  + F.softplus(d(diff_augment(fake.detach(), gen))).mean())
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = F.softplus(-d(diff_augment(fake, gen))).mean()
        loss_g.backward()
        opt_g.step()
        return loss_g.item()

    # ours as the Trainer's loop runs it: no host sync per step (a round waits for its last step's loss); the
    # baseline reads its loss every step, as the plain loop does
    steps = {name: (lambda t=t: t.step()["g"]) for name, t in variants.items()}
    steps["baseline"] = baseline_step
    timings = {name: [0.0, 0] for name in steps}
    for name, fn in list(steps.items()):  # warm up (and build the compiled networks: timed apart)
        start = time.perf_counter()
        try:
            for _ in range(3):
                last = fn()
            float(last)
        except Exception as e:  # a compiler's failure is a finding, not the end of the bench
            print(f"{name} failed: {type(e).__name__}: {str(e)[:300]}")
            del steps[name], variants[name]
            continue
        if "compiled" in name:
            rows.append((f"{name}: build (3 first steps), s", f"{time.perf_counter() - start:.1f}", "", ""))
    deadline = time.perf_counter() + len(steps) * args.seconds
    while time.perf_counter() < deadline:  # alternate short rounds so noise hits all alike
        for name, fn in list(steps.items()):
            start = time.perf_counter()
            try:
                for _ in range(5):
                    last = fn()
                float(last)  # the device's queued work is done
            except Exception as e:
                print(f"{name} failed while timed: {type(e).__name__}: {str(e)[:300]}")
                del steps[name], variants[name]
                continue
            timings[name][0] += time.perf_counter() - start
            timings[name][1] += 5 * cfg.batch
    rate = {name: n / t for name, (t, n) in timings.items() if n}
    base = rate["baseline"]
    for name in variants:
        label = f"ours (auto: {devices.PRECISIONS[ours.amp_dtype]})" if name == "ours" else name
        rows.append((f"train step: {label}", f"{rate[name]:.0f}", f"{base:.0f}", f"{rate[name] / base:.2f}x"))

    print(f"device {devices.device_info(args.device).name}, {result.kept} images at {args.size} px, "
          f"DCGAN width {cfg.width}, batch {cfg.batch}, torch threads {torch.get_num_threads()}")
    print(table(rows, ("images/s", "ours", "baseline", "ratio")))


if __name__ == "__main__":
    main()
