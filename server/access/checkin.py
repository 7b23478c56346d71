"""Check-in: a person is checked in to an event from their first scan that a
door of the event let through (the door's own verdict, online or offline: it
records that they came, even where the server later judged otherwise and
reported a discrepancy).

Read from the scan log itself, so every writer (a verification, an uploaded
offline scan) checks people in and nothing has to be kept in step: one grouped
query on the log's ``user_id`` index, per person asked about.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select

from server.extensions import db
from server.models import RoomAccess

#: a scan that let its holder in: an entry, by the door's own verdict, online or offline.
#: Presence (check-in, attendance) counts what happened at the door; a server
#: verdict that differs is a discrepancy to follow up, not a person who was
#: not there (or one who was turned away)
LET_IN: ColumnElement[bool] = and_(RoomAccess.status == "granted", RoomAccess.direction == "in")


def checked_in_at(user_id: int, event_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """When ``user_id`` was first let in at each of ``event_ids`` (absent: not yet)."""
    if not event_ids:
        return {}
    stmt = (
        select(RoomAccess.event_id, func.min(RoomAccess.access_time))
        .where(
            RoomAccess.user_id == user_id,
            RoomAccess.event_id.in_(list(event_ids)),
            LET_IN,
        )
        .group_by(RoomAccess.event_id)
    )
    return {event_id: first for event_id, first in db.session.execute(stmt)}
