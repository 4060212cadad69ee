"""The interpolation panel: the frames of a path between bookmarks as a strip, played on a timer, exported.

It holds the rendered frames (uint8 arrays) it is given and, while playing, emits one per tick for the canvas.
Playing needs no rendering: the frames were rendered once, on the render thread. Export buttons only ask; the
room runs the export off the GUI thread.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSpinBox, QVBoxLayout, QWidget

from .strip import ImageStrip

HINT = "Keep two or more bookmarks (Ctrl+B) and press Interpolate."


class InterpolationPanel(QWidget):
    frame_shown = Signal(object, int)  # uint8 image, frame index, while playing
    playing_changed = Signal(bool)
    picked = Signal(int)  # a frame clicked: make it the current point
    frames_per_segment_changed = Signal(int)
    export_requested = Signal(str)  # "gif" or "mp4"

    def __init__(self, parent=None):
        super().__init__(parent)
        self._frames = np.zeros((0, 1, 1, 3), np.uint8)
        self._index = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_tick)
        self.strip = ImageStrip(side=40)
        self.strip.setToolTip("The path's frames: click one to make it the current point")
        self.strip.picked.connect(self.picked)
        self._summary = QLabel(HINT)
        self._summary.setWordWrap(True)
        self._summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.steps = QSpinBox()
        self.steps.setRange(2, 240)
        self.steps.setValue(24)
        self.steps.setSuffix(" frames per step")
        self.steps.setToolTip("Frames from one keyframe to the next")
        self.steps.valueChanged.connect(self.frames_per_segment_changed)
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(24)
        self.fps.setSuffix(" fps")
        self.fps.setToolTip("Playback and export speed, frames per second")
        self.fps.valueChanged.connect(self._on_fps_changed)
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play or pause the path on the canvas (Space)")
        self.play_button.toggled.connect(self._on_play_toggled)
        self.gif_button = QPushButton("Export GIF…")
        self.gif_button.setToolTip("Save the path as a looping GIF")
        self.gif_button.clicked.connect(lambda: self.export_requested.emit("gif"))
        self.mp4_button = QPushButton("Export MP4…")
        self.mp4_button.setToolTip("Save the path as an MP4 video (H.264)")
        self.mp4_button.clicked.connect(lambda: self.export_requested.emit("mp4"))
        controls = QHBoxLayout()
        controls.addWidget(self._summary, 1)
        controls.addWidget(self.steps)
        controls.addWidget(self.fps)
        controls.addWidget(self.play_button)
        controls.addWidget(self.gif_button)
        controls.addWidget(self.mp4_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.strip)
        self.clear()

    # --- what is shown ---------------------------------------------------------------------------------------
    def clear(self) -> None:
        self.pause()
        self._frames = np.zeros((0, 1, 1, 3), np.uint8)
        self.strip.set_count(0)
        self.strip.setVisible(False)
        self._summary.setText(HINT)
        self._set_enabled(False)

    def set_path(self, frame_count: int, keyframes: int) -> None:
        """A new path is being rendered: placeholders until `set_frames`."""
        self.pause()
        self._frames = np.zeros((0, 1, 1, 3), np.uint8)
        self.strip.set_count(frame_count, placeholder="…")
        self.strip.setVisible(True)
        self._summary.setText(f"{frame_count} frames through {keyframes} bookmarks, looping")
        self._set_enabled(False)

    def set_frames(self, frames: np.ndarray) -> None:
        self._frames, self._index = frames, 0
        self.strip.set_images(frames)
        self._set_enabled(len(frames) > 1)

    def frames(self) -> np.ndarray:
        return self._frames

    def playing(self) -> bool:
        return self._timer.isActive()

    # --- playing ---------------------------------------------------------------------------------------------
    def toggle(self) -> None:
        if self.play_button.isEnabled():
            self.play_button.toggle()

    def pause(self) -> None:
        self.play_button.setChecked(False)

    def _on_play_toggled(self, on: bool) -> None:
        if on and len(self._frames) > 1:
            self._timer.start(round(1000 / self.fps.value()))
        else:
            self._timer.stop()
        self.play_button.setText("Pause" if self._timer.isActive() else "Play")
        self.playing_changed.emit(self._timer.isActive())

    def _on_fps_changed(self, fps: int) -> None:
        if self._timer.isActive():
            self._timer.start(round(1000 / fps))

    def _on_tick(self) -> None:
        self._index = (self._index + 1) % len(self._frames)
        self.strip.setCurrentRow(self._index)
        self.frame_shown.emit(self._frames[self._index], self._index)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.play_button, self.gif_button, self.mp4_button):
            widget.setEnabled(enabled)
