"""Sessions (seed: Session Management Endpoints), read side, with the seed's filters."""

from __future__ import annotations

import uuid

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server.auth.permissions import IS_EVENT_MEMBER, current_identity, require_auth, same_event
from server.errors import APIError
from server.events.api import event_filter
from server.extensions import db
from server.models import SESSION_STATUSES, SESSION_TYPES, EventSession
from server.pagination import paginate
from server.serializers import session_dict
from server.validation import query_bool, query_choice, query_uuid

bp = Blueprint("sessions", __name__)


@bp.get("/api/sessions/")
@require_auth(IS_EVENT_MEMBER)
def list_sessions() -> ResponseReturnValue:
    stmt = (
        select(EventSession)
        .options(joinedload(EventSession.room))
        .where(EventSession.event_id == event_filter())
        .order_by(EventSession.start_time, EventSession.id)
    )
    room_id = query_uuid("room_id")
    if room_id is not None:
        stmt = stmt.where(EventSession.room_id == room_id)
    status = query_choice("status", SESSION_STATUSES)
    if status is not None:
        stmt = stmt.where(EventSession.status == status)
    session_type = query_choice("session_type", SESSION_TYPES)
    if session_type is not None:
        stmt = stmt.where(EventSession.session_type == session_type)
    is_paid = query_bool("is_paid")
    if is_paid is not None:
        stmt = stmt.where(EventSession.is_paid.is_(is_paid))
    return jsonify(paginate(stmt, session_dict))


@bp.get("/api/sessions/<uuid:session_id>/")
@require_auth(IS_EVENT_MEMBER)
def get_session(session_id: uuid.UUID) -> ResponseReturnValue:
    session = db.session.get(EventSession, session_id, options=[joinedload(EventSession.room)])
    if session is None:
        raise APIError(404, "Session not found")
    same_event(current_identity(), session.event_id, "Session")
    return jsonify(session_dict(session))
