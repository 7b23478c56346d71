"""From frames to verdicts: decode, debounce, record.

Three pieces, each usable alone:

* :class:`Debouncer` (pure, on the source's clock): which detections are new
  scans. A badge is *in view* while it is read at least every
  ``presence_gap`` seconds; one stretch in view is one presentation, however
  many frames it lasts. A new presentation is recorded as a scan, unless the
  same payload was recorded less than ``rescan_after`` seconds before: then
  it is "already scanned" (shown, printed, but neither decided again nor
  queued). After ``rescan_after`` seconds it is a re-entry: a new scan. A
  badge held in view without a break stays one scan, however long.
* :class:`Scanner`: one frame -> decoder -> debouncer -> ``record`` (by
  default :func:`kiosk.decide.record_scan`: decided and queued durably
  before anyone sees the verdict) -> :class:`ScanEvent` objects, plus the
  outlines to draw. Nothing a frame holds can make it raise: a decoder
  failure is no detection, a store failure is an ``error`` event.
* :class:`Pipeline`: a capture thread reads the source, a decode thread runs
  the scanner, and the caller's thread (the display, or a wait in headless
  mode) only looks. Between the two threads, for a live camera, a one-slot
  :class:`LatestSlot`: a new frame replaces one not yet taken (dropped,
  counted), so a slow decoder always works on what is in front of the
  camera now and never falls behind. For files, a small blocking
  :class:`BoundedQueue`: every frame is processed, in order, so the same
  file always gives the same verdicts.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar

from shared.decision import Reason, Verdict
from shared.sync import Scan
from shared.timefmt import iso, utcnow

if TYPE_CHECKING:
    from kiosk.decoders import Decoder, Detection
    from kiosk.sources import FrameSource, SourceFrame

log = logging.getLogger(__name__)

#: seconds without reading a badge after which it is no longer in view
PRESENCE_GAP_S = 1.0
#: seconds after a recorded scan before the same badge is a new scan (a re-entry)
DEFAULT_RESCAN_AFTER_S = 60.0

Outcome = Literal["granted", "denied", "warning"]
Polygon = tuple[tuple[int, int], ...]
RecordFn = Callable[[bytes], tuple[Verdict, Scan]]
T = TypeVar("T")
#: (``ScanEvent`` has a field named ``time``: the module is not reachable by that name there)
_monotonic = time.monotonic


#: refusals that a person at the door can put right (pay, show the app's badge): amber
WARNING_REASONS = frozenset({Reason.PAYMENT_REQUIRED, Reason.UNSIGNED_BADGE})


def outcome_of(verdict: Verdict | None, already_scanned: bool = False) -> Outcome:
    """granted (green); warning (amber): already scanned, payment required or an old
    unsigned badge; else denied."""
    if already_scanned or (verdict is not None and verdict.reason in WARNING_REASONS):
        return "warning"
    if verdict is not None and verdict.granted:
        return "granted"
    return "denied"


@dataclass(frozen=True, slots=True)
class Recorded:
    """A scan this kiosk recorded, and when (source time)."""

    verdict: Verdict
    scan: Scan
    at: float


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """One verdict to show and print: a new scan, "already scanned", or an error."""

    payload: bytes
    polygon: Polygon
    frame_index: int
    #: the frame's time on the source's clock (seconds)
    source_time: float
    #: ISO time this event happened (the decision time for a new scan)
    time: str
    #: frame capture (live) or pick-up (files) to verdict on disk, in ms
    latency_ms: float
    #: the verdict: this scan's, or for "already scanned" the recorded one's
    verdict: Verdict | None
    scan: Scan | None
    already_scanned: bool = False
    #: for "already scanned": the source time of the recorded scan
    recorded_at: float | None = None
    #: why no verdict (the store failed); the event is then denied
    error: str | None = None
    frame_name: str | None = None
    #: this process's monotonic clock when the event was made (for the screen)
    monotonic: float = field(default_factory=_monotonic)

    @property
    def outcome(self) -> Outcome:
        return outcome_of(self.verdict, self.already_scanned)


@dataclass(frozen=True, slots=True)
class Overlay:
    """What to draw on a frame: the codes read in it, with their outcome (None: no
    verdict yet, e.g. a code whose scan failed to record)."""

    frame_index: int
    monotonic: float
    codes: tuple[tuple[Polygon, Outcome | None], ...] = ()


class Debouncer:
    """New presentations of a payload, and whether each is a new scan (see the module doc).

    Times are seconds on the source's clock; they never go back for one source.
    """

    def __init__(
        self, rescan_after: float = DEFAULT_RESCAN_AFTER_S, presence_gap: float = PRESENCE_GAP_S
    ) -> None:
        if rescan_after < 0 or presence_gap < 0:
            raise ValueError("rescan_after and presence_gap must not be negative")
        self.rescan_after = rescan_after
        self.presence_gap = presence_gap
        self._seen: dict[bytes, float] = {}  # payload -> last time read
        self._recorded: dict[bytes, Recorded] = {}
        self._pruned_at = float("-inf")

    def arrivals(self, payloads: Iterable[bytes], t: float) -> list[bytes]:
        """Note ``payloads`` read at ``t``; those that were not in view (in order, once each)."""
        new: list[bytes] = []
        for payload in payloads:
            last = self._seen.get(payload)
            if (last is None or t - last > self.presence_gap) and payload not in new:
                new.append(payload)
            self._seen[payload] = t if last is None else max(last, t)
        self._prune(t)
        return new

    def recent(self, payload: bytes, t: float) -> Recorded | None:
        """The scan of ``payload`` recorded less than ``rescan_after`` before ``t``, if any."""
        rec = self._recorded.get(payload)
        if rec is not None and t - rec.at < self.rescan_after:
            return rec
        return None

    def remember(self, payload: bytes, recorded: Recorded) -> None:
        self._recorded[payload] = recorded

    def in_view(self, t: float) -> list[bytes]:
        return [p for p, last in self._seen.items() if t - last <= self.presence_gap]

    def _prune(self, t: float) -> None:
        if t - self._pruned_at < 10.0:
            return
        self._pruned_at = t
        self._seen = {p: s for p, s in self._seen.items() if t - s <= self.presence_gap}
        self._recorded = {p: r for p, r in self._recorded.items() if t - r.at < self.rescan_after}


def _left_to_right(d: Detection) -> tuple[int, int]:
    if not d.polygon:
        return (0, 0)
    return (min(x for x, _ in d.polygon), min(y for _, y in d.polygon))


def _unique(detections: Iterable[Detection]) -> list[Detection]:
    """One detection per payload (the first), left to right: several people in
    one frame get their verdicts in the same order whatever the decoder."""
    seen: set[bytes] = set()
    out = []
    for d in detections:
        if d.data not in seen:
            seen.add(d.data)
            out.append(d)
    return sorted(out, key=_left_to_right)


class Scanner:
    """Turns frames into :class:`ScanEvent` objects (see the module doc). Not thread-safe:
    one thread calls :meth:`process`.

    ``on_event`` gets every event as it happens (print it, show it, beep);
    ``on_recorded`` is called after each scan queued (nudge the syncer).
    """

    def __init__(
        self,
        decoder: Decoder,
        record: RecordFn,
        *,
        rescan_after: float = DEFAULT_RESCAN_AFTER_S,
        presence_gap: float = PRESENCE_GAP_S,
        on_event: Callable[[ScanEvent], None] | None = None,
        on_recorded: Callable[[], None] | None = None,
        wall_clock: Callable[[], str] | None = None,
    ) -> None:
        self.decoder = decoder
        self.record = record
        self.debouncer = Debouncer(rescan_after, presence_gap)
        self.on_event = on_event
        self.on_recorded = on_recorded
        self._wall = wall_clock or (lambda: iso(utcnow()) or "")
        self._outcomes: dict[bytes, Outcome] = {}  # payload -> outcome of its last event
        self.overlay = Overlay(-1, time.monotonic())
        self.frames = 0
        self.decode_errors = 0

    def _decode(self, frame: SourceFrame) -> list[Detection]:
        try:
            return _unique(self.decoder.decode(frame.image))
        except Exception:
            self.decode_errors += 1
            if self.decode_errors <= 3 or self.decode_errors % 1000 == 0:
                log.exception(
                    "decoder failed on frame %d (%d failures)", frame.index, self.decode_errors
                )
            return []

    def process(self, frame: SourceFrame, started: float | None = None) -> list[ScanEvent]:
        """Decode ``frame``; record and return the events of badges newly in view.

        ``started`` (monotonic) is where ``latency_ms`` counts from (default: now).
        """
        started = time.monotonic() if started is None else started
        self.frames += 1
        detections = self._decode(frame)
        arrivals = set(self.debouncer.arrivals((d.data for d in detections), frame.timestamp))
        events: list[ScanEvent] = []
        for d in detections:
            if d.data in arrivals:
                event = self._event(d, frame, started)
                self._outcomes[d.data] = event.outcome if event.error is None else "denied"
                events.append(event)
        self.overlay = Overlay(
            frame.index,
            time.monotonic(),
            tuple((tuple(d.polygon), self._outcomes.get(d.data)) for d in detections),
        )
        if len(self._outcomes) > 1000:
            keep = set(self.debouncer.in_view(frame.timestamp))
            self._outcomes = {p: o for p, o in self._outcomes.items() if p in keep}
        for event in events:
            if self.on_event is not None:
                self.on_event(event)
        return events

    def _event(self, d: Detection, frame: SourceFrame, started: float) -> ScanEvent:
        def event(**kw: object) -> ScanEvent:
            return ScanEvent(
                payload=d.data,
                polygon=tuple(d.polygon),
                frame_index=frame.index,
                source_time=frame.timestamp,
                latency_ms=(time.monotonic() - started) * 1000,
                frame_name=frame.name,
                **kw,  # type: ignore[arg-type]
            )

        previous = self.debouncer.recent(d.data, frame.timestamp)
        if previous is not None:
            return event(
                time=self._wall(),
                verdict=previous.verdict,
                scan=previous.scan,
                already_scanned=True,
                recorded_at=previous.at,
            )
        try:
            verdict, scan = self.record(d.data)
        except Exception as exc:  # never show a verdict that is not on disk
            log.exception("scan not recorded")
            return event(time=self._wall(), verdict=None, scan=None, error=str(exc) or repr(exc))
        self.debouncer.remember(d.data, Recorded(verdict, scan, frame.timestamp))
        if self.on_recorded is not None:
            try:
                self.on_recorded()
            except Exception:
                log.exception("on_recorded failed")
        return event(time=verdict.decided_at, verdict=verdict, scan=scan)


# ---------------------------------------------------------------------------
# handing frames from the capture thread to the decode thread


class Handoff(Protocol[T]):
    dropped: int

    def put(self, item: T) -> bool:
        """Hand ``item`` over; False if the handoff is closed."""
        ...

    def get(self, timeout: float | None = None) -> T | None:
        """The next item; None once closed and empty (or after ``timeout``)."""
        ...

    def close(self) -> None: ...


class LatestSlot(Generic[T]):
    """One slot: ``put`` replaces an item not yet taken (counted in ``dropped``)
    and never blocks; ``get`` takes the latest one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._full = False
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> bool:
        with self._cond:
            if self._closed:
                return False
            if self._full:
                self.dropped += 1
            self._item, self._full = item, True
            self._cond.notify()
            return True

    def get(self, timeout: float | None = None) -> T | None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._full or self._closed, timeout):
                return None
            if not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class BoundedQueue(Generic[T]):
    """A FIFO of at most ``size`` items: ``put`` waits for room (nothing is dropped);
    after ``close``, ``get`` drains what is left, then gives None."""

    def __init__(self, size: int = 4) -> None:
        self._cond = threading.Condition()
        self._items: deque[T] = deque()
        self._size = max(1, size)
        self._closed = False
        self.dropped = 0  # always: nothing is ever dropped

    def put(self, item: T) -> bool:
        with self._cond:
            self._cond.wait_for(lambda: len(self._items) < self._size or self._closed)
            if self._closed:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> T | None:
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._items) or self._closed, timeout):
                return None
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def abort(self) -> None:
        """Close and forget what is queued (stop now, not after the backlog)."""
        with self._cond:
            self._items.clear()
            self._closed = True
            self._cond.notify_all()


