"""ONNX export: a model's image-making network as one .onnx file that onnxruntime (or any ONNX runtime) runs alone,
without Python, PyTorch or this app. `python main.py export-onnx MODEL --out FILE.onnx`.

What the file takes and makes (docs/onnx_example.py runs one with onnxruntime and NumPy alone):
- `latent`: N x latent_dim float32, the same latents `generate` draws for its seeds (engine.sampling.latents_for_seed).
  Families that truncate by scaling z take the latent already truncated.
- `label`: N int64, for conditional families (the index into the header's label_names).
- `psi`: style-based families (StyleGAN2-lite) only: ψ, the truncation toward the mean of w, one value or one per
  image; it is an input with a default of 1.0 (an initializer), so it may be left out. The per-layer noise, fixed at
  generation, is baked into the file, so a latent draws the same image as in the app.
- `codes`: a VQ-VAE's file is its decoder: N x G x G int64 indices into its codebook, G the side of its code grid
  (the header's "codes" field gives G and the codebook size). The Transformer prior that draws codes one at a time
  is not in the file: in the app a seed's latent picks each code by inverse CDF (vqvae.py), and the verification
  feeds exactly those codes.
- `image`: N x C x H x W float32 in [-1, 1]. The batch size N is free.

Why the TorchScript exporter (`dynamo=False`) with a fixed opset: it needs nothing beyond PyTorch (the dynamo
exporter, the default since PyTorch 2.9, also needs `onnxscript`), it is in every PyTorch from 2.4 on (2.14 still has
it, deprecated: should a release drop it, `_trace` is the one call to change), and it traces these plain feed-forward
decoders exactly. `onnx` only writes the header and checks the file. Spectral normalisation, where a network has it,
is baked into plain weights on a copy first, so no parametrisation is left in the graph.

Every export is checked before the file appears: only the .onnx is copied into an empty folder (so an external data
file would be missed), run in onnxruntime at batch 1 and 5 on the inputs `generate` uses for seeds 0-4, and its
images compared with PyTorch's uint8 images; more than MAX_GREY_LEVELS apart is an error and nothing is written.
"""
from __future__ import annotations

import copy
import json
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import files
from .models import InputKind
from .pixels import to_uint8

OPSET = 17  # fixed, so a file does not depend on the PyTorch that wrote it; onnxruntime has run opset 17 since 2022
MAX_GREY_LEVELS = 2  # the most a pixel of onnxruntime's image may differ from PyTorch's (float rounding, not bugs)
CHECK_SEEDS = (0, 1, 2, 3, 4)  # batch 1 is the first seed, batch 5 all of them
HEADER_KEY = "latent_studio"  # the ONNX metadata_props key of our JSON header


@dataclass(frozen=True)
class OnnxExport:
    path: Path
    inputs: tuple[str, ...]  # graph input names, in order
    max_difference: int  # the largest difference, in grey levels, between onnxruntime's and PyTorch's images


class _Graph(nn.Module):
    """What the file computes: named inputs -> the family's sampler -> image in [-1, 1]. Latent-based families go
    through their own `Family.sample`, so the graph is the same forward the app renders with; a VQ-VAE's graph is
    its decoder from codes."""

    def __init__(self, model, names: tuple[str, ...]):
        super().__init__()
        self.net, self.contract, self.names = _plain(model.net), model.contract, names

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        given = dict(zip(self.names, tensors))
        if "codes" in given:
            return self.net.decode_codes(given["codes"])
        batch = {"z": given["latent"]}
        batch.update({key: given[key] for key in ("label", "psi") if key in given})
        return self.contract.sample(self.net, batch).clamp(-1, 1)


def _plain(net: nn.Module) -> nn.Module:
    """A copy of `net` with spectral normalisation (either API) folded into plain weights. In eval mode, so the
    stored power-iteration vectors are used as they are, exactly as when the model renders."""
    from torch.nn.utils import parametrize
    from torch.nn.utils.spectral_norm import SpectralNorm

    net = copy.deepcopy(net).eval()
    for module in list(net.modules()):
        if parametrize.is_parametrized(module):
            # a deep copy shares its parametrised class with the original, and removing a parametrisation deletes
            # the class's property: the copy gets a class of its own, or the model itself would lose its weights
            cls = type(module)
            module.__class__ = type(cls.__name__, cls.__bases__, dict(cls.__dict__))
            for name in list(module.parametrizations):
                parametrize.remove_parametrizations(module, name, leave_parametrized=True)
        if any(isinstance(hook, SpectralNorm) for hook in module._forward_pre_hooks.values()):
            torch.nn.utils.remove_spectral_norm(module)
    return net


def input_names(model) -> tuple[str, ...]:
    """The graph's inputs for a model, from its family's contract; a family that cannot export says why."""
    kind = model.inputs.kind
    if kind == InputKind.IMAGE:
        raise ValueError(f"a {model.family} model translates images; ONNX export covers models that draw images")
    if kind == InputKind.CODES:
        if not hasattr(model.net, "decode_codes"):
            raise ValueError(f"a {model.family} model draws codes without a decoder of codes, which ONNX export needs")
        return ("codes",)
    labels = ("label",) if model.inputs.num_classes else ()
    return ("latent",) + labels + (("psi",) if kind == InputKind.STYLES else ())


