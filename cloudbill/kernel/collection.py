"""Python's cycle collector paused for bulk work.

Settling an hour or checking a usage file allocates millions of short-lived objects (rows,
lines, tuples) that form no reference cycles and are freed by reference counting alone. Each
burst of allocations still triggers the cycle collector, and its full collections walk every
live object of the process: measured on the W1 benchmark, a second and a half of a ten-second
settlement, and a second of W2's file ingestion. Paused for the duration of such work, the
collector runs again afterwards and frees whatever cycles the work left.

The pause is process-wide (the collector has one switch), so it is counted: concurrent or
nested bulk jobs in one process re-enable it only when the last one ends, and never when it
was switched off before the first began.
"""

from __future__ import annotations

import gc
import threading
from contextlib import ContextDecorator

_lock = threading.Lock()
_depth = 0
_was_enabled = False


class paused_collection(ContextDecorator):  # lower case: used as a decorator, like contextmanager
    """`with paused_collection():` or `@paused_collection()`: no cycle collection inside."""

    def __enter__(self) -> None:
        global _depth, _was_enabled
        with _lock:
            if _depth == 0:
                _was_enabled = gc.isenabled()
                gc.disable()
            _depth += 1

    def __exit__(self, *_exc: object) -> None:
        global _depth
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


def freeze_start_up() -> None:
    """Leave what start-up built (modules, the app, the catalog: a few hundred thousand
    objects that live as long as the process) out of every later collection: each full
    collection of a serving process otherwise walks them all again. Start-up's own garbage is
    collected first."""
    gc.collect()
    gc.freeze()
