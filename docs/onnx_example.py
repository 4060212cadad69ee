"""Draw one image from a Latent Studio ONNX file with onnxruntime and NumPy alone (Pillow writes the PNG).

    pip install onnxruntime numpy pillow
    python onnx_example.py model.onnx --seed 3 --out seed-3.png [--label 2] [--psi 0.7]

The file comes from `python main.py export-onnx MODEL --out model.onnx`. Its header (ONNX metadata, key
"latent_studio") says what it takes. A seed gives the same latent as in the app (NumPy's default_rng), so this
draws the image `python main.py generate MODEL --seed 3 --count 1` draws, label included (the app's default label
is the seed modulo the number of labels). A VQ-VAE's file is its decoder: it takes a grid of code indices, which the
app's prior draws and this script cannot, so here the codes are random (a texture, not a picture).
"""
import argparse
import json

import numpy as np
import onnxruntime as ort
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="image.png")
    parser.add_argument("--label", type=int, help="conditional models: the label's index (default: seed modulo labels)")
    parser.add_argument("--psi", type=float, help="style-based models: truncation toward the mean of w (default 1)")
    args = parser.parse_args()

    options = ort.SessionOptions()
    options.log_severity_level = 3  # quiet: psi is an input with a default, which onnxruntime remarks on
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    header = json.loads(session.get_modelmeta().custom_metadata_map["latent_studio"])
    inputs, rng = header["inputs"], np.random.default_rng(args.seed)

    feeds = {}
    if "codes" in inputs:  # N x G x G indices into the codebook
        grid, size = header["codes"]["grid"], header["codes"]["codebook_size"]
        feeds["codes"] = rng.integers(0, size, (1, grid, grid), dtype=np.int64)
    else:  # N x latent_dim, exactly engine.sampling.latents_for_seed(seed, latent_dim)
        feeds["latent"] = rng.standard_normal((1, inputs["latent"][1])).astype(np.float32)
    if "label" in inputs:
        labels = len(header["label_names"])
        feeds["label"] = np.array([args.seed % labels if args.label is None else args.label], np.int64)
    if "psi" in inputs and args.psi is not None:  # left out, it is 1.0
        feeds["psi"] = np.array([args.psi], np.float32)

    image = (np.clip(session.run(["image"], feeds)[0][0], -1, 1) + 1) / 2  # C x H x W in [0, 1]
    if image.shape[0] == 4:  # colour and alpha, the colour premultiplied by alpha: made straight for the PNG
        image[:3] = np.where(image[3:] > 0, image[:3] / np.maximum(image[3:], 1e-6), 0).clip(0, 1)
    pixels = np.round(image * 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(args.out)
    print(f"wrote {args.out} ({header['family']} model {header['model_id']})")


if __name__ == "__main__":
    main()
