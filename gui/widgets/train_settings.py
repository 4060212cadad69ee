"""The advanced training settings form: an editor for every TrainConfig field the `train` command takes, so
everything the engine can set, an artist can set here. The family's own options (its loss, R1, ...) show only for
the families that read them.

`set_config(config, options)` shows a config and which family options apply; `apply(config)` returns a copy with
the edited values; fields without an editor (schema_version, log_every, ...) pass through untouched. Must not
choose presets or import the engine: the Train room fills it from `api.suggest_config`.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLineEdit, QSpinBox, QToolButton, QWidget)

PRECISIONS = (("auto", "Automatic"), ("fp32", "fp32 (exact, slowest)"), ("bf16", "bf16"), ("fp16", "fp16"))
COMPILES = (("auto", "Automatic"), ("on", "On"), ("off", "Off"))
DEVICES = (("auto", "Automatic"), ("cuda", "CUDA GPU"), ("mps", "Apple GPU"), ("cpu", "CPU"))
LOSSES = (("", "The family's choice"), ("bce", "Non-saturating (BCE)"), ("hinge", "Hinge"), ("wgan-gp", "WGAN-GP"))
DECAYS = (("", "Automatic"), ("none", "None"), ("cosine", "Cosine, to 10%"))
SWITCH = (("", "The family's choice"), ("on", "On"), ("off", "Off"))  # None, True, False in TrainConfig
SWITCHES = ("spectral_norm", "minibatch_std")  # the options shown as a SWITCH
AUTOMATIC = -1  # a spin box's value for a field left to the family (None in TrainConfig)


def _spin(low: int, high: int, tip: str, step: int = 1, special: str = "") -> QSpinBox:
    box = QSpinBox(toolTip=tip)
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setGroupSeparatorShown(True)
    if special:
        box.setSpecialValueText(special)
    return box


def _real(low: float, high: float, decimals: int, step: float, tip: str, special: str = "") -> QDoubleSpinBox:
    box = QDoubleSpinBox(toolTip=tip)
    box.setDecimals(decimals)
    box.setRange(low, high)
    box.setSingleStep(step)
    if special:
        box.setSpecialValueText(special)
    return box


def _choice(items, tip: str) -> QComboBox:
    box = QComboBox(toolTip=tip)
    for value, title in items:
        box.addItem(title, value)
    return box


class ModelPicker(QWidget):
    """A model file (or project, run, checkpoint) to fine-tune from; empty: train from scratch."""
    changed = Signal()

    def __init__(self, demo: str = "", parent=None):
        super().__init__(parent)
        self.path = QLineEdit(placeholderText="none", clearButtonEnabled=True,
                              toolTip="Fine-tune an existing model (a model file, or a project, run or checkpoint) "
                                      "of the same family and shape on these images: good results sooner")
        self.browse = QToolButton(text="…", toolTip="Choose a model file")
        self.demo_button = QToolButton(text="Demo", toolTip="Start from the bundled demo's model")
        self.demo = demo
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.path, 1)
        row.addWidget(self.browse)
        row.addWidget(self.demo_button)
        self.path.textChanged.connect(self.changed)
        self.browse.clicked.connect(self._browse)
        self.demo_button.clicked.connect(lambda: self.path.setText(self.demo))
        self.demo_button.setVisible(bool(demo))

    def value(self) -> str:
        return self.path.text().strip()

    def setValue(self, value: str) -> None:  # noqa: N802 - the same name as the other editors' setter
        self.path.setText(value or "")

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Fine-tune from a model", str(Path.home()),
                                              "Models and checkpoints (*.safetensors *.json)")
        if path:
            self.path.setText(path)


class TrainSettings(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.steps = _spin(1, 10_000_000, "Training stops after this many steps in total", 100)
        self.minutes = _real(0, 100_000, 0, 1, "Also stop after this many minutes (0: no time limit)", "no limit")
        self.minutes.setSuffix(" min")
        self.batch = _spin(1, 4096, "Images per step. Larger is steadier and needs more memory")
        self.lr = _real(0.000001, 0.1, 6, 0.00005, "Learning rate. Lower it if the samples collapse or flicker")
        self.lr_decay = _choice(DECAYS, "How the learning rate changes over the run. Cosine: it falls smoothly to "
                                        "10% by the last step, which often ends a run sharper. Automatic: cosine "
                                        "for a time limit without a step count, else none")
        self.width = _spin(4, 1024, "Network width (channels). Wider learns more detail, trains slower")
        self.latent_dim = _spin(2, 2048, "Length of the latent vector you explore afterwards")
        self.checkpoint_every = _spin(1, 10_000_000, "Steps between saved checkpoints", 100)
        self.sample_every = _spin(1, 10_000_000, "Steps between sample grids (and updates of the Explore room)", 50)
        self.kid_every = _spin(AUTOMATIC, 10_000_000, "Steps between measurements of sample quality (KID) and "
                               "of copies (0: never)", 500, "automatic")
        self.early_stop_patience = _spin(AUTOMATIC, 1000, "Stop when this many checkpoints in a row were not "
                                         "better than the best (0: never)", 1, "automatic")
        self.seed = _spin(0, 2**31 - 1, "Fixes the initial weights and the order of batches")
        self.flip = QCheckBox("Mirror images left-right")
        self.flip.setToolTip("Doubles the variety for symmetric subjects; leave off for text, faces in profile, "
                             "or art that is not mirror-symmetric")
        self.device = _choice(DEVICES, "Where training runs. Automatic: a CUDA or Apple GPU when there is one, "
                                       "else the CPU")
        self.precision = _choice(PRECISIONS, "Number format of the maths. Automatic picks the fastest that is safe "
                                             "here")
        self.compile = _choice(COMPILES, "Compile the networks into GPU code (torch.compile). The build "
                                         "takes a minute or two of the time limit. Automatic: off, as the default "
                                         "model trained slower compiled on an H100")
        self.from_model = ModelPicker()
        self.base = QCheckBox("Start from the base model")
        self._base_name = ""  # the base model a new run would start from ("": none fits the project)
        self.from_model.changed.connect(self._enable_base)  # a model to fine-tune wins over the base
        # the families' own options: shown for the families that read them
        self.loss = _choice(LOSSES, "The adversarial loss")
        self.spectral_norm = _choice(SWITCH, "Spectral normalisation in the discriminator: steadier training")
        self.minibatch_std = _choice(SWITCH, "Lets the discriminator compare the images of each label in a "
                                     "batch, so the generator is pushed to vary the pictures of every label")
        self.r1 = _real(0, 100, 4, 0.01, "R1 penalty on real images: higher is steadier, lower is sharper "
                        "(0: off; StyleGAN: its own weight)")
        self.ada_target = _real(0, 1, 2, 0.05, "Adaptive augmentation's target: higher augments more against "
                                "overfitting small sets (0: fixed augmentation)")
        self.beta = _real(0, 100, 2, 0.5, "Weight of the KL term: higher makes a tidier latent space and blurrier "
                          "images (0: the family's choice)")
        self.codebook_size = _spin(0, 65536, "Codes the VQ-VAE learns (0: sized to the width)", 64, "automatic")
        self.temperature = _real(0.05, 5, 2, 0.05, "How boldly samples pick codes (lower is safer)")
        self.top_k = _spin(0, 65536, "Samples draw each code among the k likeliest only (0: all)", 1, "all")
        self.path_length = _real(0, 100, 2, 0.5, "Path-length regulariser: smoother latent space (0: off)")
        self.style_mixing = _real(0, 1, 2, 0.05, "How often training mixes two points' styles")
        self.options = ("loss", "spectral_norm", "minibatch_std", "r1", "ada_target", "beta", "codebook_size",
                        "temperature", "top_k", "path_length", "style_mixing")

        self.form = QFormLayout(self)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        for label, editor in (("Steps", self.steps), ("Time limit", self.minutes), ("Batch", self.batch),
                              ("Learning rate", self.lr), ("Learning-rate decay", self.lr_decay),
                              ("Width", self.width), ("Latent size", self.latent_dim),
                              ("Checkpoint every", self.checkpoint_every), ("Samples every", self.sample_every),
                              ("Quality every", self.kid_every), ("Early stop after", self.early_stop_patience),
                              ("Seed", self.seed), ("", self.flip), ("Device", self.device),
                              ("Precision", self.precision), ("Compile", self.compile),
                              ("Fine-tune from", self.from_model), ("", self.base),
                              ("Loss", self.loss), ("Spectral norm", self.spectral_norm),
                              ("Batch comparison", self.minibatch_std), ("R1", self.r1),
                              ("ADA target", self.ada_target), ("KL weight", self.beta),
                              ("Codebook size", self.codebook_size), ("Temperature", self.temperature),
                              ("Top-k", self.top_k), ("Path length", self.path_length),
                              ("Style mixing", self.style_mixing)):
            self.form.addRow(label, editor)
        for name in self.fields():
            editor = getattr(self, name)
            signal = {QCheckBox: "toggled", QComboBox: "currentIndexChanged"}.get(type(editor), None)
            getattr(editor, signal or ("changed" if isinstance(editor, ModelPicker) else "valueChanged")).connect(
                self.changed)

    def fields(self) -> tuple[str, ...]:
        """The TrainConfig fields this form edits."""
        return ("steps", "minutes", "batch", "lr", "lr_decay", "width", "latent_dim", "checkpoint_every",
                "sample_every", "kid_every", "early_stop_patience", "seed", "flip", "device", "precision",
                "compile", "from_model", "base") + self.options

    def set_demo(self, path: str) -> None:
        """Where the bundled demo's model is, for the Fine-tune from's Demo button ("" hides it)."""
        self.from_model.demo = path
        self.from_model.demo_button.setVisible(bool(path))

    def set_base(self, name: str) -> None:
        """Name the base model a new run would start from; where none fits the project ("") the box is off and
        says why."""
        self._base_name = name
        self.base.setText("Start from the base model" if name else "No base model fits")  # short: the form's width
        self.base.setToolTip(
            f"A new run starts from {name}, a model the app ships, trained on one or two thousand public-domain "
            "clip-art pictures: clean shapes sooner. Untick to train from random weights" if name else
            "The base models the app ships are Projected FastGANs of 64 px square pictures (with transparency or "
            "without), at the preset's width and latent size; a run of these settings trains from random weights")
        self._enable_base()

    def _enable_base(self) -> None:
        self.base.setEnabled(bool(self._base_name) and not self.from_model.value())

    def set_config(self, config, options=frozenset()) -> None:
        """Show `config`; of the family options, only those in `options` (the family's) are shown."""
        self.blockSignals(True)  # one `changed` for the whole config, not one per field
        try:
            for name in self.fields():
                editor, value = getattr(self, name), getattr(config, name)
                if name in SWITCHES:
                    value = {None: "", True: "on", False: "off"}[value]
                if isinstance(editor, QComboBox):
                    editor.setCurrentIndex(max(0, editor.findData(value)))
                elif isinstance(editor, QCheckBox):
                    editor.setChecked(bool(value))
                elif isinstance(editor, QSpinBox):
                    editor.setValue(AUTOMATIC if value is None else int(value))
                elif isinstance(editor, QDoubleSpinBox):
                    editor.setValue(float(value or 0))
                else:
                    editor.setValue(value)
            for name in self.options:
                self.form.setRowVisible(getattr(self, name), name in options)
        finally:
            self.blockSignals(False)
        self.changed.emit()

    def apply(self, config):
        values = {}
        for name in self.fields():
            editor = getattr(self, name)
            if isinstance(editor, QComboBox):
                values[name] = editor.currentData()
            elif isinstance(editor, QCheckBox):
                values[name] = editor.isChecked()
            else:
                values[name] = editor.value()
        for name in ("kid_every", "early_stop_patience"):
            values[name] = None if values[name] == AUTOMATIC else values[name]
        for name in SWITCHES:
            values[name] = {"": None, "on": True, "off": False}[values[name]]
        return replace(config, **values)
