"""The decision core: one pure function decides a scan.

The server's ``POST /api/rooms/{id}/verify_access/`` and the kiosk's offline
check both call :func:`decide`; neither re-implements any part of it. The
caller gathers the facts (plain frozen data) from its own store; the function
only reads them, so the same facts always give the same verdict.

Order of checks (the seed's, with input checks first):

1. the payload is a badge (``invalid_badge``, 400), and a signature it carries
   verifies with a key the checker holds (``invalid_signature``, 403);
2. the session asked for exists in this event (``session_not_found``, 404)
   and is held in this room (``session_not_in_room``, 400);
3. the badge's user is a person of the place's event (``not_in_event``, 403),
   is active (``account_disabled``, 403) and the badge is theirs: a replaced
   badge is ``revoked_badge`` (403); a signed badge that is not revoked is
   theirs; an unsigned one (the seed's two-field form) must be their current
   badge id (``unknown_badge``, 404), which only the server holds: a kiosk
   answers ``unsigned_badge`` (403, "check it online");
4. event: an active assignment in the place's event (``not_in_event``, 403);
5. room: staff pass on their assignment; participants and exposants need
   their participant record (``participant_not_found``, 404) and the room in
   their ``allowed_rooms`` when that list is not empty (``room_not_allowed``,
   403);
6. paid session: an access that gives access, paid or granted free
   (``payment_required``, 402).

In booth mode (an exposant scanning a visitor) only checks 1, 3 and 4 apply,
and so they do at a door for an exit (``direction="out"``): a person of the
event with a valid badge goes out, whatever the room or the session (an exit
is logged to know who is inside, and no one is kept in for want of a payment).

A user who is not a person of the event (no assignment, no participant
record) is ``not_in_event`` whether or not the account exists elsewhere: a
door must not learn who holds accounts in other events, and a kiosk, which
holds only its own event's people, could not tell the two apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from shared.badge import Badge, BadgeError
from shared.roles import STAFF_ROLES
from shared.signing import SignatureCheck
from shared.timefmt import iso

Mode = Literal["door", "booth"]
#: which way a door scan goes: into the room (the seed's only way) or out of it
Direction = Literal["in", "out"]
DIRECTIONS: tuple[Direction, ...] = ("in", "out")


class Reason(StrEnum):
    GRANTED = "granted"
    INVALID_BADGE = "invalid_badge"
    INVALID_SIGNATURE = "invalid_signature"
    SESSION_NOT_FOUND = "session_not_found"
    SESSION_NOT_IN_ROOM = "session_not_in_room"
    ACCOUNT_DISABLED = "account_disabled"
    REVOKED_BADGE = "revoked_badge"
    UNKNOWN_BADGE = "unknown_badge"
    UNSIGNED_BADGE = "unsigned_badge"
    NOT_IN_EVENT = "not_in_event"
    PARTICIPANT_NOT_FOUND = "participant_not_found"
    ROOM_NOT_ALLOWED = "room_not_allowed"
    PAYMENT_REQUIRED = "payment_required"


#: The HTTP code the seed documents for each outcome.
HTTP_STATUS: dict[Reason, int] = {
    Reason.GRANTED: 200,
    Reason.INVALID_BADGE: 400,
    Reason.INVALID_SIGNATURE: 403,
    Reason.SESSION_NOT_FOUND: 404,
    Reason.SESSION_NOT_IN_ROOM: 400,
    Reason.ACCOUNT_DISABLED: 403,
    Reason.REVOKED_BADGE: 403,
    Reason.UNKNOWN_BADGE: 404,
    Reason.UNSIGNED_BADGE: 403,
    Reason.NOT_IN_EVENT: 403,
    Reason.PARTICIPANT_NOT_FOUND: 404,
    Reason.ROOM_NOT_ALLOWED: 403,
    Reason.PAYMENT_REQUIRED: 402,
}

#: Human messages (English; screens translate by reason code).
MESSAGES: dict[Reason, str] = {
    Reason.GRANTED: "Access granted successfully",
    Reason.INVALID_BADGE: "Invalid QR code format",
    Reason.INVALID_SIGNATURE: "This badge was not signed by this server",
    Reason.SESSION_NOT_FOUND: "Session not found in this event",
    Reason.SESSION_NOT_IN_ROOM: "This session does not take place in this room",
    Reason.ACCOUNT_DISABLED: "This user account is disabled",
    Reason.REVOKED_BADGE: "This badge has been replaced and is no longer valid",
    Reason.UNKNOWN_BADGE: "This badge was never issued",
    Reason.UNSIGNED_BADGE: "This badge has no signature: check it online or show the app's badge",
    Reason.NOT_IN_EVENT: "User does not have access to this event",
    Reason.PARTICIPANT_NOT_FOUND: "Participant not found for this event",
    Reason.ROOM_NOT_ALLOWED: "Participant is not allowed in this room",
    Reason.PAYMENT_REQUIRED: "Payment required for this atelier",
}


@dataclass(frozen=True, slots=True)
class SessionFacts:
    id: str
    room_id: str
    title: str
    is_paid: bool
    price: str  # a decimal string, e.g. "5000.00"


@dataclass(frozen=True, slots=True)
class Place:
    """Where the scan happens. ``room_id`` is None for a booth."""

    event_id: str
    room_id: str | None
    mode: Mode = "door"
    #: the session id the scan is for (asked for, or picked from the schedule)
    session_id: str | None = None
    #: that session's facts, or None when it is not a session of this event
    session: SessionFacts | None = None
    #: a door's scan: an entry or an exit (a booth's is always ``in``)
    direction: Direction = "in"


#: the payment statuses of an access that lets its holder into a paid session
#: (with ``has_access``): paid, or granted free by a gestionnaire
OPEN_PAYMENT_STATUSES = frozenset({"paid", "free"})


@dataclass(frozen=True, slots=True)
class SessionAccessFacts:
    payment_status: str  # pending | paid | free | refunded
    has_access: bool


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What the store knows of the badge's user, in the place's event.

    Only people of the event have facts: an assignment (active or not) or a
    participant record there.
    """

    user_id: int
    name: str
    email: str
    is_active: bool
    #: the user's current badge id (None if no badge was ever issued, or not known here)
    badge_id: str | None
    #: old badge ids of this user that were reissued (only the scanned one matters)
    revoked_badge_ids: frozenset[str] = frozenset()
    #: role of the user's *active* assignment in the place's event, else None
    role: str | None = None
    participant_id: str | None = None
    #: rooms the participant may enter; empty means every room
    allowed_room_ids: frozenset[str] = frozenset()
    #: access to the place's session, when there is one
    session_access: SessionAccessFacts | None = None
    #: whether ``badge_id`` is known: the server knows it, a kiosk never does
    badge_id_known: bool = True


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Literal["granted", "denied"]
    reason: Reason
    http_status: int
    message: str
    decided_at: str
    user_id: int | None = None
    badge_id: str | None = None
    name: str | None = None
    email: str | None = None
    role: str | None = None
    participant_id: str | None = None
    event_id: str | None = None
    room_id: str | None = None
    session_id: str | None = None
    session_title: str | None = None
    session_price: str | None = None
    detail: str | None = field(default=None)
    direction: Direction = "in"

    @property
    def granted(self) -> bool:
        return self.status == "granted"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reason"] = self.reason.value
        return data


