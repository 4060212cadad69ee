"""The command line: `python main.py ingest|train|generate|translate|export|export-model|export-onnx ...`. It calls
engine.api and prints events.

Errors a user can cause (bad paths, refused model files, empty datasets) print one line and exit non-zero;
they never print a traceback.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path

from . import api
from .schedule import minutes_text


MODEL_FIRST = {"generate", "project", "translate", "export-model", "export-onnx"}  # take the model as they start
MODEL_HELP = "a project folder (or --project FOLDER), run folder, checkpoint or model file"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(_project_as_model(sys.argv[1:] if argv is None else list(argv)))
    try:
        return args.func(args)
    except (api.FileRefused, api.WriteFailed, ValueError, FileNotFoundError, api.Cancelled) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _project_as_model(argv: list[str]) -> list[str]:
    """`generate --project P ...` as `generate P ...`: ingest and train name the project with --project, so people
    type it for the commands that take a model first too (argparse answered "unrecognized arguments")."""
    if not argv or argv[0] not in MODEL_FIRST:
        return argv
    for i, word in enumerate(argv):
        if word == "--project" and i + 1 < len(argv):
            return [argv[0], argv[i + 1], *argv[1:i], *argv[i + 2:]]
        if word.startswith("--project="):
            return [argv[0], word.split("=", 1)[1], *argv[1:i], *argv[i + 1:]]
    return argv


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="latent-studio", description="Latent Studio's engine, without the window.")
    sub = p.add_subparsers(dest="command", required=True)

    q = sub.add_parser("ingest", help="add images (folders, files, zips) to a project's dataset")
    q.add_argument("sources", nargs="*", help="folders, image files and zips (or one of the pair flags below)")
    pairs = q.add_mutually_exclusive_group()
    pairs.add_argument("--paired", nargs=2, metavar=("A_DIR", "B_DIR"), help="image-to-image pairs: each picture in "
                       "A_DIR with the one of the same name (and sub-folder) in B_DIR; pix2pix learns A -> B")
    pairs.add_argument("--paired-side-by-side", metavar="DIR", help="image-to-image pairs as single pictures, A on "
                       "the left half and B on the right")
    pairs.add_argument("--unpaired", nargs=2, metavar=("A_DIR", "B_DIR"), help="two collections without pairs; "
                       "CycleGAN learns A -> B and B -> A")
    pairs.add_argument("--side", choices=["A", "B"], help="add the sources to this side of a project of pairs or "
                       "of two collections")
    q.add_argument("--project", required=True, type=Path)
    q.add_argument("--size", type=int, help="training resolution (16-256, a power of two)")
    q.add_argument("--crop", choices=["center", "pad"])
    q.add_argument("--alpha", choices=["on", "off", "auto"], help="models learn transparency: on, off, or auto (when "
                   "a quarter of the images use it)")
    q.add_argument("--aspect", choices=["auto", *api.ASPECTS], help="width:height of what models draw; auto: the "
                   "nearest to the images' median (the default)")
    q.set_defaults(func=_ingest)

    q = sub.add_parser("train", help="train (or resume) a model on a project's images")
    q.add_argument("--project", required=True, type=Path)
    q.add_argument("--data", nargs="+", help="ingest these sources first (only new images are added)")
    q.add_argument("--model", help="model family: " + ", ".join(f.name for f in api.families())
                   + "; default: projected from 64 px up, below it cgan for pictures sorted into labelled "
                     "sub-folders and dcgan for others")
    q.add_argument("--size", type=int, help="training resolution; default: the project's")
    q.add_argument("--steps", type=int, help="total steps to train to; default: the preset's")
    q.add_argument("--minutes", type=float, help="train for this many minutes: the whole schedule fits them and "
                   "the steps follow this machine's speed; with --steps, stop at whichever comes first")
    q.add_argument("--batch", type=int)
    q.add_argument("--lr", type=float)
    q.add_argument("--checkpoint-every", type=int)
    q.add_argument("--sample-every", type=int)
    q.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    q.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    q.add_argument("--compile", default="auto", choices=["auto", "on", "off"],
                   help="torch.compile the networks (auto: on a CUDA GPU for --minutes 60 or more)")
    q.add_argument("--seed", type=int)
    q.add_argument("--width", type=int, help="network width (channel multiplier); default sized to the data")
    q.add_argument("--latent-dim", type=int)
    q.add_argument("--flip", action="store_true", help="add horizontal flips to the augmentation")
    q.add_argument("--alpha", choices=["on", "off", "auto"], help="learn and make transparency (default: the "
                   "project's setting; auto when a quarter of its images use it)")
    q.add_argument("--aspect", choices=list(api.ASPECTS), help="width:height of what the model draws (default: the "
                   "project's; the VQ-VAE draws squares)")
    q.add_argument("--new", action="store_true", help="start a new run instead of resuming the last one")
    q.add_argument("--from", dest="from_model", type=Path,
                   help="fine-tune this model (project, run, checkpoint or model file) of the same family and shape")
    q.add_argument("--scratch", action="store_true", help="a new run starts from random weights even where a base "
                   "model the app ships fits the project (resources/base/)")
    # the families' own options (Family.options); a family refuses one it does not read
    q.add_argument("--loss", choices=["bce", "hinge", "wgan-gp"], help="fastgan: the adversarial loss")
    q.add_argument("--spectral-norm", action=argparse.BooleanOptionalAction,
                   help="fastgan: spectral normalisation in the discriminator (default: on)")
    q.add_argument("--r1", type=float, metavar="GAMMA", help="dcgan, cgan, fastgan, stylegan: R1 penalty weight on "
                   "real images (default: cgan 3, dcgan and fastgan 0 = off, stylegan a heuristic)")
    q.add_argument("--ada-target", type=float, help="dcgan, cgan, fastgan, stylegan: ADA's target for "
                   "E[sign(D(real))] (default 0.6, cgan 0.8; 0: fixed augmentation)")
    q.add_argument("--minibatch-std", action=argparse.BooleanOptionalAction,
                   help="cgan: a minibatch standard-deviation channel in the discriminator, measured "
                        "among the images of each label (default: on)")
    q.add_argument("--beta", type=float, help="vae, cvae: weight of the KL term (default 1, cvae 4)")
    q.add_argument("--codebook-size", type=int, help="vqvae: codes in the codebook (default sized to the width)")
    q.add_argument("--temperature", type=float, help="vqvae: the prior's sampling temperature samples start with")
    q.add_argument("--top-k", type=int, help="vqvae: samples draw each code among the k likeliest only")
    q.add_argument("--path-length", type=float, help="stylegan: weight of the path-length regulariser (0: off)")
    q.add_argument("--style-mixing", type=float, help="stylegan: how often training mixes two points' styles "
                   "(default 0.9)")
    q.add_argument("--lr-decay", choices=["none", "cosine"], help="cosine: decay to 10%% of --lr by the last step "
                   "(default: cosine with --minutes and no --steps, else none)")
    q.add_argument("--kid-every", type=int, help="steps between KID measurements (0: never)")
    q.add_argument("--early-stop", dest="early_stop_patience", type=int, metavar="CHECKPOINTS",
                   help="stop after this many checkpoints without improvement (0: never)")
    q.add_argument("--jsonl", action="store_true", help="print one JSON event per line instead of a progress bar")
    q.set_defaults(func=_train)

    q = sub.add_parser("demo", help="make a project from the bundled demo pictures and their trained model")
    q.add_argument("--project", required=True, type=Path, help="a new or empty folder")
    q.set_defaults(func=_demo)

    q = sub.add_parser("generate", help="write images from a trained model")
    q.add_argument("model", type=Path, help=MODEL_HELP)
    q.add_argument("--count", type=int, default=16)
    q.add_argument("--out", type=Path, required=True)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--truncation", type=float, default=1.0)
    q.add_argument("--label", help="conditional models: the label (sub-folder name) to draw; default: each in turn")
    q.add_argument("--temperature", type=float, help="VQ-VAE: the prior's temperature (default 1; lower is safer)")
    q.add_argument("--top-k", type=int, help="VQ-VAE: draw each code among the k likeliest only (default 0: all)")
    q.add_argument("--mix-seed", type=int, help="style-based models: take some styles of every image from this seed")
    q.add_argument("--mix", choices=["coarse", "middle", "fine"], default="coarse",
                   help="which styles come from --mix-seed: coarse (4-8 px layers), middle (16-32 px) or fine "
                        "(64 px up); below 64 px the layers are split in thirds")
    q.set_defaults(func=_generate)

    q = sub.add_parser("project", help="put your own images into a model's latent space: one PNG of each one's "
                       "closest point, with the point in its text chunk")
    q.add_argument("model", type=Path, help=MODEL_HELP)
    q.add_argument("images", nargs="+", type=Path, help="image files or folders of them")
    q.add_argument("--out", required=True, type=Path)
    q.add_argument("--label", help="conditional models: project with this label (default: the best of every label)")
    q.add_argument("--steps", type=int, help="GANs: optimisation steps per image (more is closer and slower)")
    q.set_defaults(func=_project)

    q = sub.add_parser("translate", help="translate pictures with an image-to-image model (pix2pix, CycleGAN): "
                       "one PNG per picture, at its own size")
    q.add_argument("model", type=Path, help=MODEL_HELP)
    q.add_argument("images", nargs="+", type=Path, help="image files or folders of them (read recursively)")
    q.add_argument("--out", required=True, type=Path)
    q.add_argument("--direction", choices=["a2b", "b2a"], default="a2b",
                   help="a2b (the default), or b2a for models that translate both ways")
    q.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"])
    q.set_defaults(func=_translate)

    q = sub.add_parser("export", help="export bookmarks as PNGs or their interpolation as a GIF/MP4 loop")
    q.add_argument("--project", required=True, type=Path)
    q.add_argument("--out", required=True, type=Path, help="a folder (PNGs), or a .gif / .mp4 file")
    q.add_argument("--model", type=Path, help="default: the project's newest model")
    q.add_argument("--frames", type=int, default=24, help="frames between two bookmarks")
    q.add_argument("--fps", type=int, default=24)
    q.set_defaults(func=_export)

    q = sub.add_parser("nearest", help="did the model copy a training image? For each image: the closest training "
                       "image, how similar, and whether that counts as a copy (calibrated on the project's images)")
    q.add_argument("model", type=Path, help="a project folder (no trained model needed), run, checkpoint or model file")
    q.add_argument("images", nargs="+", type=Path, help="image files or folders of them")
    q.add_argument("--project", type=Path, help="the project the model was trained on (found by itself for a run, "
                   "a checkpoint, or a model file beside its project)")
    q.add_argument("--json", action="store_true", help="print a JSON list: image, nearest, similarity, copy")
    q.set_defaults(func=_nearest)

    q = sub.add_parser("export-model", help="write one model file to take elsewhere: the weights every generation, "
                       "exploration and projection needs, and where the model came from in its header")
    q.add_argument("model", type=Path, help=MODEL_HELP)
    q.add_argument("--out", required=True, type=Path, help="the .safetensors file to write")
    q.add_argument("--licence", help="the licence recorded in the header (default: none, or a model file's own)")
    q.set_defaults(func=_export_model)

    q = sub.add_parser("export-onnx", help="write the model's image-making network as one .onnx file, checked in "
                       "onnxruntime against PyTorch's images")
    q.add_argument("model", type=Path, help=MODEL_HELP)
    q.add_argument("--out", required=True, type=Path, help="the .onnx file to write")
    q.set_defaults(func=_export_onnx)
    return p


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
