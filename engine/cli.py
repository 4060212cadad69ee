"""The command line: `python main.py ingest|train|generate|translate|export|export-model|export-onnx ...`. It calls
engine.api and prints events.

Errors a user can cause (bad paths, refused model files, empty datasets) print one line and exit non-zero;
they never print a traceback.
"""
from __future__ import annotations

import json
import signal
import sys
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path

from . import api, cli_parser
from .schedule import minutes_text


def main(argv: list[str] | None = None) -> int:
    args = cli_parser.parser().parse_args(cli_parser.project_as_model(sys.argv[1:] if argv is None else list(argv)))
    try:
        return COMMANDS[args.command](args)
    except (api.FileRefused, api.WriteFailed, ValueError, FileNotFoundError, api.Cancelled) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _ingest(args) -> int:
    sided = args.paired or args.unpaired
    if (sided or args.paired_side_by_side) and args.sources:
        raise ValueError("--paired, --paired-side-by-side and --unpaired name their folders themselves: "
                         "leave the other sources out")
    if not (sided or args.paired_side_by_side or args.sources):
        raise ValueError("name the folders, files or zips to add (or --paired, --paired-side-by-side, --unpaired)")
    project = api.Project.open_or_create(args.project)
    common = dict(size=args.size, crop=args.crop, on_event=_Printer(False), alpha=args.alpha, aspect=args.aspect)
    if sided:
        layout = "paired" if args.paired else "unpaired"
        for side, folder in zip("AB", sided):
            result = api.ingest(project, [folder], layout=layout, side=side, **common)
            _print_ingested(result, f"side {side}: ")
    elif args.paired_side_by_side:
        _print_ingested(result := api.ingest(project, [args.paired_side_by_side], halves=True, **common))
    else:
        _print_ingested(result := api.ingest(project, args.sources, side=args.side or "", **common))
    for line in result.unmatched:
        print(f"without a partner: {line}")
    return 0 if result.total else 1


MAX_REJECTS_SHOWN = 20  # the rest are in the project's report


def _print_ingested(result, prefix: str = "") -> None:
    """Each file left out with its reason, then the counts."""
    for path, reason in result.rejects[:MAX_REJECTS_SHOWN]:
        print(f"rejected {path}: {reason}")
    if len(result.rejects) > MAX_REJECTS_SHOWN:
        print(f"... and {len(result.rejects) - MAX_REJECTS_SHOWN} more, listed in {result.report_path}")
    print(prefix + result.summary())


def _translate(args) -> int:
    model = api.open_model(args.model, device=args.device)
    result = api.translate_files(model, args.images, args.out, args.direction)
    for source, name in result.renamed:
        print(f"{source}: written as {name} (the name was taken)")
    for source, reason in result.skipped:
        print(f"skipped {source}: {reason}", file=sys.stderr)
    print(f"{result.summary()} into {args.out}")
    return 0 if result.written else 1


