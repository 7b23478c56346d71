"""The counts the database keeps (migration 0012) against a count of the rows,
after random writes of every kind, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, insert, select, update

from server.extensions import db
from server.models import (
    EventTally,
    Participant,
    RoomAccess,
    RoomDayTally,
    RoomTally,
    User,
    UserEventAssignment,
)
from server.people.anchors import ORDER_TALLY
from shared.roles import Role
from shared.timefmt import utcnow
from tests.conftest import Factory

ROLES = [r.value for r in Role]


def _nonzero(d: dict[Any, Any]) -> dict[Any, Any]:
    """Tallies that count something (a tally may stay at 0 when its rows go)."""
    return {k: v for k, v in d.items() if (any(v) if isinstance(v, tuple) else v)}


def _counted() -> tuple[dict[Any, int], dict[Any, tuple[int, int, int]], dict[Any, Any]]:
    """What the tallies should hold, counted from the rows in Python."""
    events: Counter[tuple[uuid.UUID, str]] = Counter()
    for (event_id,) in db.session.execute(select(Participant.event_id)):
        events[(event_id, "participants")] += 1
    for event_id, role in db.session.execute(
        select(UserEventAssignment.event_id, UserEventAssignment.role).where(
            UserEventAssignment.is_active.is_(True)
        )
    ):
        events[(event_id, f"role:{role}")] += 1
    rooms: dict[Any, list[Any]] = defaultdict(lambda: [0, 0, set()])
    days: dict[Any, list[Any]] = defaultdict(lambda: [0, 0, set()])
    for a in db.session.scalars(select(RoomAccess)):
        granted = (a.server_status or a.status) == "granted"
        for tally in (rooms[a.room_id], days[(a.room_id, a.access_time.date())]):
            tally[0] += 1
            tally[1] += granted
            if a.participant_id is not None:
                tally[2].add(a.participant_id)
    return (
        dict(events),
        {k: (s, g, len(v)) for k, (s, g, v) in rooms.items()},
        {k: (s, g, len(v)) for k, (s, g, v) in days.items()},
    )


def _kept() -> tuple[dict[Any, int], dict[Any, tuple[int, int, int]], dict[Any, Any]]:
    # participants:order is a version (test_participant_pages.py), not a count
    events = {
        (t.event_id, t.name): t.value
        for t in db.session.scalars(select(EventTally).where(EventTally.name != ORDER_TALLY))
    }
    rooms = {
        t.room_id: (t.scans, t.granted, t.visitors) for t in db.session.scalars(select(RoomTally))
    }
    days = {
        (t.room_id, t.day): (t.scans, t.granted, t.visitors)
        for t in db.session.scalars(select(RoomDayTally))
    }
    return events, rooms, days


def _assert_tallies_right() -> None:
    counted, kept = _counted(), _kept()
    for want, have in zip(counted, kept, strict=True):
        assert _nonzero(have) == _nonzero(want)


def _scan(rng: random.Random, event_id: uuid.UUID, room_id: uuid.UUID, pid: Any) -> dict:
    now = utcnow()
    status = rng.choice(["granted", "denied"])
    return {
        "id": uuid.uuid4(),
        "event_id": event_id,
        "room_id": room_id,
        "participant_id": pid,
        "status": status,
        "reason": "granted" if status == "granted" else "room_not_allowed",
        "server_status": rng.choice([None, "granted", "denied"]),
        # around midnight UTC: scans fall on both days
        "access_time": now.replace(hour=0, minute=0) + timedelta(minutes=rng.randint(-90, 90)),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_keep_every_tally_right(app: Flask, make: Factory, seed: int) -> None:
    rng = random.Random(seed)
    events = [make.event() for _ in range(2)]
    rooms = {e: [make.room(e) for _ in range(2)] for e in events}
    with app.app_context():
        for step in range(120):
            event_id = rng.choice(events)
            people = db.session.scalars(
                select(Participant.id).where(Participant.event_id == event_id)
            ).all()
            op = rng.random()
            if op < 0.15 or not people:
                user = User(
                    username=f"u{seed}-{step}",
                    email=f"u{seed}-{step}@example.com",
                    password_hash="x",
                )
                db.session.add(user)
                db.session.flush()
                db.session.add(
                    Participant(
                        id=uuid.uuid4(), user_id=user.id, event_id=event_id, badge_number=f"B{step}"
                    )
                )
                db.session.add(
                    UserEventAssignment(
                        user_id=user.id,
                        event_id=event_id,
                        role=rng.choice(ROLES),
                        is_active=rng.random() < 0.8,
                    )
                )
            elif op < 0.55:  # scans, one or many in one statement (a person twice, too)
                pids = [rng.choice([*people, None]) for _ in range(rng.randint(1, 4))]
                rows = [_scan(rng, event_id, rng.choice(rooms[event_id]), p) for p in pids]
                db.session.execute(insert(RoomAccess.__table__), rows)
            elif op < 0.65:  # the server's verdict changes, a scan moves to another time
                scan = db.session.scalars(select(RoomAccess).limit(1).offset(step % 5)).first()
                if scan is not None:
                    db.session.execute(
                        update(RoomAccess)
                        .where(RoomAccess.id == scan.id)
                        .values(
                            server_status=rng.choice([None, "granted", "denied"]),
                            access_time=scan.access_time + timedelta(hours=rng.choice([-3, 0, 3])),
                        )
                    )
            elif op < 0.72:  # all of one person's scans at once
                db.session.execute(
                    delete(RoomAccess).where(RoomAccess.participant_id == rng.choice(people))
                )
            elif op < 0.8:  # a role given, withdrawn, changed
                a = db.session.scalars(
                    select(UserEventAssignment).where(UserEventAssignment.event_id == event_id)
                ).first()
                if a is not None:
                    a.role = rng.choice(ROLES)
                    a.is_active = rng.random() < 0.5
            elif op < 0.9:  # a participant removed: their scans keep no one (SET NULL)
                db.session.execute(delete(Participant).where(Participant.id == rng.choice(people)))
            else:  # an account deleted: its participant and assignment go with it
                uid = db.session.scalar(
                    select(Participant.user_id).where(Participant.id == rng.choice(people))
                )
                db.session.execute(delete(User).where(User.id == uid))
            db.session.flush()
            if step % 10 == 9:
                db.session.commit()
                _assert_tallies_right()
        db.session.commit()
        _assert_tallies_right()
        # the values a reader uses are non-negative, and rows were counted at all
        kept = _kept()
        assert kept[1] and all(min(v) >= 0 for v in kept[1].values())


def test_a_rolled_back_write_leaves_the_tallies(app: Flask, make: Factory) -> None:
    event_id = make.event()
    room_id = make.room(event_id)
    member = make.member(event_id, Role.PARTICIPANT.value)
    with app.app_context():
        db.session.execute(
            insert(RoomAccess.__table__),
            [_scan(random.Random(1), event_id, room_id, member.participant_id)],
        )
        db.session.rollback()
        assert db.session.get(RoomTally, room_id) is None
        _assert_tallies_right()


def test_two_doors_scanning_a_newcomer_at_once_count_one_visitor(
    app: Flask, make: Factory, backend: str
) -> None:
    """Two transactions insert the first scan of one person in one room; the second
    waits for the first's tally row, then sees its scan."""
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers: the second waits for the first's commit")
    event_id = make.event()
    room_id = make.room(event_id)
    member = make.member(event_id, Role.PARTICIPANT.value)
    rng = random.Random(2)
    rows = [_scan(rng, event_id, room_id, member.participant_id) for _ in range(2)]
    for row in rows:
        row["access_time"] = utcnow()
    with app.app_context():
        engine = db.engine
        first = engine.connect()
        first.begin()
        first.execute(insert(RoomAccess.__table__), [rows[0]])  # holds the tally rows
        done = threading.Event()

        def second_door() -> None:
            with engine.begin() as conn:
                conn.execute(insert(RoomAccess.__table__), [rows[1]])
            done.set()

        thread = threading.Thread(target=second_door)
        thread.start()
        assert not done.wait(0.5), "the second door did not wait for the tally row"
        first.commit()
        first.close()
        thread.join(10)
        assert done.is_set()
        tally = db.session.get(RoomTally, room_id)
        assert tally is not None and (tally.scans, tally.visitors) == (2, 1)
        day = db.session.get(RoomDayTally, (room_id, utcnow().date()))
        assert day is not None and day.visitors == 1
        _assert_tallies_right()


def test_day_tallies_are_per_utc_day(app: Flask, make: Factory) -> None:
    event_id = make.event()
    room_id = make.room(event_id)
    member = make.member(event_id, Role.PARTICIPANT.value)
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    rng = random.Random(3)
    rows = []
    for offset in (timedelta(seconds=-1), timedelta(0), timedelta(hours=23, minutes=59)):
        row = _scan(rng, event_id, room_id, member.participant_id)
        row["access_time"] = midnight + offset
        rows.append(row)
    with app.app_context():
        db.session.execute(insert(RoomAccess.__table__), rows)
        db.session.commit()
        today: date = midnight.date()
        got = {
            t.day: (t.scans, t.visitors)
            for t in db.session.scalars(select(RoomDayTally).where(RoomDayTally.room_id == room_id))
        }
        assert got == {today - timedelta(days=1): (1, 1), today: (2, 1)}
        assert db.session.get(RoomTally, room_id).visitors == 1  # type: ignore[union-attr]
