"""KioskStore: change pages (reset, upserts, tombstones, atomic cursor) and the outbox."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kiosk.store import KioskStore, PageError, PageResult
from shared.sync import Change, ChangePage, Scan
from tests.kiosk import world
from tests.kiosk.conftest import provision
from tests.kiosk.world import change, member_data, page

Apply = Callable[[KioskStore, Any], PageResult]


@pytest.fixture(params=["mapping", "text"])
def apply(request: pytest.FixtureRequest) -> Apply:
    """A page as the parsed object, and as JSON text."""
    if request.param == "mapping":
        return lambda store, p: store.apply_page(p)
    return lambda store, p: store.apply_page(json.dumps(p))


def scan(payload: str = "x", **fields: Any) -> Scan:
    values: dict[str, Any] = {
        "client_id": uuid.uuid4(),
        "kind": "room_access",
        "payload": payload,
        "scanned_at": world.NOW,
        "status": "granted",
        "reason": "granted",
        "decided_offline": True,
        "room_id": uuid.UUID(world.ROOM_B),
        "session_id": None,
        "notes": None,
    }
    values.update(fields)
    return Scan(**values)


def test_pragmas_and_file(store: KioskStore, tmp_path: Path) -> None:
    assert store.path == tmp_path / "kiosk" / "kiosk.db"
    conn = store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_snapshot_fills_every_table_and_stores_the_cursor(apply: Apply, store: KioskStore) -> None:
    result = apply(store, world.snapshot("c1"))
    assert result.reset and result.cursor == "c1" and not result.has_more
    assert store.cursor == "c1"
    assert {e: store.count(e) for e in ("event", "room", "session", "member")} == {
        "event": 1,
        "room": 3,
        "session": 4,
        "member": 9,
    }
    assert store.count("revoked_badge") == 1 and store.count("session_access") == 3
    assert store.member(world.PAID)["name"] == "Person 2"  # type: ignore[index]
    assert store.session_access(world.participant_id(world.PAID), world.S_ATELIER) is not None
    assert store.revoked_badge(world.badge_id(world.REISSUED)) is not None
    assert store.room(world.ROOM_A) == {"id": world.ROOM_A, "name": "Salle A", "is_active": True}
    assert store.event(world.EVENT)["name"] == "Tech Summit"  # type: ignore[index]
    assert store.get_meta("last_seq") == str(result.applied)


def test_upserts_replace_and_tombstones_delete(apply: Apply, store: KioskStore) -> None:
    apply(store, world.snapshot("c1"))
    renamed = {**member_data(world.PAID), "name": "Renamed"}
    apply(
        store,
        page(
            [
                change(100, "member", str(world.PAID), renamed),
                change(101, "member", str(world.UNPAID), None),
                change(102, "session", world.S_LATER, None),
                change(103, "member", "42", member_data(42)),
                change(104, "revoked_badge", world.badge_id(world.REISSUED), None),
            ],
            "c2",
        ),
    )
    assert store.cursor == "c2"
    assert store.member(world.PAID)["name"] == "Renamed"  # type: ignore[index]
    assert store.member(world.UNPAID) is None
    assert store.member(42) is not None
    assert store.session(world.S_LATER) is None
    assert store.revoked_badge(world.badge_id(world.REISSUED)) is None
    assert store.count("member") == 9
    # a tombstone for something never seen is fine
    apply(store, page([change(105, "member", "777", None)], "c3"))
    assert store.cursor == "c3"


def test_last_change_of_a_key_wins_within_a_page(apply: Apply, store: KioskStore) -> None:
    apply(
        store,
        page(
            [
                change(1, "member", "50", member_data(50)),
                change(2, "member", "50", None),
                change(3, "member", "51", None),
                change(4, "member", "51", {**member_data(51), "name": "Back"}),
            ],
            "c1",
        ),
    )
    assert store.member(50) is None
    assert store.member(51)["name"] == "Back"  # type: ignore[index]


def test_reset_empties_everything_before_applying_the_page(apply: Apply, store: KioskStore) -> None:
    apply(store, world.snapshot("c1"))
    apply(store, page([change(200, "member", "60", member_data(60))], "c2"))
    apply(
        store, page([change(1, "member", "61", member_data(61))], "s1", reset=True, has_more=True)
    )
    assert store.count("member") == 1 and store.member(61) is not None
    for entity in ("event", "room", "session", "revoked_badge", "session_access"):
        assert store.count(entity) == 0
    assert store.cursor == "s1"


def test_a_failure_mid_apply_keeps_nothing_of_the_page(
    apply: Apply, store: KioskStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply(store, world.snapshot("c1"))
    before = {e: store.count(e) for e in ("member", "session", "session_access")}
    real_write = KioskStore._write
    written: list[str] = []

    def failing_write(self: KioskStore, conn: Any, entity: str, ups: Any, dels: Any) -> None:
        real_write(self, conn, entity, ups, dels)
        written.append(entity)
        if entity == "member":  # after members were written, before session_access
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(KioskStore, "_write", failing_write)
    new_page = page(
        [
            change(300, "member", "70", member_data(70)),
            change(301, "member", str(world.PAID), None),
            change(302, "session", world.S_LATER, None),
            change(303, "session_access", "p:s", world.access_data(70, world.S_LATER)),
        ],
        "c2",
        reset=True,
    )
    with pytest.raises(RuntimeError):
        apply(store, new_page)
    assert "member" in written  # the failure really happened mid-apply
    assert store.cursor == "c1"
    assert {e: store.count(e) for e in before} == before  # the reset was rolled back too
    assert store.member(70) is None and store.member(world.PAID) is not None
    monkeypatch.undo()
    apply(store, new_page)  # and the same page applies fine afterwards
    assert store.cursor == "c2" and store.member(70) is not None and store.count("member") == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"changes": [], "cursor": ""},
        {"changes": "nope", "cursor": "c9"},
        {"changes": [{"seq": 1, "entity": "member", "key": "1", "op": "upsert"}], "cursor": "c9"},
        {"changes": [{"seq": 1, "entity": "member", "key": "x", "op": "delete"}], "cursor": "c9"},
        {"changes": [{"seq": 1, "entity": "room", "key": "r", "op": "merge"}], "cursor": "c9"},
        {"changes": [{"seq": 1, "entity": "room", "op": "delete"}], "cursor": "c9"},
        ["not", "a", "page"],
    ],
)
def test_a_malformed_page_is_refused_whole(apply: Apply, store: KioskStore, bad: Any) -> None:
    apply(store, world.snapshot("c1"))
    with pytest.raises(PageError):
        apply(store, bad)
    assert store.cursor == "c1" and store.count("member") == 9


@pytest.mark.parametrize(
    "key", ["007", "1.0", "+1", " 1", "\uff11\uff12", "\u00b2", "1" * 20, "9223372036854775808", ""]
)
@pytest.mark.parametrize("op", ["upsert", "delete"])
def test_a_member_key_that_is_not_a_user_id_in_canonical_decimal_is_refused(
    apply: Apply, store: KioskStore, key: str, op: str
) -> None:
    apply(store, world.snapshot("c1"))
    data = {"user_id": 5, "name": "X"} if op == "upsert" else None
    with pytest.raises(PageError):
        apply(store, page([change(1, "member", key, data)], "c2"))
    assert store.cursor == "c1" and store.count("member") == 9


@pytest.mark.parametrize("key", ["0", "7", "9223372036854775807", "-3"])
def test_member_keys_in_canonical_decimal_are_stored_as_their_number(
    apply: Apply, store: KioskStore, key: str
) -> None:
    apply(store, page([change(1, "member", key, {"user_id": int(key), "name": "X"})], "c2"))
    assert store.member(int(key)) == {"user_id": int(key), "name": "X"}


def test_unknown_entities_are_skipped(apply: Apply, store: KioskStore) -> None:
    result = apply(
        store,
        page(
            [
                change(1, "badge_template", "t1", {"x": 1}),
                change(2, "room", world.ROOM_A, {"id": world.ROOM_A, "name": "A"}),
            ],
            "c1",
        ),
    )
    assert result.skipped == 1 and result.applied == 1 and store.count("room") == 1


def test_a_changepage_object_applies_too(store: KioskStore) -> None:
    cp = ChangePage(
        changes=[Change(1, "member", "80", "upsert", member_data(80))],
        cursor="c1",
        has_more=True,
        server_time="2025-11-29T10:30:00Z",
        reset=True,
        latest_seq=10,
    )
    result = store.apply_page(cp)
    assert result.has_more and store.member(80) is not None
    assert store.get_meta("latest_seq") == "10"


def test_sessions_in_room_at_a_time(store: KioskStore) -> None:
    store.apply_page(world.snapshot())
    ids = {s["id"] for s in store.sessions_in_room(world.ROOM_B, world.NOW)}
    assert ids == {world.S_ATELIER, world.S_ATELIER_EARLY}
    assert len(store.sessions_in_room(world.ROOM_B)) == 3
    assert store.sessions_in_room(world.ROOM_C, world.NOW) == []


def test_provision_forgets_data_but_keeps_the_outbox(store: KioskStore) -> None:
    provision(store)
    store.enqueue(scan())
    assert store.provisioned and store.count("member") == 9
    provision(store, room=world.ROOM_A, fill=False)
    assert store.count("member") == 0 and store.cursor == "0"
    assert store.place().room_id == world.ROOM_A
    assert store.queue_length() == 1


# -- outbox -----------------------------------------------------------------


def test_enqueued_scans_survive_a_restart_in_order(tmp_path: Path) -> None:
    first = KioskStore(tmp_path)
    scans = [scan(f"p{i}") for i in range(5)]
    for s in scans:
        first.enqueue(s)
    first.close()
    again = KioskStore(tmp_path)
    try:
        assert again.pending() == scans  # every field round-trips
        assert again.pending(2) == scans[:2]
        assert again.queue_length() == 5
    finally:
        again.close()


def test_pending_after_reads_the_outbox_forward_from_a_position(store: KioskStore) -> None:
    scans = [scan(f"p{i}") for i in range(5)]
    for s in scans:
        store.enqueue(s)
    first, pos = store.pending_after(0, 2)
    second, pos2 = store.pending_after(pos, 2)
    assert first == scans[:2] and second == scans[2:4]  # read on while the first is away
    store.ack([{"client_id": str(s.client_id), "result": "rejected"} for s in first])
    store.ack([{"client_id": str(scans[4].client_id), "result": "accepted"}])
    assert store.pending_after(pos2, 2) == ([], pos2)  # nothing left after the position
    assert store.pending_after(0, 9)[0] == scans[2:4]  # rejected and acked ones are gone


def test_ack_removes_confirmed_and_keeps_rejected_forever(store: KioskStore) -> None:
    a, b, c, d = (scan(p) for p in "abcd")
    for s in (a, b, c, d):
        store.enqueue(s)
    store.mark_sent([str(s.client_id) for s in (a, b, c, d)])
    counts = store.ack(
        [
            {"client_id": str(a.client_id), "result": "accepted", "reason": None},
            {"client_id": str(b.client_id), "result": "duplicate", "reason": None},
            {"client_id": str(c.client_id), "result": "rejected", "reason": "out_of_scope"},
            {"client_id": str(uuid.uuid4()), "result": "accepted"},  # not ours: ignored
            {"client_id": str(d.client_id), "result": "weird"},
        ]
    )
    assert counts == {"accepted": 2, "duplicate": 1, "rejected": 1, "unknown": 1}
    assert store.pending() == [d]  # rejected never comes back; unanswered stays
    assert store.queue_length() == 1 and store.rejected_count() == 1
    [rejected] = store.rejected()
    assert rejected["client_id"] == str(c.client_id)
    assert rejected["reject_reason"] == "out_of_scope"
    status = store.status()
    assert status["queue_length"] == 1 and status["rejected"] == 1
    assert status["rejected_scans"][0]["payload"] == "c"
    attempts = store._conn().execute("SELECT attempts FROM outbox WHERE payload = 'd'")
    assert attempts.fetchone()[0] == 1


def test_threads_share_the_store(store: KioskStore) -> None:
    store.apply_page(world.snapshot())
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for i in range(20):
                store.enqueue(scan(f"t{i}"))
                assert store.member(world.PAID) is not None
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(5):
        store.apply_page(page([change(1000 + i, "member", "90", member_data(90))], f"x{i}"))
    for t in threads:
        t.join()
    assert not errors and store.queue_length() == 60


def test_text_pages_that_are_not_json(store: KioskStore) -> None:
    for bad in ("{oops", "", "[]", b"\xff\xfe", '{"changes": [1], "cursor": "c"}', b"{}"):
        with pytest.raises(PageError):
            store.apply_page(bad)
    assert store.cursor == "0"


def test_a_member_is_stored_without_badge_id_or_email_whatever_the_server_sends(
    store: KioskStore,
) -> None:
    """A server of an older version sent them: the store never keeps a badge's secret."""
    provision(store, fill=False)
    secret = {**member_data(world.PAID), "badge_id": "USER-2-SECRETSECRETSECR", "email": "a@b.c"}
    store.apply_page(page([change(1, "member", str(world.PAID), secret)], "c1"))
    kept = store.member(world.PAID)
    assert kept is not None and "badge_id" not in kept and "email" not in kept
    assert kept["name"] == secret["name"]


def test_pages_are_checkpointed_by_the_sync_loop_not_by_the_commit_that_crosses_1000_pages(
    store: KioskStore,
) -> None:
    """A first sync writes tens of MB: no commit of it (nor a scan's commit
    meanwhile) waits for SQLite's automatic checkpoint; ``checkpoint()`` does it."""
    db = Path(store.path)
    provision(store)
    big = "x" * 300
    changes = [
        change(i, "member", str(i), {**member_data(i), "organisation": big})
        for i in range(1, 30_001)
    ]
    before = db.stat().st_size
    for n in range(0, len(changes), 5000):
        store.apply_page(page(changes[n : n + 5000], f"c{n}", has_more=True))
    store.enqueue(scan("after the pages"))  # a durable commit, past 1000 WAL pages
    wal = Path(f"{db}-wal").stat().st_size
    assert wal > 1000 * 8192  # past SQLite's default threshold
    assert db.stat().st_size == before  # nothing copied back yet
    assert store.checkpoint() is True
    assert db.stat().st_size > 30_000 * 300  # the members are in the database file now
    assert store.member(30_000)["organisation"] == big
