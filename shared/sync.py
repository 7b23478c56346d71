"""Sync messages between the server and the kiosks (JSON over HTTP).

Pull, ``GET /api/sync/changes?cursor=&limit=``, answers a :class:`ChangePage`:
the changes after the cursor, in order. Cursor ``"0"`` (or one the server no
longer holds) starts a full snapshot: its first page has ``reset`` set, and
the kiosk empties its copy in the same transaction in which it applies that
page. Every change is an upsert of a whole record, or a tombstone.

Push, ``POST /api/sync/scans``, sends a :class:`ScanBatch`; the server
answers one :class:`ScanResult` per scan. A scan id (UUID made on the kiosk)
is stored once, so resending a batch is always safe.

The records a kiosk holds (``Change.entity``):

=================  =================  ==============================================
entity             key                data
=================  =================  ==============================================
``event``          event id           id, name, start_date, end_date, is_active
``room``           room id            id, name, is_active
``session``        session id         id, room_id, title, start_time, end_time,
                                      is_paid, price
``member``         user id            user_id, name, organisation, is_active,
                                      role, participant_id, allowed_room_ids
``revoked_badge``  badge id           badge_id, user_id
``session_access`` "participant:session"  participant_id, session_id,
                                      payment_status, has_access
=================  =================  ==============================================

A ``member`` is one user as seen from one event: the account, the active
assignment's role (None when not active) and the participant record. The
server's own records also hold the ``email`` and the current ``badge_id``; no
kiosk receives either: badges are checked by their signature (every page
carries the public keys, ``badge_keys``), and a booth gets a visitor's email in
the answer to the upload of that visit (``ScanResult.visitor``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from shared.badge import MAX_PAYLOAD_CHARS
from shared.decision import DIRECTIONS, PersonFacts, SessionAccessFacts, SessionFacts
from shared.sealing import MAX_SEALED_CHARS, is_sealed
from shared.text import has_lone_surrogate, is_ascii_digits, text_problem
from shared.timefmt import parse_iso

ENTITIES = ("event", "room", "session", "member", "revoked_badge", "session_access")
MAX_BATCH = 1000
MAX_NOTES = 2000
#: what the server's columns hold: kiosks.queue_length is 32-bit, seqs are 64-bit
MAX_QUEUE_LENGTH = 2**31 - 1
MAX_SEQ = 2**63 - 1
SCAN_KINDS = ("room_access", "booth_visit")
SCAN_STATUSES = ("granted", "denied")

Op = Literal["upsert", "delete"]
_REASON_CODE = re.compile(r"[a-z_]{1,40}")


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    entity: str
    key: str
    op: Op
    data: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "entity": self.entity,
            "key": self.key,
            "op": self.op,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class ChangePage:
    changes: list[Change]
    cursor: str
    has_more: bool
    server_time: str
    reset: bool = False
    snapshot: bool = False
    #: the newest change the server holds for the event (lag = latest - cursor)
    latest_seq: int = 0
    #: the public keys badges are signed with (``shared.signing.key_record``)
    badge_keys: list[dict[str, str]] | None = None


# ---------------------------------------------------------------------------
# scans


class SyncFormatError(ValueError):
    """A malformed item: ``field`` names it (``scans[3].client_id``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Scan:
    client_id: uuid.UUID
    kind: str  # room_access | booth_visit
    payload: str
    scanned_at: datetime  # kiosk clock, corrected by the kiosk's known offset
    status: str  # the kiosk's verdict
    reason: str
    decided_offline: bool
    room_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    notes: str | None = None
    #: a door scan's way, ``in`` or ``out`` (a booth visit is ``in``)
    direction: str = "in"

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": str(self.client_id),
            "kind": self.kind,
            "payload": self.payload,
            "scanned_at": self.scanned_at.isoformat().replace("+00:00", "Z"),
            "status": self.status,
            "reason": self.reason,
            "decided_offline": self.decided_offline,
            "room_id": str(self.room_id) if self.room_id else None,
            "session_id": str(self.session_id) if self.session_id else None,
            "notes": self.notes,
            "direction": self.direction,
        }


