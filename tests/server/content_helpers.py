"""An event with one member per role (and an organisateur, a platform admin who
is a participant, a member of another event) for the content and staffing tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select

from server.actionlog import ActionLogEntry
from server.extensions import db
from server.models import User
from tests.conftest import AuthActions, Factory, Member, World

G = "gestionnaire_des_salles"
ORG = "organisateur"
C = "controlleur_des_badges"
P = "participant"
E = "exposant"


@dataclass
class Cast:
    world: World
    other: World
    members: dict[str, Member]
    headers: dict[str, dict[str, str]]

    @property
    def event_id(self) -> uuid.UUID:
        return self.world.event_id


def cast(app: Flask, make: Factory, auth: AuthActions) -> Cast:
    """Roles by key: G, ORG, C, P, E, ``admin`` (a platform admin, participant
    here), ``outsider`` (gestionnaire of another event)."""
    world = make.world("Main event")
    other = make.world("Other event")
    members = {role: world.members[role] for role in (G, C, P, E)}
    members[ORG] = make.member(world.event_id, ORG)
    admin = make.user()
    with app.app_context():
        db.session.get(User, admin.id).is_admin = True  # type: ignore[union-attr]
        db.session.commit()
    members["admin"] = make.member(world.event_id, P, user=admin)
    members["outsider"] = other.members[G]
    headers = {key: auth.headers(m) for key, m in members.items()}
    return Cast(world, other, members, headers)


def log_entries(app: Flask, obj_type: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(
            select(ActionLogEntry)
            .where(ActionLogEntry.obj_type == obj_type)
            .order_by(ActionLogEntry.id)
        ).all()
        return [
            {
                "event_id": r.event_id,
                "actor_id": r.actor_id,
                "action": r.action,
                "obj_id": r.obj_id,
                "before": r.before,
                "after": r.after,
            }
            for r in rows
        ]
