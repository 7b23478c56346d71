"""Changes made through the organizers' API reach a door kiosk at its next sync
and change its verdicts: a paid atelier moved into the door's room and to now,
then moved away again, with PATCH /api/sessions/{id}/."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.timefmt import iso, utcnow
from tests.e2e.conftest import DoorKiosk
from tests.e2e.harness import PARTICIPANT1, PARTICIPANT2, ROOM_A, Api, Server

pytestmark = pytest.mark.e2e


def _paid_atelier(gestionnaire: Api) -> dict[str, object]:
    found = gestionnaire.get("/api/sessions/", params={"is_paid": "true", "page_size": 100})
    running = [s for s in found["results"] if s["room_name"] != ROOM_A]
    assert running, found
    return dict(running[0])


def test_a_session_moved_through_the_api_changes_the_door_verdict(
    server: Server, gestionnaire: Api, door_kiosk: DoorKiosk
) -> None:
    door = door_kiosk(ROOM_A)
    pending = server.qr(PARTICIPANT2)  # the atelier's payment is still pending
    paid = server.qr(PARTICIPANT1)
    before = door.verify(pending)
    assert (before["status"], before["reason"]) == ("granted", "granted")

    atelier = _paid_atelier(gestionnaire)
    now = utcnow()
    moved = gestionnaire.request(
        "PATCH",
        f"/api/sessions/{atelier['id']}/",
        json={
            "room": server.room_id(ROOM_A),
            # the latest started in the room: the one the kiosk picks now
            "start_time": iso(now - timedelta(minutes=1)),
            "end_time": iso(now + timedelta(hours=2)),
        },
    )
    assert moved["room_name"] == ROOM_A

    stale = door.verify(pending)  # not synced yet: the old schedule stands
    assert stale["reason"] == "granted"
    door.sync()
    after = {"pending": door.verify(pending), "paid": door.verify(paid)}
    assert {k: (v["status"], v["reason"]) for k, v in after.items()} == {
        "pending": ("denied", "payment_required"),
        "paid": ("granted", "granted"),
    }
    assert after["pending"]["http_status"] == 402
    assert after["pending"]["session_title"] == atelier["title"]

    # moved to tomorrow: the door is free again after the next sync
    later = utcnow() + timedelta(days=1)
    gestionnaire.request(
        "PATCH",
        f"/api/sessions/{atelier['id']}/",
        json={"start_time": iso(later), "end_time": iso(later + timedelta(hours=1))},
    )
    door.sync()
    again = door.verify(pending)
    assert (again["status"], again["reason"]) == ("granted", "granted")

    # the organizers' log holds both moves, by the gestionnaire
    log = gestionnaire.get(
        f"/api/events/{server.event_id()}/log/", params={"obj_id": atelier["id"]}
    )
    assert [e["action"] for e in log["results"]] == ["session.update", "session.update"]
    assert log["results"][1]["changed"] == ["end_time", "room_id", "start_time"]


def test_a_room_closed_through_the_api_reaches_the_door_kiosk(
    server: Server, gestionnaire: Api, door_kiosk: DoorKiosk
) -> None:
    door = door_kiosk(ROOM_A)
    room_id = server.room_id(ROOM_A)
    assert door.records("rooms", "id")[room_id]["is_active"] is True
    closed = gestionnaire.request("PATCH", f"/api/rooms/{room_id}/", json={"is_active": False})
    assert closed["is_active"] is False
    door.sync()
    assert door.records("rooms", "id")[room_id]["is_active"] is False
