"""Booth visits (seed: Exposant Scan Endpoints), scoped to the caller's event.

Permission matrix, "Exposant Scans": gestionnaires view every scan of their
event, exposants view their own; only exposants record a scan and read their
statistics. Objects of another event do not exist for the caller (404).

A scan is decided by the shared decision core in booth mode, exactly as a
booth kiosk's uploaded scan is (``server.kiosks.scan_upload``): a refused badge is
logged too (status ``denied``) and answered with the verdict's HTTP code. A
*visit* (what ``my_scans`` counts and ``export_excel`` lists) is a granted scan.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import aliased

from server.access.facts import load_facts
from server.access.verification import check_signature
from server.auth.permissions import (
    IS_EXPOSANT,
    IS_GESTIONNAIRE,
    current_identity,
    require_auth,
    same_event,
)
from server.badges import ensure_profile
from server.errors import REQUIRED, APIError, validation_error
from server.events.api import event_filter
from server.export import XLSX, xlsx_response
from server.exposants.schemas import (
    ExportArgs,
    MyScansArgs,
    MyScansSchema,
    ScanCreateSchema,
    ScanListArgs,
    ScanRecordedSchema,
    ScanSchema,
)
from server.extensions import db
from server.models import Event, ExposantScan, Participant, User, UserEventAssignment
from server.pagination import paginate
from server.schema import Blueprint, documented, page_of
from shared.badge import Badge, BadgeError, parse_badge, public_ref
from shared.decision import Place, Reason, Verdict, decide
from shared.leads import EventRef, Visit, build_workbook, export_filename
from shared.roles import Role
from shared.timefmt import utcnow

bp = Blueprint("exposant_scans", __name__, description="Booth visits an exposant recorded")

CAN_VIEW = IS_GESTIONNAIRE | IS_EXPOSANT
EXPORT_ACTIONS = ("download", "share")

_Visitor = aliased(User, name="visitor")
_VisitorPart = aliased(Participant, name="visitor_participant")
_ExposantPart = aliased(Participant, name="exposant_participant")


# ---------------------------------------------------------------------------
# reading


def _scans() -> Select[Any]:
    """Scans with their visitor (by the badge's user id) and their exposant's user id."""
    return (
        select(ExposantScan, _Visitor, _VisitorPart.organisation, _ExposantPart.user_id)
        .outerjoin(_Visitor, _Visitor.id == ExposantScan.user_id)
        .outerjoin(_VisitorPart, _VisitorPart.id == ExposantScan.scanned_participant_id)
        .outerjoin(_ExposantPart, _ExposantPart.id == ExposantScan.exposant_id)
    )


@dataclass(frozen=True)
class ScanRow:
    """A row of :func:`_scans`, as ``ScanSchema`` answers it."""

    scan: ExposantScan
    visitor_user: User | None
    organisation: str | None
    exposant_user_id: int | None

    @classmethod
    def of(cls, row: Any) -> ScanRow:
        return cls(row[0], row[1], row[2], row[3])

    @property
    def visitor_name(self) -> str | None:
        return self.visitor_user.full_name if self.visitor_user else None

    @property
    def visitor_email(self) -> str | None:
        return self.visitor_user.email if self.visitor_user else None

    @property
    def visitor_badge(self) -> str | None:
        return public_ref(self.scan.badge_id)


@dataclass(frozen=True)
class RecordedScan(ScanRow):
    """A scan just recorded, with its verdict (``ScanRecordedSchema``)."""

    message: str = ""
    error: str | None = None
    code: str | None = None
    fields: dict[str, str] | None = None


def _own_participant(event_id: uuid.UUID) -> uuid.UUID | None:
    """The caller's participant record in the event (an exposant's booth)."""
    return db.session.scalar(
        select(Participant.id).where(
            Participant.event_id == event_id,
            Participant.user_id == current_identity().user_id,
        )
    )


def _visible(stmt: Select[Any], event_id: uuid.UUID) -> Select[Any]:
    """Gestionnaires see the event's scans; exposants their own."""
    stmt = stmt.where(ExposantScan.event_id == event_id)
    if current_identity().has(IS_GESTIONNAIRE):
        return stmt
    return stmt.where(ExposantScan.exposant_id == _own_participant(event_id))


