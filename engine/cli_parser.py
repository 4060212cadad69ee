"""The command line's words: every sub-command and flag of `python main.py ...` with the help the user reads, and
the one liberty it takes with what is typed (`--project` naming the model of a command that takes a model first).
engine/cli.py runs the commands; this module only describes them.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from . import api

MODEL_FIRST = {"generate", "project", "translate", "export-model", "export-onnx"}  # take the model as they start
MODEL_HELP = "a project folder (or --project FOLDER), run folder, checkpoint or model file"


def project_as_model(argv: list[str]) -> list[str]:
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


def parser() -> argparse.ArgumentParser:
    """Every sub-command and flag, with the help the user reads; the sub-command's name is `args.command`."""
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
    q.add_argument("--crop", choices=["auto", "center", "pad"], help="how pictures of another shape fit the frame: "
                   "crop the middle, pad with transparency, or auto: pad cut-outs and crop the rest")
    q.add_argument("--alpha", choices=["on", "off", "auto"], help="models learn transparency: on, off, or auto (when "
                   "a quarter of the images use it)")
    q.add_argument("--aspect", choices=["auto", *api.ASPECTS], help="width:height of what models draw; auto: the "
                   "nearest to the images' median (the default)")

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
                   help="torch.compile the networks (auto: off; on a GPU the default "
                   "DCGAN trained slower compiled)")
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

    q = sub.add_parser("demo", help="make a project from the bundled demo pictures and their trained model")
    q.add_argument("--project", required=True, type=Path, help="a new or empty folder")

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

    q = sub.add_parser("project", help="put your own images into a model's latent space: one PNG of each one's "
                       "closest point, with the point in its text chunk")
    q.add_argument("model", type=Path, help=MODEL_HELP)
    q.add_argument("images", nargs="+", type=Path, help="image files or folders of them")
    q.add_argument("--out", required=True, type=Path)
    q.add_argument("--label", help="conditional models: project with this label (default: the best of every label)")
    q.add_argument("--steps", type=int, help="GANs: optimisation steps per image (more is closer and slower)")

    q = sub.add_parser("translate", help="translate pictures with an image-to-image model (pix2pix, CycleGAN): "
                       "one PNG per picture, at its own size")
    q.add_argument("model", type=Path, help=MODEL_HELP)
    q.add_argument("images", nargs="+", type=Path, help="image files or folders of them (read recursively)")
    q.add_argument("--out", required=True, type=Path)
    q.add_argument("--direction", choices=["a2b", "b2a"], default="a2b",
                   help="a2b (the default), or b2a for models that translate both ways")
    q.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"])

    q = sub.add_parser("export", help="export bookmarks as PNGs or their interpolation as a GIF/MP4 loop")
    q.add_argument("--project", required=True, type=Path)
    q.add_argument("--out", required=True, type=Path, help="a folder (PNGs), or a .gif / .mp4 file")
    q.add_argument("--model", type=Path, help="default: the project's newest model")
    q.add_argument("--frames", type=int, default=24, help="frames between two bookmarks")
    q.add_argument("--fps", type=int, default=24)

    q = sub.add_parser("nearest", help="did the model copy a training image? For each image: the closest training "
                       "image, how similar, and whether that counts as a copy (calibrated on the project's images)")
    q.add_argument("model", type=Path, help="a project folder (no trained model needed), run, checkpoint or model file")
    q.add_argument("images", nargs="+", type=Path, help="image files or folders of them")
    q.add_argument("--project", type=Path, help="the project the model was trained on (found by itself for a run, "
                   "a checkpoint, or a model file beside its project)")
    q.add_argument("--json", action="store_true", help="print a JSON list: image, nearest, similarity, copy")

    q = sub.add_parser("export-model", help="write one model file to take elsewhere: the weights every generation, "
                       "exploration and projection needs, and where the model came from in its header")
    q.add_argument("model", type=Path, help=MODEL_HELP)
    q.add_argument("--out", required=True, type=Path, help="the .safetensors file to write")
    q.add_argument("--licence", help="the licence recorded in the header (default: none, or a model file's own)")

    q = sub.add_parser("export-onnx", help="write the model's image-making network as one .onnx file, checked in "
                       "onnxruntime against PyTorch's images")
    q.add_argument("model", type=Path, help=MODEL_HELP)
    q.add_argument("--out", required=True, type=Path, help="the .onnx file to write")
    return p
