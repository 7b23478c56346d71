"""What changes announcements and session questions: one function per use case,
called by the API (and the dashboard), with its permission checks and its
action-log entry in the caller's transaction (flushed, never committed here).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, or_, select

from server import actionlog
from server.auth.permissions import IS_GESTIONNAIRE, Identity, is_annonce_owner
from server.content.models import Annonce
from server.errors import APIError, not_found
from server.extensions import db
from shared.roles import Role
from shared.timefmt import utcnow

FORBIDDEN = "You do not have permission to perform this action"

# ---------------------------------------------------------------------------
# announcements

ANNONCE_FIELDS = ("event_id", "title", "description", "target", "created_by_id")

#: the target each role reads besides ``all`` (gestionnaires read every target)
ROLE_TARGET = {
    Role.PARTICIPANT.value: "participants",
    Role.EXPOSANT.value: "exposants",
    Role.CONTROLLEUR.value: "controlleurs",
}


def annonce_visibility(identity: Identity) -> ColumnElement[bool] | None:
    """What the caller may read of their event's announcements: those for
    ``all``, for their role, and their own; None: every one (gestionnaires)."""
    if identity.has(IS_GESTIONNAIRE):
        return None
    targets = ["all"]
    if identity.role in ROLE_TARGET:
        targets.append(ROLE_TARGET[identity.role])
    return or_(Annonce.target.in_(targets), Annonce.created_by_id == identity.user_id)


def visible_annonce(identity: Identity, annonce_id: uuid.UUID) -> Annonce:
    """One announcement the caller may read; another event's, or one aimed at
    another role, does not exist for them (404)."""
    stmt = select(Annonce).where(Annonce.id == annonce_id)
    stmt = stmt.where(Annonce.event_id == identity.require_event())
    rule = annonce_visibility(identity)
    if rule is not None:
        stmt = stmt.where(rule)
    annonce = db.session.scalar(stmt)
    if annonce is None:
        raise not_found("Announcement")
    return annonce


def create_annonce(identity: Identity, data: Mapping[str, Any]) -> Annonce:
    """Any member of the event announces, to any audience of it."""
    annonce = Annonce(
        id=uuid.uuid4(),
        event_id=identity.require_event(),
        title=data["title"].strip(),
        description=data.get("description", ""),
        target=data.get("target", "all"),
        created_by_id=identity.user_id,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    db.session.add(annonce)
    actionlog.record(
        db.session,
        event_id=annonce.event_id,
        actor_id=identity.user_id,
        action="annonce.create",
        obj_type="annonce",
        obj_id=annonce.id,
        before=None,
        after=actionlog.snapshot(annonce, ANNONCE_FIELDS),
    )
    db.session.flush()
    return annonce


def _owned_annonce(identity: Identity, annonce_id: uuid.UUID) -> Annonce:
    annonce = visible_annonce(identity, annonce_id)
    if not is_annonce_owner(identity, annonce.created_by_id, annonce.event_id):
        raise APIError(403, FORBIDDEN)
    return annonce


def update_annonce(identity: Identity, annonce_id: uuid.UUID, data: Mapping[str, Any]) -> Annonce:
    """The author or a gestionnaire changes the fields given."""
    annonce = _owned_annonce(identity, annonce_id)
    before = actionlog.snapshot(annonce, ANNONCE_FIELDS)
    if "title" in data:
        annonce.title = data["title"].strip()
    if "description" in data:
        annonce.description = data["description"]
    if "target" in data:
        annonce.target = data["target"]
    after = actionlog.snapshot(annonce, ANNONCE_FIELDS)
    if after != before:
        annonce.updated_at = utcnow()
        actionlog.record(
            db.session,
            event_id=annonce.event_id,
            actor_id=identity.user_id,
            action="annonce.update",
            obj_type="annonce",
            obj_id=annonce.id,
            before=before,
            after=after,
        )
    db.session.flush()
    return annonce


def delete_annonce(identity: Identity, annonce_id: uuid.UUID) -> None:
    """The author or a gestionnaire deletes it (nothing refers to an announcement)."""
    annonce = _owned_annonce(identity, annonce_id)
    actionlog.record(
        db.session,
        event_id=annonce.event_id,
        actor_id=identity.user_id,
        action="annonce.delete",
        obj_type="annonce",
        obj_id=annonce.id,
        before=actionlog.snapshot(annonce, ANNONCE_FIELDS),
        after=None,
    )
    db.session.delete(annonce)
    db.session.flush()