def _train(args) -> int:
    project = api.Project.open_or_create(args.project)
    printer = _Printer(args.jsonl)
    if args.data:
        result = api.ingest(project, args.data, size=args.size, on_event=printer)
        printer(api.Message(result.summary()))
    if not api.dataset_stats(project)["count"]:
        raise ValueError(f"{args.project} has no images yet: pass --data FOLDER")
    cfg = api.TrainConfig(family=args.model or "", size=args.size or 0, steps=args.steps or 0,
                          minutes=args.minutes or 0.0, batch=args.batch or 0, lr=args.lr or 0.0,
                          width=args.width or 0, latent_dim=args.latent_dim or 0, flip=args.flip,
                          alpha={"on": True, "off": False}.get(args.alpha), aspect=args.aspect or "",
                          device=args.device, precision=args.precision, compile=args.compile,
                          seed=args.seed or 0,
                          loss=args.loss or "", spectral_norm=args.spectral_norm, r1=args.r1,
                          minibatch_std=args.minibatch_std,
                          lr_decay=args.lr_decay or "", kid_every=args.kid_every,
                          early_stop_patience=args.early_stop_patience, from_model=str(args.from_model or ""),
                          base=not args.scratch,
                          beta=args.beta or 0.0, codebook_size=args.codebook_size or 0, top_k=args.top_k or 0,
                          temperature=args.temperature or 1.0, path_length=args.path_length or 0.0,
                          style_mixing=api.TrainConfig.style_mixing if args.style_mixing is None else args.style_mixing,
                          ada_target=api.TrainConfig.ada_target if args.ada_target is None else args.ada_target)
    if args.checkpoint_every:
        cfg.checkpoint_every = args.checkpoint_every
    if args.sample_every:
        cfg.sample_every = args.sample_every
    control = api.Control()

    def on_sigint(signum, frame):
        if control.should_stop():
            raise KeyboardInterrupt
        printer(api.Message("stopping after this step and saving a checkpoint (Ctrl-C again to quit now)"))
        control.request_stop()

    signal.signal(signal.SIGINT, on_sigint)
    signal.signal(signal.SIGTERM, on_sigint)
    result = api.train(project, cfg, on_event=printer, control=control, new=args.new)
    return 1 if result.reason == "failed" else 0


def _demo(args) -> int:
    project = api.create_demo_project(args.project, on_event=_Printer(False))
    print(f"{project.root}: {api.dataset_stats(project)['count']} images and a trained model")
    return 0


def _generate(args) -> int:
    model = api.open_model(args.model)
    model.set_sampling(temperature=args.temperature, top_k=args.top_k)
    paths = api.generate(model, args.count, args.out, seed=args.seed, truncation=args.truncation, label=args.label,
                         mix_seed=args.mix_seed, mix=args.mix)
    print(f"wrote {len(paths)} images to {args.out}")
    return 0


def _project(args) -> int:
    model = api.open_model(args.model)
    background = api.Project.open(args.model).dataset.background if api.Project.is_project(args.model) \
        else (255, 255, 255)
    names, images, rejected = api.load_images(args.images, model.size, background=background, aspect=model.aspect)
    for path, reason in rejected:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if not names:
        raise ValueError("no image to project")
    labels = None if args.label is None else [args.label] * len(names)
    found = api.project(model, images, labels, steps=args.steps, on_event=_Printer(False))
    for name, projection in zip(names, found):
        path = api.save_projection(model, projection, args.out / f"{Path(name).stem}.png", source=name)
        print(f"{Path(name).name}: error {projection.error:.4f} -> {path}")
    return 0


def _export(args) -> int:
    project = api.Project.open(args.project)
    model = api.open_model(args.model or args.project)
    marks = api.load_bookmarks(project)
    if not marks:
        raise ValueError(f"{args.project} has no bookmarks to export")
    latents = [b["latent"] for b in marks]
    if args.out.suffix.lower() in (".gif", ".mp4"):
        frames = api.interpolate(latents, args.frames, loop=True)
        api.export_animation(model, frames, args.out, fps=args.fps)
        print(f"wrote {len(frames)} frames to {args.out}")
    else:
        for i, mark in enumerate(marks):
            api.export_png(model, mark["latent"], args.out / f"{i:02d}-{mark.get('name', 'bookmark')}.png",
                           seed=mark.get("seed"))
        print(f"wrote {len(marks)} images to {args.out}")
    return 0


def _nearest(args) -> int:
    project, flips = api.project_and_flips(args.model, args.project)
    meter = api.meter_for(project, flips=flips)
    names, images, rejected = api.load_images(args.images, meter.size, background=project.dataset.background,
                                              aspect=meter.aspect)
    for path, reason in rejected:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if not names:
        raise ValueError("no image to check")
    rows = [{"image": str(name), "nearest": meter.sources[v.nearest[0]], "similarity": round(v.similarity, 4),
             "copy": v.copy} for name, v in zip(names, meter.judge(images))]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for row in rows:
        verdict = "COPY of" if row["copy"] else "not a copy; nearest"
        print(f"{Path(row['image']).name}: {verdict} {row['nearest']} (similarity {row['similarity']:.3f})")
    print(f"copies are {meter.threshold:.3f} similar and up (calibrated on {project.root.name}'s images)")
    return 0