def decide(
    badge: Badge | BadgeError,
    place: Place,
    person: PersonFacts | None,
    now: datetime,
    signature: SignatureCheck = SignatureCheck.ABSENT,
) -> Verdict:
    """Decide one scan. Pure and total: same facts, same verdict; never raises.

    ``signature`` is what ``shared.signing.Keyring.check`` said of the badge."""

    def verdict(reason: Reason, detail: str | None = None) -> Verdict:
        session = place.session
        return Verdict(
            status="granted" if reason is Reason.GRANTED else "denied",
            reason=reason,
            http_status=HTTP_STATUS[reason],
            message=MESSAGES[reason],
            decided_at=iso(now) or "",
            user_id=badge.user_id if isinstance(badge, Badge) else None,
            badge_id=badge.badge_id if isinstance(badge, Badge) else None,
            name=person.name if person else None,
            email=person.email if person else None,
            role=person.role if person else None,
            participant_id=person.participant_id if person else None,
            event_id=place.event_id,
            room_id=place.room_id,
            session_id=session.id if session else place.session_id,
            session_title=session.title if session else None,
            session_price=session.price if session else None,
            detail=detail,
            direction=place.direction,
        )

    if isinstance(badge, BadgeError):
        return verdict(Reason.INVALID_BADGE, badge.problem)
    if badge.signed and signature is not SignatureCheck.VALID:
        person = None  # a forged badge names no one
        return verdict(Reason.INVALID_SIGNATURE)
    if person is not None and person.user_id != badge.user_id:
        person = None  # facts about someone else: never shown as this badge's holder

    door = place.mode == "door"
    if door and place.session_id is not None:
        if place.session is None:
            return verdict(Reason.SESSION_NOT_FOUND)
        if place.session.room_id != place.room_id:
            return verdict(Reason.SESSION_NOT_IN_ROOM)

    if person is None:
        return verdict(Reason.NOT_IN_EVENT)
    if not person.is_active:
        return verdict(Reason.ACCOUNT_DISABLED)
    if badge.badge_id in person.revoked_badge_ids:
        return verdict(Reason.REVOKED_BADGE)
    if not badge.signed:  # the seed's two-field form: only a badge id holder can tell
        if not person.badge_id_known:
            return verdict(Reason.UNSIGNED_BADGE)
        if person.badge_id != badge.badge_id:
            return verdict(Reason.UNKNOWN_BADGE)

    # 1. event
    if person.role is None:
        return verdict(Reason.NOT_IN_EVENT)
    if not door or person.role in STAFF_ROLES or place.direction == "out":
        return verdict(Reason.GRANTED)

    # 2. room
    if person.participant_id is None:
        return verdict(Reason.PARTICIPANT_NOT_FOUND)
    if person.allowed_room_ids and place.room_id not in person.allowed_room_ids:
        return verdict(Reason.ROOM_NOT_ALLOWED)

    # 3. paid session
    session = place.session
    if session is not None and session.is_paid:
        access = person.session_access
        if (
            access is None
            or not access.has_access
            or access.payment_status not in OPEN_PAYMENT_STATUSES
        ):
            return verdict(Reason.PAYMENT_REQUIRED)
    return verdict(Reason.GRANTED)
