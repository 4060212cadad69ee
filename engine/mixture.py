"""Gaussian mixtures fitted in the latent space of the encoder families (VAE, conditional VAE), so the explorer can
show the training set's modes as places to browse and draw new images from one mode at a time.

The training images are encoded to their posterior means and fitted with scikit-learn's GaussianMixture (full
covariances, EM from a k-means start) for every count of components from 1 to min(max_components, N // 20), at
least twenty images a component; the count with the lowest BIC (Schwarz 1978) is kept. A prior N(0, I) sample
lands where the VAE's aggregate posterior is thin; sampling the mixture instead stays where the data is
(the "ex-post density estimation" of Ghosh et al. 2020, "From Variational to Deterministic Autoencoders", §4).

A fit is stored beside its checkpoint as `mixture-step-XXXXXX.json` (counts, BIC per count, model id) and
`mixture-step-XXXXXX.safetensors` (weights, means, covariances, precision Cholesky factors). Never a pickle,
never joblib: a mixture file is data, like every other file of a project. Sampling and membership are plain
NumPy; scikit-learn is needed only to fit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import checkpoints, files
from .files import FileRefused

SCHEMA_VERSION = 1
MIN_PER_COMPONENT = 20  # images a component should explain at least; bounds the counts tried on small datasets


@dataclass(eq=False)
class Mixture:
    weights: np.ndarray  # k: the share of the training set in each component, summing to 1
    means: np.ndarray  # k x D: the components' centres in latent space
    covariances: np.ndarray  # k x D x D: full covariances (with scikit-learn's small ridge, so all invertible)
    model_id: str = ""  # the model whose latent space this describes; a newer checkpoint needs a new fit
    bic: dict[int, float] = field(default_factory=dict)  # BIC of every count tried, lowest kept

    def __post_init__(self):
        self.weights = np.asarray(self.weights, np.float64)
        self.means = np.asarray(self.means, np.float64)
        self.covariances = np.asarray(self.covariances, np.float64)
        self._chol = np.linalg.cholesky(self.covariances)  # k x D x D, lower: sample = mean + L @ eps
        eye = np.eye(self.means.shape[1])
        # precision Cholesky as scikit-learn keeps it: precision = P @ P.T, P = inv(L).T
        self.precisions_cholesky = np.stack([np.linalg.solve(chol, eye).T for chol in self._chol])

    @property
    def components(self) -> int:
        return len(self.weights)

    @property
    def latent_dim(self) -> int:
        return self.means.shape[1]

    def sample(self, count: int, component: int | None = None, seed: int = 0) -> np.ndarray:
        """`count` float32 latents from the whole mixture, or from one component; the same seed gives the same."""
        rng = np.random.default_rng(seed)
        if component is None:
            chosen = rng.choice(self.components, size=count, p=self.weights / self.weights.sum())
        else:
            if not 0 <= component < self.components:
                raise ValueError(f"component {component} does not exist; this mixture has {self.components} "
                                 f"(0 to {self.components - 1})")
            chosen = np.full(count, component)
        eps = rng.standard_normal((count, self.latent_dim))
        return (self.means[chosen] + np.einsum("nij,nj->ni", self._chol[chosen], eps)).astype(np.float32)

    def log_likelihoods(self, latents: np.ndarray) -> np.ndarray:
        """N x k: log(weight_j) + log N(latent | mean_j, covariance_j)."""
        z = np.asarray(latents, np.float64).reshape(-1, self.latent_dim)
        out = np.empty((len(z), self.components))
        for j, (mean, p) in enumerate(zip(self.means, self.precisions_cholesky)):
            y = (z - mean) @ p
            out[:, j] = (np.log(self.weights[j]) + np.log(np.diag(p)).sum()
                         - 0.5 * (self.latent_dim * np.log(2 * np.pi) + (y * y).sum(1)))
        return out

    def probabilities(self, latents: np.ndarray) -> np.ndarray:
        """N x k responsibilities: how much each component explains each latent, rows summing to 1."""
        scores = self.log_likelihoods(latents)
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        return p / p.sum(axis=1, keepdims=True)

    def members(self, latents: np.ndarray) -> np.ndarray:
        """N component indices: the component most likely to have drawn each latent."""
        return self.log_likelihoods(latents).argmax(axis=1)

    predict = members  # scikit-learn's name for the same thing

    def save(self, stem: Path) -> Path:
        """Write `stem`.safetensors then `stem`.json (the JSON last: it marks the pair complete); returns the JSON."""
        import torch

        stem = Path(stem)
        tensors_path = stem.parent / f"{stem.name}.safetensors"
        tensors = {"weights": self.weights, "means": self.means, "covariances": self.covariances,
                   "precisions_cholesky": self.precisions_cholesky}
        files.save_tensors(tensors_path, {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items()},
                           meta={"kind": "mixture", "model_id": self.model_id})
        record = {"kind": "mixture", "schema_version": SCHEMA_VERSION, "model_id": self.model_id,
                  "components": self.components, "latent_dim": self.latent_dim,
                  "weights": [float(w) for w in self.weights], "bic": {str(k): v for k, v in self.bic.items()},
                  "tensors": tensors_path.name, "tensors_bytes": tensors_path.stat().st_size}
        json_path = stem.parent / f"{stem.name}.json"
        files.write_json(json_path, record)
        return json_path


def load_mixture(stem: Path) -> Mixture:
    """The mixture saved at `stem` (.json + .safetensors); raises FileRefused for anything else."""
    stem = Path(stem)
    json_path = stem.parent / f"{stem.name}.json"
    try:
        record = files.read_json(json_path)
    except (OSError, ValueError):
        raise FileRefused(f"{json_path.name} is not a readable mixture") from None
    if not isinstance(record, dict) or record.get("kind") != "mixture":
        raise FileRefused(f"{json_path.name} is not a Latent Studio mixture")
    tensors_path = json_path.parent / str(record.get("tensors", ""))
    if not tensors_path.is_file() or tensors_path.stat().st_size != record.get("tensors_bytes"):
        raise FileRefused(f"{json_path.name}: its tensors file is missing or incomplete")
    tensors, meta = files.load_tensors(tensors_path)
    if meta.get("kind") != "mixture" or not {"weights", "means", "covariances"} <= tensors.keys():
        raise FileRefused(f"{tensors_path.name} is not a Latent Studio mixture")
    weights, means, covariances = (tensors[k].double().numpy() for k in ("weights", "means", "covariances"))
    k, d = means.shape if means.ndim == 2 else (0, 0)
    if k == 0 or weights.shape != (k,) or covariances.shape != (k, d, d):
        raise FileRefused(f"{tensors_path.name} holds a mixture of inconsistent shapes")
    return Mixture(weights, means, covariances, record.get("model_id", ""),
                   {int(n): float(b) for n, b in record.get("bic", {}).items()})


def fit_mixture(model, images_uint8: np.ndarray, labels=None, max_components: int = 12, seed: int = 0,
                control=None) -> Mixture:
    """Encode the images (N x S x S x 3 uint8 at the model's size; a conditional model needs their labels) and fit
    the mixture whose count of components has the lowest BIC. Deterministic for a seed."""
    from sklearn.mixture import GaussianMixture

    from .models import Capability

    if not (model.can(Capability.ENCODER) and model.can(Capability.CONTINUOUS_LATENT)):
        raise ValueError(f"a {model.family} model has no encoder: mixtures are fitted in the latent space of the "
                         "VAE families")
    images = np.asarray(images_uint8)
    labels = None if labels is None else list(labels)
    latents = np.concatenate([model.encode(images[i:i + 256], None if labels is None else labels[i:i + 256])
                              for i in range(0, len(images), 256)]).astype(np.float64)
    if len(latents) < 2:
        raise ValueError("a mixture needs at least two encoded images")
    best, bic = None, {}
    for k in range(1, max(1, min(max_components, len(latents) // MIN_PER_COMPONENT)) + 1):
        if control is not None:
            control.check()
        gm = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=seed).fit(latents)
        bic[k] = float(gm.bic(latents))
        if best is None or bic[k] < bic[best.n_components]:
            best = gm
    return Mixture(best.weights_, best.means_, best.covariances_, model.id, bic)


def mixture_for(path, max_components: int = 12, seed: int = 0, device: str = "cpu", refit: bool = False,
                control=None) -> Mixture:
    """The mixture of the newest checkpoint of a project, a run or a checkpoint: loaded from beside it when one was
    fitted for that model already, else fitted on the project's training images and stored there."""
    from .dataset import load_dataset
    from .model import open_model
    from .project import Project

    checkpoint = checkpoints.meant_by(path)
    if checkpoint is None or not checkpoint.name.startswith("step-"):
        raise FileRefused(f"{Path(path).name} is not a project, run or checkpoint: mixtures are stored beside "
                          "checkpoints")
    stem = checkpoint.parent / f"mixture-{checkpoint.stem}"
    model = open_model(checkpoint, device)
    if not refit and (stem.parent / f"{stem.name}.json").is_file():
        mixture = load_mixture(stem)
        if mixture.model_id == model.id:
            return mixture
    root = checkpoint.parent.parent.parent.parent  # project / runs / <run> / checkpoints / step-XXXXXX.json
    if not Project.is_project(root):
        raise FileRefused(f"{checkpoint.name} is not inside a project, so its training images are unknown")
    data = load_dataset(Project.open(root), model.size, aspect=model.aspect)
    train = np.flatnonzero(~data.split) if (~data.split).any() else np.arange(len(data.split))
    labels = [data.label_names[i] for i in data.labels[train]] if model.cfg.num_classes else None
    mixture = fit_mixture(model, data.rgb(train), labels, max_components, seed, control)
    mixture.save(stem)
    return mixture
