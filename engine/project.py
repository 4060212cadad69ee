"""The project folder: create, open, paths and format version. Everything an artist makes lives inside it.

    MyProject/
      project.json            name, format version, dataset settings (size, crop, background)
      dataset/images-64.npy   uint8 N x H x W x 4 (RGBA) per size, read with mmap
      dataset/manifest.json   one row per kept image: source, content hash, label, original size, split
      dataset/report.json     every rejected file with its reason, and the last ingest's counts
      runs/0001-dcgan-32/     config.json, log.jsonl, checkpoints/, samples/
      bookmarks.json          saved latent points
      exports/                where the app offers to save PNGs, loops, models and translations first
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from . import files
from .aspect import suffix

FORMAT_VERSION = 1


@dataclass
class DatasetSettings:
    size: int = 64  # the long side of the training images; a cache exists per size (and aspect)
    crop: str = "auto"  # "center" crops to the frame, "pad" pads with transparency, "auto" pads only cut-outs
    background: tuple[int, int, int] = (255, 255, 255)  # transparent pixels are composited onto this for RGB models
    sources: list[str] = field(default_factory=list)  # folders, files and zips ingested so far, absolute paths
    alpha: str = "auto"  # models learn transparency: "on", "off", or "auto" (when a quarter of the images use it)
    layout: str = "images"  # "images"; "paired" (A -> B pairs, pix2pix); "unpaired" (two collections, CycleGAN)
    aspect: str = "auto"  # what models draw: "1:1", "2:1", "1:2", "4:3", "3:4" (width:height), or "auto" (the images')


@dataclass
class Project:
    root: Path
    name: str
    dataset: DatasetSettings

    # --- paths ---------------------------------------------------------------------------------------------------
    @property
    def json_path(self) -> Path:
        return self.root / "project.json"

    @property
    def dataset_dir(self) -> Path:
        return self.root / "dataset"

    @property
    def manifest_path(self) -> Path:
        return self.dataset_dir / "manifest.json"

    @property
    def report_path(self) -> Path:
        return self.dataset_dir / "report.json"

    def cache_path(self, size: int, aspect: str = "1:1") -> Path:
        """The decoded images at `size` px (the long side): images-64.npy for squares, images-64-2x1.npy for 2:1."""
        return self.dataset_dir / f"images-{size}{suffix(aspect)}.npy"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def exports_dir(self) -> Path:  # where the app offers to save exports first
        return self.root / "exports"

    @property
    def bookmarks_path(self) -> Path:
        return self.root / "bookmarks.json"

    # --- life cycle ----------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path, name: str | None = None) -> "Project":
        root = Path(root).resolve()
        root.mkdir(parents=True, exist_ok=True)
        project = cls(root=root, name=name or root.name, dataset=DatasetSettings())
        project.save()
        return project

    @classmethod
    def open(cls, root: Path) -> "Project":
        root = Path(root).resolve()
        data = files.read_json(root / "project.json")
        if data.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(f"{root} was made by a newer Latent Studio (format {data['format_version']})")
        known = {f.name for f in fields(DatasetSettings)}
        settings = DatasetSettings(**{k: v for k, v in data.get("dataset", {}).items() if k in known})
        settings.background = tuple(settings.background)
        return cls(root=root, name=data.get("name", root.name), dataset=settings)

    @classmethod
    def open_or_create(cls, root: Path) -> "Project":
        return cls.open(root) if (Path(root) / "project.json").exists() else cls.create(root)

    @staticmethod
    def is_project(root: Path) -> bool:
        return (Path(root) / "project.json").is_file()

    def save(self) -> None:
        files.write_json(self.json_path, {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "dataset": asdict(self.dataset),
        })

    # --- runs ----------------------------------------------------------------------------------------------------
    def runs(self) -> list[Path]:
        """Run folders, oldest first (their names start with a counter)."""
        if not self.runs_dir.is_dir():
            return []
        return sorted(p for p in self.runs_dir.iterdir() if p.is_dir() and re.match(r"^\d{4}-", p.name))

    def new_run_dir(self, label: str) -> Path:
        runs = self.runs()
        number = int(runs[-1].name[:4]) + 1 if runs else 1
        path = self.runs_dir / f"{number:04d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', label)}"
        path.mkdir(parents=True)
        return path
