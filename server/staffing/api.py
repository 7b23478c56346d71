"""Room assignments (seed: Room Assignment Endpoints): gestionnaires only."""

from __future__ import annotations

import uuid
from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy import not_, select

from server.auth.permissions import IS_GESTIONNAIRE, current_identity, require_auth
from server.events.api import event_filter
from server.extensions import db
from server.models import RoomAssignment
from server.pagination import paginate
from server.schema import Blueprint, documented, page_of
from server.staffing import operations
from server.staffing.schemas import (
    RoomAssignmentInSchema,
    RoomAssignmentListArgs,
    RoomAssignmentPatchSchema,
    RoomAssignmentSchema,
)
from shared.timefmt import utcnow

bp = Blueprint("room_assignments", __name__, description="Staff posted to rooms, by time slot")


@bp.get("/api/room-assignments/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(RoomAssignmentListArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(RoomAssignmentSchema))
@documented(bp, errors=(400, 403))
def list_assignments(**args: Any) -> dict[str, Any]:
    """The event's room assignments, by start time."""
    stmt = select(RoomAssignment).where(
        RoomAssignment.event_id == event_filter(args.get("event_id"))
    )
    if args.get("room_id") is not None:
        stmt = stmt.where(RoomAssignment.room_id == args["room_id"])
    if args.get("user_id") is not None:
        stmt = stmt.where(RoomAssignment.user_id == args["user_id"])
    if args.get("role") is not None:
        stmt = stmt.where(RoomAssignment.role == args["role"])
    if args.get("is_active") is not None:
        stmt = stmt.where(RoomAssignment.is_active.is_(args["is_active"]))
    if args.get("current") is not None:
        now = operations.covering(utcnow())
        stmt = stmt.where(now if args["current"] else not_(now))
    stmt = stmt.order_by(RoomAssignment.start_time, RoomAssignment.id)
    return paginate(stmt, args=args)


@bp.post("/api/room-assignments/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(RoomAssignmentInSchema)
@bp.response(201, RoomAssignmentSchema)
@documented(bp, errors=(400, 403, 409, 415))
def create_assignment(data: dict[str, Any]) -> RoomAssignment:
    """Post a member of the event to one of its rooms; overlapping slots of one person: 409."""
    assignment = operations.create_assignment(current_identity(), data)
    db.session.commit()
    return assignment


@bp.get("/api/room-assignments/<uuid:assignment_id>/")
@require_auth(IS_GESTIONNAIRE)
@bp.response(200, RoomAssignmentSchema)
@documented(bp, errors=(403, 404))
def get_assignment(assignment_id: uuid.UUID) -> RoomAssignment:
    return operations.assignment_in_event(current_identity(), assignment_id)


@bp.put("/api/room-assignments/<uuid:assignment_id>/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(RoomAssignmentInSchema)
@bp.response(200, RoomAssignmentSchema)
@documented(bp, errors=(400, 403, 404, 409, 415))
def replace_assignment(data: dict[str, Any], assignment_id: uuid.UUID) -> RoomAssignment:
    assignment = operations.update_assignment(current_identity(), assignment_id, data)
    db.session.commit()
    return assignment


@bp.patch("/api/room-assignments/<uuid:assignment_id>/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(RoomAssignmentPatchSchema)
@bp.response(200, RoomAssignmentSchema)
@documented(bp, errors=(400, 403, 404, 409, 415))
def update_assignment(data: dict[str, Any], assignment_id: uuid.UUID) -> RoomAssignment:
    assignment = operations.update_assignment(current_identity(), assignment_id, data)
    db.session.commit()
    return assignment


@bp.delete("/api/room-assignments/<uuid:assignment_id>/")
@require_auth(IS_GESTIONNAIRE)
@bp.response(204)
@documented(bp, errors=(403, 404))
def delete_assignment(assignment_id: uuid.UUID) -> ResponseReturnValue:
    operations.delete_assignment(current_identity(), assignment_id)
    db.session.commit()
    return ""
