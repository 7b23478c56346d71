"""Pausing Python's cycle collector while a large acyclic structure is built."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0  # pauses under way, in every thread
_resume = False  # whether the first of them found collection on


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block.

    Building thousands of small dicts (a change page of 5000 records) sets off
    collection after collection, each walking every object still alive: about
    a quarter of the server's time for such a page. Records hold no reference
    cycles, so nothing is lost by collecting afterwards.

    Collection is process-wide, and pauses overlap across threads (a kiosk
    decodes the next page while it applies this one; the server builds a page
    ahead while it sends one): collection stays off until the last pause under
    way ends, and comes back on then only if it was on when the first began.
    """
    global _active, _resume
    with _lock:
        if _active == 0:
            _resume = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _resume:
                gc.enable()
