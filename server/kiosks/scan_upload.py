"""Storing a kiosk's uploaded scans: once each, with both verdicts.

The server judges each scan as the kiosk should have, with the server's data
*as it was when the scan was made* (``server.history``): the session held in the
kiosk's room then (picked from the schedule as the kiosk picks it, or the
kiosk's pinned session), the person's records then. That verdict is stored
beside the kiosk's; the two differ only when the kiosk decided on stale data
(a change it had not synced yet), which is what discrepancies list.

A batch is judged with a fixed number of queries whatever its size: the
history of every badge in it is loaded at once, as the kiosk's own records
(``member``, ``revoked_badge``, ``session``, ``session_access``), and turned into
the decision core's facts by the same code the kiosk uses (``shared.sync``).

A scan is refused (``rejected``, kept on the kiosk) when it claims a time far
from the server's: its verdict could not be judged, nor counted on its day.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from server.access.verification import check_signature
from server.changefeed import member_records
from server.extensions import db, reads_only
from server.history import add_accesses, load_history
from server.models import ExposantScan, Kiosk, RoomAccess
from server.sealing import CannotOpen, opener
from shared.badge import MAX_PAYLOAD_CHARS, Badge, BadgeError, parse_badge
from shared.decision import Place, Verdict, decide
from shared.sealing import is_sealed
from shared.sync import (
    Scan,
    ScanBatch,
    ScanResult,
    cursor_seq,
    person_facts_from_member,
    pick_session,
    session_facts_from_record,
)


@dataclass(frozen=True, slots=True)
class Judged:
    verdict: Verdict
    session_id: uuid.UUID | None
    participant_id: uuid.UUID | None


def judge(
    kiosk: Kiosk, scans: Sequence[Scan], badges: Sequence[Badge | BadgeError]
) -> list[Judged]:
    """The server's verdict for each scan, on its data at the scan's time."""
    valid = [b for b in badges if isinstance(b, Badge)]
    history = load_history(kiosk.event_id, {b.user_id for b in valid}, {b.badge_id for b in valid})
    door = kiosk.mode == "door"
    room = str(kiosk.room_id) if door and kiosk.room_id else None
    pin = str(kiosk.pinned_session_id) if door and kiosk.pinned_session_id else None
    # (member, session record) of each scan at its time; then the accesses they need
    picked: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []
    for scan, badge in zip(scans, badges, strict=True):
        at = scan.scanned_at
        member = history.at("member", str(badge.user_id), at) if isinstance(badge, Badge) else None
        session = None
        if room is not None:
            if pin is not None:
                session = history.at("session", pin, at)
            else:
                session = pick_session(history.sessions_in_room_at(room, at), room, at)
        picked.append((member, session))
    add_accesses(
        history,
        kiosk.event_id,
        {
            (str(m["participant_id"]), str(s["id"]))
            for m, s in picked
            if m and s and m.get("participant_id") and s.get("is_paid")
        },
    )
    out = []
    for scan, badge, (member, session) in zip(scans, badges, picked, strict=True):
        at = scan.scanned_at
        facts = session_facts_from_record(session) if session is not None else None
        place = Place(
            event_id=str(kiosk.event_id),
            room_id=room,
            mode="door" if door else "booth",
            session_id=pin or (facts.id if facts else None),
            session=facts,
            direction="out" if door and scan.direction == "out" else "in",
        )
        person = None
        pid = member.get("participant_id") if member else None
        if isinstance(badge, Badge) and member is not None:
            revoked = history.at("revoked_badge", badge.badge_id, at)
            access = (
                history.at("session_access", f"{pid}:{facts.id}", at) if pid and facts else None
            )
            person = person_facts_from_member(
                member, frozenset({badge.badge_id}) if revoked else frozenset(), access
            )
        verdict = decide(badge, place, person, at, check_signature(badge))
        out.append(
            Judged(
                verdict,
                uuid.UUID(facts.id) if facts else None,
                uuid.UUID(pid) if pid else None,
            )
        )
    return out


#: how far from the server's clock a scan's time may be (kiosks correct their clock
#: by the offset they measure; an offline kiosk may upload days later)
MAX_AHEAD = timedelta(minutes=10)
MAX_AGE = timedelta(days=60)


def _refusal(kiosk: Kiosk, scan: Scan, now: datetime) -> str | None:
    expected = "room_access" if kiosk.mode == "door" else "booth_visit"
    if scan.kind != expected:
        return f"a {kiosk.mode} kiosk uploads {expected} scans"
    if kiosk.mode == "door" and scan.room_id is not None and scan.room_id != kiosk.room_id:
        return "scan made at another room than this kiosk's"
    if scan.scanned_at > now + MAX_AHEAD:
        return "scanned_at is ahead of the server's clock"
    if scan.scanned_at < now - MAX_AGE:
        return "scanned_at is too old"
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
    """Store the new scans of ``batch`` (not committed); one result per scan, in order.

    The scans are judged in a transaction that only reads (on SQLite it holds no
    write lock: two batches are judged side by side), then the rows are written."""
    with reads_only():
        results, rows, notes, scans = _judge_batch(kiosk, batch, now)
        kiosk_id, mode = kiosk.id, kiosk.mode
        db.session.commit()  # the reading ends: nothing was written
    model: ScanModel = RoomAccess if mode == "door" else ExposantScan
    for row_id, text in notes:  # notes edited on the kiosk after the first upload
        db.session.execute(update(ExposantScan).where(ExposantScan.id == row_id).values(notes=text))
    if rows:
        _insert(model, rows, results)
    _heartbeat(kiosk_id, batch, now)
    return [results[s.client_id] for s in scans]


def _judge_batch(
    kiosk: Kiosk, batch: ScanBatch, now: datetime
) -> tuple[
    dict[uuid.UUID, ScanResult], list[dict[str, Any]], list[tuple[uuid.UUID, str]], list[Scan]
]:
    """Results, rows to insert and notes to update of ``batch``: reads only."""
    model: ScanModel = RoomAccess if kiosk.mode == "door" else ExposantScan
    scans = list(batch.scans)  # sealed payloads opened in place
    existing = _existing(model, [s.client_id for s in scans])
    results: dict[uuid.UUID, ScanResult] = {}
    fresh: list[Scan] = []
    notes: list[tuple[uuid.UUID, str]] = []
    #: booth visits stored before, let in: their visitor's contact goes back again
    again: list[tuple[uuid.UUID, int]] = []
    for i, scan in enumerate(scans):
        refusal = _refusal(kiosk, scan, now)
        if refusal is None and is_sealed(scan.payload):
            try:
                scan = replace(scan, payload=opener().open(str(scan.client_id), scan.payload))
            except CannotOpen as exc:
                refusal = f"the payload cannot be opened: {exc}"
            else:
                if len(scan.payload) > MAX_PAYLOAD_CHARS * 4:
                    refusal = "the payload is too long"
                scans[i] = scan
        if refusal is not None:
            results[scan.client_id] = ScanResult(str(scan.client_id), "rejected", refusal)
        elif scan.client_id in existing and existing[scan.client_id].kiosk_id != kiosk.id:
            results[scan.client_id] = ScanResult(
                str(scan.client_id), "rejected", "this scan id belongs to another kiosk"
            )
        elif scan.client_id in existing:
            row = existing[scan.client_id]
            if isinstance(row, ExposantScan) and scan.notes is not None and row.notes != scan.notes:
                notes.append((row.id, scan.notes))
            results[scan.client_id] = ScanResult(
                str(scan.client_id), "duplicate", None, row.server_status, row.server_reason
            )
            if isinstance(row, ExposantScan) and row.server_status == "granted" and row.user_id:
                again.append((scan.client_id, row.user_id))
        else:
            fresh.append(scan)

    badges = [parse_badge(s.payload) for s in fresh]  # once per scan
    judged = judge(kiosk, fresh, badges) if fresh else []
    booth = kiosk.mode == "booth"
    # a booth gets the contact of the visitors the server let in, as they are now
    contacts = {
        m["user_id"]: m
        for m in member_records(
            db.session,
            kiosk.event_id,
            {j.verdict.user_id for j in judged if j.verdict.granted and j.verdict.user_id}
            | {uid for _c, uid in again},
        )
    } if booth else {}  # fmt: skip
    rows: list[dict[str, Any]] = []
    for scan, badge, j in zip(fresh, badges, judged, strict=True):
        verdict = j.verdict
        rows.append(_row(kiosk, scan, badge, j, now))
        visitor = _visitor(contacts.get(verdict.user_id or 0)) if verdict.granted else None
        results[scan.client_id] = ScanResult(
            str(scan.client_id), "accepted", None, verdict.status, verdict.reason.value, visitor
        )
    for client_id, uid in again:
        results[client_id] = replace(results[client_id], visitor=_visitor(contacts.get(uid)))
    return results, rows, notes, scans


def _visitor(member: dict[str, Any] | None) -> dict[str, Any] | None:
    """A booth visitor's contact, for the exposant: sent once the visit has synced."""
    if member is None:
        return None
    return {
        "user_id": member["user_id"],
        "name": member["name"],
        "email": member.get("email"),
        "organisation": member.get("organisation") or "",
    }


