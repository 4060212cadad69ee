"""The advanced training settings form: one editor per TrainConfig field an artist may want to change.

`set_config` shows a config, `apply(config)` returns a copy with the edited values; fields without an editor
(schema_version, log_every, ...) pass through untouched. Must not choose presets or import the engine: the
Train room fills it from `api.suggest_config`.
"""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QSpinBox, QWidget

PRECISIONS = (("auto", "Automatic"), ("fp32", "fp32 (exact, slowest)"), ("bf16", "bf16"), ("fp16", "fp16"))


def _spin(low: int, high: int, tip: str, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setGroupSeparatorShown(True)
    box.setToolTip(tip)
    return box


class TrainSettings(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.steps = _spin(1, 10_000_000, "Training stops after this many steps in total", 100)
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0, 100_000)
        self.minutes.setDecimals(0)
        self.minutes.setSuffix(" min")
        self.minutes.setSpecialValueText("no limit")
        self.minutes.setToolTip("Also stop after this many minutes (0: no time limit)")
        self.batch = _spin(1, 4096, "Images per step. Larger is steadier and needs more memory")
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(6)
        self.lr.setRange(0.000001, 0.1)
        self.lr.setSingleStep(0.00005)
        self.lr.setToolTip("Learning rate. Lower it if the samples collapse or flicker")
        self.width = _spin(4, 1024, "Network width (channels). Wider learns more detail, trains slower")
        self.latent_dim = _spin(2, 2048, "Length of the latent vector you explore afterwards")
        self.checkpoint_every = _spin(1, 10_000_000, "Steps between saved checkpoints", 100)
        self.sample_every = _spin(1, 10_000_000, "Steps between sample grids (and updates of the Explore room)",
                                  50)
        self.seed = _spin(0, 2**31 - 1, "Fixes the initial weights and the order of batches")
        self.flip = QCheckBox("Mirror images left-right")
        self.flip.setToolTip("Doubles the variety for symmetric subjects; leave off for text, faces in profile, "
                             "or art that is not mirror-symmetric")
        self.precision = QComboBox()
        for name, title in PRECISIONS:
            self.precision.addItem(title, name)
        self.precision.setToolTip("Number format of the maths. Automatic picks the fastest that is safe here")

        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        for label, editor in (("Steps", self.steps), ("Time limit", self.minutes), ("Batch", self.batch),
                              ("Learning rate", self.lr), ("Width", self.width), ("Latent size", self.latent_dim),
                              ("Checkpoint every", self.checkpoint_every), ("Samples every", self.sample_every),
                              ("Seed", self.seed), ("", self.flip), ("Precision", self.precision)):
            form.addRow(label, editor)
        for box in (self.steps, self.minutes, self.batch, self.lr, self.width, self.latent_dim,
                    self.checkpoint_every, self.sample_every, self.seed):
            box.valueChanged.connect(self.changed)
        self.flip.toggled.connect(self.changed)
        self.precision.currentIndexChanged.connect(self.changed)

    def set_config(self, config) -> None:
        self.blockSignals(True)  # one `changed` for the whole config, not one per field
        try:
            for name in ("steps", "batch", "width", "latent_dim", "checkpoint_every", "sample_every", "seed"):
                getattr(self, name).setValue(int(getattr(config, name)))
            self.minutes.setValue(float(config.minutes))
            self.lr.setValue(float(config.lr))
            self.flip.setChecked(bool(config.flip))
            self.precision.setCurrentIndex(max(0, self.precision.findData(config.precision)))
        finally:
            self.blockSignals(False)
        self.changed.emit()

    def apply(self, config):
        return replace(config, steps=self.steps.value(), minutes=self.minutes.value(), batch=self.batch.value(),
                       lr=self.lr.value(), width=self.width.value(), latent_dim=self.latent_dim.value(),
                       checkpoint_every=self.checkpoint_every.value(), sample_every=self.sample_every.value(),
                       seed=self.seed.value(), flip=self.flip.isChecked(), precision=self.precision.currentData())
