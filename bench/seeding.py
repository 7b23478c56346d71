"""Building a benchmark's event: the schema, staff, and many participants at once.

The participants go in with Core bulk inserts (outside the change log, as an
import would): a user, a profile with a badge, the participant role and a
participant record each.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import flask_migrate
from flask import Flask
from sqlalchemy import insert

from server.extensions import db
from server.models import Participant, User, UserEventAssignment, UserProfile
from shared.badge import Badge, new_badge_id
from shared.roles import Role

INSERT_CHUNK = 20_000


@dataclass(frozen=True)
class Person:
    user_id: int
    badge_id: str
    participant_id: uuid.UUID

    @property
    def qr(self) -> str:
        return Badge(user_id=self.user_id, badge_id=self.badge_id).payload()


def build_schema(app: Flask) -> None:
    logging.disable(logging.INFO)  # alembic's "Running upgrade" lines
    try:
        with app.app_context():
            flask_migrate.upgrade()
    finally:
        logging.disable(logging.NOTSET)


def chunked(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), INSERT_CHUNK):
        yield rows[start : start + INSERT_CHUNK]


def add_staff(event_id: uuid.UUID, name: str, role: Role, password_hash: str) -> int:
    """A staff member of the event (ORM, flushed, not committed): the user id."""
    user = User(
        username=name,
        email=f"{name}@bench.example.com",
        first_name=name.title(),
        last_name="Bench",
        password_hash=password_hash,
    )
    db.session.add(user)
    db.session.flush()
    db.session.add(UserProfile(user_id=user.id, badge_id=new_badge_id(user.id)))
    db.session.add(
        UserEventAssignment(id=uuid.uuid4(), user_id=user.id, event_id=event_id, role=role.value)
    )
    return user.id


def insert_people(
    event_id: uuid.UUID,
    count: int,
    password_hash: str,
    organisation: Callable[[int], str] = lambda _i: "",
) -> list[Person]:
    """``count`` participants of the event (in an app context, not committed)."""
    user_ids: list[int] = []
    for chunk in chunked(
        [
            {
                "username": f"participant{i:06d}",
                "email": f"participant{i:06d}@bench.example.com",
                "first_name": f"Prénom{i}",
                "last_name": f"Nom{i}",
                "password_hash": password_hash,
            }
            for i in range(count)
        ]
    ):
        user_ids += db.session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True), chunk
        )
    people = [
        Person(user_id=uid, badge_id=new_badge_id(uid), participant_id=uuid.uuid4())
        for uid in user_ids
    ]
    for chunk in chunked([{"user_id": p.user_id, "badge_id": p.badge_id} for p in people]):
        db.session.execute(insert(UserProfile), chunk)
    for chunk in chunked(
        [
            {
                "id": uuid.uuid4(),
                "user_id": p.user_id,
                "event_id": event_id,
                "role": Role.PARTICIPANT.value,
                "meta": {},
            }
            for p in people
        ]
    ):
        db.session.execute(insert(UserEventAssignment), chunk)
    for chunk in chunked(
        [
            {
                "id": p.participant_id,
                "user_id": p.user_id,
                "event_id": event_id,
                "badge_number": f"BENCH-{i:06d}",
                "qr_code_data": p.qr,
                "organisation": organisation(i),
            }
            for i, p in enumerate(people)
        ]
    ):
        db.session.execute(insert(Participant), chunk)
    return people
