"""GET /api/dashboard/stats/ (seed: Dashboard & Statistics): the caller's event
at a glance: the participants from the event's tally (one row), the sessions
counted and the next five read in SQL, whatever the number of participants."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from server.auth.permissions import IS_EVENT_MEMBER, current_identity, require_auth
from server.errors import not_found
from server.events.dashboard_schemas import DashboardStatsSchema
from server.events.tallies import event_tally
from server.extensions import db
from server.models import Event, EventSession
from server.schema import Blueprint, documented
from shared.roles import Role
from shared.timefmt import utcnow

bp = Blueprint("dashboard", __name__, description="The caller's event at a glance")

#: how many sessions still to come the dashboard shows
UPCOMING = 5


def dashboard_stats(event: Event, role: str | None) -> dict[str, Any]:
    now = utcnow()
    participants = event_tally(event.id, f"role:{Role.PARTICIPANT.value}")
    total, live, completed = db.session.execute(
        select(
            func.count(),
            func.count().filter(EventSession.status == "en_cours"),
            func.count().filter(EventSession.status == "termine"),
        ).where(EventSession.event_id == event.id)
    ).one()
    upcoming = db.session.scalars(
        select(EventSession)
        .options(joinedload(EventSession.room))
        .where(
            EventSession.event_id == event.id,
            EventSession.status == "pas_encore",
            EventSession.start_time > now,
        )
        .order_by(EventSession.start_time, EventSession.id)
        .limit(UPCOMING)
    ).all()
    return {
        "event": event,
        "total_participants": participants,
        "total_sessions": total,
        "live_sessions": live,
        "completed_sessions": completed,
        "upcoming_sessions": list(upcoming),
        "my_role": role,
    }


@bp.get("/api/dashboard/stats/")
@require_auth(IS_EVENT_MEMBER)
@bp.response(200, DashboardStatsSchema)
@documented(bp, errors=(400, 403))
def stats() -> dict[str, Any]:
    """Counts of the caller's event and its next sessions, for any member of it."""
    identity = current_identity()
    event = db.session.get(Event, identity.require_event())
    if event is None:  # deleted since the token was checked
        raise not_found("Event")
    return dashboard_stats(event, identity.role)
