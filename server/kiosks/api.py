"""Kiosks: provisioning, the registry organizers watch, revocation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from server import actionlog, sealing, signing
from server.auth import limits
from server.auth.api import check_login
from server.auth.permissions import (
    CAN_VERIFY,
    IS_GESTIONNAIRE,
    current_identity,
    require_auth,
    same_event,
)
from server.changefeed import latest_seq_of_event
from server.errors import APIError, validation_error
from server.exposants.api import exposant_events
from server.extensions import db
from server.kiosks.auth import (
    digest,
    new_device_token,
    new_provisioning_code,
    normalize_code,
)
from server.kiosks.schemas import (
    PROVISION_BODY,
    KioskCreatedSchema,
    KioskCreateSchema,
    KioskListArgs,
    KioskSchema,
    ProvisionCodeSchema,
    ProvisionedSchema,
    ProvisionLoginSchema,
)
from server.models import (
    Event,
    EventSession,
    Kiosk,
    Participant,
    Room,
    UserEventAssignment,
)
from server.pagination import paginate
from server.schema import Blueprint, documented, json_body, load, page_of
from shared.roles import Role
from shared.timefmt import utcnow

bp = Blueprint("kiosks", __name__, description="Kiosk devices and their provisioning")

CODE_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class KioskView:
    """A kiosk with what ``KioskSchema`` shows of its room and booth, and the
    event's latest change (for the cursor lag)."""

    kiosk: Kiosk
    room: Room | None = None
    exposant: Participant | None = None
    latest: int | None = None

    @classmethod
    def of(cls, kiosk: Kiosk) -> KioskView:
        """A single kiosk, its room and booth looked up."""
        room = db.session.get(Room, kiosk.room_id) if kiosk.room_id else None
        exposant = db.session.get(Participant, kiosk.exposant_id) if kiosk.exposant_id else None
        return cls(kiosk, room, exposant)

    @property
    def room_name(self) -> str | None:
        return self.room.name if self.room else None

    @property
    def exposant_user_id(self) -> int | None:
        return self.exposant.user_id if self.exposant else None

    @property
    def provisioned(self) -> bool:
        return self.kiosk.provisioned_at is not None

    @property
    def revoked(self) -> bool:
        return self.kiosk.revoked_at is not None

    @property
    def cursor_lag(self) -> int | None:
        if self.latest is None or self.kiosk.last_cursor_seq is None:
            return None
        return max(0, self.latest - self.kiosk.last_cursor_seq)


