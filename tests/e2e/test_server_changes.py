"""Changes made on the server reach the kiosks; a revoked kiosk keeps deciding."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import DoorKiosk
from tests.e2e.harness import (
    EXIT_REVOKED,
    PARTICIPANT1,
    PARTICIPANT2,
    ROOM_A,
    ROOM_ATELIER,
    Api,
    Server,
    run_orm_script,
)

pytestmark = pytest.mark.e2e

# Through the ORM, in the server's environment: the change feed records it.
REFUND_AND_RESTRICT = """
import sys
from sqlalchemy import select
from server import create_app
from server.extensions import db
from server.models import EventSession, Participant, Room, SessionAccess, User

p1_email, p2_email, room_name = sys.argv[1:]
app = create_app()
with app.app_context():
    def participant(email):
        return db.session.scalars(
            select(Participant).join(User, User.id == Participant.user_id)
            .where(User.email == email)
        ).one()

    p1, p2 = participant(p1_email), participant(p2_email)
    access = db.session.scalars(
        select(SessionAccess)
        .join(EventSession, EventSession.id == SessionAccess.session_id)
        .where(SessionAccess.participant_id == p1.id, EventSession.is_paid.is_(True))
    ).one()
    access.payment_status = "refunded"
    access.has_access = False
    room = db.session.scalars(
        select(Room).where(Room.event_id == p2.event_id, Room.name == room_name)
    ).one()
    assert room in p2.allowed_rooms
    p2.allowed_rooms.remove(room)
    db.session.commit()
    print("changed", access.id, [r.name for r in p2.allowed_rooms])
"""


def _orm(server: Server, *args: str) -> str:
    script = "import sys; sys.argv[1:] = " + json.dumps(list(args)) + "\n" + REFUND_AND_RESTRICT
    return run_orm_script(server.dir, script)


def test_server_side_changes_reach_the_kiosks(
    server: Server, gestionnaire: Api, door_kiosk: DoorKiosk
) -> None:
    door = door_kiosk(ROOM_A)
    atelier = door_kiosk(ROOM_ATELIER)  # the paid atelier runs there now
    p1_id, _ = server.badge(PARTICIPANT1)
    old_p1 = server.qr(PARTICIPANT1)
    p2 = server.qr(PARTICIPANT2)

    before = {
        "door p1": door.verify(old_p1),
        "door p2": door.verify(p2),
        "atelier p1": atelier.verify(old_p1),
    }
    assert {k: v["reason"] for k, v in before.items()} == dict.fromkeys(before, "granted")
    assert before["atelier p1"]["session_title"].startswith("Atelier")
    door.sync()  # uploaded (and judged by the server) before anything changes
    atelier.sync()

    badge = gestionnaire.post("/api/qr/generate/", {"user_id": p1_id, "reissue": True}, expect=201)
    new_p1 = badge["qr_code_data"]
    assert json.loads(new_p1)["badge_id"] != json.loads(old_p1)["badge_id"]
    assert new_p1 == server.qr(PARTICIPANT1)
    out = _orm(server, PARTICIPANT1, PARTICIPANT2, ROOM_A)
    assert "changed" in out and ROOM_A not in out

    # the door kiosk has not synced yet: it decides on what it knows, and that stands
    stale = {"stale old p1": door.verify(old_p1), "stale p2": door.verify(p2)}
    assert {k: v["reason"] for k, v in stale.items()} == dict.fromkeys(stale, "granted")

    door.sync()
    atelier.sync()
    after = {
        "door old p1": door.verify(old_p1),
        "door new p1": door.verify(new_p1),
        "door p2": door.verify(p2),
        "atelier new p1": atelier.verify(new_p1),
        "atelier old p1": atelier.verify(old_p1),
    }
    assert {k: (v["status"], v["reason"]) for k, v in after.items()} == {
        "door old p1": ("denied", "revoked_badge"),
        "door new p1": ("granted", "granted"),
        "door p2": ("denied", "room_not_allowed"),
        "atelier new p1": ("denied", "payment_required"),
        "atelier old p1": ("denied", "revoked_badge"),
    }
    assert after["atelier new p1"]["http_status"] == 402
    # the first scan after a good sync is flagged online (later ones depend on each
    # scan's quick push, which a loaded machine may time out)
    assert after["door old p1"]["offline"] is False
    assert after["atelier new p1"]["offline"] is False

    # the server, on its own data, says the same of every scan it received
    door.sync()
    atelier.sync()
    rows = {r["client_id"]: r for k in (door, atelier) for r in server.scans_of(k.kiosk_id or "")}
    assert len(rows) == len(before) + len(stale) + len(after)
    for name, verdict in {**before, **stale, **after}.items():
        row = rows[verdict["client_id"]]
        assert (row["status"], row["reason"]) == (verdict["status"], verdict["reason"]), name
        if name not in stale:
            assert (row["server_status"], row["server_reason"]) == (row["status"], row["reason"])

    # ... and where the stale kiosk and the server differ, the organizers see it
    found = gestionnaire.get(f"/api/events/{server.event_id()}/discrepancies/")
    assert found["count"] == len(stale)
    differences = {
        d["client_id"]: (d["kiosk"]["reason"], d["server"]["reason"], d["kiosk_id"])
        for d in found["results"]
    }
    assert differences == {
        stale["stale old p1"]["client_id"]: ("granted", "revoked_badge", door.kiosk_id),
        stale["stale p2"]["client_id"]: ("granted", "room_not_allowed", door.kiosk_id),
    }


def test_revoked_kiosk_stops_syncing_but_keeps_deciding(
    server: Server, gestionnaire: Api, door_kiosk: DoorKiosk
) -> None:
    kiosk = door_kiosk(ROOM_A)
    kiosk_id = kiosk.kiosk_id or ""
    payload = server.qr(PARTICIPANT1)
    assert kiosk.verify(payload)["status"] == "granted"
    kiosk.sync()
    assert server.scan_count(kiosk_id) == 1

    gestionnaire.delete(f"/api/kiosks/{kiosk_id}/", expect=204)
    assert gestionnaire.kiosk(kiosk_id)["revoked"] is True

    done = kiosk.sync(expect=EXIT_REVOKED)
    assert "revoked" in done.stdout
    status = kiosk.status()
    assert status["revoked"] is True and status["online"] is False
    assert status["queue_length"] == 0

    verdict = kiosk.verify(payload)  # exit 0: still decided on the local data
    assert verdict["status"] == "granted" and verdict["name"] == "Ahmed Benali"
    status = kiosk.status()
    assert status["queue_length"] == 1  # queued, never sent
    assert set(kiosk.outbox()) == {verdict["client_id"]}
    kiosk.sync(expect=EXIT_REVOKED)
    assert kiosk.status()["queue_length"] == 1
    assert server.scan_count(kiosk_id) == 1
