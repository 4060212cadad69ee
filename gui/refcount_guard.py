"""A guard against a reference-counting bug in the PySide6 6.12 wheels when they run on Python 3.11.

The wheels are abi3 builds (cp310-abi3) but return None, True and False without taking a reference, as if those
were immortal, which they are only from Python 3.12 (PEP 683). On 3.11 every void Qt call (`widget.update()`,
`label.setText()`, `app.processEvents()`, ...) and every bool-returning one (`blockSignals()`) drops one reference
the caller never had. None starts with a few thousand references, so a GUI that keeps working (a dragged slider,
a 10 ms timer) aborts within seconds to minutes with "Fatal Python error: none_dealloc: deallocating None" (or
bool_dealloc). Measured here: 1,000 `processEvents()` calls took None's count from 5,190 to 4,190.

`guard()` gives the three singletons 2**40 extra references, which is what 3.12 does by making them immortal.
It does nothing on 3.12 and later. Call it once, before the GUI runs (importing `gui` does).
"""
from __future__ import annotations

import ctypes
import sys

_EXTRA = 1 << 40
_done = False


def guard() -> None:
    global _done
    if _done or sys.version_info >= (3, 12):
        return
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every object in CPython's release builds
        ctypes.c_ssize_t.from_address(id(singleton)).value += _EXTRA
    _done = True
