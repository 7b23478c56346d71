"""A door kiosk keeps deciding while the server is down, and its scans arrive once."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.e2e.conftest import DoorKiosk
from tests.e2e.harness import (
    CONTROLLER,
    EXPOSANT,
    PARTICIPANT1,
    PARTICIPANT2,
    ROOM_A,
    Api,
    Server,
    qr,
    summary_counts,
)

pytestmark = pytest.mark.e2e


def test_offline_scans_are_decided_locally_and_uploaded_exactly_once(
    server: Server, gestionnaire: Api, door_kiosk: DoorKiosk
) -> None:
    kiosk = door_kiosk(ROOM_A)
    assert kiosk.status()["counts"]["member"] == 6  # the demo event's members
    # the badges people hold (their app got them from the server earlier)
    payloads = {
        "participant1": server.qr(PARTICIPANT1),
        "participant2": server.qr(PARTICIPANT2),
        "exposant": server.qr(EXPOSANT),
        "controller": server.qr(CONTROLLER),
        "garbage": "definitely not a badge",
        "unknown user": qr(987654, "USER-987654-ABCDEFGH"),
        "participant1 again": server.qr(PARTICIPANT1),
    }
    server.stop()

    verdicts = {who: kiosk.verify(payload) for who, payload in payloads.items()}

    assert verdicts["participant1"]["status"] == "granted"
    assert verdicts["participant1"]["name"] == "Ahmed Benali"
    assert verdicts["participant1 again"]["status"] == "granted"  # no debounce on verify
    assert verdicts["participant2"]["status"] == "granted"  # Amphithéâtre A is allowed
    assert verdicts["garbage"]["status"] == "denied"
    assert verdicts["garbage"]["reason"] == "invalid_badge"
    assert verdicts["unknown user"]["status"] == "denied"
    # the first scan after the outage is covered by test_first_scan_after_server_loss...
    later = list(verdicts.values())[1:]
    assert all(v["offline"] is True for v in later), later
    client_ids = [v["client_id"] for v in verdicts.values()]
    assert len(set(client_ids)) == len(payloads)

    status = kiosk.status()
    assert status["queue_length"] == len(payloads)
    assert status["online"] is False
    assert set(kiosk.outbox()) == set(client_ids)

    server.start()
    done = kiosk.sync()
    assert summary_counts(done.stdout)["accepted"] == len(payloads)
    assert kiosk.status()["queue_length"] == 0
    assert kiosk.outbox() == {}

    def check_server_rows() -> None:
        rows = server.scans_of(kiosk.kiosk_id or "")
        assert len(rows) == len(payloads)
        per_id = Counter(r["client_id"] for r in rows)
        assert set(per_id) == set(client_ids) and set(per_id.values()) == {1}
        by_id = {r["client_id"]: r for r in rows}
        for verdict in verdicts.values():
            row = by_id[verdict["client_id"]]
            # the kiosk's verdict is kept as it was decided
            assert (row["status"], row["reason"]) == (verdict["status"], verdict["reason"])
            # and recorded as the kiosk's alone: the server was away (the first
            # one too, decided before the kiosk knew: its failed push told it)
            assert row["decided_offline"] is True
            # and the server agrees here: its data did not change meanwhile
            assert (row["server_status"], row["server_reason"]) == (
                verdict["status"],
                verdict["reason"],
            )

    check_server_rows()
    room = gestionnaire.get(f"/api/rooms/{server.room_id(ROOM_A)}/statistics/")["statistics"]
    granted = sum(v["status"] == "granted" for v in verdicts.values())
    assert (room["total_scans"], room["granted"]) == (len(payloads), granted)

    again = kiosk.sync()
    assert summary_counts(again.stdout) == {
        "accepted": 0,
        "duplicate": 0,
        "rejected": 0,
        "queue": 0,
    }
    check_server_rows()
    room = gestionnaire.get(f"/api/rooms/{server.room_id(ROOM_A)}/statistics/")["statistics"]
    granted = sum(v["status"] == "granted" for v in verdicts.values())
    assert (room["total_scans"], room["granted"]) == (len(payloads), granted)


def test_first_scan_after_server_loss_is_marked_offline(
    server: Server, door_kiosk: DoorKiosk
) -> None:
    kiosk = door_kiosk(ROOM_A)
    payload = server.qr(PARTICIPANT1)
    server.stop()
    done = kiosk.run("verify", payload)
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["status"] == "granted"
    # printed as decided, before the push: the kiosk did not know yet
    assert verdict["offline"] is False
    assert "push: offline" in done.stderr  # the push after it found the server gone
    assert kiosk.status()["online"] is False  # the kiosk itself knows by now
    # and the scan waits marked as decided offline (so the server records it so)
    assert kiosk.rows("SELECT decided_offline FROM outbox")[0][0] == 1


def test_registry_queue_length_is_zero_after_everything_was_sent(
    server: Server, gestionnaire: Api, door_kiosk: DoorKiosk
) -> None:
    kiosk = door_kiosk(ROOM_A)
    payload = server.qr(PARTICIPANT1)
    for _ in range(3):
        kiosk.verify(payload)  # each one pushed right away (or by the sync below)
    kiosk.sync()
    assert kiosk.status()["queue_length"] == 0
    assert server.scan_count(kiosk.kiosk_id or "") == 3
    entry = gestionnaire.kiosk(kiosk.kiosk_id or "")
    assert entry["last_seen_at"] is not None
    assert entry["queue_length"] == 0
