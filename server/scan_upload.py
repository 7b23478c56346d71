"""Storing a kiosk's uploaded scans: once each, with both verdicts.

A batch is evaluated with a fixed number of queries whatever its size: the
facts of every badge in it are loaded at once, as the kiosk's own records
(``member``, ``revoked_badge``, ``session_access``), and turned into the
decision core's facts by the same code the kiosk uses (``shared.sync``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from server.changefeed import access_record, member_records
from server.extensions import db
from server.models import (
    EventSession,
    ExposantScan,
    Kiosk,
    RevokedBadge,
    RoomAccess,
    SessionAccess,
)
from server.serializers import money
from shared.badge import Badge, parse_badge
from shared.decision import Place, SessionFacts, Verdict, decide
from shared.sync import Scan, ScanBatch, ScanResult, person_facts_from_member


@dataclass
class _Facts:
    members: dict[int, dict[str, Any]]
    revoked: set[str]
    sessions: dict[uuid.UUID, SessionFacts]
    accesses: dict[tuple[str, str], dict[str, Any]]


def _load_facts(kiosk: Kiosk, scans: list[Scan]) -> _Facts:
    badges = [b for b in (parse_badge(s.payload) for s in scans) if isinstance(b, Badge)]
    members = {
        m["user_id"]: m
        for m in member_records(db.session, kiosk.event_id, {b.user_id for b in badges})
    }
    stale = [b.badge_id for b in badges if members.get(b.user_id, {}).get("badge_id") != b.badge_id]
    revoked: set[str] = set()
    if stale:
        revoked = set(
            db.session.scalars(
                select(RevokedBadge.badge_id).where(RevokedBadge.badge_id.in_(stale))
            )
        )
    session_ids = {s.session_id for s in scans if s.session_id is not None}
    sessions: dict[uuid.UUID, SessionFacts] = {}
    if session_ids:
        for row in db.session.scalars(
            select(EventSession).where(
                EventSession.id.in_(session_ids), EventSession.event_id == kiosk.event_id
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
    return _Facts(members, revoked, sessions, accesses)


def server_verdict(kiosk: Kiosk, scan: Scan, facts: _Facts) -> Verdict:
    """What the server's data says of this scan, at this kiosk's place."""
    badge = parse_badge(scan.payload)
    session = facts.sessions.get(scan.session_id) if scan.session_id else None
    place = Place(
        event_id=str(kiosk.event_id),
        room_id=str(kiosk.room_id) if kiosk.mode == "door" else None,
        mode="door" if kiosk.mode == "door" else "booth",
        session_id=str(scan.session_id) if scan.session_id else None,
        session=session,
    )
    person = None
    if isinstance(badge, Badge) and badge.user_id in facts.members:
        member = facts.members[badge.user_id]
        pid = member.get("participant_id")
        access = facts.accesses.get((pid, session.id)) if pid and session else None
        revoked = frozenset({badge.badge_id}) if badge.badge_id in facts.revoked else frozenset()
        person = person_facts_from_member(member, revoked, access)
    return decide(badge, place, person, scan.scanned_at)


def _refusal(kiosk: Kiosk, scan: Scan) -> str | None:
    expected = "room_access" if kiosk.mode == "door" else "booth_visit"
    if scan.kind != expected:
        return f"a {kiosk.mode} kiosk uploads {expected} scans"
    if kiosk.mode == "door" and scan.room_id is not None and scan.room_id != kiosk.room_id:
        return "scan made at another room than this kiosk's"
    return None


ScanModel = type[RoomAccess] | type[ExposantScan]


def _existing(model: ScanModel, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    if not ids:
        return {}
    return {
        row.client_id: row
        for row in db.session.scalars(select(model).where(model.client_id.in_(ids)))
    }


def store_batch(kiosk: Kiosk, batch: ScanBatch, now: datetime) -> list[ScanResult]:
    """Store the new scans of ``batch`` (not committed); one result per scan, in order."""
    model: ScanModel = RoomAccess if kiosk.mode == "door" else ExposantScan
    existing = _existing(model, [s.client_id for s in batch.scans])
    results: dict[uuid.UUID, ScanResult] = {}
    fresh: list[Scan] = []
    for scan in batch.scans:
        refusal = _refusal(kiosk, scan)
        if refusal is not None:
            results[scan.client_id] = ScanResult(str(scan.client_id), "rejected", refusal)
        elif scan.client_id in existing:
            row = existing[scan.client_id]
            if isinstance(row, ExposantScan) and scan.notes is not None and row.notes != scan.notes:
                row.notes = scan.notes  # a note edited on the kiosk after the first upload
            results[scan.client_id] = ScanResult(
                str(scan.client_id), "duplicate", None, row.server_status, row.server_reason
            )
        else:
            fresh.append(scan)

    facts = _load_facts(kiosk, fresh) if fresh else None
    rows: list[dict[str, Any]] = []
    for scan in fresh:
        assert facts is not None
        verdict = server_verdict(kiosk, scan, facts)
        rows.append(_row(kiosk, scan, verdict, facts, now))
        results[scan.client_id] = ScanResult(
            str(scan.client_id), "accepted", None, verdict.status, verdict.reason.value
        )
    if rows:
        _insert(model, rows, results)
    _heartbeat(kiosk, batch, now)
    return [results[s.client_id] for s in batch.scans]


def _row(
    kiosk: Kiosk, scan: Scan, verdict: Verdict, facts: _Facts, now: datetime
) -> dict[str, Any]:
    badge = parse_badge(scan.payload)
    user_id = badge.user_id if isinstance(badge, Badge) else None
    badge_id = badge.badge_id if isinstance(badge, Badge) else None
    member = facts.members.get(user_id) if user_id is not None else None
    pid = member.get("participant_id") if member else None
    common = {
        "id": uuid.uuid4(),
        "event_id": kiosk.event_id,
        "user_id": user_id,
        "badge_id": badge_id,
        "status": scan.status,
        "reason": scan.reason,
        "server_status": verdict.status,
        "server_reason": verdict.reason.value,
        "client_id": scan.client_id,
        "kiosk_id": kiosk.id,
        "received_at": now,
        "decided_offline": scan.decided_offline,
    }
    if kiosk.mode == "door":
        session_known = scan.session_id is not None and scan.session_id in facts.sessions
        return {
            **common,
            "room_id": kiosk.room_id,
            "session_id": scan.session_id if session_known else None,
            "participant_id": uuid.UUID(pid) if pid else None,
            "access_time": scan.scanned_at,
            "verified_by_id": kiosk.created_by_id,
        }
    return {
        **common,
        "exposant_id": kiosk.exposant_id,
        "scanned_participant_id": uuid.UUID(pid) if pid else None,
        "scanned_at": scan.scanned_at,
        "notes": scan.notes,
    }


def _insert(
    model: ScanModel,
    rows: list[dict[str, Any]],
    results: dict[uuid.UUID, ScanResult],
) -> None:
    """Insert all at once; if another upload stored some meanwhile, go one by one."""
    try:
        with db.session.begin_nested():
            db.session.execute(insert(model), rows)
        return
    except IntegrityError:
        pass
    for row in rows:
        try:
            with db.session.begin_nested():
                db.session.execute(insert(model), [row])
        except IntegrityError:
            cid = row["client_id"]
            results[cid] = ScanResult(
                str(cid), "duplicate", None, row["server_status"], row["server_reason"]
            )


def _heartbeat(kiosk: Kiosk, batch: ScanBatch, now: datetime) -> None:
    values: dict[str, Any] = {"last_seen_at": now, "queue_length": batch.queue_length}
    if batch.clock_offset_ms is not None:
        values["clock_offset_ms"] = batch.clock_offset_ms
    if batch.cursor is not None and batch.cursor.isdigit():
        values["last_cursor_seq"] = int(batch.cursor)
    db.session.execute(update(Kiosk).where(Kiosk.id == kiosk.id).values(**values))