@bp.get("/api/exposant-scans/")
@require_auth(CAN_VIEW)
@bp.arguments(ScanListArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(ScanSchema))
@documented(bp, errors=(400, 403))
def list_scans(**args: Any) -> dict[str, Any]:
    """Filters: ``status``, ``reason``, ``exposant``, ``scanned_participant``, ``kiosk``,
    ``date`` (a UTC day, YYYY-MM-DD), ``event_id`` (the caller's event only)."""
    event_id = event_filter(args.get("event_id"))
    stmt = _visible(_scans(), event_id)
    if args.get("status") is not None:
        stmt = stmt.where(ExposantScan.status == args["status"])
    if args.get("reason") is not None:
        stmt = stmt.where(ExposantScan.reason == args["reason"])
    for name, column in (
        ("exposant", ExposantScan.exposant_id),
        ("scanned_participant", ExposantScan.scanned_participant_id),
        ("kiosk", ExposantScan.kiosk_id),
    ):
        if args.get(name) is not None:
            stmt = stmt.where(column == args[name])
    day = args.get("date")
    if day is not None:
        stmt = stmt.where(ExposantScan.scanned_at >= day[0], ExposantScan.scanned_at < day[1])
    stmt = stmt.order_by(ExposantScan.scanned_at.desc(), ExposantScan.id)
    return paginate(stmt, ScanRow.of, rows=True, args=args)


@bp.get("/api/exposant-scans/<uuid:scan_id>/")
@bp.response(200, ScanSchema)
@documented(bp, errors=(403, 404))
@require_auth(CAN_VIEW)
def get_scan(scan_id: uuid.UUID) -> ScanRow:
    identity = current_identity()
    event_id = identity.require_event()
    row = db.session.execute(_scans().where(ExposantScan.id == scan_id)).first()
    if row is None:
        raise APIError(404, "Scan not found")
    same_event(identity, row[0].event_id, "Scan")
    if not identity.has(IS_GESTIONNAIRE) and row[0].exposant_id != _own_participant(event_id):
        raise APIError(404, "Scan not found")  # another exposant's visitors are not shown
    return ScanRow.of(row)


def _today() -> tuple[datetime, datetime]:
    start = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


@bp.get("/api/exposant-scans/my_scans/")
@require_auth(IS_EXPOSANT)
@bp.arguments(MyScansArgs, location="query", as_kwargs=True)
@bp.response(200, MyScansSchema)
@documented(bp, errors=(400, 403))
def my_scans(**args: Any) -> dict[str, Any]:
    """The caller's visits in their event (``event_id``, if given, must be that event),
    a page at a time (``page``, ``page_size``); the totals count every visit."""
    event_id = event_filter(args.get("event_id"))
    own = _own_participant(event_id)
    visits = and_(
        ExposantScan.event_id == event_id,
        ExposantScan.exposant_id == own,
        ExposantScan.status == "granted",
    )
    start, end = _today()
    today = and_(ExposantScan.scanned_at >= start, ExposantScan.scanned_at < end)
    total, today_count = db.session.execute(
        select(func.count(), func.count().filter(today)).select_from(ExposantScan).where(visits)
    ).one()
    page = paginate(
        _scans().where(visits).order_by(ExposantScan.scanned_at.desc(), ExposantScan.id),
        ScanRow.of,
        rows=True,
        args=args,
    )
    # the seed's ``scans`` is this page's visits, as ``results`` is
    return {"total_visits": total, "today_visits": today_count, **page, "scans": page["results"]}


# ---------------------------------------------------------------------------
# recording


def _badge_of(data: dict[str, Any], event_id: uuid.UUID) -> Badge | BadgeError:
    """The badge a loaded ``ScanCreateSchema`` names (its QR text, or a participant's)."""
    has_qr = data.get("qr_data") is not None
    has_participant = data.get("scanned_participant") is not None
    if has_qr and has_participant:
        raise APIError(
            400,
            "Give qr_data or scanned_participant, not both",
            fields={"scanned_participant": "give qr_data or scanned_participant, not both"},
        )
    if has_qr:
        return parse_badge(data["qr_data"])
    if not has_participant:
        raise APIError(
            400,
            "qr_data: This field is required (or scanned_participant).",
            fields={"qr_data": REQUIRED},
        )
    participant = db.session.get(Participant, data["scanned_participant"])
    if participant is None or participant.event_id != event_id:
        raise validation_error("scanned_participant", "No such participant in this event.")
    return ensure_profile(participant.user).badge


def booth_verdict(event_id: uuid.UUID, badge: Badge | BadgeError, now: datetime) -> Verdict:
    """The decision core in booth mode, on the server's data (as for uploaded booth scans)."""
    facts = load_facts(event_id, [badge] if isinstance(badge, Badge) else [], [])
    place = Place(event_id=str(event_id), room_id=None, mode="booth")
    person = facts.person(badge, None) if isinstance(badge, Badge) else None
    return decide(badge, place, person, now, check_signature(badge))


