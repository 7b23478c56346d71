"""Sync: pull the change feed into the store, push the outbox, in a background loop.

``Syncer.sync_once()`` pulls every page after the store's cursor (each page
applied atomically with its cursor), then pushes the outbox in batches; it
never raises for network trouble: the :class:`SyncSummary` says what happened.
``start()`` runs it every ``interval`` seconds in a thread, right away after a
scan (``nudge()``), and with exponential backoff with full jitter while the
server is away. A 401 (revoked credential) stops syncing for good.
"""

from __future__ import annotations

import contextlib
import logging
import random
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from kiosk.client import Offline, ProtocolError, Revoked, SyncClient, Timeout
from kiosk.store import KioskStore, PageError
from shared.sync import MAX_BATCH
from shared.timefmt import iso, parse_iso, utcnow

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 15.0
PAGE_LIMIT = 5000
BATCH_SIZE = 500
#: batches of one push on their way at once (the server runs two workers)
PUSH_IN_FLIGHT = 2
BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
#: a feed that keeps saying has_more without moving is a server bug: stop there
MAX_PAGES_PER_SYNC = 100_000


def backoff_delay(
    failures: int,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
    rng: Callable[[], float] = random.random,
) -> float:
    """Full jitter: uniform in ``[0, min(cap, base * 2**failures)]``."""
    ceiling = min(cap, base * 2.0 ** min(max(failures, 0), 64))
    return ceiling * min(max(rng(), 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class SyncProgress:
    records: int  # changes applied so far in this sync
    pages: int
    reset: bool  # this sync started over from a snapshot
    last_seq: int | None
    latest_seq: int


@dataclass(slots=True)
class SyncSummary:
    pulled: int = 0
    pages: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    cursor: str | None = None
    online: bool = False
    revoked: bool = False
    error: str | None = None
    queue_length: int = 0

    @property
    def ok(self) -> bool:
        return self.online and not self.revoked and self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def line(self) -> str:
        if self.revoked:
            return "revoked: this kiosk's credential was refused; provision it again"
        state = "online" if self.online else "offline"
        text = (
            f"{state}: pulled {self.pulled} changes ({self.pages} pages), pushed"
            f" {self.accepted} accepted, {self.duplicate} duplicate, {self.rejected} rejected;"
            f" queue {self.queue_length}; cursor {self.cursor}"
        )
        return text + (f"; error: {self.error}" if self.error else "")


class Syncer:
    def __init__(
        self,
        store: KioskStore,
        client: SyncClient,
        progress: Callable[[SyncProgress], None] | None = None,
        *,
        interval: float = DEFAULT_INTERVAL,
        page_limit: int = PAGE_LIMIT,
        batch_size: int = BATCH_SIZE,
        backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        wait: Callable[[float], None] | None = None,
        on_summary: Callable[[SyncSummary], None] | None = None,
        prefetch: bool = True,
        push_in_flight: int = PUSH_IN_FLIGHT,
    ) -> None:
        self.store = store
        self.client = client
        self.progress = progress
        self.interval = interval
        self.page_limit = page_limit
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.clock = clock
        self.rng = rng
        self.on_summary = on_summary
        self.prefetch = prefetch
        self.push_in_flight = max(1, push_in_flight)
        self._wait_fn = wait or self._interruptible_wait
        self._lock = threading.Lock()  # one sync at a time
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._backing_off = False
        self._thread: threading.Thread | None = None
        self._offset: tuple[float, int] | None = None  # (round trip s, offset ms)
        #: consecutive failed syncs of the loop (the backoff exponent)
        self.failures = 0

    # -- one sync -------------------------------------------------------------

    def _note_server_time(self, server_time: object, t_sent: float, t_received: float) -> None:
        server = parse_iso(server_time) if isinstance(server_time, str) else None
        if server is None:
            return
        rtt = t_received - t_sent
        offset = round(server.timestamp() * 1000 - (t_sent + t_received) * 500)
        if self._offset is None or rtt <= self._offset[0]:
            self._offset = (rtt, offset)

    def _fetch(self, cursor: str) -> tuple[dict[str, Any], float, float]:
        t_sent = self.clock()
        page = self.client.changes(cursor, self.page_limit)
        return page, t_sent, self.clock()

    def _pull(self, summary: SyncSummary) -> None:
        """Pull and apply pages until ``has_more`` is false.

        With ``prefetch``, the next page is requested (in one helper thread) as
        soon as a page's cursor is known, while that page is being applied: the
        server prepares page n+1 while the kiosk writes page n. Pages are still
        applied strictly in order, each with its own cursor; a prefetched page
        is dropped if its predecessor fails.
        """
        cursor = self.store.cursor
        reset = False
        pool = ThreadPoolExecutor(1, "badgegate-prefetch") if self.prefetch else None
        ahead: Future[tuple[dict[str, Any], float, float]] | None = None
        try:
            for _ in range(MAX_PAGES_PER_SYNC):
                if ahead is not None:
                    page, t_sent, t_received = ahead.result()
                    ahead = None
                else:
                    page, t_sent, t_received = self._fetch(cursor)
                next_cursor = page.get("cursor")
                if (
                    pool is not None
                    and page.get("has_more") is True
                    and isinstance(next_cursor, str)
                    and next_cursor
                    and next_cursor != cursor
                ):
                    ahead = pool.submit(self._fetch, next_cursor)
                result = self.store.apply_page(page)
                self._note_server_time(result.server_time, t_sent, t_received)
                summary.pulled += result.applied
                summary.pages += 1
                summary.cursor = result.cursor
                reset = reset or result.reset
                if self.progress is not None:
                    self.progress(
                        SyncProgress(
                            records=summary.pulled,
                            pages=summary.pages,
                            reset=reset,
                            last_seq=result.last_seq,
                            latest_seq=result.latest_seq,
                        )
                    )
                if not result.has_more:
                    return
                if result.cursor == cursor and result.applied == 0:
                    raise ProtocolError(
                        200, {"error": "has_more with an empty page and the same cursor"}
                    )
                cursor = result.cursor
            raise ProtocolError(200, {"error": f"more than {MAX_PAGES_PER_SYNC} pages"})
        finally:
            if ahead is not None:  # let the request in flight end before the client is reused
                with contextlib.suppress(Exception):
                    ahead.result()
            if pool is not None:
                pool.shutdown(wait=True)

    def _send(self, batch: dict[str, Any], timeout: Timeout | None) -> tuple[Any, float, float]:
        t_sent = self.clock()
        answer = self.client.push(batch, timeout=timeout)
        return answer, t_sent, self.clock()

    def _push(self, summary: SyncSummary, timeout: Timeout | None = None) -> None:
        """Push the outbox in batches, up to ``push_in_flight`` of them on their way at
        once: the server stores one batch while the kiosk reads and sends the next
        and acknowledges the previous one. The outbox is read forward from a
        position, so no scan is in two batches of one push; answers are applied in
        the order the batches were read. The last batch goes alone, once the others
        are answered: the queue length it reports is the server's last word.

        A failure (offline, revoked, refused) sends nothing more; the batches
        already on their way are waited for and their answers applied, then the
        first failure is raised. A scan whose answer is lost is sent again next
        time (the server answers "duplicate")."""
        position = 0
        in_flight: deque[tuple[Future[tuple[Any, float, float]], list[str]]] = deque()
        failure: Exception | None = None
        more = True
        pool = ThreadPoolExecutor(self.push_in_flight, "badgegate-push")
        try:
            while True:
                while more and failure is None and len(in_flight) < self.push_in_flight:
                    sending = sum(len(ids) for _f, ids in in_flight)
                    waiting = self.store.queue_length() - sending
                    if in_flight and waiting <= self.batch_size:
                        break  # the last batch: after the others
                    scans, position = self.store.pending_after(position, self.batch_size)
                    if not scans:
                        more = False
                        break
                    ids = [str(s.client_id) for s in scans]
                    self.store.mark_sent(ids)
                    offset = self._offset[1] if self._offset else self.store.clock_offset_ms
                    batch = {
                        "scans": [s.to_dict() for s in scans],
                        # what is left once this batch is in: 0 when all is sent
                        "queue_length": max(0, waiting - len(scans)),
                        "clock_offset_ms": offset,
                        "cursor": self.store.cursor,
                    }
                    in_flight.append((pool.submit(self._send, batch, timeout), ids))
                if not in_flight:
                    break
                future, ids = in_flight.popleft()
                try:
                    answer, t_sent, t_received = future.result()
                except ProtocolError as exc:
                    log.error(
                        "the server refused a batch of %d scans (kept): %s", len(ids), exc.body
                    )
                    failure = failure or exc
                    continue
                except (Offline, Revoked) as exc:
                    failure = failure or exc
                    continue
                self._note_server_time(answer.get("server_time"), t_sent, t_received)
                results = [r for r in answer["results"] if isinstance(r, dict)]
                counts = self.store.ack(results)
                summary.accepted += counts["accepted"]
                summary.duplicate += counts["duplicate"]
                summary.rejected += counts["rejected"]
                answered = {r.get("client_id") for r in results}
                if not answered.issuperset(ids):
                    # never loop on scans the server did not answer for: next sync
                    log.warning("%d scans of the batch got no answer", len(set(ids) - answered))
                    more = False
        finally:
            pool.shutdown(wait=True)  # requests on their way end (timeouts bound them)
        if failure is not None:
            raise failure

    def sync_once(self, *, pull: bool = True, push_timeout: Timeout | None = None) -> SyncSummary:
        """Pull (unless ``pull=False``), then push. Never raises for network trouble."""
        with self._lock:
            store = self.store
            summary = SyncSummary(cursor=store.cursor)
            if store.revoked:
                summary.revoked = True
                summary.error = "revoked"
                summary.queue_length = store.queue_length()
                return summary
            self._offset = None
            errors: list[str] = []
            try:
                if pull:
                    try:
                        self._pull(summary)
                    except (ProtocolError, PageError) as exc:
                        log.error("pull failed: %s", exc)
                        errors.append(f"pull: {exc}")
                summary.online = True
                self._push(summary, push_timeout)
            except Offline as exc:
                summary.online = False
                errors.append(str(exc))
                # scans still waiting were decided while the server was out of reach
                store.mark_pending_offline()
            except Revoked as exc:
                log.error("this kiosk was revoked: %s", exc)
                summary.revoked = True
                errors.append(f"revoked: {exc}")
            except ProtocolError as exc:
                summary.online = True
                errors.append(f"push: {exc}")
            summary.error = "; ".join(errors) or None
            summary.online = summary.online and not summary.revoked
            summary.cursor = store.cursor
            summary.queue_length = store.queue_length()
            now = iso(utcnow())
            values: dict[str, object] = {
                "last_attempt_at": now,
                "online": summary.online,
                "last_error": summary.error,
            }
            if summary.revoked:
                values["revoked"] = True
            if summary.ok and pull:
                values["last_sync_at"] = now
            if self._offset is not None:
                values["clock_offset_ms"] = self._offset[1]
            store.set_meta(**values)
            return summary

    def push_once(self, timeout: Timeout | None = None) -> SyncSummary:
        """Push the outbox only (e.g. right after a scan, with a short timeout)."""
        return self.sync_once(pull=False, push_timeout=timeout)

    # -- the background loop -----------------------------------------------

    def run(self, max_rounds: int | None = None) -> None:
        """Sync until stopped (or revoked): every ``interval``, or after a nudge;
        after a failure, wait ``backoff_delay(failures)`` instead."""
        rounds = 0
        while not self._stop.is_set():
            try:
                summary = self.sync_once()
            except sqlite3.Error as exc:  # the store cannot be written (disk full...): said
                log.error("sync failed: the kiosk store: %s", exc)
                summary = SyncSummary(online=False, error=f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # a bug: keep the loop alive
                log.exception("sync failed")
                summary = SyncSummary(online=False, error=f"{type(exc).__name__}: {exc}")
            rounds += 1
            # between rounds, off the scan path: what this round wrote moves from
            # the write-ahead log to the database file
            self.store.checkpoint()
            if self.on_summary is not None:
                self.on_summary(summary)
            if summary.revoked:
                return
            if summary.ok:
                self.failures = 0
                self._backing_off = False
                delay = self.interval
            else:
                delay = backoff_delay(self.failures, self.backoff_base, self.backoff_cap, self.rng)
                self.failures += 1
                self._backing_off = True
            if max_rounds is not None and rounds >= max_rounds:
                return
            self._wait_fn(delay)

    def _interruptible_wait(self, delay: float) -> None:
        if self._backing_off:
            self._wake.clear()  # nudges do not shorten a backoff; stop() still does
        if self._stop.is_set():
            return
        self._wake.wait(delay)
        self._wake.clear()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="badgegate-sync", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """A scan was queued: sync now (unless backing off from a failure)."""
        if not self._backing_off:
            self._wake.set()

    def stop(self, timeout: float | None = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
