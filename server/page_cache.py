"""Encoded snapshot pages, kept a few minutes for the other doors of the event.

At opening, every door of an event takes the same snapshot at once. A snapshot
page depends only on the event, the snapshot's base sequence number and where
the page starts; since kiosks no longer receive anything of their own in a
snapshot, every kiosk of the event gets the same bytes. So the first kiosk to
ask builds the page, and the others get the encoded page back.

Serving a page built a little earlier is as correct as building it now: a
page holds the records as they were at some moment after the snapshot's base,
and the kiosk then replays every change after that base, whatever the page
already held. That holds because every write a kiosk must see goes through the
change log (``server.changefeed``): data written around it (a raw bulk load)
is seen by snapshots begun after the pages it could be missing from have aged
out (:data:`MAX_AGE_S`). The cache is per process (each worker builds a page
at most once), bounded in bytes and in age.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

#: what one page cache may hold (a page of 5,000 members is about 1 MB)
MAX_BYTES = 64 * 1024 * 1024
#: how long a page is served again
MAX_AGE_S = 60.0

PageKey = tuple[uuid.UUID, int, int, str | None, int]


@dataclass(frozen=True, slots=True)
class CachedPage:
    changes: bytes  # the page's ``changes``, encoded
    index: int  # where the next page starts: entity index ...
    last_key: str | None  # ... and the last key sent


class PageCache:
    def __init__(
        self,
        max_bytes: int = MAX_BYTES,
        max_age: float = MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.clock = clock
        self._pages: OrderedDict[PageKey, tuple[float, CachedPage]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        #: pages being built, by key: a door asking meanwhile waits for that one
        self._building: dict[PageKey, threading.Lock] = {}
        self.hits = 0
        self.misses = 0
        self.builds = 0

    def get_or_build(self, key: PageKey, build: Callable[[], CachedPage]) -> CachedPage:
        """The cached page, else ``build()`` it once: twenty doors asking for the
        same page at once make one build (per process), the others wait for it."""
        page = self.get(key)
        if page is not None:
            return page
        with self._lock:
            lock = self._building.setdefault(key, threading.Lock())
        with lock:
            page = self.get(key)  # built while this request waited
            if page is None:
                page = build()
                self.builds += 1
                self.put(key, page)
        with self._lock:
            self._building.pop(key, None)
        return page

    def get(self, key: PageKey) -> CachedPage | None:
        with self._lock:
            found = self._pages.get(key)
            if found is None or self.clock() - found[0] > self.max_age:
                if found is not None:
                    self._drop(key)
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return found[1]

    def wanted(self, key: PageKey) -> bool:
        """Neither kept (young enough) nor being built."""
        with self._lock:
            found = self._pages.get(key)
            fresh = found is not None and self.clock() - found[0] <= self.max_age
            return not fresh and key not in self._building

    def ready(self, key: PageKey) -> bool:
        """Kept, young enough, and not being built again."""
        with self._lock:
            found = self._pages.get(key)
            fresh = found is not None and self.clock() - found[0] <= self.max_age
            return fresh and key not in self._building

    def put(self, key: PageKey, page: CachedPage) -> None:
        if len(page.changes) > self.max_bytes:
            return
        with self._lock:
            if key in self._pages:
                self._drop(key)
            self._pages[key] = (self.clock(), page)
            self._bytes += len(page.changes)
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._pages)))

    def _drop(self, key: PageKey) -> None:
        _at, page = self._pages.pop(key)
        self._bytes -= len(page.changes)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._pages)


PAGES = PageCache()
