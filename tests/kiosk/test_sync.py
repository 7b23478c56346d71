"""Syncer: paging, progress, push batches and acks, clock offset, revocation, and the
background loop's backoff (fake wait, fake randomness)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.client import Offline, ProtocolError, Revoked, SyncClient
from kiosk.decide import record_scan
from kiosk.store import KioskStore
from kiosk.sync import Syncer, SyncProgress, SyncSummary, backoff_delay
from tests.kiosk import world
from tests.kiosk.conftest import MakeStore, closed_port_url, provision
from tests.kiosk.fakeserver import TOKEN, fake_server
from tests.kiosk.world import NOW, change, member_data, page, qr


class FakeClient:
    """In-process server: pages by cursor, scans answered per ``outcome``."""

    def __init__(self, pages: list[dict[str, Any]] | None = None) -> None:
        self.pages = pages if pages is not None else [world.snapshot("c1")]
        self.batches: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.fail: BaseException | None = None
        self.push_fail: BaseException | None = None
        self.outcome: dict[str, str] = {}  # payload -> result
        self.server_time = "2025-11-29T10:30:00Z"

    def changes(self, cursor: str, limit: int = 5000) -> dict[str, Any]:
        self.calls.append(f"changes {cursor}")
        if self.fail is not None:
            raise self.fail
        index = 0 if cursor == "0" else int(cursor[1:])
        p = self.pages[index] if index < len(self.pages) else page([], cursor)
        return {**p, "server_time": self.server_time}

    def push(self, batch: dict[str, Any], timeout: Any = None) -> dict[str, Any]:
        self.calls.append(f"push {len(batch['scans'])}")
        if self.push_fail is not None:
            raise self.push_fail
        self.batches.append(batch)
        results = [
            {
                "client_id": s["client_id"],
                "result": self.outcome.get(s["payload"], "accepted"),
                "reason": "nope" if self.outcome.get(s["payload"]) == "rejected" else None,
            }
            for s in batch["scans"]
        ]
        return {"results": results, "server_time": self.server_time}


def syncer(store: KioskStore, client: FakeClient, **kwargs: Any) -> Syncer:
    return Syncer(store, client, **kwargs)  # type: ignore[arg-type]


def three_pages() -> list[dict[str, Any]]:
    members = [change(i, "member", str(i), member_data(i)) for i in range(100, 130)]
    return [
        page(members[:10], "c1", reset=True, has_more=True, latest_seq=129),
        page(members[10:20], "c2", has_more=True, latest_seq=129),
        page(members[20:], "c3", latest_seq=129),
    ]


def test_pulls_every_page_with_progress(store: KioskStore) -> None:
    provision(store, fill=False)
    seen: list[SyncProgress] = []
    summary = syncer(store, FakeClient(three_pages()), progress=seen.append).sync_once()
    assert summary.ok and summary.pulled == 30 and summary.pages == 3 and summary.cursor == "c3"
    assert [(p.records, p.pages) for p in seen] == [(10, 1), (20, 2), (30, 3)]
    assert seen[-1].last_seq == 129 and seen[-1].latest_seq == 129 and seen[0].reset
    assert store.count("member") == 30 and store.cursor == "c3"
    status = store.status()
    assert status["online"] is True and status["last_sync"] is not None


def test_an_interrupted_pull_resumes_from_the_last_applied_page(store: KioskStore) -> None:
    provision(store, fill=False)
    client = FakeClient(three_pages())
    real_changes = client.changes

    def flaky(cursor: str, limit: int = 5000) -> dict[str, Any]:
        if cursor == "c2":
            raise Offline("cable pulled")
        return real_changes(cursor, limit)

    client.changes = flaky  # type: ignore[method-assign]
    summary = syncer(store, client).sync_once()
    assert not summary.online and summary.pulled == 20 and store.cursor == "c2"
    assert store.status()["online"] is False and store.status()["last_sync"] is None
    client.changes = real_changes  # type: ignore[method-assign]
    summary = syncer(store, client).sync_once()
    assert summary.ok and summary.pulled == 10 and store.count("member") == 30


def test_push_in_batches_and_ack(make_store: MakeStore) -> None:
    store = make_store()
    assert Syncer(store, FakeClient()).batch_size == 500  # type: ignore[arg-type]
    for i in range(110):
        record_scan(store, qr(world.PAID) if i % 2 else f"junk {i}", NOW)
    client = FakeClient([])
    client.outcome = {"junk 4": "rejected", "junk 6": "duplicate"}
    summary = syncer(store, client, batch_size=50).sync_once()
    assert [len(b["scans"]) for b in client.batches] == [50, 50, 10]
    # each batch reports what will be left once it is in: 0 after the last one
    # (the first two are on their way together: either may arrive first)
    queue_lengths = [b["queue_length"] for b in client.batches]
    assert sorted(queue_lengths[:2]) == [10, 60] and queue_lengths[2] == 0
    assert client.batches[0]["cursor"] == "c1"
    assert (summary.accepted, summary.duplicate, summary.rejected) == (108, 1, 1)
    assert store.queue_length() == 0 and store.rejected_count() == 1
    # a rejected scan is never sent again
    client.batches.clear()
    assert syncer(store, client).sync_once().ok and client.batches == []


def test_two_batches_travel_together_and_the_last_goes_alone(make_store: MakeStore) -> None:
    store = make_store()
    for i in range(230):
        record_scan(store, qr(world.PAID) if i % 2 else f"junk {i}", NOW)
    client = FakeClient([])
    answer = client.push
    lock = threading.Lock()
    first_two = threading.Barrier(2, timeout=10)  # broken unless both are sent at once
    flying: list[int] = []  # batches on their way when each one left
    calls = [0, 0]  # [started, on their way]

    def push(batch: dict[str, Any], timeout: Any = None) -> dict[str, Any]:
        with lock:
            calls[0] += 1
            calls[1] += 1
            flying.append(calls[1])
            started = calls[0]
        try:
            if started <= 2:
                first_two.wait()
            return answer(batch, timeout)
        finally:
            with lock:
                calls[1] -= 1

    client.push = push  # type: ignore[method-assign]
    summary = syncer(store, client, batch_size=50).sync_once()
    assert summary.ok and summary.accepted == 230 and store.queue_length() == 0
    assert flying[:2] == [1, 2] and flying[-1] == 1  # the last one left alone
    sent = [s["client_id"] for b in client.batches for s in b["scans"]]
    assert len(sent) == len(set(sent)) == 230  # no scan in two batches
    *others, last = client.batches
    assert last["queue_length"] == 0 and len(last["scans"]) == 30
    assert all(b["queue_length"] > 0 for b in others)


def test_a_batch_that_fails_on_its_way_stays_and_the_others_are_acked(
    make_store: MakeStore,
) -> None:
    store = make_store()
    scans = [record_scan(store, f"junk {i}", NOW)[1] for i in range(200)]
    doomed = {str(s.client_id) for s in scans[50:100]}  # the second batch
    client = FakeClient([])
    answer = client.push

    def push(batch: dict[str, Any], timeout: Any = None) -> dict[str, Any]:
        if batch["scans"][0]["client_id"] in doomed:
            raise Offline("connection reset")
        return answer(batch, timeout)

    client.push = push  # type: ignore[method-assign]
    summary = syncer(store, client, batch_size=50).sync_once()
    assert not summary.online and "connection reset" in (summary.error or "")
    # the first batch, and the third (sent before the failure was known), are in;
    # nothing was sent once it was; the failed batch waits, flagged offline
    assert [len(b["scans"]) for b in client.batches] == [50, 50]
    assert summary.accepted == 100
    left = {str(s.client_id) for s in store.pending(500)}
    assert left == doomed | {str(s.client_id) for s in scans[150:]}
    assert all(s.decided_offline for s in store.pending(500))


def test_one_batch_at_a_time_when_asked(make_store: MakeStore) -> None:
    store = make_store()
    for i in range(120):
        record_scan(store, f"junk {i}", NOW)
    client = FakeClient([])
    answer = client.push
    flying = [0]
    most = [0]

    def push(batch: dict[str, Any], timeout: Any = None) -> dict[str, Any]:
        flying[0] += 1
        most[0] = max(most[0], flying[0])
        time.sleep(0.01)
        flying[0] -= 1
        return answer(batch, timeout)

    client.push = push  # type: ignore[method-assign]
    summary = syncer(store, client, batch_size=50, push_in_flight=1).sync_once()
    assert summary.accepted == 120 and most == [1]
    assert [b["queue_length"] for b in client.batches] == [70, 20, 0]


def test_unanswered_scans_stay_and_do_not_loop(make_store: MakeStore) -> None:
    store = make_store()
    for _ in range(3):
        record_scan(store, qr(world.PAID), NOW)
    client = FakeClient([])

    def answer_one(batch: dict[str, Any], timeout: Any = None) -> dict[str, Any]:
        client.batches.append(batch)
        first = batch["scans"][0]["client_id"]
        return {"results": [{"client_id": first, "result": "accepted"}], "server_time": None}

    client.push = answer_one  # type: ignore[method-assign]
    summary = syncer(store, client).sync_once()
    assert len(client.batches) == 1 and summary.accepted == 1 and store.queue_length() == 2


def test_a_400_keeps_the_scans(make_store: MakeStore) -> None:
    store = make_store()
    record_scan(store, qr(world.PAID), NOW)
    client = FakeClient([])
    client.push_fail = ProtocolError(400, {"error": "bad batch"})
    summary = syncer(store, client).sync_once()
    assert summary.online and not summary.ok and "bad batch" in (summary.error or "")
    assert store.queue_length() == 1 and store.rejected_count() == 0


def test_clock_offset_is_measured_and_sent(make_store: MakeStore) -> None:
    store = make_store()
    client = FakeClient([])
    client.server_time = "2025-11-29T10:30:02Z"  # 2 s ahead of the kiosk's midpoint
    t = NOW.timestamp()
    ticks = iter([t - 0.1, t + 0.1, t - 0.05, t + 0.05])
    s = syncer(store, client, clock=lambda: next(ticks))
    record_scan(store, qr(world.PAID), NOW)
    assert s.sync_once().ok
    assert store.clock_offset_ms == 2000
    assert client.batches[0]["clock_offset_ms"] == 2000


def test_revoked_stops_syncing_for_good(make_store: MakeStore) -> None:
    store = make_store()
    client = FakeClient([])
    client.fail = Revoked("no", {"code": "kiosk_revoked"})
    summary = syncer(store, client).sync_once()
    assert summary.revoked and not summary.online and store.revoked
    assert store.status()["revoked"] is True
    client.fail = None
    client.calls.clear()
    again = syncer(store, client).sync_once()
    assert again.revoked and client.calls == []  # nothing sent any more


def test_against_a_local_http_server(store: KioskStore) -> None:
    with fake_server() as (url, state):
        provision(store, server_url=url, fill=False)
        store.set_meta(device_token=TOKEN)
        state.pages = three_pages()
        state.reject = {"reject me"}
        with SyncClient(url, TOKEN) as client:
            s = Syncer(store, client)
            assert s.sync_once().pulled == 30
            record_scan(store, qr(100), NOW)
            record_scan(store, "reject me", NOW)
            summary = s.sync_once()
        assert (summary.accepted, summary.rejected) == (1, 1) and summary.ok
        assert len(state.scans) == 1 and store.queue_length() == 0
    with SyncClient(closed_port_url(), TOKEN) as client:
        record_scan(store, qr(100), NOW)
        summary = Syncer(store, client).sync_once()
        assert not summary.online and store.queue_length() == 1


# -- backoff and the loop ------------------------------------------------------


@given(
    failures=st.integers(min_value=0, max_value=2000),
    r=st.floats(min_value=0.0, max_value=1.0),
    base=st.floats(min_value=0.01, max_value=5.0),
    cap=st.floats(min_value=0.1, max_value=600.0),
)
def test_backoff_delay_is_full_jitter_within_bounds(
    failures: int, r: float, base: float, cap: float
) -> None:
    delay = backoff_delay(failures, base, cap, lambda: r)
    assert 0.0 <= delay <= min(cap, base * 2.0 ** min(failures, 64)) + 1e-9


class ScriptedClient(FakeClient):
    """Fails (Offline) while ``down`` holds; counts calls."""

    def __init__(self, down: list[bool]) -> None:
        super().__init__([])
        self.down = down

    def changes(self, cursor: str, limit: int = 5000) -> dict[str, Any]:
        if self.down and self.down.pop(0):
            raise Offline("away")
        return super().changes(cursor, limit)


@pytest.mark.parametrize("r", [0.0, 0.37, 1.0])
def test_the_loop_backs_off_exponentially(make_store: MakeStore, r: float) -> None:
    store = make_store()
    waits: list[float] = []
    client = ScriptedClient([True] * 9 + [False, True, True])
    s = syncer(store, client, wait=waits.append, rng=lambda: r, interval=7.0)
    s.run(max_rounds=12)
    ceilings = [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert waits[:9] == pytest.approx([c * r for c in ceilings])
    assert waits[9] == 7.0  # success: back to the interval, failures reset
    assert waits[10] == pytest.approx(1 * r)
    assert len(waits) == 11  # no wait after the last round
    for n, w in enumerate(waits[:9]):
        assert 0.0 <= w <= min(60.0, 1.0 * 2**n)


def test_the_loop_checkpoints_the_store_after_every_round(
    make_store: MakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store()
    first = store.cursor
    done: list[str] = []
    monkeypatch.setattr(store, "checkpoint", lambda: done.append(store.cursor) or True)
    client = ScriptedClient([True, False])  # offline, then online
    client.pages = three_pages()
    syncer(store, client, wait=lambda _d: None).run(max_rounds=2)
    assert done == [first, "c3"]  # offline rounds too (the scans they queue)


def test_the_loop_stops_on_revoked(make_store: MakeStore) -> None:
    store = make_store()
    client = FakeClient([])
    client.fail = Revoked("gone")
    waits: list[float] = []
    summaries: list[SyncSummary] = []
    s = syncer(store, client, wait=waits.append, on_summary=summaries.append)
    s.run(max_rounds=50)
    assert len(summaries) == 1 and summaries[0].revoked and waits == []


def test_thread_nudge_and_stop(make_store: MakeStore) -> None:
    store = make_store()
    client = FakeClient([])
    pushed = threading.Event()
    real_push = client.push

    def push(batch: dict[str, Any], timeout: Any = None) -> dict[str, Any]:
        pushed.set()
        return real_push(batch, timeout)

    client.push = push  # type: ignore[method-assign]
    synced = threading.Event()
    s = syncer(store, client, interval=60.0, on_summary=lambda _: synced.set())
    s.start()
    try:
        assert synced.wait(5)  # the first sync happens right away
        record_scan(store, qr(world.PAID), NOW)
        started = time.monotonic()
        s.nudge()
        assert pushed.wait(5) and time.monotonic() - started < 2
        deadline = time.monotonic() + 5
        while store.queue_length() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.queue_length() == 0
    finally:
        s.stop(timeout=5)
    assert not s.running


def test_a_nudge_does_not_shorten_a_backoff(make_store: MakeStore) -> None:
    store = make_store()
    client = ScriptedClient([True] * 100)
    rounds: list[SyncSummary] = []
    s = syncer(store, client, rng=lambda: 1.0, backoff_base=30.0, on_summary=rounds.append)
    s.start()
    try:
        deadline = time.monotonic() + 5
        while not rounds and time.monotonic() < deadline:
            time.sleep(0.01)
        s.nudge()
        time.sleep(0.3)
        assert len(rounds) == 1  # still waiting its 30 s
    finally:
        started = time.monotonic()
        s.stop(timeout=5)
        assert time.monotonic() - started < 2  # but stop() interrupts it
