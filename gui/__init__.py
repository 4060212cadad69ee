"""The desktop app: panels, widgets and the threads that call `engine.api`.

Panels turn clicks into engine calls on worker threads and the workers' signals back into pixels. No tensor
maths, file formats or training logic live here, and nothing here imports torch at module level.
"""

from .refcount_guard import guard as _guard

_guard()  # before any Qt call: PySide6 6.12 on Python 3.11 drops references to None/True/False (see the module)
