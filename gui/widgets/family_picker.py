"""Which kind of model to train: the families in the order the engine recommends for the project's images, the ones
that cannot train on them greyed out with the reason in their tooltip, and a line on the one shown. It owns three
widgets (box, text, labels_hint) that the Train room lays out in its form, one row each."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QComboBox, QLabel


class FamilyPicker(QObject):
    picked = Signal()  # the artist chose a family in the box

    def __init__(self, parent=None):
        super().__init__(parent)
        self.api = None
        self.chosen: str | None = None  # the family the artist picked, if they did
        self.box = QComboBox()
        self.box.setToolTip("The kind of generative model to train")
        self.box.activated.connect(self._on_picked)
        self.text, self.labels_hint = QLabel(), QLabel()  # a line on the family shown; the labels found, if any
        for label in (self.text, self.labels_hint):
            label.setWordWrap(True)
        self.labels_hint.hide()

    def set_api(self, api) -> None:
        self.api = api
        self.box.clear()
        for info in api.families():
            self.box.addItem(info.title, info.name)
            self.box.setItemData(self.box.count() - 1, info.description, Qt.ItemDataRole.ToolTipRole)

    def current(self) -> str | None:
        return self.box.currentData()

    def show_description(self) -> None:
        self.text.setText(self.box.currentData(Qt.ItemDataRole.ToolTipRole) or "")

    def offer(self, stats: dict, size: int, resumable_family: str | None) -> bool:
        """Families in the order the engine recommends for this dataset: with every image in one of two or more
        labelled sub-folders the conditional models come first, else they are listed last and greyed out.
        Returns True when the family shown must change: it needs labels these images lack, or a run of another family
        was left unfinished and the artist has not picked one."""
        labels, count = stats["labels"], self.api.label_count(stats)
        labelled = count > 0
        infos = {info.name: info for info in self.api.families()}
        layout = stats.get("layout", "images")
        usable = self.api.recommended_families(count, layout)
        current = self.box.currentData()
        self.box.clear()
        for name in usable + [name for name in infos if name not in usable]:
            info = infos[name]
            self.box.addItem(info.title, name)
            index = self.box.count() - 1
            if name in usable:
                self.box.setItemData(index, info.description, Qt.ItemDataRole.ToolTipRole)
            else:
                self.box.model().item(index).setEnabled(False)
                self.box.setItemData(index, f"{info.description}\n{self._why_not(name, layout)}",
                                     Qt.ItemDataRole.ToolTipRole)
        # the family of a run left unfinished, unless the artist picked one (so Continue continues it); else the one
        # the artist picked if it can train on these images; else the default for the images' size (not merely the
        # one shown: before any pick that is the registry's first)
        if self.chosen is None and resumable_family in usable:
            chosen = resumable_family
        elif self.chosen in usable:
            chosen = self.chosen
        else:
            chosen = self.api.default_family(size, layout, count)
        self.box.setCurrentIndex(max(self.box.findData(chosen), 0))
        self.show_description()
        names = ", ".join(list(labels)[:4]) + (", …" if len(labels) > 4 else "")
        self.labels_hint.setText(f"Your images are sorted into {len(labels)} labels ({names}): the conditional "
                                 "models can draw the label you choose." if labelled else "")
        self.labels_hint.setVisible(labelled)
        return current is not None and chosen != current

    def _why_not(self, name: str, layout: str) -> str:
        """Why a family cannot train on this project, in a line."""
        needs = self.api.family_layout(name)
        if needs == layout or (needs == "unpaired" and layout == "paired"):
            return "Needs every image in one of two or more labelled sub-folders (one folder per label)."
        return {"images": "Makes new pictures from a folder of single images; this project translates pictures.",
                "paired": "Learns from pairs of pictures (an A folder and a B folder with the same names).",
                "unpaired": "Learns from two collections of pictures (an A folder and a B folder)."}[needs]

    def _on_picked(self) -> None:
        self.chosen = self.box.currentData()
        self.picked.emit()

