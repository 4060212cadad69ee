"""What leaves the studio: PNGs that remember their latent, looping GIF/MP4 animations, batches of images."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from . import files
from .sampling import latents_for_seed

GENERATE_BATCH = 64  # images drawn and written at a time


def latent_record(model, batch: dict, index: int = 0, seed: int | None = None,
                  truncation: float | None = None) -> dict:
    """What a PNG carries so the exact image can be made again: model id, seed, and the input as the family
    records it (the latent itself; a label by name)."""
    record = {"model_id": model.id, "family": model.family, "seed": seed, **model.inputs.record(batch, index)}
    if "label_index" in record:
        record["label"] = model.label_names[record.pop("label_index")]
    if truncation is not None:
        record["truncation"] = truncation
    record.update(model.points_in_w(batch, index))
    record.update(model.sampling())  # a VQ-VAE's temperature and top-k
    return record


def export_png(model, latent: np.ndarray, path: Path, seed: int | None = None, label: str | None = None,
               truncation: float | None = None) -> Path:
    """Render `latent` (already truncated: `truncation` is only recorded) and save it with its record."""
    if label is not None:
        model.label_index(label)  # an unknown label, or one given to a model without labels, is an error
    batch = model.batch(latent, None if label is None else [label])
    files.save_png(Path(path), model.draw(batch)[0], latent_record(model, batch, 0, seed, truncation))
    return Path(path)


def export_look(model, look, path: Path, seed: int | None = None, truncation: float | None = None) -> Path:
    """Render an explorer look (its latent already truncated where the family truncates z) and save it with its
    record: the latent, label, and a style-based model's ψ, mix and move in W, with both points in W."""
    batch = model.inputs.of_looks([look], model.device)
    files.save_png(Path(path), model.draw(batch)[0], latent_record(model, batch, 0, seed, truncation))
    return Path(path)


def save_projection(model, projection, path: Path, source: str | None = None) -> Path:
    """A projection's image with its point, like any export (and the image it was projected from)."""
    labels = None if projection.label is None else [projection.label]
    record = latent_record(model, model.batch(projection.latent, labels))
    record.update(projected_from=source, error=projection.error)
    files.save_png(Path(path), projection.image, record)
    return Path(path)


def read_png_latent(path: Path) -> dict | None:
    """The record of a PNG we exported, with its latent as a float32 array; None for any other picture."""
    record = files.read_png_info(Path(path))
    if not record or "latent" not in record:
        return None
    record["latent"] = np.asarray(record["latent"], np.float32)
    return record


def generate(model, count: int, out: Path, seed: int = 0, truncation: float = 1.0, label=None,
             mix_seed: int | None = None, mix: str | tuple = "coarse") -> list[Path]:
    """`count` PNGs; image i uses seed `seed + i`, so each can be reproduced alone (the family says what a seed
    draws: a conditional model draws `label`, a name or index, or with none every label in turn). With `mix_seed`,
    a style-based model takes the `mix` styles (coarse, middle, fine) of every image from that seed's point."""
    if model.directions:
        raise ValueError(f"a {model.family} model translates pictures rather than drawing new ones: use "
                         "`translate MODEL PICTURES --out DIR`")
    labels = None if label is None else [model.label_index(label)]  # an unknown label fails before any write
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for start in range(0, count, GENERATE_BATCH):
        seeds = list(range(seed + start, seed + min(count, start + GENERATE_BATCH)))
        batch = model.inputs.for_seeds(seeds, model.device, truncation, None if labels is None else labels * len(seeds))
        if mix_seed is not None:
            batch = model.mix(batch, latents_for_seed(mix_seed, model.latent_dim), mix)
        for i, (s, image) in enumerate(zip(seeds, model.draw(batch))):
            path = out / f"seed-{s:06d}.png"
            files.save_png(path, image, latent_record(model, batch, i, s, truncation))
            paths.append(path)
    return paths


def export_animation(model, latents: np.ndarray, path: Path, fps: int = 24, scale: int = 1,
                     background=(0, 0, 0)) -> Path:
    """Render every latent as a frame and write a looping GIF (Pillow), or an MP4 through imageio-ffmpeg's bundled
    ffmpeg. Frames with alpha keep it in a GIF (where a pixel is either transparent or not) and are laid over
    `background` in an MP4, which has no transparency."""
    path = Path(path)
    frames = np.concatenate([model.render(part) for part in np.array_split(latents, max(1, len(latents) // 32))])
    if scale > 1:
        frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    suffix = path.suffix.lower()
    with files.atomic_path(path) as tmp:
        if suffix == ".gif":
            _write_gif(tmp, frames, fps)
        elif suffix == ".mp4":
            if frames.shape[-1] == 4:
                from .dataset import composite

                frames = composite(frames, background)
            if frames.shape[1] % 16 or frames.shape[2] % 16:  # H.264 encoders want sides divisible by 16
                frames = _resize_nearest(frames, -(-frames.shape[1] // 16) * 16, -(-frames.shape[2] // 16) * 16)
            _write_mp4(tmp, frames, fps)
        else:
            raise ValueError(f"unknown animation format {suffix!r}: use .gif or .mp4")
    return path


def _write_gif(path: Path, frames: np.ndarray, fps: int) -> None:
    from PIL import Image

    if frames.shape[-1] == 4:  # 255 colours of each frame, and the 256th for its transparent pixels
        pictures = []
        for frame in frames:
            picture = Image.fromarray(np.ascontiguousarray(frame[..., :3])).quantize(255)
            indices = np.asarray(picture).copy()
            indices[frame[..., 3] < 128] = 255
            paletted = Image.fromarray(indices, "P")
            paletted.putpalette(picture.getpalette()[:765] + [0, 0, 0])
            pictures.append(paletted)
        first, *rest = pictures
        first.save(path, format="GIF", save_all=True, append_images=rest, duration=1000 / fps, loop=0,
                   transparency=255, disposal=2)
        return
    first, *rest = [Image.fromarray(frame) for frame in frames]
    first.save(path, format="GIF", save_all=True, append_images=rest, duration=1000 / fps, loop=0)


def _write_mp4(path: Path, frames: np.ndarray, fps: int) -> None:
    """H.264 through the ffmpeg binary inside imageio-ffmpeg's wheel, run here rather than through imageio's
    writer, which ignores ffmpeg's exit status: on a full disk it left a broken file and said nothing."""
    import subprocess

    import imageio_ffmpeg

    n, h, w, _ = frames.shape
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p",
               "-crf", "18", "-f", "mp4", str(path)]
    done = subprocess.run(command, input=np.ascontiguousarray(frames, np.uint8).tobytes(), capture_output=True)
    if done.returncode:
        said = done.stderr.decode(errors="replace")
        code = re.search(r"error code: -(\d+) \(([^)]+)\)", said)  # the system's error, e.g. a full disk
        last = (said.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise OSError(int(code[1]), code[2]) if code else RuntimeError(f"ffmpeg: {last}")


def _resize_nearest(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    rows = (np.arange(height) * frames.shape[1] / height).astype(int)
    columns = (np.arange(width) * frames.shape[2] / width).astype(int)
    return frames[:, rows][:, :, columns]
