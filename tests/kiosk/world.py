"""Hand-made change pages in the documented format (``shared.sync``), for the kiosk tests.

One event, three rooms, four sessions around :data:`NOW`, and one member per case.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from shared.badge import Badge
from shared.signing import key_id, key_record, message
from shared.timefmt import iso

NOW = datetime(2025, 11, 29, 10, 30, tzinfo=UTC)


def _id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"badgegate-test:{name}"))


EVENT = _id("event")
ROOM_A = _id("room-a")  # a free keynote is running
ROOM_B = _id("room-b")  # a paid atelier is running
ROOM_C = _id("room-c")  # nothing running
S_KEYNOTE = _id("keynote")  # room A, free, 10:00-11:00
S_ATELIER = _id("atelier")  # room B, paid, 10:00-11:00
S_ATELIER_EARLY = _id("atelier-early")  # room B, paid, 09:00-10:45 (overlaps: older start)
S_LATER = _id("later")  # room B, free, 14:00-15:00

# user ids, one per case
STAFF = 1  # controlleur_des_badges
PAID = 2  # participant, every room, paid the atelier
ROOM_A_ONLY = 3  # participant allowed in room A only
UNPAID = 4  # participant, atelier payment pending
OUTSIDER = 5  # a user with no active assignment in the event
REISSUED = 6  # participant whose first badge was reissued
EXPOSANT = 7
DISABLED = 8  # account disabled
NO_PARTICIPANT = 9  # participant role without a participant record


#: the test server's badge signing key (fixed: the same badges in every run)
SIGNING_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC_KEY = SIGNING_KEY.public_key().public_bytes(
    serialization.Encoding.Raw, serialization.PublicFormat.Raw
)
KID = key_id(PUBLIC_KEY)
BADGE_KEYS = [key_record(PUBLIC_KEY)]


def badge_id(user_id: int, suffix: str = "A") -> str:
    return f"USER-{user_id}-{suffix * 8}"  # suffix: one character


def signed(user_id: int, badge: str, key: ed25519.Ed25519PrivateKey = SIGNING_KEY) -> str:
    """The QR payload of a badge signed with ``key`` (the server's, unless given)."""
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    kid = key_id(public)
    sig = key.sign(message(user_id, badge, kid))
    return Badge(user_id, badge, key_id=kid, signature=sig).payload()


def qr(user_id: int, suffix: str = "A") -> str:
    """A badge as the server issues it: signed."""
    return signed(user_id, badge_id(user_id, suffix))


def unsigned_qr(user_id: int, suffix: str = "A") -> str:
    """The seed's two-field form, which only the server can check."""
    return json.dumps({"user_id": user_id, "badge_id": badge_id(user_id, suffix)})


def participant_id(user_id: int) -> str:
    return _id(f"participant-{user_id}")


def change(seq: int, entity: str, key: str, data: dict[str, Any] | None) -> dict[str, Any]:
    op = "delete" if data is None else "upsert"
    return {"seq": seq, "entity": entity, "key": key, "op": op, "data": data}


def page(
    changes: list[dict[str, Any]],
    cursor: str,
    *,
    reset: bool = False,
    has_more: bool = False,
    latest_seq: int | None = None,
) -> dict[str, Any]:
    return {
        "changes": changes,
        "cursor": cursor,
        "has_more": has_more,
        "server_time": iso(NOW),
        "reset": reset,
        "snapshot": reset,
        "latest_seq": latest_seq if latest_seq is not None else len(changes),
        "badge_keys": BADGE_KEYS,
    }


def member_data(
    user_id: int,
    *,
    role: str | None = "participant",
    participant: bool = True,
    allowed: list[str] | None = None,
    active: bool = True,
) -> dict[str, Any]:
    """A member as kiosks receive it: no badge id, no email."""
    return {
        "user_id": user_id,
        "name": f"Person {user_id}",
        "organisation": "ACME",
        "is_active": active,
        "role": role,
        "participant_id": participant_id(user_id) if participant else None,
        "allowed_room_ids": allowed or [],
    }


def session_data(sid: str, room: str, start: datetime, hours: float, paid: bool) -> dict[str, Any]:
    return {
        "id": sid,
        "room_id": room,
        "title": f"Session {sid[:4]}",
        "start_time": iso(start),
        "end_time": iso(start + timedelta(hours=hours)),
        "is_paid": paid,
        "price": "5000.00" if paid else "0.00",
    }


def access_data(user_id: int, session_id: str, status: str = "paid") -> dict[str, Any]:
    return {
        "participant_id": participant_id(user_id),
        "session_id": session_id,
        "payment_status": status,
        "has_access": status == "paid",
    }


def world_records() -> list[tuple[str, str, dict[str, Any]]]:
    """(entity, key, data) of the whole test event."""
    ten = NOW.replace(minute=0)
    records: list[tuple[str, str, dict[str, Any]]] = [
        (
            "event",
            EVENT,
            {
                "id": EVENT,
                "name": "Tech Summit",
                "start_date": iso(NOW - timedelta(hours=6)),
                "end_date": iso(NOW + timedelta(days=1)),
                "is_active": True,
            },
        ),
    ]
    for rid, name in ((ROOM_A, "Salle A"), (ROOM_B, "Salle B"), (ROOM_C, "Salle C")):
        records.append(("room", rid, {"id": rid, "name": name, "is_active": True}))
    for sid, room, start, hours, paid in (
        (S_KEYNOTE, ROOM_A, ten, 1, False),
        (S_ATELIER, ROOM_B, ten, 1, True),
        (S_ATELIER_EARLY, ROOM_B, ten - timedelta(hours=1), 1.75, True),
        (S_LATER, ROOM_B, ten + timedelta(hours=4), 1, False),
    ):
        records.append(("session", sid, session_data(sid, room, start, hours, paid)))
    members = [
        member_data(STAFF, role="controlleur_des_badges", participant=False),
        member_data(PAID),
        member_data(ROOM_A_ONLY, allowed=[ROOM_A]),
        member_data(UNPAID),
        member_data(OUTSIDER, role=None, participant=False),
        member_data(REISSUED),  # badge B is current; badge A was replaced
        member_data(EXPOSANT, role="exposant"),
        member_data(DISABLED, active=False),
        member_data(NO_PARTICIPANT, participant=False),
    ]
    records += [("member", str(m["user_id"]), m) for m in members]
    records.append(
        ("revoked_badge", badge_id(REISSUED), {"badge_id": badge_id(REISSUED), "user_id": REISSUED})
    )
    for uid, status in ((PAID, "paid"), (UNPAID, "pending"), (REISSUED, "paid")):
        key = f"{participant_id(uid)}:{S_ATELIER}"
        records.append(("session_access", key, access_data(uid, S_ATELIER, status)))
    return records


def snapshot(cursor: str = "c1") -> dict[str, Any]:
    """The first (reset) page of a full snapshot of the test event."""
    changes = [change(i + 1, e, k, d) for i, (e, k, d) in enumerate(world_records())]
    return page(changes, cursor, reset=True)


def kiosk_record(mode: str = "door", room: str | None = ROOM_B, **extra: Any) -> dict[str, Any]:
    return {
        "id": _id(f"kiosk-{mode}-{room}"),
        "name": "Kiosk 1",
        "event_id": EVENT,
        "mode": mode,
        "room_id": room if mode == "door" else None,
        "room_name": {ROOM_A: "Salle A", ROOM_B: "Salle B", ROOM_C: "Salle C"}.get(room or ""),
        "exposant_user_id": EXPOSANT if mode == "booth" else None,
        "pinned_session_id": None,
        **extra,
    }
