"""Participants (seed: Participant Management Endpoints).

Gestionnaires and controllers read every participant of their event; a
participant or an exposant reads their own record only. Gestionnaires write
(``server.people.operations``). Bodies are JSON, or a multipart form when the
exposant's ``plan_file`` (a PDF) comes with them.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from server.auth.permissions import (
    CAN_VERIFY,
    IS_EVENT_MEMBER,
    IS_GESTIONNAIRE,
    current_identity,
    require_auth,
)
from server.errors import APIError, validation_error
from server.events.api import event_filter
from server.events.tallies import event_tallies
from server.extensions import db
from server.media import file_url
from server.models import Participant
from server.pagination import paginate
from server.people import anchors, operations
from server.people.schemas import (
    ParticipantBodySchema,
    ParticipantFormSchema,
    ParticipantListArgs,
    ParticipantSchema,
)
from server.people.search import matching_user_ids, selective
from server.schema import Blueprint, documented, json_body, load, page_of
from server.uploads import store_upload
from shared.text import is_ascii_digits, text_problem
from shared.timefmt import iso

bp = Blueprint("participants", __name__, description="Participants of the caller's event")

#: who reads every participant of the event (the others: their own record)
SEES_ALL = CAN_VERIFY


def participant_dict(p: Participant) -> dict[str, Any]:
    user = p.user
    return {
        "id": str(p.id),
        "user": p.user_id,
        "event": str(p.event_id),
        "badge_number": p.badge_number,
        "qr_code_data": p.qr_code_data,
        "registration_date": iso(p.registration_date),
        "plan_file": file_url(p.plan_file),
        "name": user.full_name,
        "email": user.email,
        "organisation": p.organisation,
        "allowed_room_ids": sorted(str(r.id) for r in p.allowed_rooms),
    }


def _visible(event_id: uuid.UUID) -> Select[tuple[Participant]]:
    identity = current_identity()
    stmt = (
        select(Participant)
        # loaded by a second query for the page's rows: a deep page skips rows alone
        .options(selectinload(Participant.user), selectinload(Participant.allowed_rooms))
        .where(Participant.event_id == event_id)
    )
    if not identity.has(SEES_ALL):
        stmt = stmt.where(Participant.user_id == identity.user_id)
    return stmt


def _body() -> tuple[dict[str, Any], FileStorage | None, bool]:
    """The loaded fields, the uploaded plan (multipart) and whether the plan goes."""
    upload = None
    if request.mimetype == "multipart/form-data":
        raw: dict[str, Any] = {}
        for key in request.form:
            if key == "allowed_room_ids":  # repeated, or comma-separated
                items = [v for item in request.form.getlist(key) for v in item.split(",")]
                raw[key] = [v.strip() for v in items if v.strip()]
                continue
            value = request.form.get(key, "")
            if key == "user" and is_ascii_digits(value) and len(value) <= 10:
                raw[key] = int(value)
            else:
                raw[key] = value
        for key in request.files:
            if key != "plan_file":
                raise validation_error(key, "is not a file field here")
        upload = request.files.get("plan_file")
        if "plan_file" in raw and raw.pop("plan_file") != "":
            raise validation_error("plan_file", "must be a file (a PDF)")
    else:
        raw = dict(json_body())
    remove = "plan_file" in raw
    if raw.get("plan_file") is not None:
        raise validation_error("plan_file", "upload the PDF in a multipart form; null removes it")
    data = load(ParticipantBodySchema(), raw)
    data.pop("plan_file", None)
    return data, upload, remove


_BODY = {
    "content": {
        "application/json": {"schema": ParticipantBodySchema},
        "multipart/form-data": {"schema": ParticipantFormSchema},
    }
}


@bp.get("/api/participants/")
@require_auth(IS_EVENT_MEMBER)
@bp.arguments(ParticipantListArgs, location="query", as_kwargs=True)
@documented(bp, errors=(400, 403), answers={200: page_of(ParticipantSchema)})
def list_participants(**args: Any) -> ResponseReturnValue:
    """The participants of the caller's event (a participant or exposant: their own),
    by badge number."""
    event_id = event_filter(args.get("event_id"))
    stmt = _visible(event_id)
    if args.get("badge_number") is not None:
        stmt = stmt.where(Participant.badge_number == args["badge_number"])
    search = args.get("search") or ""
    if text_problem(search, controls="line") is not None or len(search) > 200:
        raise validation_error("search", "must be a line of text of at most 200 characters")
    needle = search.strip().lower()
    order: ColumnElement[str] = Participant.badge_number
    if needle:
        stmt = stmt.where(Participant.user_id.in_(matching_user_ids(needle)))
        if selective(needle):
            # without statistics SQLite would walk the list's index in order
            # and test every row; `|| ''` leaves it the search's few rows to sort
            order = Participant.badge_number.concat("")
    stmt = stmt.order_by(order, Participant.id)
    # the whole list of the event: its tally counts it, and a deep page starts
    # from a cached anchor instead of a deep OFFSET
    everyone = current_identity().has(SEES_ALL) and not needle and args.get("badge_number") is None
    if not everyone:
        return jsonify(paginate(stmt, participant_dict, args=args))
    tallies = event_tallies(event_id, "participants", anchors.ORDER_TALLY)
    return jsonify(
        paginate(
            stmt,
            participant_dict,
            args=args,
            count=tallies["participants"],
            seek=anchors.seek(event_id, (tallies[anchors.ORDER_TALLY], tallies["participants"])),
        )
    )


@bp.get("/api/participants/<uuid:participant_id>/")
@require_auth(IS_EVENT_MEMBER)
@documented(bp, errors=(403, 404), answers={200: ParticipantSchema})
def get_participant(participant_id: uuid.UUID) -> ResponseReturnValue:
    found = db.session.scalar(
        _visible(current_identity().require_event()).where(Participant.id == participant_id)
    )
    if found is None:
        raise APIError(404, "Participant not found")
    return jsonify(participant_dict(found))


def _stored_plan(upload: FileStorage | None) -> str | None:
    return store_upload("plan_file", upload).name if upload is not None else None


@bp.post("/api/participants/")
@require_auth(IS_GESTIONNAIRE)
@documented(bp, errors=(400, 403, 413, 415), body=_BODY, answers={201: ParticipantSchema})
def create_participant() -> ResponseReturnValue:
    """Register a person (``user``, or ``email``: the account is created if new)."""
    data, upload, _remove = _body()
    plan = None
    if upload is not None:
        # the fields are checked first (a refused body stores no file), then the
        # transaction ends while the PDF is checked and stored, then it is written
        operations.create_participant(current_identity(), data)
        db.session.rollback()
        plan = _stored_plan(upload)
    p = operations.create_participant(current_identity(), data, plan_file=plan)
    answer = participant_dict(p)
    db.session.commit()
    return jsonify(answer), 201


@bp.route("/api/participants/<uuid:participant_id>/", methods=["PUT", "PATCH"])
@require_auth(IS_GESTIONNAIRE)
@documented(bp, errors=(400, 403, 404, 413, 415), body=_BODY, answers={200: ParticipantSchema})
def update_participant(participant_id: uuid.UUID) -> ResponseReturnValue:
    """Change the badge number, organisation, allowed rooms or plan."""
    data, upload, remove = _body()
    plan = None
    if upload is not None:  # as on create: the fields, then the file, then the write
        operations.update_participant(current_identity(), participant_id, data)
        db.session.rollback()
        plan = _stored_plan(upload)
    p = operations.update_participant(
        current_identity(), participant_id, data, plan_file=plan, remove_plan=remove
    )
    answer = participant_dict(p)
    db.session.commit()
    return jsonify(answer)


@bp.delete("/api/participants/<uuid:participant_id>/")
@documented(bp, errors=(403, 404, 409), answers={204: None})
@require_auth(IS_GESTIONNAIRE)
def delete_participant(participant_id: uuid.UUID) -> ResponseReturnValue:
    """Remove a participant nothing refers to; one with scans or payments is a 409."""
    operations.delete_participant(current_identity(), participant_id)
    db.session.commit()
    return "", 204
