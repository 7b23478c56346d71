"""kiosk.scanner: debouncing on the source's clock, the scanner, the two handoffs,
and the pipeline's frame dropping for live sources."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from kiosk.decide import record_scan
from kiosk.decoders import Detection
from kiosk.scanner import (
    BoundedQueue,
    Debouncer,
    LatestSlot,
    Pipeline,
    Recorded,
    ScanEvent,
    Scanner,
    outcome_of,
)
from kiosk.sources import SourceFrame
from kiosk.store import KioskStore
from shared.decision import Reason, Verdict
from shared.sync import Scan
from tests.kiosk import world
from tests.kiosk.conftest import MakeStore

A, B = world.qr(world.PAID).encode(), world.qr(world.UNPAID).encode()
SQUARE = [(10, 10), (50, 10), (50, 50), (10, 50)]


# ---------------------------------------------------------------------------
# Debouncer


def test_a_badge_held_for_many_frames_is_one_presentation() -> None:
    d = Debouncer(rescan_after=60, presence_gap=1.0)
    t = 0.0
    assert d.arrivals([A], t) == [A]
    for _ in range(100):  # 100 frames, 6.6 s at 15 fps, with misses of up to 1 s
        t += 1 / 15
        assert d.arrivals([A] if int(t * 15) % 10 else [], t) == []
    assert d.arrivals([A], t + 0.9) == []  # a short miss (blur) does not end it
    assert d.arrivals([A], t + 2.5) == [A]  # away 1.6 s, then back: a new presentation


def test_recent_uses_the_recorded_time() -> None:
    d = Debouncer(rescan_after=10)
    rec = Recorded(verdict=None, scan=None, at=5.0)  # type: ignore[arg-type]
    d.remember(A, rec)
    assert d.recent(A, 5.0) is rec
    assert d.recent(A, 14.99) is rec
    assert d.recent(A, 15.0) is None  # a re-entry
    assert d.recent(B, 6.0) is None


def test_two_payloads_in_one_frame_and_duplicates() -> None:
    d = Debouncer()
    assert d.arrivals([A, B, A], 0.0) == [A, B]
    assert d.arrivals([B], 0.1) == []
    assert sorted(d.in_view(0.1)) == sorted([A, B])


def test_negative_intervals_are_refused() -> None:
    with pytest.raises(ValueError):
        Debouncer(rescan_after=-1)


# ---------------------------------------------------------------------------
# Scanner


@dataclass
class FakeDecoder:
    """Frames are numpy arrays; ``script[index]`` says which payloads a frame holds."""

    script: dict[int, list[bytes]]
    name: str = "fake"
    delay: float = 0.0
    fail_on: frozenset[int] = frozenset()

    def decode(self, frame: np.ndarray) -> list[Detection]:
        index = int(frame[0, 0, 0]) | int(frame[0, 0, 1]) << 8
        if self.delay:
            time.sleep(self.delay)
        if index in self.fail_on:
            raise RuntimeError("decoder crashed")
        found = self.script.get(index, [])
        return [Detection(p, [(x + 100 * i, y) for x, y in SQUARE]) for i, p in enumerate(found)]


def frame(index: int, fps: float = 15.0, **kw: object) -> SourceFrame:
    image = np.zeros((8, 8, 3), np.uint8)
    image[0, 0, 0], image[0, 0, 1] = index & 0xFF, index >> 8
    return SourceFrame(image, index, index / fps, **kw)  # type: ignore[arg-type]


def recorder(store: KioskStore) -> Callable[[bytes], tuple[Verdict, Scan]]:
    return lambda payload: record_scan(store, payload)


def test_scanner_records_once_then_says_already_scanned(make_store: MakeStore) -> None:
    store = make_store(pinned=world.S_ATELIER)
    held = {i: [A] for i in range(5, 20)} | {i: [A] for i in range(40, 45)}
    nudges: list[int] = []
    events: list[ScanEvent] = []
    scanner = Scanner(
        FakeDecoder(held),
        recorder(store),
        on_event=events.append,
        on_recorded=lambda: nudges.append(1),
    )
    for i in range(50):
        scanner.process(frame(i))
    assert [(e.frame_index, e.already_scanned, e.outcome) for e in events] == [
        (5, False, "granted"),
        (40, True, "warning"),
    ]
    first, again = events
    assert first.verdict is not None and first.verdict.name == "Person 2"
    assert again.scan == first.scan and again.recorded_at == pytest.approx(5 / 15)
    assert store.queue_length() == 1 and len(nudges) == 1
    assert scanner.overlay.codes == ()  # frame 49 is empty


def test_scanner_outlines_carry_the_outcome(make_store: MakeStore) -> None:
    store = make_store(pinned=world.S_ATELIER)
    scanner = Scanner(FakeDecoder({0: [B, A], 1: [B, A]}), recorder(store))
    events = scanner.process(frame(0))
    assert [e.verdict.reason for e in events if e.verdict] == [
        Reason.PAYMENT_REQUIRED,
        Reason.GRANTED,
    ]
    scanner.process(frame(1))
    assert [o for _, o in scanner.overlay.codes] == ["warning", "granted"]
    assert scanner.overlay.frame_index == 1


def test_a_decoder_crash_is_no_detection(make_store: MakeStore) -> None:
    store = make_store(pinned=world.S_ATELIER)
    scanner = Scanner(FakeDecoder({1: [A], 2: [A]}, fail_on=frozenset({1})), recorder(store))
    assert scanner.process(frame(1)) == []
    assert [e.frame_index for e in scanner.process(frame(2))] == [2]
    assert scanner.decode_errors == 1


def test_a_store_failure_is_an_error_event_and_is_retried(make_store: MakeStore) -> None:
    store = make_store(pinned=world.S_ATELIER)
    calls: list[bytes] = []

    def broken(payload: bytes) -> tuple[Verdict, Scan]:
        calls.append(payload)
        if len(calls) == 1:
            raise OSError("disk full")
        return record_scan(store, payload)

    scanner = Scanner(FakeDecoder({0: [A], 30: [A]}), broken)
    (event,) = scanner.process(frame(0))
    assert event.verdict is None and event.error == "disk full" and event.outcome == "denied"
    (again,) = scanner.process(frame(30))  # next presentation: not "already scanned"
    assert again.verdict is not None and not again.already_scanned


@pytest.mark.parametrize(
    ("reason", "already", "expected"),
    [
        (Reason.GRANTED, False, "granted"),
        (Reason.GRANTED, True, "warning"),
        (Reason.PAYMENT_REQUIRED, False, "warning"),
        (Reason.NOT_IN_EVENT, False, "denied"),
        (Reason.INVALID_BADGE, True, "warning"),
    ],
)
def test_outcomes(reason: Reason, already: bool, expected: str) -> None:
    verdict = Verdict(
        status="granted" if reason is Reason.GRANTED else "denied",
        reason=reason,
        http_status=200,
        message="",
        decided_at="",
    )
    assert outcome_of(verdict, already) == expected
    assert outcome_of(None) == "denied"


# ---------------------------------------------------------------------------
# handoffs


def test_latest_slot_keeps_only_the_latest() -> None:
    slot: LatestSlot[int] = LatestSlot()
    for i in range(5):
        assert slot.put(i)
    assert slot.get(0.1) == 4 and slot.dropped == 4
    assert slot.get(0.01) is None  # empty: times out
    slot.put(7)
    slot.close()
    assert slot.get() == 7  # what was there is still taken
    assert slot.get() is None and not slot.put(8)


def test_bounded_queue_blocks_and_keeps_order() -> None:
    q: BoundedQueue[int] = BoundedQueue(2)
    got: list[int] = []

    def consume() -> None:
        while (item := q.get()) is not None:
            time.sleep(0.002)
            got.append(item)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(50):
        assert q.put(i)
    q.close()
    consumer.join(5)
    assert got == list(range(50)) and q.dropped == 0


# ---------------------------------------------------------------------------
# the pipeline


class ListSource:
    """Frames 0..n-1, either as a file would give them or as a live camera at ``fps``."""

    def __init__(self, n: int, *, live: bool, fps: float = 200.0) -> None:
        self.n, self.live = n, live
        self.fps: float | None = fps
        self.description = "list"
        self.i = 0
        self.closed = False

    def read(self) -> SourceFrame | None:
        if self.i >= self.n:
            return None
        if self.live:
            time.sleep(1 / (self.fps or 1.0))
        f = frame(self.i, self.fps or 1.0, captured=time.monotonic())
        self.i += 1
        return f

    def close(self) -> None:
        self.closed = True


def test_files_are_processed_every_frame_in_order(
    make_store: MakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(pinned=world.S_ATELIER)
    decoder = FakeDecoder({i: [A] for i in range(100, 110)}, delay=0.001)
    seen: list[int] = []
    scanner = Scanner(decoder, recorder(store))
    original = scanner.process

    def spy(f: SourceFrame, started: float | None = None) -> list[ScanEvent]:
        seen.append(f.index)
        return original(f, started)

    monkeypatch.setattr(scanner, "process", spy)
    source = ListSource(300, live=False)
    pipeline = Pipeline(source, scanner)
    assert pipeline.lossless
    pipeline.start()
    assert pipeline.wait(10)
    pipeline.stop()
    assert seen == list(range(300)) and pipeline.frames_dropped == 0
    assert source.closed and store.queue_length() == 1


def test_a_slow_decoder_drops_live_frames_and_stays_current(make_store: MakeStore) -> None:
    """A camera at 200 fps, a decoder taking 20 ms: most frames are dropped,
    never queued, so each verdict is about a frame at most one decode old."""
    store = make_store(pinned=world.S_ATELIER)
    n, badge_from = 240, 120
    decoder = FakeDecoder({i: [A] for i in range(badge_from, n)}, delay=0.02)
    events: list[ScanEvent] = []
    scanner = Scanner(decoder, recorder(store), on_event=events.append)
    source = ListSource(n, live=True, fps=200)
    pipeline = Pipeline(source, scanner)
    assert not pipeline.lossless
    pipeline.start()
    assert pipeline.wait(20)
    pipeline.stop()
    assert pipeline.frames_read == n
    assert pipeline.frames_processed + pipeline.frames_dropped == n
    assert pipeline.frames_dropped > n // 2  # ~3 of 4 at these speeds
    (event,) = events
    # the first frame decoded after the badge appeared: a decode or two later,
    # not after a backlog of queued frames (which would be ~100 frames)
    assert badge_from <= event.frame_index <= badge_from + 25
    assert event.latency_ms < 500  # capture to verdict, with no backlog behind it


def test_stop_does_not_wait_for_the_backlog(make_store: MakeStore) -> None:
    store = make_store(pinned=world.S_ATELIER)
    scanner = Scanner(FakeDecoder({}, delay=0.05), recorder(store))
    pipeline = Pipeline(ListSource(10_000, live=False), scanner)
    pipeline.start()
    time.sleep(0.2)
    started = time.monotonic()
    pipeline.stop()
    assert time.monotonic() - started < 2
    assert pipeline.finished.is_set() and pipeline.frames_processed < 100


def test_an_event_handler_failure_stops_the_pipeline(make_store: MakeStore) -> None:
    store = make_store(pinned=world.S_ATELIER)

    def broken_pipe(event: ScanEvent) -> None:
        raise BrokenPipeError("stdout closed")

    scanner = Scanner(FakeDecoder({3: [A]}), recorder(store), on_event=broken_pipe)
    pipeline = Pipeline(ListSource(1000, live=False), scanner)
    pipeline.start()
    assert pipeline.wait(5)
    pipeline.stop()
    assert isinstance(pipeline.error, BrokenPipeError)
    assert pipeline.frames_processed < 1000