def _place(
    event_id: uuid.UUID, mode: str, room_id: uuid.UUID | None, exposant_user_id: int | None
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """Check the place of a new kiosk: (room id, exposant participant id)."""
    if mode == "door":
        if room_id is None:
            raise validation_error("room_id", "A door kiosk needs a room.")
        room = db.session.get(Room, room_id)
        if room is None or room.event_id != event_id:
            raise validation_error("room_id", "No such room in this event.")
        return room.id, None
    if exposant_user_id is None:
        raise validation_error("exposant_user_id", "A booth kiosk needs an exposant.")
    booth = next(
        (pid for pid, event in exposant_events(exposant_user_id) if event.id == str(event_id)),
        None,
    )
    if booth is None:
        raise validation_error("exposant_user_id", "No such exposant in this event.")
    return None, booth


def _pinned(event_id: uuid.UUID, room_id: uuid.UUID | None, session_id: uuid.UUID | None) -> None:
    if session_id is None:
        return
    session = db.session.get(EventSession, session_id)
    if session is None or session.event_id != event_id or session.room_id != room_id:
        raise validation_error("pinned_session_id", "No such session in this kiosk's room.")


@bp.post("/api/kiosks/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(KioskCreateSchema)
@bp.response(201, KioskCreatedSchema)
@documented(bp, errors=(400, 403, 415))
def create_kiosk(data: dict[str, Any]) -> ResponseReturnValue:
    """Register a kiosk; the answer holds a one-time provisioning code."""
    identity = current_identity()
    event_id = identity.require_event()
    name: str = data["name"]
    mode: str = data["mode"]
    room_id, exposant_id = _place(event_id, mode, data.get("room_id"), data.get("exposant_user_id"))
    pinned: uuid.UUID | None = data.get("pinned_session_id")
    _pinned(event_id, room_id, pinned)
    code, code_hash = new_provisioning_code()
    kiosk = Kiosk(
        id=uuid.uuid4(),
        event_id=event_id,
        name=name or "",
        mode=mode,
        room_id=room_id,
        exposant_id=exposant_id,
        pinned_session_id=pinned,
        provisioning_code_hash=code_hash,
        code_expires_at=utcnow() + CODE_LIFETIME,
        created_by_id=identity.user_id,
    )
    db.session.add(kiosk)
    db.session.flush()
    _logged(kiosk, "kiosk.created", identity.user_id, None)
    body = {
        "kiosk": KioskView.of(kiosk),
        "provisioning_code": code,
        "code_expires_at": kiosk.code_expires_at,
    }
    db.session.commit()
    return body, 201


@bp.get("/api/kiosks/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(KioskListArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(KioskSchema))
@documented(bp, errors=(400, 403))
def list_kiosks(**args: Any) -> dict[str, Any]:
    event_id = current_identity().require_event()
    latest = latest_seq_of_event(db.session, event_id)
    # the kiosk with its room and booth in one query (no lookups per kiosk)
    stmt = (
        select(Kiosk, Room, Participant)
        .outerjoin(Room, Room.id == Kiosk.room_id)
        .outerjoin(Participant, Participant.id == Kiosk.exposant_id)
        .where(Kiosk.event_id == event_id)
        .order_by(Kiosk.created_at, Kiosk.id)
    )
    return paginate(stmt, lambda r: KioskView(r[0], r[1], r[2], latest), rows=True, args=args)


@bp.delete("/api/kiosks/<uuid:kiosk_id>/")
@documented(bp, errors=(403, 404), answers={204: None})
@require_auth(IS_GESTIONNAIRE)
def revoke_kiosk(kiosk_id: uuid.UUID) -> ResponseReturnValue:
    kiosk = db.session.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise APIError(404, "Kiosk not found")
    identity = current_identity()
    same_event(identity, kiosk.event_id, "Kiosk")
    if kiosk.revoked_at is None:
        before = _logged_fields(kiosk)
        kiosk.revoked_at = utcnow()
        kiosk.provisioning_code_hash = None
        _logged(kiosk, "kiosk.revoked", identity.user_id, before)
    db.session.commit()
    return "", 204


#: what the action log keeps of a kiosk: never a code or a credential (hashes included)
_LOGGED_FIELDS = (
    "name",
    "mode",
    "room_id",
    "exposant_id",
    "pinned_session_id",
    "provisioned_at",
    "provisioned_by_login",
    "revoked_at",
)


def _logged_fields(kiosk: Kiosk) -> dict[str, Any]:
    return actionlog.snapshot(kiosk, _LOGGED_FIELDS)


def _logged(kiosk: Kiosk, action: str, actor_id: int | None, before: dict[str, Any] | None) -> None:
    """The kiosk's change in its event's action log, in this transaction."""
    actionlog.record(
        db.session,
        event_id=kiosk.event_id,
        actor_id=actor_id,
        action=action,
        obj_type="kiosk",
        obj_id=kiosk.id,
        before=before,
        after=_logged_fields(kiosk),
    )


def _provisioned(kiosk: Kiosk, *, new: bool) -> dict[str, Any]:
    """The kiosk's credential; logged as done by the person who logged in for it
    (a kiosk provisioned with a code is logged as done by no one: the device)."""
    before = None if new else _logged_fields(kiosk)
    token = new_device_token(kiosk)
    kiosk.provisioned_at = utcnow()
    kiosk.provisioning_code_hash = None
    actor = kiosk.created_by_id if kiosk.provisioned_by_login else None
    _logged(kiosk, "kiosk.provisioned", actor, before)
    event = db.session.get(Event, kiosk.event_id)
    assert event is not None
    return ProvisionedSchema().dump(
        {
            "kiosk": KioskView.of(kiosk),
            "device_token": token,
            "event": event,
            "badge_keys": signing.signer().key_records(),
            "seal_key": sealing.opener().key_record(),
        }
    )


@bp.post("/api/kiosks/provision/")
@documented(
    bp,
    auth=None,
    errors=(401, 403, 404, 409, 429),
    body=PROVISION_BODY,
    answers={201: ProvisionedSchema},
)
def provision() -> ResponseReturnValue:
    """A kiosk takes its credential: with a one-time code, or a staff login."""
    data = json_body()
    if "code" in data:
        code: str = load(ProvisionCodeSchema(), data)["code"]
        attempt = limits.attempt()  # a code has no account: guessed per address
        kiosk = db.session.scalar(
            select(Kiosk).where(Kiosk.provisioning_code_hash == digest(normalize_code(code)))
        )
        if (
            kiosk is None
            or kiosk.revoked_at is not None
            or kiosk.code_expires_at is None
            or kiosk.code_expires_at < utcnow()
        ):
            raise APIError(
                400,
                "This provisioning code is not valid (used, expired or unknown)",
                code="invalid_code",
                fields={"code": "not valid"},
            )
        attempt.succeeded()
        body = _provisioned(kiosk, new=False)
        db.session.commit()
        return jsonify(body), 201
    return _provision_by_login(data)


def _provision_by_login(data: dict[str, Any]) -> ResponseReturnValue:
    """A kiosk on a staff login: it syncs only while that person keeps their
    access (see ``server.kiosks.auth.provisioner_allows``)."""
    login = load(ProvisionLoginSchema(), data)
    email: str = login["email"]
    password: str = login["password"]
    room_id: uuid.UUID | None = login.get("room_id")
    event_id: uuid.UUID | None = login.get("event_id")
    name: str | None = login.get("name")
    user = check_login(email, password)
    if user is None:
        raise APIError(401, "Invalid email or password", code="invalid_credentials")
    roles = db.session.execute(
        select(UserEventAssignment.event_id, UserEventAssignment.role)
        .join(Event, Event.id == UserEventAssignment.event_id)
        .where(
            UserEventAssignment.user_id == user.id,
            UserEventAssignment.is_active.is_(True),
            Event.is_active.is_(True),
        )
    ).all()
    if room_id is not None:
        room = db.session.get(Room, room_id)
        if room is None:
            raise validation_error("room_id", "No such room.")
        if not any(eid == room.event_id and role in CAN_VERIFY for eid, role in roles):
            raise APIError(403, "Only the event's controllers and gestionnaires run a door kiosk")
        kiosk = Kiosk(
            id=uuid.uuid4(),
            event_id=room.event_id,
            name=name or f"Porte {room.name}",
            mode="door",
            room_id=room.id,
            created_by_id=user.id,
            provisioned_by_login=True,
        )
    else:
        booths = [eid for eid, role in roles if role == Role.EXPOSANT.value]
        if event_id is not None:
            booths = [eid for eid in booths if eid == event_id]
        if not booths:
            raise APIError(
                403,
                "Give room_id for a door kiosk; a booth kiosk needs an exposant login",
                fields={"room_id": "required for a door kiosk"},
            )
        if len(booths) > 1:
            raise validation_error("event_id", "You exhibit at several events: choose one.")
        _room, exposant_id = _place(booths[0], "booth", None, user.id)
        kiosk = Kiosk(
            id=uuid.uuid4(),
            event_id=booths[0],
            name=name or f"Stand {user.username}",
            mode="booth",
            exposant_id=exposant_id,
            created_by_id=user.id,
            provisioned_by_login=True,
        )
    db.session.add(kiosk)
    db.session.flush()
    body = _provisioned(kiosk, new=True)
    db.session.commit()
    return jsonify(body), 201
