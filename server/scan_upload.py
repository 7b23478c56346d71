"""Storing a kiosk's uploaded scans: once each, with both verdicts.

A batch is evaluated with a fixed number of queries whatever its size: the
facts of every badge in it are loaded at once, as the kiosk's own records
(``member``, ``revoked_badge``, ``session_access``), and turned into the
decision core's facts by the same code the kiosk uses (``shared.sync``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from server.extensions import db
from server.facts import Facts, load_facts
from server.models import ExposantScan, Kiosk, RoomAccess
from shared.badge import Badge, BadgeError, parse_badge
from shared.decision import Place, Verdict, decide
from shared.sync import Scan, ScanBatch, ScanResult, cursor_seq


def server_verdict(kiosk: Kiosk, scan: Scan, facts: Facts, badge: Badge | BadgeError) -> Verdict:
    """What the server's data says of this scan (its payload parsed: ``badge``),
    at this kiosk's place."""
    session = facts.sessions.get(scan.session_id) if scan.session_id else None
    place = Place(
        event_id=str(kiosk.event_id),
        room_id=str(kiosk.room_id) if kiosk.mode == "door" else None,
        mode="door" if kiosk.mode == "door" else "booth",
        session_id=str(scan.session_id) if scan.session_id else None,
        session=session,
    )
    person = facts.person(badge, session) if isinstance(badge, Badge) else None
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
        elif scan.client_id in existing and existing[scan.client_id].kiosk_id != kiosk.id:
            results[scan.client_id] = ScanResult(
                str(scan.client_id), "rejected", "this scan id belongs to another kiosk"
            )
        elif scan.client_id in existing:
            row = existing[scan.client_id]
            if isinstance(row, ExposantScan) and scan.notes is not None and row.notes != scan.notes:
                row.notes = scan.notes  # a note edited on the kiosk after the first upload
            results[scan.client_id] = ScanResult(
                str(scan.client_id), "duplicate", None, row.server_status, row.server_reason
            )
        else:
            fresh.append(scan)

    badges = [parse_badge(s.payload) for s in fresh]  # once per scan
    facts = (
        load_facts(
            kiosk.event_id,
            [b for b in badges if isinstance(b, Badge)],
            {s.session_id for s in fresh if s.session_id is not None},
        )
        if fresh
        else None
    )
    rows: list[dict[str, Any]] = []
    for scan, badge in zip(fresh, badges, strict=True):
        assert facts is not None
        verdict = server_verdict(kiosk, scan, facts, badge)
        rows.append(_row(kiosk, scan, badge, verdict, facts, now))
        results[scan.client_id] = ScanResult(
            str(scan.client_id), "accepted", None, verdict.status, verdict.reason.value
        )
    if rows:
        _insert(model, rows, results)
    _heartbeat(kiosk, batch, now)
    return [results[s.client_id] for s in batch.scans]


def _row(
    kiosk: Kiosk,
    scan: Scan,
    badge: Badge | BadgeError,
    verdict: Verdict,
    facts: Facts,
    now: datetime,
) -> dict[str, Any]:
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
    # A Core insert of the table: every row has the same keys, so it is one
    # executemany (the ORM's bulk insert splits rows by which values are None).
    table = model.__table__
    try:
        with db.session.begin_nested():
            db.session.execute(insert(table), rows)
        return
    except IntegrityError:
        pass
    for row in rows:
        try:
            with db.session.begin_nested():
                db.session.execute(insert(table), [row])
        except IntegrityError:
            cid = row["client_id"]
            results[cid] = ScanResult(
                str(cid), "duplicate", None, row["server_status"], row["server_reason"]
            )


def _heartbeat(kiosk: Kiosk, batch: ScanBatch, now: datetime) -> None:
    values: dict[str, Any] = {"last_seen_at": now, "queue_length": batch.queue_length}
    if batch.clock_offset_ms is not None:
        values["clock_offset_ms"] = batch.clock_offset_ms
    seq = cursor_seq(batch.cursor) if batch.cursor is not None else None
    if seq is not None:
        values["last_cursor_seq"] = seq
    db.session.execute(update(Kiosk).where(Kiosk.id == kiosk.id).values(**values))
