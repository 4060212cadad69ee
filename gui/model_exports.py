"""File → Export model… and Export ONNX…: the model shown in the Explore room (or else the project's newest) as one
model file to take elsewhere, or as one ONNX file for other tools (TouchDesigner, Unity, the web). The engine writes
and checks them on the QThreadPool; the window says how it went.

`ask_path` and `ask_licence` are the dialogs; tests replace them.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog

from .settings import export_folder
from .workers import run_task


def ask_path(parent, caption: str, start: str, pattern: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, caption, start, pattern)
    return path or None


def ask_licence(parent) -> str | None:
    text, ok = QInputDialog.getText(parent, "Export model", "Licence recorded in the file (for example CC BY 4.0; "
                                    "leave empty for none):")
    return text if ok else None


def model_to_export(window):
    """The model the artist is looking at: Explore's, else the project's newest; None when there is none."""
    info = getattr(window.explore_room, "model_info", lambda: None)()
    if info is not None:
        return info.path
    return None if window.project is None else str(window.project.root)


def export(window, kind: str, path: str | None = None, licence: str | None = None, on_done=None) -> None:
    """Export the model as a model file (`kind` "model") or an ONNX file ("onnx"), asking where unless `path`."""
    source = model_to_export(window)
    if source is None or window.api is None:
        window.notify("Open a project with a trained model first", "warning")
        return
    suffix, pattern = (".safetensors", "Model files (*.safetensors)") if kind == "model" else \
        (".onnx", "ONNX files (*.onnx)")
    folder = export_folder(window.project)
    if path is None:
        path = ask_path(window, f"Export {'model' if kind == 'model' else 'ONNX'}", str(folder / f"model{suffix}"),
                        pattern)
        if path is None:
            return
    if kind == "model" and licence is None:
        licence = ask_licence(window)
        if licence is None:
            return
    api = window.api
    window.notify(f"Exporting {Path(path).name}…")

    def job(_on_event, _control):
        if kind == "model":
            return f"Saved {api.export_model(source, path, licence=licence)}: it generates, explores and fine-tunes " \
                   "on its own"
        done = api.export_onnx(source, path)
        return f"Saved {done.path}: checked in onnxruntime, at most {done.max_difference} grey levels from the app's " \
               "images"

    run_task(job, on_done=lambda text: (window.notify(text), on_done and on_done(path)),
             on_failed=lambda reason: window.notify(f"Export failed: {reason}", "error"), owner=window)
