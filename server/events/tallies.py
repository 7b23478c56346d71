"""Reading the counts the database keeps (``event_tallies``, migration 0012)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.extensions import db
from server.models import EventTally


def event_tally(event_id: uuid.UUID, name: str) -> int:
    """``participants``, or ``role:<role>`` (active assignments): 0 when none."""
    return event_tallies(event_id, name)[name]


def event_tallies(event_id: uuid.UUID, *names: str) -> dict[str, int]:
    """Several of an event's tallies in one query (0 for those not there);
    ``participants:order`` counts the changes of the participants' order
    (migration 0013)."""
    rows = db.session.execute(
        select(EventTally.name, EventTally.value).where(
            EventTally.event_id == event_id, EventTally.name.in_(names)
        )
    )
    found = {name: value for name, value in rows}
    return {name: int(found.get(name) or 0) for name in names}