def _export_model(args) -> int:
    path = api.export_model(args.model, args.out, licence=args.licence)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def _export_onnx(args) -> int:
    done = api.export_onnx(args.model, args.out)
    print(f"wrote {done.path} (inputs: {', '.join(done.inputs)}; output: image); onnxruntime's images differ from "
          f"PyTorch's by at most {done.max_difference} grey levels at batch 1 and 5")
    return 0


def _finish_line(event) -> str:
    """Where a starting run (an api.RunStarted) will end: its step, or its time budget."""
    steps, minutes = event.config.get("steps"), event.config.get("minutes")
    if steps:
        return f"to step {steps}" + (f", for at most {minutes_text(minutes)} this time" if minutes else "")
    spent = "the rest of " if event.resumed else ""
    return f"{spent}{minutes_text(minutes)} of training; the steps follow this machine's speed"


class _Printer:
    """Events to the terminal: a one-line progress bar on a tty, plain lines otherwise, or JSON lines."""

    def __init__(self, jsonl: bool):
        self.jsonl = jsonl
        self.tty = sys.stdout.isatty() and not jsonl
        self.last_line = 0.0

    def __call__(self, event) -> None:
        if self.jsonl:
            print(json.dumps(_jsonable(event)), flush=True)
            return
        kind = type(event).__name__
        if kind == "RunStarted":
            verb = f"resuming {event.run_dir.name} from step {event.step}" if event.resumed \
                else f"training {event.run_dir.name}"
            self._line(f"{verb} on {event.device} ({_finish_line(event)})")
        elif kind == "StepDone":
            self._progress(event)
        elif kind == "QualityMeasured":
            copies = "" if event.copies is None else f"; {event.copies:.0%} of the samples copy a training image"
            self._line(f"KID at step {event.step}: {event.kid:.4f}{copies}")
        elif kind == "CheckpointSaved":
            self._line(f"checkpoint saved at step {event.step}" + (" (best so far)" if event.best else ""))
        elif kind == "RunFinished":
            self._line(f"finished at step {event.step} ({event.reason})")  # its error was said as a Message
        elif kind == "Message":
            self._line(("" if event.step is None else f"step {event.step}: ")
                       + ("" if event.level == "info" else f"{event.level}: ") + event.text)
        elif kind == "Progress" and self.tty:
            print(f"\r{event.what} {event.done}/{event.total}", end="", flush=True)

    def _progress(self, e) -> None:
        losses = " ".join(f"{k} {v:.3f}" for k, v in e.losses.items())
        eta = time.strftime("%H:%M:%S", time.gmtime(e.eta_s)) if e.eta_s < 1e7 else "?"
        if self.tty:
            width = 24
            filled = int(width * e.step / max(1, e.total_steps))
            bar = "#" * filled + "-" * (width - filled)
            print(f"\r[{bar}] {e.step}/{e.total_steps} {losses} {e.images_per_s:.0f} img/s ETA {eta}  ",
                  end="", flush=True)
        elif time.monotonic() - self.last_line > 5:
            self.last_line = time.monotonic()
            print(f"step {e.step}/{e.total_steps} {losses} {e.images_per_s:.0f} img/s ETA {eta}", flush=True)

    def _line(self, text: str) -> None:
        print(("\r\n" if self.tty else "") + text, flush=True)


def _jsonable(event) -> dict:
    out = {"event": type(event).__name__}
    if is_dataclass(event):
        for key, value in asdict(event).items():
            if key in ("grid", "weights"):
                continue
            out[key] = str(value) if isinstance(value, Path) else value
    return out


COMMANDS = {"ingest": _ingest, "train": _train, "demo": _demo, "generate": _generate, "project": _project,
            "translate": _translate, "export": _export, "nearest": _nearest, "export-model": _export_model,
            "export-onnx": _export_onnx}
