"""Reading the counts the database keeps (``event_tallies``, migration 0012)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.extensions import db
from server.models import EventTally


def event_tally(event_id: uuid.UUID, name: str) -> int:
    """``participants``, or ``role:<role>`` (active assignments): 0 when none."""
    value = db.session.scalar(
        select(EventTally.value).where(EventTally.event_id == event_id, EventTally.name == name)
    )
    return int(value or 0)