class Pipeline:
    """Capture thread -> handoff -> decode thread (see the module doc).

    ``lossless`` (default: not ``source.live``) picks the handoff;
    ``pace`` plays a file at its own frame rate (for a window), instead of
    as fast as it can be decoded. ``latest`` is the last frame read (what
    the screen shows); ``finished`` is set once every frame read has been
    processed and the source is done (or the pipeline was stopped).
    """

    def __init__(
        self,
        source: FrameSource,
        scanner: Scanner,
        *,
        lossless: bool | None = None,
        pace: bool = False,
        queue_size: int = 4,
    ) -> None:
        self.source = source
        self.scanner = scanner
        self.lossless = (not source.live) if lossless is None else lossless
        self.pace = pace
        self.handoff: Handoff[SourceFrame] = (
            BoundedQueue(queue_size) if self.lossless else LatestSlot()
        )
        self.latest: SourceFrame | None = None
        self.frames_read = 0
        self.finished = threading.Event()
        self.source_done = threading.Event()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def frames_processed(self) -> int:
        return self.scanner.frames

    @property
    def frames_dropped(self) -> int:
        return self.handoff.dropped

    def start(self) -> None:
        for name, target in (("capture", self._capture), ("decode", self._decode)):
            thread = threading.Thread(target=target, name=f"badgegate-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _capture(self) -> None:
        t0: float | None = None
        first_ts = 0.0
        try:
            while not self._stop.is_set():
                frame = self.source.read()
                if frame is None:
                    break
                if self.pace and not self.source.live:
                    if t0 is None:
                        t0, first_ts = time.monotonic(), frame.timestamp
                    delay = t0 + (frame.timestamp - first_ts) - time.monotonic()
                    if delay > 0 and self._stop.wait(delay):
                        break
                self.latest = frame
                self.frames_read += 1
                if not self.handoff.put(frame):
                    break
        except BaseException as exc:
            log.exception("reading frames failed")
            self.error = self.error or exc
        finally:
            self.source_done.set()
            self.handoff.close()

    def _decode(self) -> None:
        try:
            while True:
                frame = self.handoff.get()
                if frame is None:
                    break
                if self._stop.is_set():
                    continue  # drain without work: stopping
                started = frame.captured if self.source.live else time.monotonic()
                self.scanner.process(frame, started)
        except BaseException as exc:  # e.g. stdout closed under the event printer
            log.exception("scanning failed")
            self.error = self.error or exc
            self._stop.set()
            if isinstance(self.handoff, BoundedQueue):
                self.handoff.abort()
            else:
                self.handoff.close()
        finally:
            self.finished.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until :attr:`finished`; False on timeout."""
        return self.finished.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading and scanning (frames not yet processed are not), close the source."""
        self._stop.set()
        if isinstance(self.handoff, BoundedQueue):
            self.handoff.abort()
        else:
            self.handoff.close()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        if all(not t.is_alive() for t in self._threads):
            with contextlib.suppress(Exception):
                self.source.close()
        else:  # a capture blocked in a driver call: leave the source to the process exit
            log.warning("capture thread did not stop within %.1f s", timeout)
