"""What leaves the studio: PNGs that remember their latent, looping GIF/MP4 animations, batches of images."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import files
from .sampling import latents_for_seed


def latent_record(model, latent: np.ndarray, seed: int | None = None, label: str | None = None,
                  truncation: float | None = None) -> dict:
    """What a PNG carries so the exact image can be made again: model id, seed and the latent itself."""
    record = {"model_id": model.id, "family": model.family, "seed": seed,
              "latent": [float(v) for v in np.asarray(latent, np.float32).reshape(-1)]}
    if label is not None:
        record["label"] = label
    if truncation is not None:
        record["truncation"] = truncation
    record.update(model.sampling())  # a VQ-VAE's temperature and top-k
    return record


def export_png(model, latent: np.ndarray, path: Path, seed: int | None = None, label: str | None = None,
               truncation: float | None = None) -> Path:
    """Render `latent` (already truncated: `truncation` is only recorded) and save it with its record."""
    if label is not None:
        label = model.label_names[model.label_index(label)]  # an index or a name in, always the name recorded
    image = model.render(np.asarray(latent, np.float32).reshape(1, -1), label)[0]
    files.save_png(Path(path), image, latent_record(model, latent, seed, label, truncation))
    return Path(path)


def read_png_latent(path: Path) -> dict | None:
    """The record of a PNG we exported, with its latent as a float32 array; None for any other picture."""
    record = files.read_png_info(Path(path))
    if not record or "latent" not in record:
        return None
    record["latent"] = np.asarray(record["latent"], np.float32)
    return record


def generate(model, count: int, out: Path, seed: int = 0, truncation: float = 1.0, label=None) -> list[Path]:
    """`count` PNGs; image i uses seed `seed + i`, so each can be reproduced alone. A conditional model draws
    `label` (a name or index), or with none every label in turn (seed modulo the number of labels)."""
    names = model.label_names if model.cfg.num_classes else []
    if label is not None:
        label = model.label_names[model.label_index(label)]  # an unknown label fails before anything is written
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for start in range(0, count, 64):
        seeds = list(range(seed + start, seed + min(count, start + 64)))
        latents = np.concatenate([latents_for_seed(s, model.latent_dim, 1, truncation) for s in seeds])
        labels = [label if label is not None else names[s % len(names)] for s in seeds] if names else None
        for i, (s, latent, image) in enumerate(zip(seeds, latents, model.render(latents, labels))):
            path = out / f"seed-{s:06d}.png"
            record = latent_record(model, latent, s, labels[i] if labels else None, truncation=truncation)
            files.save_png(path, image, record)
            paths.append(path)
    return paths


def export_animation(model, latents: np.ndarray, path: Path, fps: int = 24, scale: int = 1) -> Path:
    """Render every latent as a frame and write a looping GIF, or an MP4 through imageio-ffmpeg's bundled ffmpeg."""
    import imageio.v3 as iio

    path = Path(path)
    frames = np.concatenate([model.render(part) for part in np.array_split(latents, max(1, len(latents) // 32))])
    if scale > 1:
        frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    suffix = path.suffix.lower()
    with files.atomic_path(path) as tmp:
        if suffix == ".gif":
            iio.imwrite(tmp, frames, extension=".gif", duration=1000 / fps, loop=0)
        elif suffix == ".mp4":
            if frames.shape[1] % 16:  # H.264 encoders want sides divisible by 16
                side = (frames.shape[1] // 16 + 1) * 16
                frames = _resize_nearest(frames, side)
            _write_mp4(tmp, frames, fps)
        else:
            raise ValueError(f"unknown animation format {suffix!r}: use .gif or .mp4")
    return path


def _write_mp4(path: Path, frames: np.ndarray, fps: int) -> None:
    import imageio.v2 as iio2

    with iio2.get_writer(str(path), format="FFMPEG", mode="I", fps=fps, codec="libx264",
                         quality=8, macro_block_size=16, output_params=["-f", "mp4"]) as writer:
        for frame in frames:
            writer.append_data(frame)


def _resize_nearest(frames: np.ndarray, side: int) -> np.ndarray:
    idx = (np.arange(side) * frames.shape[1] / side).astype(int)
    return frames[:, idx][:, :, idx]
