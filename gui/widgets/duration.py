"""How long to train, as an artist thinks of it: the preset's steps, 15 minutes, an hour, overnight until a chosen
time, or any number of minutes. A time budget is the run's whole schedule (engine/schedule.py): the step count
follows from the measured speed. Shows when the run would end, the steps it would reach and, where curves were
measured for the family (engine/expectations.py), what that many images seen looked like there."""
from __future__ import annotations

import datetime

from PySide6.QtCore import QTime, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QTimeEdit, QVBoxLayout, QWidget

CHOICES = (("steps", "The preset's steps"), ("15", "15 minutes"), ("60", "1 hour"), ("overnight", "Overnight, until…"),
           ("custom", "Minutes:"))


def duration(seconds: float) -> str:
    """A length of time as one reads it on a clock: "45 s", "12 min", "2 h 05 min"; "—" when unknown."""
    if seconds != seconds or seconds == float("inf"):
        return "—"
    minutes = int(round(seconds / 60))
    if seconds < 90:
        return f"{int(seconds)} s"
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60:02d} min"


class DurationChoice(QWidget):
    changed = Signal()
    TICK_MS = 30_000  # while shown, "Ends about" follows the clock (and "overnight" shrinks with it)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.choice = QComboBox(toolTip="How long to train. With a time, the run fits its whole schedule (learning "
                                        "rate, averaging, quality checks) into it, whatever this machine's speed")
        for value, title in CHOICES:
            self.choice.addItem(title, value)
        self.until = QTimeEdit(QTime(7, 0), displayFormat="HH:mm", toolTip="Train until this time (tomorrow if it "
                                                                          "has passed today)")
        self.minutes_box = QDoubleSpinBox(decimals=0, minimum=1, maximum=100_000, value=30, suffix=" min")
        self.expected = QLabel(wordWrap=True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.choice)
        row.addWidget(self.until)
        row.addWidget(self.minutes_box)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.expected)
        self.choice.currentIndexChanged.connect(self._on_changed)
        self.until.timeChanged.connect(self._on_changed)
        self.minutes_box.valueChanged.connect(self._on_changed)
        self._tick = QTimer(self, interval=self.TICK_MS)
        self._tick.timeout.connect(self.changed)
        self._on_changed()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._tick.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._tick.stop()

    def minutes(self, now: datetime.datetime | None = None) -> float:
        """The budget in minutes; 0 for the preset's steps."""
        value = self.choice.currentData()
        if value == "steps":
            return 0.0
        if value == "custom":
            return float(self.minutes_box.value())
        if value == "overnight":
            now = now or datetime.datetime.now()
            target = now.replace(hour=self.until.time().hour(), minute=self.until.time().minute(), second=0,
                                 microsecond=0)
            if target <= now:
                target += datetime.timedelta(days=1)
            return (target - now).total_seconds() / 60
        return float(value)

    def set_budget(self, minutes: float) -> None:
        """Show a config's budget: its minutes (0: by steps)."""
        self.blockSignals(True)
        named = self.choice.findData(str(int(minutes))) if minutes and minutes == int(minutes) else -1
        self.choice.setCurrentIndex(0 if not minutes else named if named >= 0 else self.choice.findData("custom"))
        self.minutes_box.setValue(minutes or self.minutes_box.value())
        self._on_changed()
        self.blockSignals(False)

    def show_expected(self, images_per_s: float | None, batch: int, steps: int, expect=None,
                      after_s: float = 0.0) -> None:
        """When the run ends and how far it gets, from the measured speed (None: not measured yet); `expect`, given
        the images the run will see, says what that is expected to look like ("" where nothing was measured).
        `after_s`: the seconds left of a run training now, after which a queued run of these settings would start."""
        minutes = self.minutes()
        if images_per_s is None:
            self.expected.setText("Measure the speed to see how far it gets" if minutes else "")
            return
        step_rate = images_per_s / max(1, batch)
        seconds = minutes * 60 if minutes else steps / max(step_rate, 1e-9)
        end = (datetime.datetime.now() + datetime.timedelta(seconds=after_s + seconds)).strftime("%H:%M")
        reach = f"about {roughly(seconds * step_rate):,} steps" if minutes else f"{steps:,} steps"
        looks = expect(seconds * images_per_s) if expect else ""
        ends = f"Queued after this run, it would end about {end}" if after_s else f"Ends about {end}"
        self.expected.setText(f"{ends} · {reach} at this machine's speed" + (f"\n{looks}" if looks else ""))

    def _on_changed(self, *_args) -> None:
        value = self.choice.currentData()
        self.until.setVisible(value == "overnight")
        self.minutes_box.setVisible(value == "custom")
        self.changed.emit()


def roughly(count: float) -> int:
    """A count an estimate can honestly give: two significant figures (143,365 -> 140,000; 3,412 -> 3,400)."""
    count = int(count)
    if count < 100:
        return count
    unit = 10 ** (len(str(count)) - 2)
    return round(count / unit) * unit
