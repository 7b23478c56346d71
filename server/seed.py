"""Demo data: the seed's ``create_multi_event_data`` and ``create_test_users``.

Three events with three rooms and four sessions each; per event a
gestionnaire, a controller, two participants and an exposant; a paid atelier
per event with one participant who paid and one whose payment is pending; a
participant restricted to some rooms; and ``multi.event@example.com`` with a
different role in each event. The first event runs today. Everything is
written in one transaction, once: a second run finds it and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from server.badges import ensure_profile
from server.extensions import db
from server.models import (
    Event,
    EventSession,
    Participant,
    Room,
    RoomAssignment,
    SessionAccess,
    User,
    UserEventAssignment,
)
from shared.roles import Role
from shared.timefmt import utcnow

DEMO_PASSWORD = "test123"
MULTI_EVENT_EMAIL = "multi.event@example.com"


@dataclass(frozen=True)
class EventSpec:
    name: str
    prefix: str
    location: str
    email_prefix: str  # "" for the first event: the seed's own logins
    days_from_now: int


EVENTS = (
    EventSpec("Tech Summit Algeria 2025", "TECH", "Alger Centre des Congrès", "", 0),
    EventSpec("Startup Week Algeria 2025", "STARTUP", "Oran Convention Center", "startup.", 30),
    EventSpec("Innovation Festival 2025", "INNO", "Constantine, Zénith", "inno.", 60),
)

PEOPLE = (
    # (local part, role, first name, last name)
    ("organizer", Role.GESTIONNAIRE, "Fatima", "Cherif"),
    ("controller", Role.CONTROLLEUR, "Yacine", "Haddad"),
    ("participant1", Role.PARTICIPANT, "Ahmed", "Benali"),
    ("participant2", Role.PARTICIPANT, "Yasmine", "Khelifi"),
    ("exposant", Role.EXPOSANT, "Sofiane", "Mebarki"),
)

ROOMS = (
    ("Amphithéâtre A", 500, "Salle plénière, rez-de-chaussée"),
    ("Salle Atelier B", 40, "Ateliers pratiques, 1er étage"),
    ("Hall Exposition", 300, "Stands des exposants"),
)


@dataclass
class SeedResult:
    created: bool
    logins: list[tuple[str, str, str]]  # (email, event, role)


def _user(email: str, first: str, last: str, password_hash: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(
            username=email.split("@")[0].replace(".", "_"),
            email=email,
            first_name=first,
            last_name=last,
            password_hash=password_hash,
        )
        db.session.add(user)
        db.session.flush()
    ensure_profile(user)
    return user


def _sessions(
    event: Event, rooms: list[Room], start: datetime, now: datetime, live: bool
) -> list[EventSession]:
    """Four sessions; for the live event: one before now, two during, one after."""
    if live:
        slots = [
            (rooms[0], now - timedelta(hours=3), now - timedelta(hours=2), "termine"),
            (rooms[0], now - timedelta(minutes=30), now + timedelta(minutes=60), "en_cours"),
            (rooms[1], now - timedelta(minutes=15), now + timedelta(minutes=75), "en_cours"),
            (rooms[2], now + timedelta(hours=2), now + timedelta(hours=3), "pas_encore"),
        ]
    else:
        slots = [
            (rooms[0], start + timedelta(hours=1), start + timedelta(hours=2), "pas_encore"),
            (rooms[0], start + timedelta(hours=3), start + timedelta(hours=4), "pas_encore"),
            (rooms[1], start + timedelta(hours=2), start + timedelta(hours=5), "pas_encore"),
            (rooms[2], start + timedelta(hours=6), start + timedelta(hours=7), "pas_encore"),
        ]
    titles = [
        ("Ouverture et keynote", "conference", False, "Dr. Karim Benyoucef", "Président"),
        (
            "Intelligence Artificielle et Machine Learning",
            "conference",
            False,
            "Dr. Ahmed Benali",
            "Chercheur en IA",
        ),
        (
            "Atelier: Pitch Deck & Levée de Fonds",
            "atelier",
            True,
            "Sarah Meziane",
            "Venture Capitalist",
        ),
        ("Table ronde: l'écosystème startup", "conference", False, "Nadia Touati", "Fondatrice"),
    ]
    out = []
    for (room, begin, end, status), (title, kind, paid, speaker, speaker_title) in zip(
        slots, titles, strict=True
    ):
        out.append(
            EventSession(
                event_id=event.id,
                room_id=room.id,
                title=title,
                description=f"{title}: {event.name}",
                speaker_name=speaker,
                speaker_title=speaker_title,
                start_time=begin,
                end_time=end,
                theme="IA" if "Intelligence" in title else "Entrepreneuriat",
                status=status,
                session_type=kind,
                is_paid=paid,
                price=Decimal("5000.00") if paid else Decimal("0.00"),
            )
        )
    return out


def seed_demo(password_hash: str, now: datetime | None = None) -> SeedResult:
    """Create the demo data unless it is there already (not committed)."""
    now = now or utcnow()
    logins: list[tuple[str, str, str]] = []
    existing = db.session.scalar(select(Event).where(Event.name == EVENTS[0].name))
    created = existing is None
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)

    multi = _user(MULTI_EVENT_EMAIL, "Karim", "Mansouri", password_hash)
    multi_roles = (Role.PARTICIPANT, Role.EXPOSANT, Role.CONTROLLEUR)

    for index, spec in enumerate(EVENTS):
        live = index == 0
        event = db.session.scalar(select(Event).where(Event.name == spec.name))
        people = {
            local: _user(f"{spec.email_prefix}{local}@makeplus.com", first, last, password_hash)
            for local, _role, first, last in PEOPLE
        }
        if event is None:
            start = (
                day_start - timedelta(days=1)
                if live
                else day_start + timedelta(days=spec.days_from_now, hours=8)
            )
            end = start + timedelta(days=3) if live else start + timedelta(days=2, hours=10)
            event = Event(
                id=uuid.uuid4(),
                name=spec.name,
                description=f"{spec.name}: conférences, ateliers et exposition",
                location=spec.location,
                start_date=start,
                end_date=end,
                created_by_id=people["organizer"].id,
                president_id=people["organizer"].id,
            )
            db.session.add(event)
            db.session.flush()
            _fill_event(event, spec, people, multi, multi_roles[index], live, now, day_start)
        for local, role, _first, _last in PEOPLE:
            logins.append((people[local].email, spec.name, role.value))
        logins.append((multi.email, spec.name, multi_roles[index].value))
    return SeedResult(created=created, logins=logins)


def _fill_event(
    event: Event,
    spec: EventSpec,
    people: dict[str, User],
    multi: User,
    multi_role: Role,
    live: bool,
    now: datetime,
    day_start: datetime,
) -> None:
    organizer = people["organizer"]
    rooms = [
        Room(
            id=uuid.uuid4(),
            event_id=event.id,
            name=name,
            capacity=capacity,
            description=description,
            created_by_id=organizer.id,
        )
        for name, capacity, description in ROOMS
    ]
    db.session.add_all(rooms)
    db.session.flush()
    sessions = _sessions(event, rooms, event.start_date, now, live)
    for session in sessions:
        session.created_by_id = organizer.id
    db.session.add_all(sessions)
    db.session.flush()

    members = [(people[local], role) for local, role, _f, _l in PEOPLE] + [(multi, multi_role)]
    participants: dict[int, Participant] = {}
    number = 0
    for user, role in members:
        meta: dict[str, str] = {}
        if role in (Role.GESTIONNAIRE, Role.CONTROLLEUR):
            room = rooms[1] if role == Role.GESTIONNAIRE else rooms[0]
            meta = {"assigned_room_id": str(room.id)}
            if live:
                db.session.add(
                    RoomAssignment(
                        user_id=user.id,
                        room_id=room.id,
                        event_id=event.id,
                        role=role.value,
                        start_time=day_start,
                        end_time=day_start + timedelta(days=1),
                        assigned_by_id=organizer.id,
                    )
                )
        db.session.add(
            UserEventAssignment(
                user_id=user.id,
                event_id=event.id,
                role=role.value,
                meta=meta,
                assigned_by_id=organizer.id,
            )
        )
        if role in (Role.PARTICIPANT, Role.EXPOSANT):
            number += 1
            badge_number = f"{spec.prefix}2025-{number:03d}"
            participant = Participant(
                id=uuid.uuid4(),
                user_id=user.id,
                event_id=event.id,
                badge_number=badge_number,
                qr_code_data=f"PARTICIPANT:{user.id}:{badge_number}",
                organisation="MakePlus Labs" if role == Role.EXPOSANT else "",
            )
            db.session.add(participant)
            participants[user.id] = participant
    db.session.flush()

    # participant2 may enter the plenary room and the atelier room only.
    participants[people["participant2"].id].allowed_rooms = [rooms[0], rooms[1]]
    atelier = next(s for s in sessions if s.is_paid)
    db.session.add_all(
        [
            SessionAccess(
                participant_id=participants[people["participant1"].id].id,
                session_id=atelier.id,
                payment_status="paid",
                has_access=True,
                amount_paid=atelier.price,
                paid_at=now - timedelta(days=2),
                granted_at=now - timedelta(days=2),
            ),
            SessionAccess(
                participant_id=participants[people["participant2"].id].id,
                session_id=atelier.id,
                payment_status="pending",
                has_access=False,
            ),
        ]
    )
