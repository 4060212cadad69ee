"""The toolbar's model label stays one line: shortened with an ellipsis when narrow, whole when wide and in its
tooltip."""
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from gui.widgets.elided_label import ElidedLabel


def test_a_long_model_name_is_shortened_to_one_line_and_whole_in_its_tooltip(qtbot):
    row = QWidget()
    layout = QHBoxLayout(row)
    label = ElidedLabel("The model shown")
    layout.addWidget(QPushButton("Follow"))
    layout.addWidget(label, 1)
    qtbot.addWidget(row)
    text = "projected · step 7648 · 64 px · training"
    label.setText(text)
    row.resize(160, 40)
    row.show()
    qtbot.waitExposed(row)
    shown = QLabel.text(label)
    assert label.text() == text and shown.endswith("…") and shown != text
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    assert label.height() < 2 * label.fontMetrics().height()  # one line, not wrapped
    assert text in label.toolTip() and "The model shown" in label.toolTip()

    row.resize(800, 40)
    qtbot.waitUntil(lambda: QLabel.text(label) == text)
