"""Sessions (seed: Session Management Endpoints), write side and status actions."""

from __future__ import annotations

import uuid
from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy.orm import joinedload

from server.auth.permissions import IS_GESTIONNAIRE, current_identity, require_auth, same_event
from server.errors import APIError
from server.events import operations
from server.events.models import EventSession
from server.events.schemas import (
    ConflictSchema,
    SessionInputSchema,
    SessionPatchSchema,
    SessionSchema,
)
from server.extensions import db
from server.schema import Blueprint, documented

bp = Blueprint("sessions_manage", __name__, description="Sessions: the organizer's side")


def session_in_event(session_id: uuid.UUID) -> EventSession:
    session = db.session.get(EventSession, session_id, options=[joinedload(EventSession.room)])
    if session is None:
        raise APIError(404, "Session not found")
    same_event(current_identity(), session.event_id, "Session")
    return session


@bp.post("/api/sessions/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(SessionInputSchema, location="json")
@bp.response(201, SessionSchema)
@documented(bp, errors=(400, 403, 415))
def create_session(values: dict[str, Any]) -> ResponseReturnValue:
    """A new session in a room of the caller's event. Gestionnaires."""
    session = operations.create_session(current_identity(), values)
    db.session.commit()
    return session, 201


def _change(session_id: uuid.UUID, values: dict[str, Any]) -> EventSession:
    session = session_in_event(session_id)
    operations.update_session(current_identity(), session, values)
    db.session.commit()
    return session


@bp.put("/api/sessions/<uuid:session_id>/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(SessionInputSchema, location="json")
@bp.response(200, SessionSchema)
@documented(bp, errors=(400, 403, 404, 415))
def replace_session(values: dict[str, Any], session_id: uuid.UUID) -> EventSession:
    """Change a session, every field given. Gestionnaires of its event."""
    return _change(session_id, values)


@bp.patch("/api/sessions/<uuid:session_id>/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(SessionPatchSchema, location="json")
@bp.response(200, SessionSchema)
@documented(bp, errors=(400, 403, 404, 415))
def update_session(values: dict[str, Any], session_id: uuid.UUID) -> EventSession:
    """Change some of a session's fields (another room, another time: kiosks follow
    at their next sync)."""
    return _change(session_id, values)


@bp.delete("/api/sessions/<uuid:session_id>/")
@require_auth(IS_GESTIONNAIRE)
@bp.response(204)
@bp.alt_response(409, schema=ConflictSchema, description="In use: the counts say by what")
@documented(bp, errors=(400, 403, 404))
def delete_session(session_id: uuid.UUID) -> ResponseReturnValue:
    """Delete a session without payments, scans or pinned kiosks (else 409)."""
    session = session_in_event(session_id)
    operations.delete_session(current_identity(), session)
    db.session.commit()
    return "", 204


def _action(session_id: uuid.UUID, action: str) -> EventSession:
    session = session_in_event(session_id)
    operations.set_session_status(current_identity(), session, action)
    db.session.commit()
    return session


def _register(path: str, action: str, doc: str) -> None:
    def view(session_id: uuid.UUID) -> EventSession:
        return _action(session_id, action)

    view.__name__ = f"session_{path}"
    view.__doc__ = doc
    decorated = documented(bp, errors=(400, 403, 404))(view)
    decorated = bp.response(200, SessionSchema)(decorated)
    decorated = require_auth(IS_GESTIONNAIRE)(decorated)
    bp.post(f"/api/sessions/<uuid:session_id>/{path}/")(decorated)


_register("mark_live", "mark_live", "Start the session: status en_cours (is_live).")
_register("start", "mark_live", "Start the session (alias of mark_live).")
_register("mark_completed", "mark_completed", "End the session: status termine.")
_register("end", "mark_completed", "End the session (alias of mark_completed).")
_register("cancel", "cancel", "Cancel the session: status back to pas_encore.")
