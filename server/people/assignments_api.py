"""User assignments (seed: User Assignment Endpoints): a person's one role per event.

Gestionnaires read and write every assignment of their event; anyone else reads
their own. Withdrawing a role is ``is_active=false`` (DELETE does that too: the
assignment is kept, as kiosks and the event's history refer to it).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from server.auth.permissions import IS_EVENT_MEMBER, IS_GESTIONNAIRE, current_identity, require_auth
from server.errors import APIError
from server.events.api import event_filter
from server.extensions import db
from server.models import UserEventAssignment
from server.pagination import paginate
from server.people import operations
from server.people.schemas import AssignmentBodySchema, AssignmentListArgs, AssignmentSchema
from server.schema import Blueprint, documented, page_of
from shared.timefmt import iso

bp = Blueprint("user_assignments", __name__, description="People's roles in the caller's event")


def assignment_dict(a: UserEventAssignment) -> dict[str, Any]:
    return {
        "id": str(a.id),
        "user": a.user_id,
        "event": str(a.event_id),
        "role": a.role,
        "is_active": a.is_active,
        "metadata": a.meta or {},
        "assigned_by": a.assigned_by_id,
        "assigned_at": iso(a.assigned_at),
        "name": a.user.full_name,
        "email": a.user.email,
    }


def _visible(event_id: uuid.UUID) -> Select[tuple[UserEventAssignment]]:
    identity = current_identity()
    stmt = (
        select(UserEventAssignment)
        .options(joinedload(UserEventAssignment.user))
        .where(UserEventAssignment.event_id == event_id)
    )
    if not identity.has(IS_GESTIONNAIRE):
        stmt = stmt.where(UserEventAssignment.user_id == identity.user_id)
    return stmt


@bp.get("/api/user-assignments/")
@require_auth(IS_EVENT_MEMBER)
@bp.arguments(AssignmentListArgs, location="query", as_kwargs=True)
@documented(bp, errors=(400, 403), answers={200: page_of(AssignmentSchema)})
def list_assignments(**args: Any) -> ResponseReturnValue:
    """The roles of the caller's event (others than gestionnaires: their own)."""
    try:
        event_id = event_filter(args.get("event"))
    except APIError as exc:  # the seed names this filter ``event``
        if exc.fields and "event_id" in exc.fields:
            exc.fields = {"event": exc.fields["event_id"]}
        raise
    stmt = _visible(event_id)
    if args.get("user") is not None:
        stmt = stmt.where(UserEventAssignment.user_id == args["user"])
    if args.get("role") is not None:
        stmt = stmt.where(UserEventAssignment.role == args["role"])
    if args.get("is_active") is not None:
        stmt = stmt.where(UserEventAssignment.is_active.is_(args["is_active"]))
    stmt = stmt.order_by(UserEventAssignment.assigned_at, UserEventAssignment.id)
    return jsonify(paginate(stmt, assignment_dict, args=args))


@bp.get("/api/user-assignments/<uuid:assignment_id>/")
@require_auth(IS_EVENT_MEMBER)
@documented(bp, errors=(403, 404), answers={200: AssignmentSchema})
def get_assignment(assignment_id: uuid.UUID) -> ResponseReturnValue:
    found = db.session.scalar(
        _visible(current_identity().require_event()).where(UserEventAssignment.id == assignment_id)
    )
    if found is None:
        raise APIError(404, "Assignment not found")
    return jsonify(assignment_dict(found))


@bp.post("/api/user-assignments/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(AssignmentBodySchema)
@documented(bp, errors=(400, 403, 409, 415), answers={201: AssignmentSchema})
def create_assignment(data: dict[str, Any]) -> ResponseReturnValue:
    """Give a person (``user``, or ``email``: created if new) a role in the event."""
    a = operations.create_assignment(current_identity(), data)
    answer = assignment_dict(a)
    db.session.commit()
    return jsonify(answer), 201


@bp.route("/api/user-assignments/<uuid:assignment_id>/", methods=["PUT", "PATCH"])
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(AssignmentBodySchema)
@documented(bp, errors=(400, 403, 404, 409, 415), answers={200: AssignmentSchema})
def update_assignment(data: dict[str, Any], assignment_id: uuid.UUID) -> ResponseReturnValue:
    """Change the role or its metadata, or withdraw it (``is_active=false``). PUT:
    ``role`` required."""
    a = operations.update_assignment(current_identity(), assignment_id, data)
    answer = assignment_dict(a)
    db.session.commit()
    return jsonify(answer)


@bp.delete("/api/user-assignments/<uuid:assignment_id>/")
@documented(bp, errors=(403, 404, 409), answers={204: None})
@require_auth(IS_GESTIONNAIRE)
def delete_assignment(assignment_id: uuid.UUID) -> ResponseReturnValue:
    """Withdraw the role (``is_active=false``); the event's last gestionnaire stays (409)."""
    operations.withdraw_assignment(current_identity(), assignment_id)
    db.session.commit()
    return "", 204
