"""Decide one scan on the local store, through ``shared.decision.decide``.

This module only gathers facts (a few indexed lookups) and builds the
:class:`~shared.sync.Scan` to queue; every rule lives in ``shared``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from kiosk.store import BoothVisit, KioskStore, StoreError
from shared.badge import MAX_PAYLOAD_CHARS, Badge, parse_badge
from shared.decision import Direction, PersonFacts, Place, SessionFacts, Verdict, decide
from shared.signing import SignatureCheck
from shared.sync import Scan, person_facts_from_member, pick_session, session_facts_from_record
from shared.timefmt import as_utc, utcnow

#: the longest payload text a scan carries (the server refuses longer ones)
MAX_SCAN_PAYLOAD = MAX_PAYLOAD_CHARS * 4


def _as_text(raw: str | bytes) -> str:
    if isinstance(raw, str):
        text = raw
    else:
        text = bytes(raw[: MAX_SCAN_PAYLOAD * 4]).decode("utf-8", errors="replace")
    return text[:MAX_SCAN_PAYLOAD]


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def decide_scan(
    store: KioskStore,
    raw_payload: str | bytes,
    now: datetime | None = None,
    *,
    offline: bool = True,
    notes: str | None = None,
    direction: Direction | None = None,
) -> tuple[Verdict, Scan]:
    """The verdict for a scanned payload at this kiosk, and the scan to queue.

    ``direction``: a door's entry or exit (default: the kiosk's current way,
    ``KioskStore.place().direction``); a booth's scans are always ``in``.

    ``now`` is the kiosk's clock (default: now); it is corrected by the clock
    offset measured against the server, and that corrected time is both the
    decision time (which session is running) and the scan's ``scanned_at``.
    Nothing is written: the caller queues the scan (``store.enqueue``).
    """
    cfg = store.place()
    if cfg.event_id is None:
        raise StoreError("this kiosk is not provisioned")
    at = as_utc(now or utcnow())
    if cfg.clock_offset_ms:
        at += timedelta(milliseconds=cfg.clock_offset_ms)

    badge = parse_badge(raw_payload)

    session: SessionFacts | None = None
    if cfg.mode == "booth":
        place = Place(event_id=cfg.event_id, room_id=None, mode="booth")
    else:
        session_id: str | None = cfg.pinned_session_id
        record = None
        if session_id is not None:
            record = store.session(session_id)
        elif cfg.room_id is not None:
            record = pick_session(store.sessions_in_room(cfg.room_id, at), cfg.room_id, at)
            session_id = str(record["id"]) if record is not None else None
        session = session_facts_from_record(record) if record is not None else None
        place = Place(
            event_id=cfg.event_id,
            room_id=cfg.room_id,
            mode="door",
            session_id=session_id,
            session=session,
            direction=direction or cfg.direction,
        )

    person: PersonFacts | None = None
    signature = SignatureCheck.ABSENT
    if isinstance(badge, Badge):
        signature = store.keyring().check(badge)
        member = store.member(badge.user_id)
        if member is not None:
            revoked: frozenset[str] = frozenset()
            old = store.revoked_badge(badge.badge_id)
            if old is not None and old.get("user_id") in (badge.user_id, None):
                revoked = frozenset({badge.badge_id})
            access = None
            participant_id = member.get("participant_id")
            if session is not None and session.is_paid and participant_id:
                access = store.session_access(str(participant_id), session.id)
            person = person_facts_from_member(member, revoked, access)

    verdict = decide(badge, place, person, at, signature)
    scan = Scan(
        client_id=uuid.uuid4(),
        kind="booth_visit" if place.mode == "booth" else "room_access",
        payload=_as_text(raw_payload),
        scanned_at=at,
        status=verdict.status,
        reason=verdict.reason.value,
        decided_offline=offline,
        room_id=_uuid_or_none(place.room_id),
        session_id=_uuid_or_none(place.session_id),
        notes=notes,
        direction=place.direction,
    )
    return verdict, scan


def record_scan(
    store: KioskStore,
    raw_payload: str | bytes,
    now: datetime | None = None,
    *,
    offline: bool | None = None,
    notes: str | None = None,
    direction: Direction | None = None,
) -> tuple[Verdict, Scan]:
    """:func:`decide_scan`, then queue the scan durably (before anyone sees the verdict).

    ``offline`` defaults to the store's view: True unless the last sync succeeded.
    At a booth, the visit (who, when, the verdict, the notes) is written in the
    same transaction as the outbox row: the granted ones are the exposant's leads.
    """
    if offline is None:
        offline = not store.place().online
    verdict, scan = decide_scan(
        store, raw_payload, now, offline=offline, notes=notes, direction=direction
    )
    store.enqueue(scan, booth_visit(store, verdict) if scan.kind == "booth_visit" else None)
    return verdict, scan


def booth_visit(store: KioskStore, verdict: Verdict) -> BoothVisit:
    """Who the verdict is about, as the store's member record names them. No email
    yet: the server sends it once the visit has synced (``KioskStore.ack``)."""
    member = store.member(verdict.user_id) if verdict.name is not None and verdict.user_id else None
    return BoothVisit(
        user_id=verdict.user_id,
        badge_id=verdict.badge_id,
        name=verdict.name,
        email=None,
        organisation=(member or {}).get("organisation") or None,
    )
