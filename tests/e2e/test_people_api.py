"""Changes made through the people and session-access endpoints reach the door
kiosks at their next sync: a refund and a payment, allowed rooms, a removed or
deactivated participant, a deactivated staff member."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import DoorKiosk
from tests.e2e.harness import (
    CONTROLLER,
    PARTICIPANT1,
    ROOM_A,
    ROOM_ATELIER,
    Api,
    Server,
)

pytestmark = pytest.mark.e2e


def _reasons(verdicts: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: v["reason"] for name, v in verdicts.items()}


def _participant(api: Api, email: str) -> dict[str, Any]:
    found = api.get("/api/participants/", params={"search": email})["results"]
    assert [p["email"] for p in found] == [email], found
    return dict(found[0])


def _assignment_id(api: Api, user_id: int) -> str:
    found = api.get("/api/user-assignments/", params={"user": user_id})["results"]
    assert len(found) == 1, found
    return str(found[0]["id"])


def test_payments_and_refunds_reach_the_atelier_door(
    server: Server, gestionnaire: Api, door_kiosk: DoorKiosk
) -> None:
    atelier = door_kiosk(ROOM_ATELIER)  # the paid atelier runs there now
    p1 = _participant(gestionnaire, PARTICIPANT1)
    qr = server.qr(PARTICIPANT1)
    room = server.room_id(ROOM_ATELIER)
    paid_here = {
        s["id"]
        for s in gestionnaire.get("/api/sessions/", params={"room_id": room, "is_paid": "true"})[
            "results"
        ]
    }
    [access] = [
        a
        for a in gestionnaire.get("/api/session-access/", params={"participant_id": p1["id"]})[
            "results"
        ]
        if a["session"] in paid_here
    ]
    assert (access["payment_status"], access["has_access"]) == ("paid", True)
    assert atelier.verify(qr)["reason"] == "granted"

    url = f"/api/session-access/{access['id']}/"
    refunded = gestionnaire.request("PATCH", url, json={"payment_status": "refunded"})
    assert refunded["has_access"] is False
    stale = atelier.verify(qr)  # not synced yet: it still knows the payment
    atelier.sync()
    after_refund = atelier.verify(qr)

    paid = gestionnaire.request("PATCH", url, json={"payment_status": "paid"})
    assert paid["has_access"] is True
    atelier.sync()
    after_payment = atelier.verify(qr)
    assert _reasons(
        {"stale": stale, "after refund": after_refund, "after payment": after_payment}
    ) == {"stale": "granted", "after refund": "payment_required", "after payment": "granted"}
    assert after_refund["http_status"] == 402

    # a grant without payment (a speaker, a guest) opens the door as well
    guest = gestionnaire.post(
        "/api/participants/", {"email": "guest@example.com", "badge_number": "E2E-G"}, expect=201
    )
    guest_qr = str(
        gestionnaire.post("/api/qr/generate/", {"user_id": guest["user"]})["qr_code_data"]
    )
    atelier.sync()
    before_grant = atelier.verify(guest_qr)
    granted = gestionnaire.post(
        "/api/session-access/",
        {"participant": guest["id"], "session": access["session"], "has_access": True},
        expect=201,
    )
    assert (granted["payment_status"], granted["amount_paid"]) == ("free", "0.00")
    atelier.sync()
    after_grant = atelier.verify(guest_qr)
    assert _reasons({"before": before_grant, "after": after_grant}) == {
        "before": "payment_required",
        "after": "granted",
    }


def test_rooms_removals_and_withdrawn_roles_reach_the_door(
    server: Server, gestionnaire: Api, door_kiosk: DoorKiosk
) -> None:
    door = door_kiosk(ROOM_A)
    p1 = _participant(gestionnaire, PARTICIPANT1)
    p1_qr = server.qr(PARTICIPANT1)
    controller_qr = server.qr(CONTROLLER)
    controller_id, _ = server.badge(CONTROLLER)
    # two people registered through the API, by email (accounts created)
    kept = gestionnaire.post(
        "/api/participants/", {"email": "kept@example.com", "badge_number": "E2E-1"}, expect=201
    )
    dropped = gestionnaire.post(
        "/api/participants/", {"email": "dropped@example.com", "badge_number": "E2E-2"}, expect=201
    )

    def badge(user_id: int) -> str:
        body = gestionnaire.post("/api/qr/generate/", {"user_id": user_id})
        return str(body["qr_code_data"])

    kept_qr, dropped_qr = badge(kept["user"]), badge(dropped["user"])
    door.sync()
    before = {
        "p1": door.verify(p1_qr),
        "controller": door.verify(controller_qr),
        "kept": door.verify(kept_qr),
    }
    assert _reasons(before) == dict.fromkeys(before, "granted")
    door.sync()  # the scans are on the server now

    # p1 may now enter the atelier room only
    gestionnaire.request(
        "PATCH",
        f"/api/participants/{p1['id']}/",
        json={"allowed_room_ids": [server.room_id(ROOM_ATELIER)]},
    )
    # the one never scanned is deleted; the one scanned cannot be (409): their role goes
    gestionnaire.delete(f"/api/participants/{dropped['id']}/", expect=204)
    refused = gestionnaire.request("DELETE", f"/api/participants/{kept['id']}/", expect=409)
    assert "is_active" in refused["error"]
    gestionnaire.request(
        "PATCH",
        f"/api/user-assignments/{_assignment_id(gestionnaire, kept['user'])}/",
        json={"is_active": False},
    )
    gestionnaire.request(
        "PATCH",
        f"/api/user-assignments/{_assignment_id(gestionnaire, controller_id)}/",
        json={"is_active": False},
    )

    door.sync()
    after = {
        "p1": door.verify(p1_qr),
        "controller": door.verify(controller_qr),
        "kept": door.verify(kept_qr),
        "dropped": door.verify(dropped_qr),
    }
    assert {k: (v["status"], v["reason"]) for k, v in after.items()} == {
        "p1": ("denied", "room_not_allowed"),
        "controller": ("denied", "not_in_event"),
        "kept": ("denied", "not_in_event"),
        "dropped": ("denied", "participant_not_found"),
    }

    # every room again: p1 passes once more
    gestionnaire.request("PATCH", f"/api/participants/{p1['id']}/", json={"allowed_room_ids": []})
    door.sync()
    assert door.verify(p1_qr)["reason"] == "granted"
