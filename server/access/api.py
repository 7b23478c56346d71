"""QR codes (seed: QR Code Endpoints): verify a badge at a door, generate a badge."""

from __future__ import annotations

import base64
import io
import json
import uuid
from typing import Any, cast

import segno
from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from server import actionlog
from server.access.checkin import checked_in_at
from server.access.schemas import (
    GeneratedBadgeSchema,
    GenerateSchema,
    VerdictSchema,
    VerifyAccessSchema,
)
from server.access.verification import Outcome, door_place, verify_at_door
from server.auth.permissions import CAN_VERIFY, IS_GESTIONNAIRE, current_identity, require_auth
from server.auth.tokens import MAX_USER_ID
from server.badges import ensure_profile, reissue_badge, signed_badge
from server.errors import REQUIRED, APIError, validation_error
from server.extensions import db
from server.models import User, UserEventAssignment
from server.schema import Blueprint, documented, json_body
from shared.badge import parse_badge
from shared.decision import DIRECTIONS, Direction, Reason
from shared.timefmt import iso, utcnow

bp = Blueprint("qr", __name__, description="Badges: verifying one at a door, generating one")


def _verify_body(outcome: Outcome, room_name: str) -> dict[str, Any]:
    """The seed's response shapes, plus the stable ``reason`` code."""
    v = outcome.verdict
    body: dict[str, Any] = {
        "status": v.status,
        "reason": v.reason.value,
        "message": v.message,
        "direction": v.direction,
    }
    if v.detail:
        body["detail"] = v.detail
    person = outcome.person
    if person is not None:
        if v.reason in (Reason.GRANTED, Reason.ROOM_NOT_ALLOWED, Reason.PAYMENT_REQUIRED):
            body["participant"] = {
                "id": person.participant_id,
                "user_id": person.user_id,
                "name": person.name,
                "email": person.email,
                "badge_id": v.badge_id,
                "photo_url": None,
            }
            if person.role:
                body["role"] = person.role
        else:
            body["user"] = {"id": person.user_id, "name": person.name, "email": person.email}
    if v.session_title is not None:
        body["session"] = {"id": v.session_id, "title": v.session_title, "price": v.session_price}
    body["access"] = {
        "id": str(outcome.access_id),
        "accessed_at": iso(outcome.access_time),
        "room_name": room_name,
    }
    return body


def _direction(raw: object) -> Direction:
    """The body's ``direction``: ``in`` (absent or null: the seed's clients) or ``out``."""
    if raw is None:
        return "in"
    if raw not in DIRECTIONS:
        raise validation_error("direction", "must be in or out")
    return cast(Direction, raw)


def _session_id(raw: object) -> uuid.UUID | None:
    """The body's ``session``: a UUID string; null or ``""``: the one running now."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise validation_error("session", "must be a UUID string")
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise validation_error("session", "must be a valid UUID") from None


@bp.post("/api/rooms/<uuid:room_id>/verify_access/")
@documented(
    bp,
    errors=(403, 404),
    body=VerifyAccessSchema,
    answers={
        200: VerdictSchema,
        400: VerdictSchema,
        402: VerdictSchema,
        403: VerdictSchema,
        404: VerdictSchema,
    },
)
@require_auth(CAN_VERIFY)
def verify_access(room_id: uuid.UUID) -> ResponseReturnValue:
    """The hot path: its body is read by hand here (``VerifyAccessSchema`` documents it)."""
    identity = current_identity()
    data = json_body()
    if "qr_data" not in data or data["qr_data"] is None:
        raise validation_error("qr_data", REQUIRED)
    raw = data["qr_data"]
    if isinstance(raw, dict):  # a client that sent the decoded JSON object itself
        raw = json.dumps(raw)
    session_id = _session_id(data.get("session"))
    direction = _direction(data.get("direction"))
    now = utcnow()
    room = door_place(room_id, now)
    if room is None or room.event_id != identity.event_id:
        raise APIError(404, "Room not found")
    outcome = verify_at_door(room, parse_badge(raw), session_id, identity.user_id, now, direction)
    body = _verify_body(outcome, room.name)
    db.session.commit()
    return jsonify(body), outcome.verdict.http_status


def qr_png_data_uri(payload: str) -> str:
    out = io.BytesIO()
    segno.make(payload, error="m").save(out, kind="png", scale=8, border=4)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


@bp.post("/api/qr/generate/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(GenerateSchema)
@documented(
    bp,
    errors=(400, 403, 404, 415),
    answers={200: GeneratedBadgeSchema, 201: GeneratedBadgeSchema},
)
def generate(data: dict[str, Any]) -> ResponseReturnValue:
    """The badge of a member of the caller's event; ``reissue`` replaces a lost one."""
    identity = current_identity()
    user_id: int = data["user_id"]
    reissue: bool = data["reissue"]
    if user_id > MAX_USER_ID:
        raise APIError(404, "User not found in this event")
    member = db.session.execute(
        select(User)
        .join(UserEventAssignment, UserEventAssignment.user_id == User.id)
        .where(
            User.id == user_id,
            UserEventAssignment.event_id == identity.event_id,
            UserEventAssignment.is_active.is_(True),
        )
    ).scalar_one_or_none()
    if member is None:
        raise APIError(404, "User not found in this event")
    if reissue:
        old = ensure_profile(member).badge_id
        profile = reissue_badge(member, identity.user)
        # the log names a badge by its last characters: a badge id is half of the
        # seed's two-field badge, which the server still accepts online
        actionlog.record(
            db.session,
            event_id=identity.event_id,
            actor_id=identity.user_id,
            action="badge.reissued",
            obj_type="user",
            obj_id=member.id,
            before={"badge": f"...{old[-4:]}"},
            after={"badge": f"...{profile.badge_id[-4:]}"},
        )
    else:
        profile = ensure_profile(member)
    payload = signed_badge(profile).payload()
    first = checked_in_at(member.id, [identity.event_id]).get(identity.event_id)
    body = {
        "user_id": member.id,
        "badge_id": profile.badge_id,
        "qr_code_data": payload,
        "qr_code_image": qr_png_data_uri(payload),
        "reissued": reissue,
        "is_checked_in": first is not None,
        "checked_in_at": iso(first) if first is not None else None,
    }
    db.session.commit()
    return jsonify(body), 201 if reissue else 200
