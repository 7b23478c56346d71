"""Sessions (seed: Session Management Endpoints), read side, with the seed's filters."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server.auth.permissions import IS_EVENT_MEMBER, current_identity, require_auth, same_event
from server.errors import APIError
from server.events.api import event_filter
from server.events.schemas import SessionListArgs, SessionSchema
from server.extensions import db
from server.models import EventSession
from server.pagination import paginate
from server.schema import Blueprint, documented, page_of

bp = Blueprint("sessions", __name__, description="Sessions of the caller's event")


@bp.get("/api/sessions/")
@require_auth(IS_EVENT_MEMBER)
@bp.arguments(SessionListArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(SessionSchema))
@documented(bp, errors=(400, 403))
def list_sessions(**args: Any) -> dict[str, Any]:
    """The sessions of the caller's event, by start time, with the seed's filters."""
    stmt = (
        select(EventSession)
        .options(joinedload(EventSession.room))
        .where(EventSession.event_id == event_filter(args.get("event_id")))
        .order_by(EventSession.start_time, EventSession.id)
    )
    if args.get("room_id") is not None:
        stmt = stmt.where(EventSession.room_id == args["room_id"])
    if args.get("status") is not None:
        stmt = stmt.where(EventSession.status == args["status"])
    if args.get("session_type") is not None:
        stmt = stmt.where(EventSession.session_type == args["session_type"])
    if args.get("is_paid") is not None:
        stmt = stmt.where(EventSession.is_paid.is_(args["is_paid"]))
    return paginate(stmt, args=args)


@bp.get("/api/sessions/<uuid:session_id>/")
@require_auth(IS_EVENT_MEMBER)
@bp.response(200, SessionSchema)
@documented(bp, errors=(403, 404))
def get_session(session_id: uuid.UUID) -> EventSession:
    """One session of the caller's event."""
    session = db.session.get(EventSession, session_id, options=[joinedload(EventSession.room)])
    if session is None:
        raise APIError(404, "Session not found")
    same_event(current_identity(), session.event_id, "Session")
    return session
