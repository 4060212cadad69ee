"""The widgets and layout of the Translate view (its setupUi): the bar of buttons the Explore room puts in its own
toolbar (`bar`), the list of cards with the refused files under it, and the before/after wipe.

Only creates and arranges widgets as attributes of the view; connecting them is the view's job
(gui/translate_view.py).
"""
from __future__ import annotations

from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from .widgets.translation_cards import CardList
from .widgets.wipe import Wipe

INVITATION = ("Drop pictures here to translate them\n\nor Add pictures… (Ctrl+T), or Held-out pictures (H): a few "
              "that training kept aside")


def build(view) -> None:
    view.add_button = QPushButton("Add pictures…", toolTip="Translate picture files (Ctrl+T); you can also drop "
                                  "files or folders here")
    view.held_out_button = QPushButton("Held-out pictures", toolTip="Translate a few pictures training kept aside, "
                                       "which the model never learnt from (H)")
    view.clear_button = QPushButton("Clear", toolTip="Take every picture off the list (Ctrl+L)")
    view.export_button = QPushButton("Export…", toolTip="Write every translation as a PNG into a folder (Ctrl+E)")
    view.direction_buttons = QButtonGroup(view)
    view.direction_row = QHBoxLayout()
    view.direction_row.setSpacing(0)
    view.bar = QWidget()
    bar = QHBoxLayout(view.bar)
    bar.setContentsMargins(0, 0, 0, 0)
    for widget in (view.add_button, view.held_out_button, view.clear_button):
        bar.addWidget(widget)
    bar.addSpacing(16)
    bar.addLayout(view.direction_row)
    bar.addSpacing(16)
    bar.addWidget(view.export_button)

    view.card_list = CardList()
    view.refused_label = QLabel(wordWrap=True)
    view.refused_label.setObjectName("refused")
    view.refused_label.hide()
    cards = QWidget()
    column = QVBoxLayout(cards)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(view.card_list, 1)
    column.addWidget(view.refused_label)
    view.wipe = Wipe()
    view.wipe.show_message(INVITATION)
    splitter = QSplitter()
    splitter.addWidget(cards)
    splitter.addWidget(view.wipe)
    splitter.setStretchFactor(1, 1)
    splitter.setSizes([300, 700])
    layout = QVBoxLayout(view)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(splitter, 1)
