"""Parity: an offline kiosk decides exactly as the server, on the same data.

Hypothesis generates an event (rooms, sessions paid or free at any times,
people with any role, active or not, participant records, allowed rooms,
payments, reissued badges) and a second event whose people also scan. A door
kiosk syncs it through the real change feed; then every badge (signed as the
server issues it, current or revoked; signed by another key; a signature moved
to another user; the seed's two-field form; another event's; garbage) is
scanned at every room, for every session and for none, by the kiosk offline
and by the server's ``verify_access``, with the session named and without (the
server then picks it from its schedule, as the kiosk does). They must agree on
status, reason and HTTP code, every time, for every badge the server issues,
for an entry and for an exit.
The seed's two-field form only the server can check: the kiosk never lets it in.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kiosk.decide import decide_scan
from kiosk.store import KioskStore
from server import signing
from server.auth import tokens
from server.badges import ensure_profile, reissue_badge
from server.extensions import db
from server.kiosks.auth import new_device_token
from server.models import (
    Event,
    EventSession,
    Kiosk,
    Participant,
    Room,
    SessionAccess,
    User,
    UserEventAssignment,
)
from shared.badge import Badge
from shared.decision import DIRECTIONS
from shared.signing import key_id, message
from shared.timefmt import utcnow
from tests.conftest import _empty_all_tables

ROLES = [
    "participant",
    "exposant",
    "gestionnaire_des_salles",
    "controlleur_des_badges",
    "organisateur",
    None,  # no assignment at all
]
PAYMENTS = [
    None,
    ("pending", False),
    ("paid", True),
    ("paid", False),
    ("free", True),
    ("free", False),
    ("refunded", False),
]


@dataclass(frozen=True)
class PersonSpec:
    account_active: bool
    role: str | None
    assignment_active: bool
    participant: bool
    allowed: frozenset[int]  # room indexes
    payments: tuple[Any, ...]  # one per session
    reissued: bool


@dataclass(frozen=True)
class WorldSpec:
    rooms: int
    # (room index, paid, start minutes from now, minutes long)
    sessions: tuple[tuple[int, bool, int, int], ...]
    people: tuple[PersonSpec, ...]
    strangers: int


@st.composite
def worlds(draw: st.DrawFn) -> WorldSpec:
    rooms = draw(st.integers(1, 3))
    session = st.tuples(
        st.integers(0, rooms - 1),
        st.booleans(),
        st.sampled_from([-120, -60, -60, -30, 10]),  # equal starts: ties are picked alike
        st.sampled_from([30, 90, 180]),
    )
    sessions = tuple(draw(st.lists(session, max_size=3)))
    person = st.builds(
        PersonSpec,
        account_active=st.booleans(),
        role=st.sampled_from(ROLES),
        assignment_active=st.booleans(),
        participant=st.booleans(),
        allowed=st.frozensets(st.integers(0, rooms - 1), max_size=rooms),
        payments=st.tuples(*[st.sampled_from(PAYMENTS) for _ in sessions]),
        reissued=st.booleans(),
    )
    people = tuple(draw(st.lists(person, min_size=1, max_size=5)))
    return WorldSpec(rooms, sessions, people, draw(st.integers(0, 1)))


@dataclass
class Built:
    event_id: uuid.UUID
    rooms: list[uuid.UUID]
    sessions: list[uuid.UUID]
    badges: list[str]  # QR payloads the server issued (signed), to scan
    unsigned: list[str]  # the seed's two-field forms: only the server can check them
    scanner_token: str


OTHER_KEY = ed25519.Ed25519PrivateKey.generate()


def signed_by(key: ed25519.Ed25519PrivateKey, user_id: int, badge_id: str) -> str:
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    kid = key_id(public)
    sig = key.sign(message(user_id, badge_id, kid))
    return Badge(user_id, badge_id, key_id=kid, signature=sig).payload()


def _user(n: int, active: bool = True) -> User:
    user = User(
        username=f"p{n}-{uuid.uuid4().hex[:6]}",
        email=f"p{n}-{uuid.uuid4().hex[:6]}@example.org",
        first_name=f"P{n}",
        last_name="Test",
        password_hash="x",
        is_active=active,
    )
    db.session.add(user)
    db.session.flush()
    return user


def build(spec: WorldSpec) -> Built:
    """Create the world through the ORM (so the change feed records it)."""
    now = utcnow()
    event = Event(
        id=uuid.uuid4(),
        name="Parity",
        start_date=now - timedelta(days=1),
        end_date=now + timedelta(days=1),
    )
    other = Event(
        id=uuid.uuid4(),
        name="Elsewhere",
        start_date=now - timedelta(days=1),
        end_date=now + timedelta(days=1),
    )
    db.session.add_all([event, other])
    rooms = [Room(id=uuid.uuid4(), event_id=event.id, name=f"R{i}") for i in range(spec.rooms)]
    db.session.add_all(rooms)
    db.session.flush()
    sessions = []
    for i, (room_index, paid, start, minutes) in enumerate(spec.sessions):
        s = EventSession(
            id=uuid.uuid4(),
            event_id=event.id,
            room_id=rooms[room_index].id,
            title=f"S{i}",
            start_time=now + timedelta(minutes=start),
            end_time=now + timedelta(minutes=start + minutes),
            is_paid=paid,
            price=Decimal("100.00") if paid else Decimal("0"),
            session_type="atelier" if paid else "conference",
        )
        sessions.append(s)
    db.session.add_all(sessions)
    scanner = _user(0)
    db.session.add(
        UserEventAssignment(user_id=scanner.id, event_id=event.id, role="controlleur_des_badges")
    )
    signer = signing.signer()
    badges: list[str] = ["garbage", '{"user_id": 1}']
    unsigned: list[str] = []
    for n, p in enumerate(spec.people, start=1):
        user = _user(n, p.account_active)
        if p.role is not None:
            db.session.add(
                UserEventAssignment(
                    user_id=user.id, event_id=event.id, role=p.role, is_active=p.assignment_active
                )
            )
        profile = ensure_profile(user)
        if p.participant:
            part = Participant(
                id=uuid.uuid4(), user_id=user.id, event_id=event.id, badge_number=f"B{n}"
            )
            part.allowed_rooms = [rooms[i] for i in sorted(p.allowed)]
            db.session.add(part)
            db.session.flush()
            for s, pay in zip(sessions, p.payments, strict=True):
                if pay is not None and s.is_paid:
                    db.session.add(
                        SessionAccess(
                            participant_id=part.id,
                            session_id=s.id,
                            payment_status=pay[0],
                            has_access=pay[1],
                        )
                    )
        if p.reissued:
            # the old one, revoked below: signed, and in the seed's form
            badges.append(signer.sign(profile.badge).payload())
            unsigned.append(profile.badge.payload())
            db.session.flush()
            profile = reissue_badge(user, None)
        db.session.flush()
        current = signer.sign(profile.badge)
        badges.append(current.payload())
        unsigned.append(profile.badge.payload())
        # forgeries: another key's signature; this signature on another user's badge
        badges.append(signed_by(OTHER_KEY, user.id, profile.badge_id))
        moved = json.loads(current.payload()) | {"user_id": scanner.id}
        moved["badge_id"] = f"USER-{scanner.id}-" + profile.badge_id.rsplit("-", 1)[1]
        badges.append(json.dumps(moved))
        unsigned.append(f'{{"user_id": {user.id}, "badge_id": "USER-{user.id}-ZZZZZZZZ"}}')
    for k in range(spec.strangers):
        stranger = _user(100 + k)
        db.session.add(
            UserEventAssignment(user_id=stranger.id, event_id=other.id, role="participant")
        )
        db.session.add(Participant(user_id=stranger.id, event_id=other.id, badge_number="X"))
        badges.append(signer.sign(ensure_profile(stranger).badge).payload())
    db.session.commit()
    token = tokens.issue("access", scanner.id, event.id, "controlleur_des_badges")
    return Built(event.id, [r.id for r in rooms], [s.id for s in sessions], badges, unsigned, token)


def sync_kiosk(client: FlaskClient, built: Built, room: uuid.UUID, store: KioskStore) -> None:
    kiosk = Kiosk(id=uuid.uuid4(), event_id=built.event_id, name="door", mode="door", room_id=room)
    device_token = new_device_token(kiosk)
    db.session.add(kiosk)
    db.session.commit()
    store.provision(
        "http://127.0.0.1:9",
        device_token,
        {
            "id": str(kiosk.id),
            "event_id": str(built.event_id),
            "mode": "door",
            "room_id": str(room),
            "room_name": "door",
        },
        badge_keys=signing.signer().key_records(),
    )
    cursor = "0"
    while True:
        r = client.get(
            f"/api/sync/changes?cursor={cursor}&limit=7",
            headers={"Authorization": f"Bearer {device_token}"},
        )
        assert r.status_code == 200, r.json
        store.apply_page(r.json)
        cursor = r.json["cursor"]
        if not r.json["has_more"]:
            return


@pytest.mark.slow
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=worlds())
# a paid atelier running: a door that names no session must still check payment
@example(
    spec=WorldSpec(
        rooms=2,
        sessions=((1, True, -30, 90), (1, False, -120, 60)),
        people=(
            PersonSpec(
                True, "participant", True, True, frozenset(), (("pending", False), None), True
            ),
            PersonSpec(True, "participant", True, True, frozenset(), (("paid", True), None), False),
        ),
        strangers=1,
    )
)
def test_kiosk_offline_verdicts_equal_the_servers(
    app: Flask, tmp_path: Path, spec: WorldSpec
) -> None:
    client = app.test_client()
    with app.app_context():
        _empty_all_tables()
        built = build(spec)
        headers = {"Authorization": f"Bearer {built.scanner_token}"}
        for room_index, room in enumerate(built.rooms):
            store = KioskStore(tmp_path / f"kiosk-{uuid.uuid4().hex}")
            try:
                sync_kiosk(client, built, room, store)
                pins: list[uuid.UUID | None] = [None, *built.sessions, uuid.uuid4()]
                for pin in pins:
                    store.set_meta(pinned_session_id=str(pin) if pin else None)
                    for payload, way in itertools.product(
                        built.badges + built.unsigned, DIRECTIONS
                    ):
                        verdict, scan = decide_scan(store, payload, direction=way)
                        offline = (verdict.status, verdict.reason.value, verdict.http_status)
                        assert scan.direction == way
                        base = {"qr_data": payload, "direction": way}
                        bodies: list[dict[str, Any]] = [base]
                        if scan.session_id is not None:
                            # the session the kiosk used, named; unpinned, also unnamed
                            named = {**base, "session": str(scan.session_id)}
                            bodies = [named] if pin else [named, *bodies]
                        for body in bodies:
                            r = client.post(
                                f"/api/rooms/{room}/verify_access/", json=body, headers=headers
                            )
                            online = (r.json["status"], r.json["reason"], r.status_code)
                            where = (room_index, pin, body, spec)
                            if payload in built.unsigned and offline[1] == "unsigned_badge":
                                continue  # only the server holds badge ids
                            assert online == offline, where
                        if payload in built.unsigned:
                            assert verdict.status == "denied", (payload, verdict)
            finally:
                store.close()