def _row(
    kiosk: Kiosk, scan: Scan, badge: Badge | BadgeError, judged: Judged, now: datetime
) -> dict[str, Any]:
    user_id = badge.user_id if isinstance(badge, Badge) else None
    badge_id = badge.badge_id if isinstance(badge, Badge) else None
    verdict, pid = judged.verdict, judged.participant_id
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
        return {
            **common,
            "room_id": kiosk.room_id,
            "session_id": judged.session_id,  # the session held then, as the server knows it
            "participant_id": pid,
            "access_time": scan.scanned_at,
            "verified_by_id": kiosk.created_by_id,
            "direction": scan.direction,
        }
    return {
        **common,
        "exposant_id": kiosk.exposant_id,
        "scanned_participant_id": pid,
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
            results[cid] = replace(results[cid], result="duplicate")


def _heartbeat(kiosk_id: uuid.UUID, batch: ScanBatch, now: datetime) -> None:
    values: dict[str, Any] = {"last_seen_at": now, "queue_length": batch.queue_length}
    if batch.clock_offset_ms is not None:
        values["clock_offset_ms"] = batch.clock_offset_ms
    seq = cursor_seq(batch.cursor) if batch.cursor is not None else None
    if seq is not None:
        values["last_cursor_seq"] = seq
    db.session.execute(update(Kiosk).where(Kiosk.id == kiosk_id).values(**values))
