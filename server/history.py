"""The server's data as it was at an instant, from the change log.

Every change to a record a kiosk holds is logged with its commit time, as the
whole record (the server's form: members with their badge id). An uploaded scan
is judged against the records as they were when it was made, so a verdict a
kiosk got right on the day is not listed as a discrepancy after a later change.

A record with no version in the log (made outside the ORM, e.g. a bulk load)
is taken as it is now. A record whose first version is later than the instant
did not exist then.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from server.changefeed import access_key, access_record, member_records, session_record
from server.extensions import db
from server.models import ChangeLogEntry, EventSession, RevokedBadge, SessionAccess

Key = tuple[str, str]
Record = dict[str, Any]
_CHUNK = 900


@dataclass
class History:
    """Versions of some records of one event, and their present state."""

    #: (entity, key) -> [(commit time, record or None for a deletion)], oldest first
    versions: dict[Key, list[tuple[datetime, Record | None]]] = field(default_factory=dict)
    #: (entity, key) -> the record now (None: none), for records the log never saw
    current: dict[Key, Record | None] = field(default_factory=dict)
    _times: dict[Key, list[datetime]] = field(default_factory=dict, repr=False)
    _rooms: dict[tuple[int, str], list[Record]] = field(default_factory=dict, repr=False)
    _session_times: list[datetime] | None = field(default=None, repr=False)

    def at(self, entity: str, key: str, when: datetime) -> Record | None:
        """The record as it was at ``when``."""
        found = self.versions.get((entity, key))
        if not found:
            return self.current.get((entity, key))
        times = self._times.get((entity, key))
        if times is None or len(times) != len(found):
            times = self._times[(entity, key)] = [t for t, _d in found]
        i = bisect.bisect_right(times, when)
        return found[i - 1][1] if i else None

    def sessions_in_room_at(self, room_id: str, when: datetime) -> list[Record]:
        """The sessions held in ``room_id`` as the schedule was at ``when``. The
        schedule changes only at its versions' times: it is read once per span
        between two of them."""
        if self._session_times is None:
            self._session_times = sorted(
                {t for (e, _k), found in self.versions.items() if e == "session" for t, _d in found}
            )
        span = bisect.bisect_right(self._session_times, when)
        cached = self._rooms.get((span, room_id))
        if cached is None:
            keys = sorted({k for (e, k) in (*self.versions, *self.current) if e == "session"})
            records = (self.at("session", k, when) for k in keys)
            cached = [r for r in records if r is not None and str(r.get("room_id")) == room_id]
            self._rooms[(span, room_id)] = cached
        return cached


def _versions(event_id: uuid.UUID, entity: str, keys: Iterable[str] | None) -> list[Any]:
    """The log rows of ``entity`` (all of the event's, or these keys), in order."""
    base = select(
        ChangeLogEntry.entity,
        ChangeLogEntry.key,
        ChangeLogEntry.created_at,
        ChangeLogEntry.data,
    ).where(ChangeLogEntry.event_id == event_id, ChangeLogEntry.entity == entity)
    if keys is None:
        return list(db.session.execute(base.order_by(ChangeLogEntry.seq)))
    wanted = sorted(set(keys))
    rows: list[Any] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        stmt = base.where(ChangeLogEntry.key.in_(chunk)).order_by(ChangeLogEntry.seq)
        rows.extend(db.session.execute(stmt))
    return rows


def _add(history: History, rows: Iterable[Any]) -> None:
    for entity, key, at, data in rows:
        history.versions.setdefault((entity, key), []).append((at, data))


def load_history(event_id: uuid.UUID, user_ids: Iterable[int], badge_ids: Iterable[str]) -> History:
    """The history of these members, of these badges' revocations and of the
    event's sessions (accesses come after, once the sessions are known:
    :func:`add_accesses`)."""
    h = History()
    uids = sorted(set(user_ids))
    bids = sorted(set(badge_ids))
    _add(h, _versions(event_id, "member", [str(u) for u in uids]))
    _add(h, _versions(event_id, "revoked_badge", bids))
    _add(h, _versions(event_id, "session", None))
    # now, for what the log never saw
    for rec in member_records(db.session, event_id, uids):
        h.current[("member", str(rec["user_id"]))] = rec
    for start in range(0, len(bids), _CHUNK):
        for badge_id, user_id in db.session.execute(
            select(RevokedBadge.badge_id, RevokedBadge.user_id).where(
                RevokedBadge.badge_id.in_(bids[start : start + _CHUNK])
            )
        ):
            h.current[("revoked_badge", badge_id)] = {"badge_id": badge_id, "user_id": user_id}
    for s in db.session.scalars(select(EventSession).where(EventSession.event_id == event_id)):
        h.current[("session", str(s.id))] = session_record(s)
    return h


def add_accesses(history: History, event_id: uuid.UUID, pairs: Iterable[tuple[str, str]]) -> None:
    """The history of these (participant id, session id) accesses."""
    wanted = sorted(set(pairs))
    if not wanted:
        return
    _add(history, _versions(event_id, "session_access", [access_key(p, s) for p, s in wanted]))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        stmt = select(SessionAccess).where(
            SessionAccess.participant_id.in_({uuid.UUID(p) for p, _s in chunk}),
            SessionAccess.session_id.in_({uuid.UUID(s) for _p, s in chunk}),
        )
        for sa in db.session.scalars(stmt):
            key = access_key(sa.participant_id, sa.session_id)
            history.current[("session_access", key)] = access_record(sa)
