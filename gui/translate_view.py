"""The Translate view: what the Explore room shows for an image-to-image model. The artist drops pictures (or adds
them, or asks for pictures training held out), sees each one beside its translation in a list of cards and the
selected one in a before/after wipe, switches the direction of a model that goes both ways, and exports every
translation as a PNG.

Every translation is made on the render thread (gui/render.py) with the room's Model, one picture at a time, asked
through the room's `compute` and answered through `computed`; a new direction or new weights make every card again
(until then a card keeps what older weights made, so a run that trains fast still shows something).
Finding pictures in folders, reading the held-out ones and exporting run on the QThreadPool. The GUI thread only
keeps the cards and paints: it must not import torch, read or write files, or translate. Its widgets are made in
gui/translate_layout.py.
"""
from __future__ import annotations

import html
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QToolButton, QWidget

from . import explore_jobs, imaging, shortcuts, translate_layout
from .drops import TakesDrops
from .settings import export_folder, pictures_folder, remember_pictures_folder
from .translate_layout import INVITATION
from .workers import run_task

HELD_OUT_COUNT = 8  # held-out pictures added at a time: enough to judge, few enough to translate in seconds
REFUSED_SHOWN = 6  # refused files listed under the cards; the tooltip lists all
PICTURE_FILTER = "Pictures (*.png *.jpg *.jpeg *.webp *.bmp *.gif *.tif *.tiff);;All files (*)"


def _api():
    from engine import api  # the view is built once the engine has loaded; imported here, not at start-up

    return api


def source_side(direction: str) -> str:
    """The side a direction reads: "a2b" translates A pictures."""
    return direction[0].upper()


def direction_title(direction: str) -> str:
    return f"{direction[0].upper()} → {direction[-1].upper()}"


@dataclass
class Card:
    """One picture the artist brought and, once made, its translation."""
    id: int
    name: str
    path: str | None  # the file it is read from; None for a training picture kept only as pixels
    picture: np.ndarray | None = None  # H x W x 4 uint8, read on the render thread
    translation: np.ndarray | None = None  # the same size, in `direction`
    direction: str = ""


