"""The decision core's facts, loaded from the database as the kiosk's own records.

Online verification, uploaded scans and the kiosks all turn the same records
(``member``, ``revoked_badge``, ``session_access``) into facts with the same
code (``shared.sync``), so they decide alike on the same data. Loading costs
a fixed number of queries however many badges are asked about.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from server.changefeed import access_record, member_records
from server.extensions import db
from server.models import EventSession, RevokedBadge, SessionAccess
from server.serializers import money
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


def load_facts(
    event_id: uuid.UUID, badges: Collection[Badge], session_ids: Collection[uuid.UUID]
) -> Facts:
    members = {
        m["user_id"]: m for m in member_records(db.session, event_id, {b.user_id for b in badges})
    }
    stale = [b.badge_id for b in badges if members.get(b.user_id, {}).get("badge_id") != b.badge_id]
    revoked: set[str] = set()
    if stale:
        revoked = set(
            db.session.scalars(
                select(RevokedBadge.badge_id).where(RevokedBadge.badge_id.in_(stale))
            )
        )
    sessions: dict[uuid.UUID, SessionFacts] = {}
    if session_ids:
        for row in db.session.scalars(
            select(EventSession).where(
                EventSession.id.in_(session_ids), EventSession.event_id == event_id
            )
        ):
            sessions[row.id] = SessionFacts(
                id=str(row.id),
                room_id=str(row.room_id),
                title=row.title,
                is_paid=row.is_paid,
                price=money(row.price),
            )
    participant_ids = [
        uuid.UUID(m["participant_id"]) for m in members.values() if m.get("participant_id")
    ]
    accesses: dict[tuple[str, str], dict[str, Any]] = {}
    paid = [sid for sid, s in sessions.items() if s.is_paid]
    if paid and participant_ids:
        for sa in db.session.scalars(
            select(SessionAccess).where(
                SessionAccess.session_id.in_(paid),
                SessionAccess.participant_id.in_(participant_ids),
            )
        ):
            accesses[(str(sa.participant_id), str(sa.session_id))] = access_record(sa)
    return Facts(members, revoked, sessions, accesses)