@dataclass(frozen=True, slots=True)
class ScanBatch:
    scans: list[Scan]
    queue_length: int = 0
    clock_offset_ms: int | None = None
    cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _uuid(value: object, where: str, *, optional: bool = False) -> uuid.UUID | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise SyncFormatError(where, "must be a UUID string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise SyncFormatError(where, "must be a valid UUID") from None


def parse_scan(item: object, where: str) -> Scan:
    """Validate one scan of an upload; raise :class:`SyncFormatError` naming the field."""
    if not isinstance(item, dict):
        raise SyncFormatError(where, "must be an object")
    client_id = _uuid(item.get("client_id"), f"{where}.client_id")
    assert client_id is not None
    kind = item.get("kind")
    if kind not in SCAN_KINDS:
        raise SyncFormatError(f"{where}.kind", "must be one of " + ", ".join(SCAN_KINDS))
    payload = item.get("payload")
    if not isinstance(payload, str):
        raise SyncFormatError(f"{where}.payload", "must be a string")
    limit = MAX_SEALED_CHARS if is_sealed(payload) else MAX_PAYLOAD_CHARS * 4
    if len(payload) > limit:
        raise SyncFormatError(f"{where}.payload", "is too long")
    if has_lone_surrogate(payload):
        raise SyncFormatError(f"{where}.payload", "must not contain unpaired surrogates")
    scanned_at = parse_iso(item.get("scanned_at"))  # type: ignore[arg-type]
    if scanned_at is None:
        raise SyncFormatError(f"{where}.scanned_at", "must be an ISO 8601 time with a zone")
    status = item.get("status")
    if status not in SCAN_STATUSES:
        raise SyncFormatError(f"{where}.status", "must be granted or denied")
    reason = item.get("reason")
    if not isinstance(reason, str) or not _REASON_CODE.fullmatch(reason):
        raise SyncFormatError(f"{where}.reason", "must be a reason code")
    offline = item.get("decided_offline")
    if not isinstance(offline, bool):
        raise SyncFormatError(f"{where}.decided_offline", "must be true or false")
    notes = item.get("notes")
    if notes is not None and (not isinstance(notes, str) or len(notes) > MAX_NOTES):
        raise SyncFormatError(f"{where}.notes", f"must be a string of at most {MAX_NOTES}")
    if notes is not None and "\x00" in notes:
        raise SyncFormatError(f"{where}.notes", "must not contain NUL characters")
    problem = text_problem(notes, controls="text") if notes is not None else None
    if problem is not None:
        raise SyncFormatError(f"{where}.notes", problem)
    # absent: ``in`` (kiosks from before directions send none)
    direction = item.get("direction", "in")
    if direction not in DIRECTIONS or (kind == "booth_visit" and direction != "in"):
        allowed = "in" if kind == "booth_visit" else "in or out"
        raise SyncFormatError(f"{where}.direction", f"must be {allowed}")
    return Scan(
        client_id=client_id,
        kind=kind,
        payload=payload,
        scanned_at=scanned_at,
        status=status,
        reason=reason,
        decided_offline=offline,
        room_id=_uuid(item.get("room_id"), f"{where}.room_id", optional=True),
        session_id=_uuid(item.get("session_id"), f"{where}.session_id", optional=True),
        notes=notes,
        direction=direction,
    )


def parse_batch(body: object) -> ScanBatch:
    """Validate a whole upload; the first bad item refuses the batch."""
    if not isinstance(body, dict):
        raise SyncFormatError("body", "must be a JSON object")
    scans = body.get("scans")
    if not isinstance(scans, list):
        raise SyncFormatError("scans", "must be a list")
    if len(scans) > MAX_BATCH:
        raise SyncFormatError("scans", f"at most {MAX_BATCH} scans per batch")
    parsed = [parse_scan(item, f"scans[{i}]") for i, item in enumerate(scans)]
    seen: set[uuid.UUID] = set()
    for i, scan in enumerate(parsed):
        if scan.client_id in seen:
            raise SyncFormatError(f"scans[{i}].client_id", "appears twice in the batch")
        seen.add(scan.client_id)
    queue = body.get("queue_length", 0)
    if type(queue) is not int or not 0 <= queue <= MAX_QUEUE_LENGTH:
        raise SyncFormatError(
            "queue_length", f"must be an integer between 0 and {MAX_QUEUE_LENGTH}"
        )
    offset = body.get("clock_offset_ms")
    if offset is not None and (type(offset) is not int or abs(offset) > 10**12):
        raise SyncFormatError("clock_offset_ms", "must be an integer")
    cursor = body.get("cursor")
    if cursor is not None and (
        not isinstance(cursor, str) or len(cursor) > 200 or not cursor.isascii()
    ):
        raise SyncFormatError("cursor", "must be a cursor the server gave")
    if cursor is not None and cursor_seq(cursor) is None and is_ascii_digits(cursor):
        raise SyncFormatError("cursor", f"must be at most {MAX_SEQ}")
    return ScanBatch(scans=parsed, queue_length=queue, clock_offset_ms=offset, cursor=cursor)


def cursor_seq(cursor: str) -> int | None:
    """The change seq a delta cursor stands for (ASCII digits within 64 bits), else None."""
    if not is_ascii_digits(cursor) or len(cursor) > 19:
        return None
    seq = int(cursor)
    return seq if seq <= MAX_SEQ else None


ScanOutcome = Literal["accepted", "duplicate", "rejected"]


@dataclass(frozen=True, slots=True)
class ScanResult:
    client_id: str
    result: ScanOutcome
    reason: str | None = None
    server_status: str | None = None
    server_reason: str | None = None
    #: a booth visit the server let in: the visitor's contact (user_id, name, email,
    #: organisation), which the booth gets only now
    visitor: dict[str, Any] | None = None


# ---------------------------------------------------------------------------
# from records to the decision core's facts (the same code on both sides)


def session_facts_from_record(data: dict[str, Any]) -> SessionFacts:
    return SessionFacts(
        id=str(data["id"]),
        room_id=str(data["room_id"]),
        title=str(data["title"]),
        is_paid=bool(data["is_paid"]),
        price=str(data["price"]),
    )


def person_facts_from_member(
    member: dict[str, Any],
    revoked_badge_ids: frozenset[str],
    session_access: dict[str, Any] | None,
) -> PersonFacts:
    access = (
        SessionAccessFacts(
            payment_status=str(session_access["payment_status"]),
            has_access=bool(session_access["has_access"]),
        )
        if session_access is not None
        else None
    )
    return PersonFacts(
        user_id=int(member["user_id"]),
        name=str(member["name"]),
        email=str(member.get("email") or ""),
        is_active=bool(member["is_active"]),
        badge_id=member.get("badge_id"),
        badge_id_known="badge_id" in member,
        revoked_badge_ids=revoked_badge_ids,
        role=member.get("role"),
        participant_id=member.get("participant_id"),
        allowed_room_ids=frozenset(member.get("allowed_room_ids") or ()),
        session_access=access,
    )


def pick_session(
    sessions: list[dict[str, Any]], room_id: str, now: datetime
) -> dict[str, Any] | None:
    """The session held in ``room_id`` at ``now``: the latest started if several
    overlap, and of those starting together the one with the greatest id, so
    that the choice never depends on the order the records come in."""
    best: dict[str, Any] | None = None
    best_key: tuple[datetime, str] | None = None
    for s in sessions:
        if str(s.get("room_id")) != room_id:
            continue
        start = parse_iso(s.get("start_time"))  # type: ignore[arg-type]
        end = parse_iso(s.get("end_time"))  # type: ignore[arg-type]
        if start is None or end is None or not start <= now < end:
            continue
        key = (start, str(s.get("id")))
        if best_key is None or key > best_key:
            best, best_key = s, key
    return best
