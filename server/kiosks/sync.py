"""The kiosk sync endpoints: pull the change feed, push scans."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta
from typing import Any

import orjson
from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select, update

from server import sealing, signing
from server.auth.tokens import MAX_USER_ID
from server.changefeed import (
    SNAPSHOT_ORDER,
    kiosk_data,
    latest_seq,
    latest_seq_of_event,
    snapshot_records,
)
from server.errors import APIError, validation_error
from server.extensions import db, reads_only
from server.kiosks.auth import current_kiosk, require_kiosk
from server.kiosks.scan_upload import store_batch
from server.kiosks.schemas import (
    MAX_LIMIT,
    ChangesArgs,
    ChangesSchema,
    ScanBatchAnswerSchema,
    ScanBatchSchema,
)
from server.models import ChangeLogEntry, Kiosk, SyncState
from server.page_cache import PAGES, CachedPage
from server.schema import KIOSK, Blueprint, documented, json_body
from shared.gcpause import gc_paused
from shared.sync import SyncFormatError, parse_batch
from shared.text import is_ascii_digits
from shared.timefmt import iso, utcnow

bp = Blueprint("sync", __name__, description="The kiosks' sync: the change feed and scan uploads")
log = logging.getLogger(__name__)


def _change(seq: int, entity: str, key: str, op: str, data: Any) -> dict[str, Any]:
    return {"seq": seq, "entity": entity, "key": key, "op": op, "data": kiosk_data(entity, data)}


def _parse_limit(raw: str | None) -> int:
    """``limit``: ASCII digits from 1 to :data:`MAX_LIMIT`; absent or empty: 1000.

    Read by hand (the feed is a hot path); ``ChangesArgs`` documents it."""
    if raw is None or raw == "":
        return 1000
    if not is_ascii_digits(raw) or len(raw) > 19:
        if raw.startswith("-") and is_ascii_digits(raw[1:]):
            raise validation_error("limit", "must be at least 1")
        raise validation_error("limit", "must be an integer")
    value = int(raw)
    if not 1 <= value <= MAX_LIMIT:
        raise validation_error("limit", f"must be at least 1 and at most {MAX_LIMIT}")
    return value


def _parse_cursor(raw: str) -> tuple[str, int, int, str | None]:
    """('delta', seq, 0, None) or ('snapshot', base, entity index, last key).

    Numbers are ASCII digits (``str.isdigit`` takes ``²`` and ``١``) within range."""
    if raw in ("", "0"):
        return "start", 0, 0, None
    if is_ascii_digits(raw) and len(raw) < 19:
        return "delta", int(raw), 0, None
    parts = raw.split(".", 3)
    if (
        len(parts) >= 3
        and parts[0] == "s"
        and is_ascii_digits(parts[1])
        and len(parts[1]) < 19
        and is_ascii_digits(parts[2])
        and len(parts[2]) < 3
    ):
        index = int(parts[2])
        last_key = parts[3] if len(parts) == 4 else None
        if index == len(SNAPSHOT_ORDER) and last_key is None:
            return "delta", int(parts[1]), 0, None  # a finished snapshot taken at seq 0
        if index < len(SNAPSHOT_ORDER) and _key_ok(SNAPSHOT_ORDER[index], last_key):
            return "snapshot", int(parts[1]), index, last_key
    raise validation_error("cursor", "is not a cursor this server gave")


def _key_ok(entity: str, key: str | None) -> bool:
    """A member key is a user id: ASCII digits within the column's range."""
    if key is None or entity != "member":
        return True
    return is_ascii_digits(key) and len(key) < 11 and int(key) <= MAX_USER_ID


@bp.get("/api/sync/changes")
@documented(bp, auth=KIOSK, errors=(400,), query=ChangesArgs, answers={200: ChangesSchema})
@require_kiosk
@gc_paused()  # a page is thousands of fresh dicts: collect after, not during
def changes() -> ResponseReturnValue:
    kiosk = current_kiosk()
    limit = _parse_limit(request.args.get("limit"))
    kind, seq, index, last_key = _parse_cursor(request.args.get("cursor", "0"))
    pruned = db.session.scalar(select(SyncState.pruned_through_seq)) or 0
    reset = False
    # a cursor the server no longer holds, or one from the future (a restored
    # database): start again from a snapshot rather than skip anything
    if kind == "start" or (kind == "delta" and (seq < pruned or seq > latest_seq(db.session))):
        # the snapshot is as of the event's newest change: deltas after it follow
        base = latest_seq_of_event(db.session, kiosk.event_id)
        kind, seq, index, last_key, reset = "snapshot", base, 0, None, True

    if kind == "snapshot":
        key = (kiosk.event_id, seq, index, last_key, limit)
        page = PAGES.get_or_build(  # the first door of the event to ask builds it
            key, lambda: _snapshot_page(kiosk.event_id, seq, index, last_key, limit)
        )
        index, last_key = page.index, page.last_key
        changes = orjson.Fragment(page.changes)
        if index >= len(SNAPSHOT_ORDER):
            # the snapshot is complete; changes written since it began come next
            more = latest_seq_of_event(db.session, kiosk.event_id) > seq
            # "0" would mean "start over": an event with no logged change yet says so
            done = str(seq) if seq > 0 else f"s.0.{len(SNAPSHOT_ORDER)}"
            return _page(kiosk, changes, done, has_more=more, reset=reset, snapshot=True)
        _build_ahead(kiosk.event_id, seq, index, last_key, limit)
        cursor = f"s.{seq}.{index}" + (f".{last_key}" if last_key else "")
        return _page(kiosk, changes, cursor, has_more=True, reset=reset, snapshot=True)

    rows = db.session.execute(
        select(
            ChangeLogEntry.seq,
            ChangeLogEntry.entity,
            ChangeLogEntry.key,
            ChangeLogEntry.op,
            ChangeLogEntry.data,
        )
        .where(ChangeLogEntry.event_id == kiosk.event_id, ChangeLogEntry.seq > seq)
        .order_by(ChangeLogEntry.seq)
        .limit(limit + 1)
    ).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    out = [_change(*row) for row in rows]
    cursor = str(rows[-1][0]) if rows else str(seq)
    return _page(kiosk, out, cursor, has_more=has_more, reset=False, snapshot=False)