@bp.post("/api/exposant-scans/")
@require_auth(IS_EXPOSANT)
@bp.arguments(ScanCreateSchema)
@documented(
    bp,
    errors=(400, 402, 403, 404, 415),
    answers={
        201: ScanRecordedSchema,
        400: ScanRecordedSchema,
        402: ScanRecordedSchema,
        403: ScanRecordedSchema,
        404: ScanRecordedSchema,
    },
)
def record_scan(data: dict[str, Any]) -> ResponseReturnValue:
    """Body: ``{"qr_data": ...}`` or ``{"scanned_participant": uuid}``, and ``"notes"``."""
    event_id = current_identity().require_event()
    notes: str | None = data.get("notes")
    badge = _badge_of(data, event_id)
    exposant_id = _own_participant(event_id)
    if exposant_id is None:
        raise APIError(403, "You have no participant record (booth) in this event")
    now = utcnow()
    verdict = booth_verdict(event_id, badge, now)
    scan = ExposantScan(
        id=uuid.uuid4(),
        exposant_id=exposant_id,
        scanned_participant_id=uuid.UUID(verdict.participant_id)
        if verdict.participant_id
        else None,
        event_id=event_id,
        scanned_at=now,
        notes=notes,
        user_id=verdict.user_id,
        badge_id=verdict.badge_id,
        status=verdict.status,
        reason=verdict.reason.value,
        server_status=verdict.status,
        server_reason=verdict.reason.value,
        decided_offline=False,
    )
    db.session.add(scan)
    db.session.commit()
    row = db.session.execute(_scans().where(ExposantScan.id == scan.id)).one()
    if verdict.granted:
        recorded = RecordedScan(*row, message=verdict.message)
    else:
        invalid = verdict.reason is Reason.INVALID_BADGE
        recorded = RecordedScan(
            *row,
            message=verdict.message,
            error=verdict.message,
            code=verdict.reason.value,
            fields={"qr_data": verdict.detail or "not a valid badge"} if invalid else None,
        )
    body = ScanRecordedSchema().dump(recorded)
    return jsonify(body), 201 if verdict.granted else verdict.http_status


# ---------------------------------------------------------------------------
# export


def exposant_events(user_id: int) -> list[tuple[uuid.UUID, EventRef]]:
    """(booth participant id, event) of every event where the user is an active exposant."""
    rows = db.session.execute(
        select(Participant.id, Event.id, Event.name)
        .join(Event, Event.id == Participant.event_id)
        .join(
            UserEventAssignment,
            and_(
                UserEventAssignment.user_id == Participant.user_id,
                UserEventAssignment.event_id == Participant.event_id,
            ),
        )
        .where(
            Participant.user_id == user_id,
            UserEventAssignment.role == Role.EXPOSANT.value,
            UserEventAssignment.is_active.is_(True),
        )
        .order_by(Event.start_date, Event.name, Event.id)
    ).all()
    return [(pid, EventRef(str(eid), name)) for pid, eid, name in rows]


def exposant_visits(participant_ids: list[uuid.UUID]) -> list[Visit]:
    """The granted visits at these booths (the visitor named by the badge's user id)."""
    if not participant_ids:
        return []
    rows = db.session.execute(
        select(
            ExposantScan.event_id,
            ExposantScan.scanned_at,
            User,
            ExposantScan.badge_id,
            ExposantScan.notes,
        )
        .outerjoin(User, User.id == ExposantScan.user_id)
        .where(
            ExposantScan.exposant_id.in_(participant_ids),
            ExposantScan.status == "granted",
        )
    ).all()
    return [
        Visit(
            event_id=str(event_id),
            scanned_at=scanned_at,
            name=user.full_name if user else None,
            email=user.email if user else None,
            badge_id=public_ref(badge_id),
            notes=notes,
        )
        for event_id, scanned_at, user, badge_id, notes in rows
    ]


@bp.get("/api/exposant-scans/export_excel/")
@require_auth(IS_EXPOSANT)
@bp.arguments(ExportArgs, location="query", as_kwargs=True)
@documented(bp, errors=(400, 403), answers={200: XLSX})
def export_excel(**args: Any) -> ResponseReturnValue:
    """Every visit of every event where the caller is an active exposant, as .xlsx.

    ``action=download`` (default): ``Content-Disposition: attachment``;
    ``action=share``: ``inline`` (a mobile share sheet). ``X-Filename`` names the file.
    """
    action: str = args.get("action", "download")
    identity = current_identity()
    booths = exposant_events(identity.user_id)
    sheets = build_workbook(
        [event for _pid, event in booths], exposant_visits([pid for pid, _e in booths])
    )
    filename = export_filename(identity.user.username, utcnow())
    return xlsx_response(sheets, filename, attachment=action == "download")
