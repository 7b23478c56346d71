"""People: what changes participants and roles, one function per use case.

Each function checks that the actor manages the event they are signed in to,
writes through the ORM session (the change feed carries every change to the
kiosks in the same transaction), and records the action in the event's
action log with the values before and after. Nothing is committed here.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from server import actionlog
from server.access.operations import require_gestionnaire
from server.auth.permissions import IS_GESTIONNAIRE, Identity
from server.badges import ensure_profile
from server.errors import REQUIRED, APIError, validation_error
from server.extensions import db
from server.models import (
    ExposantScan,
    Participant,
    Room,
    RoomAccess,
    SessionAccess,
    User,
    UserEventAssignment,
)
from shared.roles import STAFF_ROLES, Role
from shared.timefmt import utcnow

PARTICIPANT_LOGGED = ("user_id", "event_id", "badge_number", "organisation", "plan_file")
ASSIGNMENT_LOGGED = ("user_id", "event_id", "role", "is_active", "meta")


# ---------------------------------------------------------------------------
# accounts


def _unique_username(email: str) -> str:
    base = (email.split("@", 1)[0] or "user")[:140]
    name = base
    while db.session.scalar(select(User.id).where(func.lower(User.username) == func.lower(name))):
        name = f"{base}-{secrets.token_hex(3)}"
    return name


def person(actor: Identity, event_id: uuid.UUID, data: Mapping[str, Any]) -> tuple[User, bool]:
    """The account a loaded body names: ``user`` (an id), or ``email``, created when
    no account has it (a random password nobody knows, and a badge). True if created."""
    user_id: int | None = data.get("user")
    email: str | None = data.get("email")
    if user_id is not None and email is not None:
        raise validation_error("email", "give user or email, not both")
    if user_id is not None:
        found = db.session.get(User, user_id)
        if found is None:
            raise validation_error("user", "no such user")
        return found, False
    if email is None:
        raise validation_error("user", "give the user's id, or an email")
    first: str = data.get("first_name") or ""
    last: str = data.get("last_name") or ""
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None:
        return user, False
    user = User(
        username=_unique_username(email),
        email=email,
        first_name=first.strip(),
        last_name=last.strip(),
        # no password hash matches this: the person sets one with a password reset
        password_hash="!" + secrets.token_urlsafe(32),
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError:  # created by another request meanwhile
        raise validation_error("email", "this account was just created; try again") from None
    ensure_profile(user)
    actionlog.record(
        db.session,
        event_id=event_id,
        actor_id=actor.user_id,
        action="user.create",
        obj_type="user",
        obj_id=user.id,
        before=None,
        after=actionlog.snapshot(user, ("username", "email", "first_name", "last_name")),
    )
    return user, True


def _log(
    actor: Identity,
    event_id: uuid.UUID,
    action: str,
    obj: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    if before is not None and after is not None and not actionlog.changed(before, after):
        return
    actionlog.record(
        db.session,
        event_id=event_id,
        actor_id=actor.user_id,
        action=action,
        obj_type=action.split(".", 1)[0],
        obj_id=obj.id,
        before=before,
        after=after,
    )


# ---------------------------------------------------------------------------
# participants


def _participant_snapshot(p: Participant) -> dict[str, Any]:
    out = actionlog.snapshot(p, PARTICIPANT_LOGGED)
    out["allowed_room_ids"] = sorted(str(r.id) for r in p.allowed_rooms)
    return out


def participant_in_event(participant_id: uuid.UUID, event_id: uuid.UUID) -> Participant:
    found = db.session.get(Participant, participant_id)
    if found is None or found.event_id != event_id:
        raise APIError(404, "Participant not found")
    return found


def _rooms(event_id: uuid.UUID, ids: list[uuid.UUID]) -> list[Room]:
    if not ids:
        return []
    rooms = list(db.session.scalars(select(Room).where(Room.id.in_(ids))))
    if len(rooms) != len(ids) or any(r.event_id != event_id for r in rooms):
        raise validation_error("allowed_room_ids", "every id must be a room of this event")
    order = {rid: n for n, rid in enumerate(ids)}
    return sorted(rooms, key=lambda r: order[r.id])


def _badge_number_free(event_id: uuid.UUID, badge_number: str, exclude: uuid.UUID | None) -> None:
    stmt = select(Participant.id).where(
        Participant.event_id == event_id, Participant.badge_number == badge_number
    )
    if exclude is not None:
        stmt = stmt.where(Participant.id != exclude)
    if db.session.scalar(stmt) is not None:
        raise validation_error("badge_number", "is already used by another participant here")


def _flush_participant(p: Participant) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # a concurrent request took the badge number or the person
        raise validation_error(
            "badge_number", "is already used by another participant here"
        ) from None


def _set_participant_fields(p: Participant, data: Mapping[str, Any], *, required: bool) -> None:
    badge: str | None = data.get("badge_number")
    if badge is None and required:
        raise validation_error("badge_number", REQUIRED)
    if badge is not None:
        badge = badge.strip()
        _badge_number_free(p.event_id, badge, p.id)
        p.badge_number = badge
        p.qr_code_data = f"PARTICIPANT:{p.user_id}:{badge}"
    organisation: str | None = data.get("organisation")
    if organisation is not None:
        p.organisation = organisation.strip()
    if data.get("allowed_room_ids") is not None:
        p.allowed_rooms = _rooms(p.event_id, data["allowed_room_ids"])


def create_participant(
    actor: Identity, data: Mapping[str, Any], *, plan_file: str | None = None
) -> Participant:
    """Register a person in the actor's event: their participant record, and the
    participant role when they have no role there yet."""
    event_id = require_gestionnaire(actor)
    user, _created = person(actor, event_id, data)
    field = "user" if data.get("user") is not None else "email"
    already = select(Participant.id).where(
        Participant.event_id == event_id, Participant.user_id == user.id
    )
    if db.session.scalar(already) is not None:
        raise validation_error(field, "is already a participant of this event")
    p = Participant(id=uuid.uuid4(), user_id=user.id, event_id=event_id, registration_date=utcnow())
    p.allowed_rooms = []
    _set_participant_fields(p, data, required=True)
    p.plan_file = plan_file
    db.session.add(p)
    _flush_participant(p)
    _log(actor, event_id, "participant.create", p, None, _participant_snapshot(p))
    role = db.session.scalar(
        select(UserEventAssignment).where(
            UserEventAssignment.event_id == event_id, UserEventAssignment.user_id == user.id
        )
    )
    if role is None:
        role = UserEventAssignment(
            user_id=user.id,
            event_id=event_id,
            role=Role.PARTICIPANT.value,
            is_active=True,
            meta={},
            assigned_by_id=actor.user_id,
            assigned_at=utcnow(),
        )
        db.session.add(role)
        db.session.flush()
        _log(actor, event_id, "user_assignment.create", role, None, _assignment_snapshot(role))
    return p


def update_participant(
    actor: Identity,
    participant_id: uuid.UUID,
    data: Mapping[str, Any],
    *,
    plan_file: str | None = None,
    remove_plan: bool = False,
) -> Participant:
    """Change a participant's badge number, organisation, allowed rooms or plan
    (the person cannot change)."""
    event_id = require_gestionnaire(actor)
    p = participant_in_event(participant_id, event_id)
    _same_person(data, p.user_id)
    before = _participant_snapshot(p)
    _set_participant_fields(p, data, required=False)
    if plan_file is not None:
        p.plan_file = plan_file
    elif remove_plan:
        p.plan_file = None
    _flush_participant(p)
    _log(actor, event_id, "participant.update", p, before, _participant_snapshot(p))
    return p


def participant_references(p: Participant) -> list[str]:
    """What refers to a participant: scans at doors and booths, payments."""
    found = []
    if db.session.scalar(select(exists().where(RoomAccess.participant_id == p.id))):
        found.append("door scans")
    booth = or_(ExposantScan.exposant_id == p.id, ExposantScan.scanned_participant_id == p.id)
    if db.session.scalar(select(exists().where(booth))):
        found.append("booth visits")
    paid = SessionAccess.payment_status.in_(("paid", "refunded")) | (SessionAccess.amount_paid > 0)
    if db.session.scalar(select(exists().where(SessionAccess.participant_id == p.id, paid))):
        found.append("payments")
    return found


def delete_participant(actor: Identity, participant_id: uuid.UUID) -> None:
    """Remove a participant record nothing refers to. One with scans or payments
    is a 409: withdraw the person's role instead (their assignment's
    ``is_active=false``), which refuses their badge everywhere and keeps the history."""
    event_id = require_gestionnaire(actor)
    p = participant_in_event(participant_id, event_id)
    refs = participant_references(p)
    if refs:
        raise APIError(
            409,
            f"This participant has {' and '.join(refs)}: the record is kept. "
            "Withdraw their role instead (PATCH /api/user-assignments/{id}/ "
            'with {"is_active": false}).',
            code="participant_in_use",
        )
    _log(actor, event_id, "participant.delete", p, _participant_snapshot(p), None)
    db.session.delete(p)
    db.session.flush()


def _same_person(data: Mapping[str, Any], user_id: int) -> None:
    """An update names no other person than the one it is about."""
    if data.get("user") is not None and data["user"] != user_id:
        raise validation_error("user", "cannot be changed")
    for name in ("email", "first_name", "last_name"):
        if data.get(name) is not None:
            raise validation_error(name, "cannot be changed here")


# ---------------------------------------------------------------------------
# user assignments (roles)

_ROOM_KEY = "assigned_room_id"


def _assignment_snapshot(a: UserEventAssignment) -> dict[str, Any]:
    return actionlog.snapshot(a, ASSIGNMENT_LOGGED)


def assignment_in_event(assignment_id: uuid.UUID, event_id: uuid.UUID) -> UserEventAssignment:
    found = db.session.get(UserEventAssignment, assignment_id)
    if found is None or found.event_id != event_id:
        raise APIError(404, "Assignment not found")
    return found


def _metadata(
    event_id: uuid.UUID, role: str, value: dict[str, Any] | None
) -> dict[str, Any] | None:
    """``metadata`` with its ``assigned_room_id`` checked: a room of the event, staff only."""
    if value is None:
        return None
    room = value.get(_ROOM_KEY)
    if room is not None:
        field = f"metadata.{_ROOM_KEY}"
        if role not in STAFF_ROLES:
            raise validation_error(field, "only staff (organisateur, gestionnaire, controller)")
        try:
            room_id = uuid.UUID(room) if isinstance(room, str) else None
        except ValueError:
            room_id = None
        if room_id is None:
            raise validation_error(field, "must be a room id (UUID)")
        found = db.session.get(Room, room_id)
        if found is None or found.event_id != event_id:
            raise validation_error(field, "no such room in this event")
        value = {**value, _ROOM_KEY: str(room_id)}
    return dict(value)


def _managers_left(event_id: uuid.UUID, leaving: uuid.UUID) -> int:
    """The event's other active managers. Their rows are locked (PostgreSQL) until
    the commit: of two requests withdrawing the last two, the second waits for the
    first and then sees that its manager is the last one."""
    ids = db.session.scalars(
        select(UserEventAssignment.id)
        .where(
            UserEventAssignment.event_id == event_id,
            UserEventAssignment.is_active.is_(True),
            UserEventAssignment.role.in_(IS_GESTIONNAIRE),
        )
        .order_by(UserEventAssignment.id)
        .with_for_update()
    ).all()
    return sum(1 for i in ids if i != leaving)


def _keep_a_manager(a: UserEventAssignment, role: str, active: bool) -> None:
    was = a.is_active and a.role in IS_GESTIONNAIRE
    stays = active and role in IS_GESTIONNAIRE
    if was and not stays and _managers_left(a.event_id, a.id) == 0:
        raise APIError(
            409,
            "This is the event's last gestionnaire: name another one first",
            code="last_gestionnaire",
        )


def create_assignment(actor: Identity, data: Mapping[str, Any]) -> UserEventAssignment:
    """Give a person (an account, or an email: created if new) a role in the event."""
    event_id = require_gestionnaire(actor)
    role: str | None = data.get("role")
    if role is None:
        raise validation_error("role", REQUIRED)
    active: bool | None = data.get("is_active")
    meta = _metadata(event_id, role, data.get("metadata"))
    user, _created = person(actor, event_id, data)
    field = "user" if data.get("user") is not None else "email"
    existing = db.session.scalar(
        select(UserEventAssignment.id).where(
            UserEventAssignment.event_id == event_id, UserEventAssignment.user_id == user.id
        )
    )
    conflict = APIError(
        409,
        "This person already has a role in this event (one role per event): change it instead",
        code="already_assigned",
        fields={field: "already has a role in this event"},
    )
    if existing is not None:
        raise conflict
    a = UserEventAssignment(
        user_id=user.id,
        event_id=event_id,
        role=role,
        is_active=True if active is None else active,
        meta=meta or {},
        assigned_by_id=actor.user_id,
        assigned_at=utcnow(),
    )
    db.session.add(a)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise conflict from None
    _log(actor, event_id, "user_assignment.create", a, None, _assignment_snapshot(a))
    return a


def update_assignment(
    actor: Identity, assignment_id: uuid.UUID, data: Mapping[str, Any]
) -> UserEventAssignment:
    """Change a role, its metadata, or withdraw it (``is_active=false``). The
    event's last gestionnaire stays one (409)."""
    event_id = require_gestionnaire(actor)
    a = assignment_in_event(assignment_id, event_id)
    _same_person(data, a.user_id)
    role: str = data.get("role") or a.role
    given: bool | None = data.get("is_active")
    active = a.is_active if given is None else given
    meta = _metadata(event_id, role, data.get("metadata"))
    if meta is None and role not in STAFF_ROLES and (a.meta or {}).get(_ROOM_KEY):
        meta = {k: v for k, v in a.meta.items() if k != _ROOM_KEY}  # staff only
    _keep_a_manager(a, role, active)
    before = _assignment_snapshot(a)
    a.role = role
    a.is_active = active
    if meta is not None:
        a.meta = meta
    db.session.flush()
    after = _assignment_snapshot(a)
    verb = "deactivate" if before["is_active"] and not active else "update"
    _log(actor, event_id, f"user_assignment.{verb}", a, before, after)
    return a


def withdraw_assignment(actor: Identity, assignment_id: uuid.UUID) -> UserEventAssignment:
    """DELETE: the role is withdrawn (``is_active=false``), not erased: kiosks and the
    event's history refer to it."""
    return update_assignment(actor, assignment_id, {"is_active": False})