class TranslateView(TakesDrops, QWidget):
    name = "translate"  # the work it asks of the render thread goes under this name
    translated = Signal(int)  # a card's translation is on screen (its id)
    exported = Signal(object)  # api.Translated of an export

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self._context = context  # the Explore room: compute, project, model_source, notify
        self._info = None
        self._cards: dict[int, Card] = {}
        self._next_id = 0
        self._direction = ""
        self._epoch = 0  # bumped when the model goes: what was asked of it is never answered
        self._waiting: deque[int] = deque()  # cards to translate, in the order they came
        # the one request on the render thread, "card:epoch:direction": one at a time, so a new direction never
        # waits behind a queue of pictures in the old one
        self._asked: str | None = None
        self._refused: list[str] = []  # "name: reason" of each file that could not be translated
        self.setAcceptDrops(True)
        translate_layout.build(self)
        self._connect()
        self._set_enabled()

    def _connect(self) -> None:
        """The widgets gui/translate_layout.py made, to what they do here."""
        for keys, slot, what in (("Ctrl+T", self.ask_files, "Translate picture files"),
                                 ("H", self.add_held_out, "Translate held-out pictures the model never learnt from"),
                                 ("Ctrl+L", self.clear, "Clear the list of translations"),
                                 ("Ctrl+E", lambda: self.export(), "Export the translations"),
                                 ("D", self.switch_direction, "Switch the direction (A to B, B to A)")):
            shortcuts.bind(keys, self, slot, what)
        self.card_list.currentItemChanged.connect(lambda *_: self._show_selected())
        self.card_list.remove_requested.connect(self.remove_selected)
        self.add_button.clicked.connect(self.ask_files)
        self.held_out_button.clicked.connect(self.add_held_out)
        self.clear_button.clicked.connect(self.clear)
        self.export_button.clicked.connect(lambda: self.export())

    # --- the hooks the room calls --------------------------------------------------------------------------
    def model_opened(self, info) -> None:
        """A translation model is open: offer its directions and translate every card with it."""
        self._info = info
        if self._direction not in info.directions:
            self._direction = info.directions[0]
        for button in self.direction_buttons.buttons():
            self.direction_buttons.removeButton(button)
            button.deleteLater()
        both = len(info.directions) > 1
        for number, direction in enumerate(info.directions):
            button = QToolButton(text=direction_title(direction), checkable=True,
                                 checked=direction == self._direction)
            button.setToolTip(f"Translate side {source_side(direction)} pictures into side {direction[-1].upper()} "
                              + ("ones (D switches)" if both else "ones: this model goes one way"))
            button.clicked.connect(lambda _checked, chosen=direction: self.set_direction(chosen))
            self.direction_buttons.addButton(button, number)
            self.direction_row.addWidget(button)
        self._set_enabled()
        self._translate_again()

    def model_closed(self) -> None:
        """The model is going away: what was asked of it is dropped with it (the render thread forgets it)."""
        self._info, self._asked = None, None
        self._waiting.clear()
        self._epoch += 1
        self._set_enabled()

    def weights_changed(self, step: int) -> None:
        """Newer weights of the training run: every card is made again with them."""
        self._translate_again()

    def computed(self, key: str, result) -> None:
        if key != self._asked:
            return  # asked of a model that has gone since
        self._asked = None
        card_id, _, direction = key.split(":")
        card = self._cards.get(int(card_id))
        if card is not None and isinstance(result, str):  # the file is not a picture we can read
            self._remove(card)
            self._refuse([(card.name, result)])
        elif card is not None:
            card.picture = result[0]  # read once: a new direction translates the pixels already here
            card.translation, card.direction = result[1], direction
            self._show_card(card)
            if direction == self._direction:
                self.translated.emit(card.id)
        self._ask_next()

    def computed_failed(self, key: str, reason: str) -> None:
        """The model could not translate a picture: it is listed with the reason, and the next one is asked for."""
        if key != self._asked:
            return
        self._asked = None
        card = self._cards.get(int(key.split(":")[0]))
        if card is not None:
            self._remove(card)
            self._refuse([(card.name, reason)])
        self._ask_next()

    # --- what the artist does ------------------------------------------------------------------------------
    @classmethod
    def ask_paths(cls, parent) -> list[str]:
        """The picture files to translate, from a dialog; tests replace it."""
        paths, _ = QFileDialog.getOpenFileNames(parent, "Translate pictures", pictures_folder(), PICTURE_FILTER)
        return remember_pictures_folder(paths)

    @classmethod
    def ask_folder(cls, parent, start: str) -> str | None:
        """The folder exports go to, from a dialog; tests replace it."""
        return QFileDialog.getExistingDirectory(parent, "Export the translations into", start) or None

    def ask_files(self) -> None:
        if self._info is not None:
            self.add_files(self.ask_paths(self))

    def add_files(self, paths: list[str]) -> None:
        """Translate these picture files and the pictures in these folders (found off the GUI thread)."""
        if not paths or self._info is None:
            return
        run_task(lambda _on_event, _control: _api().pictures_in(paths), on_done=self._on_found,
                 on_failed=lambda reason: self._context.notify(f"Could not read the pictures: {reason}"), owner=self)

    def add_held_out(self) -> None:
        """A few pictures on the side the direction reads that training held out."""
        project = self._context.project()
        if project is None or self._info is None:
            return
        side = source_side(self._direction)
        run_task(lambda _on_event, _control: explore_jobs.held_out_pictures(project, side, HELD_OUT_COUNT),
                 on_done=lambda found: self._on_held_out(found, side),
                 on_failed=lambda reason: self._context.notify(f"Could not read the held-out pictures: {reason}"),
                 owner=self)

    def set_direction(self, direction: str) -> None:
        """Translate the other way; every card is made again."""
        if self._info is None or direction not in self._info.directions:
            return
        for button in self.direction_buttons.buttons():
            button.setChecked(button.text() == direction_title(direction))
        if direction != self._direction:
            self._direction = direction
            self._context.notify(f"Translating {direction_title(direction)}")
            self._translate_again()

    def switch_direction(self) -> None:
        if self._info is not None and len(self._info.directions) > 1:
            directions = self._info.directions
            self.set_direction(directions[(directions.index(self._direction) + 1) % len(directions)])

    def remove_selected(self) -> None:
        card = self._selected()
        if card is not None:
            self._remove(card)

    def clear(self) -> None:
        for card in list(self._cards.values()):
            self._remove(card)
        self._refused.clear()
        self._show_refused()
        self._set_enabled()

    def export(self, folder: str | None = None) -> None:
        """Every card's picture file translated into a PNG in `folder` (asked for when not given), off the GUI."""
        files = [card.path for card in self.cards() if card.path is not None]
        # a training picture without a file of its own (half of a side-by-side pair, a zip member) goes as pixels
        pictures = [(card.name, card.picture) for card in self.cards()
                    if card.path is None and card.picture is not None]
        if self._info is None or not (files or pictures):
            self._context.notify("Add pictures to translate first")
            return
        project = self._context.project()
        folder = folder or self.ask_folder(self, str(export_folder(project)))
        if folder is None:
            return
        model_path, snapshot, _ = self._context.model_source()
        direction = self._direction
        self._context.notify(f"Exporting {len(files) + len(pictures)} translations to {folder}…")
        run_task(lambda on_event, control: explore_jobs.translate_files(model_path, snapshot, files, folder,
                                                                        direction, on_event, control, pictures),
                 on_done=lambda result: self._on_exported(result, folder),
                 on_failed=lambda reason: self._context.notify(f"Export failed: {reason}"), owner=self)

    # --- reading the state (tests, the room) ---------------------------------------------------------------
    def cards(self) -> list[Card]:
        """The cards in the order shown."""
        return [self._cards[card_id] for card_id in self.card_list.card_ids()]

    def direction(self) -> str:
        return self._direction

    def refused(self) -> list[str]:
        return list(self._refused)

    # --- drops ---------------------------------------------------------------------------------------------
    def takes_drops(self) -> bool:  # drops.TakesDrops: pictures to translate, once a model is open
        return self._info is not None

    def paths_dropped(self, paths: list[str]) -> None:
        self.add_files(paths)

    # --- cards ---------------------------------------------------------------------------------------------
    def _on_found(self, found: tuple) -> None:
        paths, missing = found
        self._refuse([(Path(source).name, reason) for source, reason in missing])
        self._add_cards([(path.name, str(path), None) for path in paths])

    def _on_held_out(self, found: list[tuple], side: str) -> None:
        if not found:
            self._context.notify(f"Training held out no side {side} pictures in this project")
        self._add_cards(found)

    def _add_cards(self, found: list[tuple]) -> None:
        if self._info is None:
            return
        added = []
        for name, path, picture in found:
            card = self._cards[self._next_id] = Card(self._next_id, name, path, picture)
            self._next_id += 1
            self.card_list.add_card(card.id, name, path or f"{name} (a training picture)")
            self._show_card(card)
            added.append(card.id)
        if added and self.card_list.currentItem() is None:
            self.card_list.setCurrentRow(self.card_list.count() - len(added))
        self._set_enabled()
        self._waiting.extend(added)
        self._ask_next()

    def _remove(self, card: Card) -> None:
        del self._cards[card.id]
        self.card_list.remove_card(card.id)
        self._show_selected()
        self._set_enabled()

    def _show_card(self, card: Card) -> None:
        self.card_list.paint_card(card.id, card.name, card.picture, self._current(card))
        if self._selected() is card:
            self._show_selected()

    def _current(self, card: Card) -> np.ndarray | None:
        """The card's translation when it is in the direction shown; one in the other direction is not shown."""
        return card.translation if card.direction == self._direction else None

    def _selected(self) -> Card | None:
        card_id = self.card_list.current_card()
        return None if card_id is None else self._cards.get(card_id)

    def _show_selected(self) -> None:
        card = self._selected()
        if card is None or card.picture is None:
            self.wipe.show_message(INVITATION if card is None else f"Reading {card.name}…")
            return
        translation = self._current(card)
        self.wipe.set_pictures(imaging.to_qimage(card.picture),
                               None if translation is None else imaging.to_qimage(translation),
                               ("Original", direction_title(self._direction)))

    # --- translating, one picture at a time on the render thread ------------------------------------------
    def _translate_again(self) -> None:
        self._waiting = deque(self.card_list.card_ids())
        for card in self._cards.values():
            self._show_card(card)
        self._show_selected()
        self._ask_next()

    def _ask_next(self) -> None:
        if self._asked is not None or self._info is None:
            return
        while self._waiting:
            card = self._cards.get(self._waiting.popleft())
            if card is None:
                continue  # taken off the list while it waited
            self._asked = f"{card.id}:{self._epoch}:{self._direction}"
            self._context.compute(self, self._asked, self._work(card))
            return

    def _work(self, card: Card):
        """What the render thread runs with its Model: (picture, translation), reading the file the first time; a
        file it cannot read comes back as the reason, a value (errors cross threads as values)."""
        api, direction, path, picture = _api(), self._direction, card.path, card.picture
        if picture is not None:
            return lambda model: (picture, model.translate(picture, direction))

        def read_and_translate(model):
            try:
                return api.translate_picture(model, path, direction)
            except api.FileRefused as refused:
                return str(refused)

        return read_and_translate

    # --- messages ------------------------------------------------------------------------------------------
    def _refuse(self, refused: list[tuple[str, str]], say: bool = True) -> None:
        """List files that could not be translated, each with its reason (and say so, unless the caller does)."""
        if not refused:
            return
        lines = [reason if reason.startswith(f"{name}:") else f"{name}: {reason}" for name, reason in refused]
        self._refused += lines
        self._show_refused()
        self._set_enabled()
        if say:
            self._context.notify(f"Could not translate {'; '.join(lines)}")

    def _show_refused(self) -> None:
        shown = self._refused[-REFUSED_SHOWN:]
        more = len(self._refused) - len(shown)
        self.refused_label.setText(f"<b>Refused ({len(self._refused)})</b><br>" + "<br>".join(map(html.escape, shown))
                                   + (f"<br>and {more} more" if more else ""))
        self.refused_label.setToolTip("\n".join(self._refused))
        self.refused_label.setVisible(bool(self._refused))

    def _on_exported(self, result, folder: str) -> None:
        self._refuse([(Path(source).name, reason) for source, reason in result.skipped], say=False)
        self._context.notify(f"Exported to {folder}: {result.summary()}")
        self.exported.emit(result)

    def _set_enabled(self) -> None:
        ready = self._info is not None
        for button in (self.add_button, self.held_out_button):
            button.setEnabled(ready)
        self.clear_button.setEnabled(bool(self._cards) or bool(self._refused))
        self.export_button.setEnabled(ready and bool(self._cards))