def _build_ahead(
    event_id: uuid.UUID, seq: int, index: int, last_key: str | None, limit: int
) -> None:
    """Build the page after this one while this one travels: the kiosk asks for it
    as soon as it has read this one's cursor, and finds it built (or being built).
    The page builds are a snapshot's critical path; the kiosk decodes and applies
    meanwhile, in its own process."""
    key = (event_id, seq, index, last_key, limit)
    if not PAGES.wanted(key):
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def build() -> None:
        with app.app_context(), reads_only():
            try:
                PAGES.get_or_build(
                    key, lambda: _snapshot_page(event_id, seq, index, last_key, limit)
                )
            except Exception:  # the kiosk's own request builds it, and says why
                log.debug("building a snapshot page ahead failed", exc_info=True)
            finally:
                db.session.remove()

    threading.Thread(target=build, name="badgegate-snapshot-ahead", daemon=True).start()


@gc_paused()  # also when built ahead, in a thread of its own
def _snapshot_page(
    event_id: uuid.UUID, seq: int, index: int, last_key: str | None, limit: int
) -> CachedPage:
    """Up to ``limit`` records of the event's snapshot at ``seq``, from (index, last_key)."""
    out: list[dict[str, Any]] = []
    try:
        while index < len(SNAPSHOT_ORDER) and len(out) < limit:
            want = limit - len(out)
            entity = SNAPSHOT_ORDER[index]
            records = snapshot_records(db.session, event_id, entity, last_key, want)
            out += [
                {"seq": seq, "entity": entity, "key": k, "op": "upsert", "data": r}
                for k, r in records
            ]
            if len(records) < want:  # this entity is done
                index, last_key = index + 1, None
            else:  # the page is full: go on from the last key next time
                last_key = records[-1][0]
    except ValueError:
        raise validation_error("cursor", "is not a cursor this server gave") from None
    return CachedPage(orjson.dumps(out), index, last_key)


#: how stale a kiosk's last contact may be written (fleet health shows seconds)
HEARTBEAT_EVERY = timedelta(seconds=1)


def _page(
    kiosk: Kiosk,
    out: list[dict[str, Any]] | orjson.Fragment,
    cursor: str,
    *,
    has_more: bool,
    reset: bool,
    snapshot: bool,
) -> dict[str, Any]:
    now = utcnow()
    kiosk_id, latest = kiosk.id, latest_seq_of_event(db.session, kiosk.event_id)
    seen, seq = kiosk.last_seen_at, kiosk.last_cursor_seq
    # the page was read in a transaction that only read (``require_kiosk``): end it
    # before writing, so that on SQLite the reading held no write lock
    db.session.commit()
    values: dict[str, Any] = {}
    if cursor.isdigit() and int(cursor) != seq:
        values["last_cursor_seq"] = int(cursor)
    # the heartbeat, at most once a second: a snapshot's pages come every few
    # tens of milliseconds, and each write is a commit (on SQLite, the one lock)
    if values or seen is None or now - seen >= HEARTBEAT_EVERY:
        values["last_seen_at"] = now
        db.session.execute(update(Kiosk).where(Kiosk.id == kiosk_id).values(**values))
        db.session.commit()
    body = {
        "changes": out,
        "cursor": cursor,
        "has_more": has_more,
        "server_time": iso(now),
        "reset": reset,
        "snapshot": snapshot,
        "latest_seq": latest,
        # the public keys badges are signed with: a kiosk checks badges with these
        "badge_keys": signing.signer().key_records(),
        # the key a kiosk seals what it scans to, before it writes it
        "seal_key": sealing.opener().key_record(),
    }
    # pages hold thousands of records: orjson encodes them several times faster
    return current_app.response_class(orjson.dumps(body), mimetype="application/json")


@bp.post("/api/sync/scans")
@documented(
    bp, auth=KIOSK, errors=(413,), body=ScanBatchSchema, answers={200: ScanBatchAnswerSchema}
)
@require_kiosk
def upload_scans() -> ResponseReturnValue:
    kiosk = current_kiosk()
    try:
        batch = parse_batch(json_body())
    except SyncFormatError as exc:
        raise APIError(400, str(exc), fields={exc.field: exc.problem}) from None
    now = utcnow()
    results = store_batch(kiosk, batch, now)
    db.session.commit()
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    for r in results:
        counts[r.result] += 1
    return jsonify(
        {
            "results": [
                {
                    "client_id": r.client_id,
                    "result": r.result,
                    "reason": r.reason,
                    "server_status": r.server_status,
                    "server_reason": r.server_reason,
                    **({"visitor": r.visitor} if r.visitor is not None else {}),
                }
                for r in results
            ],
            "server_time": iso(now),
            **counts,
        }
    )
