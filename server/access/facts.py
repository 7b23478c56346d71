"""The decision core's facts, loaded from the database as the kiosk's own records.

Online verification, uploaded scans and the kiosks all turn the same records
(``member``, ``revoked_badge``, ``session_access``) into facts with the same
code (``shared.sync``), so they decide alike on the same data. Loading costs
a fixed number of queries however many badges are asked about.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Uuid, bindparam, select

from server.changefeed import member_records
from server.extensions import db
from server.models import EventSession, RevokedBadge, SessionAccess
from server.schema import money
from shared.badge import Badge
from shared.decision import PersonFacts, SessionFacts
from shared.sync import person_facts_from_member


@dataclass
class Facts:
    members: dict[int, dict[str, Any]]
    revoked: set[str]
    sessions: dict[uuid.UUID, SessionFacts]
    accesses: dict[tuple[str, str], dict[str, Any]]

    def person(self, badge: Badge, session: SessionFacts | None) -> PersonFacts | None:
        member = self.members.get(badge.user_id)
        if member is None:
            return None
        pid = member.get("participant_id")
        access = self.accesses.get((pid, session.id)) if pid and session else None
        revoked = frozenset({badge.badge_id}) if badge.badge_id in self.revoked else frozenset()
        return person_facts_from_member(member, revoked, access)


_REVOKED = select(RevokedBadge.badge_id).where(
    RevokedBadge.badge_id.in_(bindparam("badge_ids", expanding=True))
)
_SESSIONS = select(
    EventSession.id,
    EventSession.room_id,
    EventSession.title,
    EventSession.is_paid,
    EventSession.price,
).where(
    EventSession.id.in_(bindparam("session_ids", expanding=True)),
    EventSession.event_id == bindparam("event_id", type_=Uuid()),
)
_ACCESSES = select(
    SessionAccess.participant_id,
    SessionAccess.session_id,
    SessionAccess.payment_status,
    SessionAccess.has_access,
).where(
    SessionAccess.session_id.in_(bindparam("session_ids", expanding=True)),
    SessionAccess.participant_id.in_(bindparam("pids", expanding=True)),
)


def load_facts(
    event_id: uuid.UUID,
    badges: Collection[Badge],
    session_ids: Collection[uuid.UUID],
    known_sessions: Mapping[uuid.UUID, SessionFacts] | None = None,
) -> Facts:
    """Facts for these badges and sessions in one event (Core statements built once).

    ``known_sessions``: sessions already loaded (e.g. the one running at a door),
    not read again."""
    conn = db.session.connection()
    members = {
        m["user_id"]: m for m in member_records(db.session, event_id, {b.user_id for b in badges})
    }
    stale = [b.badge_id for b in badges if members.get(b.user_id, {}).get("badge_id") != b.badge_id]
    revoked: set[str] = set()
    if stale:
        revoked = set(conn.execute(_REVOKED, {"badge_ids": stale}).scalars())
    sessions: dict[uuid.UUID, SessionFacts] = dict(known_sessions or {})
    wanted = [sid for sid in session_ids if sid not in sessions]
    if wanted:
        params = {"session_ids": wanted, "event_id": event_id}
        for sid, room_id, title, is_paid, price in conn.execute(_SESSIONS, params):
            sessions[sid] = SessionFacts(
                id=str(sid), room_id=str(room_id), title=title, is_paid=is_paid, price=money(price)
            )
    participant_ids = [
        uuid.UUID(m["participant_id"]) for m in members.values() if m.get("participant_id")
    ]
    accesses: dict[tuple[str, str], dict[str, Any]] = {}
    paid = [sid for sid, s in sessions.items() if s.is_paid]
    if paid and participant_ids:
        params = {"session_ids": paid, "pids": participant_ids}
        for pid, sid, status, has_access in conn.execute(_ACCESSES, params):
            accesses[(str(pid), str(sid))] = {
                "participant_id": str(pid),
                "session_id": str(sid),
                "payment_status": status,
                "has_access": has_access,
            }
    return Facts(members, revoked, sessions, accesses)