@torch.inference_mode()
def reference(model, seeds) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The graph's inputs for `seeds` as `generate` draws them (labels each in turn, ψ at its default), and
    PyTorch's uint8 images for them (engine.pixels.to_uint8 of the family's forward). For a VQ-VAE the inputs are
    the codes its prior draws for the seeds' latents, as its sampler does (vqvae.VQSampler.forward), and the images
    are their decoding: the prior runs once, since it is what costs (a Transformer sampled code by code)."""
    batch = model.inputs.for_seeds(list(seeds), model.device)
    if model.inputs.kind == InputKind.CODES:
        codes = model.net.draw_codes(batch["z"])
        return {"codes": codes.cpu().numpy()}, to_uint8(model.net.decode_codes(codes))
    given = {"latent": batch["z"].cpu().numpy()}
    if "label" in batch:
        given["label"] = batch["label"].cpu().numpy().astype(np.int64)
    return given, model.draw(batch)


def export_onnx(source, out) -> OnnxExport:
    """A project, run, checkpoint or model file -> one verified .onnx file at `out` (see the module docstring).
    On the CPU, where PyTorch's images and onnxruntime's are compared."""
    from .model import open_model

    try:
        import onnx  # noqa: F401 - both are needed below; say so before any work
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ValueError("ONNX export needs the onnx and onnxruntime packages: pip install onnx onnxruntime") from None
    model = open_model(source)
    names = input_names(model)
    given, expected = reference(model, CHECK_SEEDS)
    out = Path(out)
    with tempfile.TemporaryDirectory() as work:
        written = Path(work) / "model.onnx"
        _trace(model, names, written, given)
        _finish(written, model, names)
        difference = verify(written, given, expected, model.family)
        with files.atomic_path(out) as tmp:
            shutil.copyfile(written, tmp)
    return OnnxExport(out, names, difference)


def _trace(model, names: tuple[str, ...], path: Path, given: dict[str, np.ndarray]) -> None:
    """Trace the graph on two of the reference inputs (not one: a batch of one could be taken for a constant)."""
    example = {key: torch.from_numpy(value[:2]) for key, value in given.items()}
    if "psi" in names:
        example["psi"] = torch.ones(2)
    dynamic = {name: {0: "batch"} for name in names if name != "psi"}
    dynamic.update(image={0: "batch"}, **({"psi": {0: "psi_count"}} if "psi" in names else {}))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice, tracer notes on shapes
        torch.onnx.export(_Graph(model, names), tuple(example[name] for name in names), str(path), dynamo=False,
                          opset_version=OPSET, input_names=list(names), output_names=["image"],
                          dynamic_axes=dynamic, do_constant_folding=True)


def _finish(path: Path, model, names: tuple[str, ...]) -> None:
    """Give ψ its default (an initializer behind the graph input) and write our header into the file's metadata."""
    import onnx
    from onnx import helper, numpy_helper

    from .model_file import app_version

    proto = onnx.load(str(path))
    if "psi" in names:
        proto.graph.initializer.append(numpy_helper.from_array(np.ones(1, np.float32), "psi"))
    out = model.output
    shapes = {"latent": ["N", model.latent_dim], "label": ["N"], "psi": ["1 or N"]}
    header = {"kind": "onnx", "family": model.family, "model_id": model.id, "step": model.step,
              "label_names": list(model.label_names), "app_version": app_version(), "opset": OPSET,
              "inputs": {name: shapes.get(name) for name in names},
              "output": {"image": ["N", out.channels, out.height, out.width], "range": [-1, 1]}}
    if "codes" in names:
        grid = model.net.code_grid
        header["inputs"]["codes"] = ["N", grid, grid]
        header["codes"] = {"grid": grid, "codebook_size": model.codebook_size}
    image = proto.graph.output[0].type.tensor_type.shape.dim  # shape inference leaves Resize's sides symbolic
    for dim, value in zip(image[1:], (out.channels, out.height, out.width)):
        dim.dim_value = value
    helper.set_model_props(proto, {HEADER_KEY: json.dumps(header)})
    proto.doc_string = (f"Latent Studio {model.family} model {model.id}: inputs {', '.join(names)}; output image "
                        f"N x {out.channels} x {out.height} x {out.width} in [-1, 1]"
                        + ("; channels are colour premultiplied by alpha, then alpha" if out.channels == 4 else ""))
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def verify(path: Path, given: dict[str, np.ndarray], expected: np.ndarray, family: str) -> int:
    """Run the file alone in onnxruntime at batch 1 and at the full batch (5) of `reference`'s inputs and compare
    with PyTorch's uint8 `expected`; returns the largest difference in grey levels, or raises ValueError beyond
    MAX_GREY_LEVELS."""
    import onnxruntime as ort

    worst = 0
    with tempfile.TemporaryDirectory() as alone:
        copy_ = Path(alone) / path.name  # nothing else beside it: external data would be missing here
        shutil.copyfile(path, copy_)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, torch.get_num_threads())
        options.log_severity_level = 3  # psi's default makes onnxruntime remark that psi is not a constant
        session = ort.InferenceSession(str(copy_), options, providers=["CPUExecutionProvider"])
        for n in (1, len(expected)):
            image = session.run(["image"], {key: value[:n] for key, value in given.items()})[0]
            got = to_uint8(torch.from_numpy(image)).astype(np.int16)
            if got.shape != expected[:n].shape:
                raise ValueError(f"the ONNX graph of this {family} model made images of shape {got.shape[1:]} at "
                                 f"batch {n}, PyTorch {expected.shape[1:]}")
            worst = max(worst, int(np.abs(got - expected[:n].astype(np.int16)).max()))
    if worst > MAX_GREY_LEVELS:
        raise ValueError(f"the ONNX graph of this {family} model draws images up to {worst} grey levels away "
                         f"from PyTorch's (at most {MAX_GREY_LEVELS} allowed); no file was written")
    return worst
