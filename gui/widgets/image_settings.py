"""The Dataset room's row of image settings: training resolution, crop, transparency, shape and background
colour. It shows the project's choices and says, by its signals, which one the artist changed; the room saves
them and rebuilds the images."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

SIZES = (16, 32, 64, 128, 256)
CROPS = (("auto", "Automatic"), ("center", "Center crop"), ("pad", "Pad to fit"))
CROP_WORDS = {"auto": "cut-outs padded, the rest cropped", "center": "center crop", "pad": "pad to fit"}
ALPHA_CHOICES = (("auto", "Automatic"), ("on", "On"), ("off", "Off"))
ASPECT_CHOICES = (("auto", "Automatic"), ("1:1", "1:1 square"), ("2:1", "2:1 wide"), ("1:2", "1:2 tall"),
                  ("4:3", "4:3 landscape"), ("3:4", "3:4 portrait"))


class ImageSettings(QWidget):
    size_or_crop_chosen = Signal()
    alpha_chosen = Signal()
    aspect_chosen = Signal()
    background_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.size_box = _choices([(size, f"{size} px") for size in SIZES],
                                 "Training resolution. Larger looks better and trains slower; 64 px is a good start "
                                 "on a laptop.", self.size_or_crop_chosen)
        self.crop_box = _choices(CROPS, "How pictures of another shape fit the models' shape: crop the middle, or "
                                 "pad the sides (transparent, shown on the background colour). Automatic pads "
                                 "cut-outs, so no part of them is cut, and crops photos, so they fill the frame",
                                 self.size_or_crop_chosen)
        self.alpha_box = _choices(ALPHA_CHOICES, "Whether models learn and make transparency. Automatic turns it on "
                                  "when a quarter of the images use it (cut-outs, sprites)", self.alpha_chosen)
        self.aspect_box = _choices(ASPECT_CHOICES, "The shape of the pictures models make (width:height). Automatic "
                                   "picks the one nearest your images' usual shape, counting cut-outs (framed "
                                   "whole in any shape) as square, the shape of the base models", self.aspect_chosen)
        self.background_button = QPushButton("Background")
        self.background_button.setToolTip("The colour transparent pictures are laid on: what models without "
                                          "transparency learn, and the ground of MP4 exports of models with it")
        self.background_button.clicked.connect(self.background_clicked)

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for title, box in (("Resolution", self.size_box), ("Crop", self.crop_box),
                           ("Transparency", self.alpha_box), ("Shape", self.aspect_box)):
            row.addWidget(QLabel(title))
            row.addWidget(box)
        row.addWidget(self.background_button)

    def show_settings(self, settings, transparent: tuple[int, int, bool], auto_aspect: str) -> None:
        """The project's dataset settings; `transparent` is (images using transparency, images, whether "auto"
        turns it on), `auto_aspect` the shape nearest the images' median."""
        self.size_box.setCurrentIndex(max(0, self.size_box.findData(settings.size)))
        self.crop_box.setCurrentIndex(max(0, self.crop_box.findData(settings.crop)))
        self.alpha_box.setCurrentIndex(max(0, self.alpha_box.findData(settings.alpha)))
        using, count, automatic = transparent
        on = learns_alpha(settings, automatic)
        self.alpha_box.setItemText(0, f"Automatic: {'on' if on else 'off'}")
        self.alpha_box.setToolTip(f"{using:,} of your {count:,} images use transparency. Models "
                                  f"{'learn and make' if on else 'do not learn'} it; exports are "
                                  f"{'RGBA' if on else 'RGB'}. Automatic turns it on when a quarter of the images "
                                  "use it")
        self.aspect_box.setCurrentIndex(max(0, self.aspect_box.findData(settings.aspect)))
        self.aspect_box.setItemText(0, f"Automatic: {auto_aspect}")
        swatch = QPixmap(12, 12)
        swatch.fill(QColor(*settings.background))
        self.background_button.setIcon(QIcon(swatch))


def learns_alpha(settings, automatic: bool) -> bool:
    """Whether the project's models learn transparency: its setting, or (automatic) what its images call for."""
    return settings.alpha == "on" or (settings.alpha == "auto" and automatic)


def _choices(items, tip: str, chosen: Signal) -> QComboBox:
    box = QComboBox()
    for value, title in items:
        box.addItem(title, value)
    box.setToolTip(tip)
    box.activated.connect(chosen)
    return box
