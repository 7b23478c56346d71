"""decide_scan over a store filled with hand-made pages: one case per reason."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from kiosk.decide import decide_scan, record_scan
from kiosk.store import KioskStore, StoreError
from shared.sync import parse_batch
from tests.kiosk import world
from tests.kiosk.conftest import MakeStore
from tests.kiosk.world import NOW, change, member_data, page, qr

DOOR_B_CASES = [
    # (user, badge suffix, status, reason)
    (world.PAID, "A", "granted", "granted"),
    (world.STAFF, "A", "granted", "granted"),
    (world.UNPAID, "A", "denied", "payment_required"),
    (world.ROOM_A_ONLY, "A", "denied", "room_not_allowed"),
    (world.OUTSIDER, "A", "denied", "not_in_event"),
    (world.REISSUED, "B", "granted", "granted"),
    (world.REISSUED, "A", "denied", "revoked_badge"),
    (world.PAID, "Z", "granted", "granted"),  # signed, not revoked: issued after the sync
    (world.DISABLED, "A", "denied", "account_disabled"),
    (world.NO_PARTICIPANT, "A", "denied", "participant_not_found"),
    (999, "A", "denied", "not_in_event"),  # not a person of this event
]


@pytest.mark.parametrize(("user", "suffix", "status", "reason"), DOOR_B_CASES)
def test_door_b_during_the_paid_atelier(
    make_store: MakeStore, user: int, suffix: str, status: str, reason: str
) -> None:
    store = make_store(room=world.ROOM_B)
    verdict, scan = decide_scan(store, qr(user, suffix), NOW)
    assert (verdict.status, verdict.reason.value) == (status, reason)
    # pick_session chose the running session that started last
    assert verdict.session_id == world.S_ATELIER
    assert scan.session_id == uuid.UUID(world.S_ATELIER)
    assert scan.kind == "room_access" and scan.room_id == uuid.UUID(world.ROOM_B)
    assert (scan.status, scan.reason) == (status, reason)
    assert scan.decided_offline is True
    assert scan.scanned_at == NOW
    assert verdict.user_id == user


def test_a_badge_signed_by_another_key_is_refused(make_store: MakeStore) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    store = make_store(room=world.ROOM_B)
    other = ed25519.Ed25519PrivateKey.generate()
    verdict, _ = decide_scan(
        store, world.signed(world.PAID, world.badge_id(world.PAID), other), NOW
    )
    assert (verdict.status, verdict.reason.value) == ("denied", "invalid_signature")
    assert verdict.name is None


def test_the_seeds_two_field_badge_needs_the_server(make_store: MakeStore) -> None:
    store = make_store(room=world.ROOM_B)
    verdict, _ = decide_scan(store, world.unsigned_qr(world.PAID), NOW)
    assert (verdict.status, verdict.reason.value) == ("denied", "unsigned_badge")
    # a replaced badge is refused as such, signed or not
    verdict, _ = decide_scan(store, world.unsigned_qr(world.REISSUED), NOW)
    assert verdict.reason.value == "revoked_badge"


def test_a_kiosk_without_keys_trusts_no_signature(make_store: MakeStore) -> None:
    store = make_store(room=world.ROOM_B)
    store.set_meta(badge_keys="[]")
    assert decide_scan(store, qr(world.PAID), NOW)[0].reason.value == "invalid_signature"


def test_invalid_payload(make_store: MakeStore) -> None:
    store = make_store()
    verdict, scan = decide_scan(store, "not a badge", NOW)
    assert verdict.reason.value == "invalid_badge" and verdict.http_status == 400
    assert scan.payload == "not a badge" and scan.status == "denied"
    verdict, scan = decide_scan(store, b"\xff" * 10_000, NOW)
    assert verdict.reason.value == "invalid_badge"
    assert len(scan.payload) <= 2048  # the server refuses longer payloads
    parse_batch({"scans": [scan.to_dict()]})


def test_pick_session_follows_the_schedule(make_store: MakeStore) -> None:
    store = make_store(room=world.ROOM_B)
    early = NOW - timedelta(minutes=45)  # 09:45: only the early atelier runs
    verdict, _ = decide_scan(store, qr(world.PAID), early)
    assert verdict.session_id == world.S_ATELIER_EARLY
    assert verdict.reason.value == "payment_required"  # PAID paid the other atelier
    afternoon = NOW.replace(hour=12)  # nothing runs: the door is open to the event
    verdict, scan = decide_scan(store, qr(world.UNPAID), afternoon)
    assert verdict.reason.value == "granted" and verdict.session_id is None
    assert scan.session_id is None
    verdict, _ = decide_scan(store, qr(world.UNPAID), NOW.replace(hour=14, minute=30))
    assert verdict.reason.value == "granted" and verdict.session_id == world.S_LATER


def test_free_session_in_room_a(make_store: MakeStore) -> None:
    store = make_store(room=world.ROOM_A)
    verdict, _ = decide_scan(store, qr(world.ROOM_A_ONLY), NOW)
    assert verdict.reason.value == "granted" and verdict.session_id == world.S_KEYNOTE
    verdict, _ = decide_scan(store, qr(world.UNPAID), NOW)
    assert verdict.reason.value == "granted"


def test_pinned_session(make_store: MakeStore) -> None:
    store = make_store(room=world.ROOM_B, pinned=world.S_LATER)  # free, not running now
    verdict, scan = decide_scan(store, qr(world.UNPAID), NOW)
    assert verdict.reason.value == "granted" and verdict.session_id == world.S_LATER
    assert scan.session_id == uuid.UUID(world.S_LATER)
    store = make_store(room=world.ROOM_B, pinned=world.S_ATELIER)
    verdict, _ = decide_scan(store, qr(world.UNPAID), NOW.replace(hour=16))
    assert verdict.reason.value == "payment_required"
    store = make_store(room=world.ROOM_B, pinned=world.S_KEYNOTE)  # held in room A
    verdict, _ = decide_scan(store, qr(world.PAID), NOW)
    assert verdict.reason.value == "session_not_in_room"
    store = make_store(room=world.ROOM_B, pinned=str(uuid.uuid4()))
    verdict, _ = decide_scan(store, qr(world.PAID), NOW)
    assert verdict.reason.value == "session_not_found"


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        (world.UNPAID, "granted"),
        (world.ROOM_A_ONLY, "granted"),
        (world.NO_PARTICIPANT, "granted"),
        (world.OUTSIDER, "not_in_event"),
        (world.DISABLED, "account_disabled"),
        (999, "not_in_event"),
    ],
)
def test_booth_mode(make_store: MakeStore, user: int, reason: str) -> None:
    store = make_store(mode="booth", room=None)
    verdict, scan = decide_scan(store, qr(user), NOW)
    assert verdict.reason.value == reason
    assert scan.kind == "booth_visit" and scan.room_id is None and scan.session_id is None
    assert verdict.room_id is None and verdict.session_id is None


def test_revocation_and_removal_arrive_by_sync(make_store: MakeStore) -> None:
    store = make_store()
    new_badge = world.badge_id(world.PAID, "C")
    store.apply_page(
        page(
            [
                change(500, "member", str(world.PAID), member_data(world.PAID)),
                change(
                    501,
                    "revoked_badge",
                    world.badge_id(world.PAID),
                    {"badge_id": world.badge_id(world.PAID), "user_id": world.PAID},
                ),
                change(502, "member", str(world.STAFF), None),
            ],
            "c2",
        )
    )
    assert decide_scan(store, qr(world.PAID), NOW)[0].reason.value == "revoked_badge"
    assert decide_scan(store, qr(world.PAID, "C"), NOW)[0].badge_id == new_badge
    assert decide_scan(store, qr(world.STAFF), NOW)[0].reason.value == "not_in_event"


def test_clock_offset_corrects_time_and_decision(make_store: MakeStore) -> None:
    store = make_store(room=world.ROOM_B)
    store.set_meta(clock_offset_ms=60_000)  # the kiosk is one minute late
    kiosk_now = NOW.replace(minute=59, second=30)  # 10:59:30 here, 11:00:30 on the server
    verdict, scan = decide_scan(store, qr(world.UNPAID), kiosk_now)
    assert scan.scanned_at == kiosk_now + timedelta(minutes=1)
    assert verdict.reason.value == "granted" and verdict.session_id is None  # atelier over


def test_scans_are_unique_valid_and_offline_unless_told(make_store: MakeStore) -> None:
    store = make_store()
    scans = [decide_scan(store, qr(world.PAID), NOW)[1] for _ in range(3)]
    assert len({s.client_id for s in scans}) == 3
    assert all(s.client_id.version == 4 for s in scans)
    parse_batch({"scans": [s.to_dict() for s in scans]})  # what the server validates
    _, scan = decide_scan(store, qr(world.PAID), NOW, offline=False, notes="hello")
    assert scan.decided_offline is False and scan.notes == "hello"


def test_record_scan_queues_with_the_store_online_state(make_store: MakeStore) -> None:
    store = make_store()
    _, scan = record_scan(store, qr(world.PAID), NOW)
    assert store.pending() == [scan] and scan.decided_offline is True
    store.set_meta(online=True)
    _, scan = record_scan(store, qr(world.PAID), NOW)
    assert scan.decided_offline is False and store.queue_length() == 2


def test_not_provisioned(store: KioskStore) -> None:
    with pytest.raises(StoreError):
        decide_scan(store, qr(world.PAID), NOW)


@pytest.mark.parametrize(("user", "suffix", "status", "reason"), DOOR_B_CASES)
def test_an_exit_at_door_b_needs_only_a_person_of_the_event(
    make_store: MakeStore, user: int, suffix: str, status: str, reason: str
) -> None:
    """The same badges going out: room and payment refusals pass, the rest stay."""
    store = make_store(room=world.ROOM_B)
    verdict, scan = decide_scan(store, qr(user, suffix), NOW, direction="out")
    passes_out = reason in ("granted", "payment_required", "room_not_allowed")
    passes_out = passes_out or reason == "participant_not_found"
    assert verdict.status == ("granted" if passes_out else "denied"), (user, verdict)
    assert verdict.reason.value == ("granted" if passes_out else reason)
    assert verdict.direction == "out" and scan.direction == "out"


def test_the_kiosks_direction_is_its_current_way_and_is_queued(make_store: MakeStore) -> None:
    store = make_store(room=world.ROOM_B)
    _, entry = record_scan(store, qr(world.ROOM_A_ONLY), NOW)
    assert (entry.direction, entry.status) == ("in", "denied")
    store.set_meta(direction="out")
    assert store.place().direction == "out"
    verdict, out = record_scan(store, qr(world.ROOM_A_ONLY), NOW)
    assert (out.direction, verdict.status) == ("out", "granted")
    # an explicit way wins over the kiosk's
    _, again = record_scan(store, qr(world.ROOM_A_ONLY), NOW, direction="in")
    assert again.direction == "in"
    assert [s.direction for s in store.pending()] == ["in", "out", "in"]
    sent = [s.to_dict() for s in store.pending()]
    assert [s.direction for s in parse_batch({"scans": sent}).scans] == ["in", "out", "in"]


def test_a_booth_scans_no_exits(make_store: MakeStore) -> None:
    store = make_store(mode="booth")
    store.set_meta(direction="out")
    verdict, scan = decide_scan(store, qr(world.PAID), NOW)
    assert verdict.direction == "in" and scan.direction == "in"


def test_a_store_from_before_directions_keeps_its_queue_as_entries(
    make_store: MakeStore,
) -> None:
    import sqlite3

    from kiosk.store import DB_NAME, SCHEMA_VERSION

    store = make_store(room=world.ROOM_B)
    _, queued = record_scan(store, qr(world.PAID), NOW)
    path, data_dir = store.data_dir / DB_NAME, store.data_dir
    store.close()
    old = sqlite3.connect(path)  # the outbox as schema 3 had it: no direction
    old.execute("ALTER TABLE outbox DROP COLUMN direction")
    old.execute("PRAGMA user_version = 3")
    old.commit()
    old.close()

    reopened = KioskStore(data_dir)
    try:
        assert [(s.client_id, s.direction) for s in reopened.pending()] == [
            (queued.client_id, "in")
        ]
        record_scan(reopened, qr(world.PAID), NOW, direction="out")
        assert [s.direction for s in reopened.pending()] == ["in", "out"]
        version = reopened._conn().execute("PRAGMA user_version").fetchone()[0]
        assert version == SCHEMA_VERSION == 4
    finally:
        reopened.close()
