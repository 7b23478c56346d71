"""Deep pages of an event's participants without a deep OFFSET.

The list is in badge-number order (unique in an event). A page at offset
50,000 made the database walk 50,000 index entries first. Instead, each
server process keeps the badge number found at every :data:`STRIDE`-th place
of the list, read once in one pass over the index, and a page starts from the
nearest one before it: ``badge_number >= anchor OFFSET (offset % STRIDE)``,
at most ``STRIDE`` entries skipped however deep the page.

The anchors hold while the order holds. The database counts the changes of
the order in the tally ``participants:order`` (migration 0013: a participant
added, removed, moved, renumbered, by any writer), and the anchors are read
again when it moved (or the count did: a database restored from a copy). A
page is then exactly the page OFFSET would give.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

from sqlalchemy import Select, func, select

from server.events.tallies import event_tallies
from server.extensions import db
from server.models import Participant

#: places of the list between two anchors
STRIDE = 1000
#: the tally the database moves when the order changes
ORDER_TALLY = "participants:order"
#: events whose anchors a process keeps (the least recently read go first)
MAX_EVENTS = 64

#: the version is (the order tally, the participants tally)
Version = tuple[int, int]

_cache: OrderedDict[uuid.UUID, tuple[Version, list[str]]] = OrderedDict()
_lock = threading.Lock()


def _read_anchors(event_id: uuid.UUID) -> list[str]:
    """The badge numbers at places 0, STRIDE, 2*STRIDE... of the list."""
    place = func.row_number().over(order_by=Participant.badge_number).label("place")
    ranked = (
        select(Participant.badge_number, place).where(Participant.event_id == event_id).subquery()
    )
    stmt = (
        select(ranked.c.badge_number)
        .where((ranked.c.place - 1) % STRIDE == 0)
        .order_by(ranked.c.place)
    )
    return list(db.session.scalars(stmt))


def _version(event_id: uuid.UUID) -> Version:
    tallies = event_tallies(event_id, ORDER_TALLY, "participants")
    return tallies[ORDER_TALLY], tallies["participants"]


def anchors(event_id: uuid.UUID, version: Version) -> list[str]:
    """The event's anchors for the order at ``version`` (read before the list,
    so that anchors read now are at least that new)."""
    with _lock:
        hit = _cache.get(event_id)
        if hit is not None and hit[0] == version:
            _cache.move_to_end(event_id)
            return hit[1]
    found = _read_anchors(event_id)
    if _version(event_id) != version:
        # the order moved while they were read (PostgreSQL reads each statement
        # at its own moment): good for this page, not kept under ``version``
        return found
    with _lock:
        _cache[event_id] = (version, found)
        _cache.move_to_end(event_id)
        while len(_cache) > MAX_EVENTS:
            _cache.popitem(last=False)
    return found


def seek(event_id: uuid.UUID, version: Version) -> Any:
    """A ``paginate(seek=)`` for the whole list of ``event_id`` in badge order."""

    def start(stmt: Select[Any], offset: int) -> tuple[Select[Any], int]:
        if offset < STRIDE:
            return stmt, offset
        known = anchors(event_id, version)
        if not known:
            return stmt, offset
        # past the end, the last anchor: fewer than STRIDE rows follow it
        index = min(offset // STRIDE, len(known) - 1)
        return stmt.where(Participant.badge_number >= known[index]), offset - index * STRIDE

    return start
