"""decide(): the one access decision, its reasons, HTTP codes and order of checks."""

from __future__ import annotations

import ast
import dataclasses
import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shared
from shared.badge import Badge, BadgeError
from shared.decision import (
    HTTP_STATUS,
    MESSAGES,
    PersonFacts,
    Place,
    Reason,
    SessionAccessFacts,
    SessionFacts,
    Verdict,
    decide,
)
from shared.roles import ALL_ROLES, STAFF_ROLES, Role
from shared.signing import SignatureCheck

NOW = datetime(2025, 11, 29, 10, 30, tzinfo=UTC)
NOW_ISO = "2025-11-29T10:30:00Z"

BADGE = Badge(user_id=15, badge_id="USER-15-A1B2C3D4")
OLD_BADGE = Badge(user_id=15, badge_id="USER-15-OLD00000")
FORGED_BADGE = Badge(user_id=15, badge_id="USER-15-FORGED00")

EVENT = "ev-1"
ROOM = "room-1"
OTHER_ROOM = "room-2"

FREE = SessionFacts(id="s-free", room_id=ROOM, title="Keynote", is_paid=False, price="0.00")
PAID = SessionFacts(id="s-paid", room_id=ROOM, title="Atelier IA", is_paid=True, price="5000.00")
ELSEWHERE = SessionFacts(
    id="s-else", room_id=OTHER_ROOM, title="Atelier Web", is_paid=True, price="2500.00"
)

PAID_ACCESS = SessionAccessFacts(payment_status="paid", has_access=True)
PENDING_ACCESS = SessionAccessFacts(payment_status="pending", has_access=True)


def person(**changes: object) -> PersonFacts:
    base = PersonFacts(
        user_id=15,
        name="Awa Diop",
        email="awa@example.com",
        is_active=True,
        badge_id=BADGE.badge_id,
        revoked_badge_ids=frozenset({OLD_BADGE.badge_id}),
        role=Role.PARTICIPANT.value,
        participant_id="part-15",
        allowed_room_ids=frozenset(),
        session_access=None,
    )
    return dataclasses.replace(base, **changes)


def door(session: SessionFacts | None = None, **changes: object) -> Place:
    base = Place(
        event_id=EVENT,
        room_id=ROOM,
        mode="door",
        session_id=session.id if session else None,
        session=session,
    )
    return dataclasses.replace(base, **changes)


def booth(**changes: object) -> Place:
    return dataclasses.replace(Place(event_id=EVENT, room_id=None, mode="booth"), **changes)


def assert_verdict(verdict: Verdict, reason: Reason, http_status: int) -> None:
    assert verdict.reason is reason
    assert verdict.http_status == http_status
    assert verdict.status == ("granted" if reason is Reason.GRANTED else "denied")
    assert verdict.granted is (reason is Reason.GRANTED)
    assert verdict.message == MESSAGES[reason]
    assert verdict.decided_at == NOW_ISO


# ------------------------------------------------------------ one test per reason


def test_granted() -> None:
    verdict = decide(BADGE, door(), person(), NOW)
    assert_verdict(verdict, Reason.GRANTED, 200)
    assert verdict.user_id == 15
    assert verdict.badge_id == BADGE.badge_id
    assert verdict.name == "Awa Diop"
    assert verdict.email == "awa@example.com"
    assert verdict.role == "participant"
    assert verdict.participant_id == "part-15"
    assert verdict.event_id == EVENT
    assert verdict.room_id == ROOM
    assert verdict.session_id is None
    assert verdict.session_title is None
    assert verdict.session_price is None
    assert verdict.detail is None


def test_granted_paid_session_when_paid() -> None:
    verdict = decide(BADGE, door(PAID), person(session_access=PAID_ACCESS), NOW)
    assert_verdict(verdict, Reason.GRANTED, 200)
    assert verdict.session_id == "s-paid"
    assert verdict.session_title == "Atelier IA"
    assert verdict.session_price == "5000.00"


def test_granted_free_session_without_access_record() -> None:
    verdict = decide(BADGE, door(FREE), person(session_access=None), NOW)
    assert_verdict(verdict, Reason.GRANTED, 200)
    assert verdict.session_id == "s-free"
    assert verdict.session_title == "Keynote"


def test_invalid_badge() -> None:
    verdict = decide(BadgeError("payload is not valid JSON"), door(), None, NOW)
    assert_verdict(verdict, Reason.INVALID_BADGE, 400)
    assert verdict.detail == "payload is not valid JSON"
    assert verdict.user_id is None
    assert verdict.badge_id is None
    assert verdict.name is None
    assert verdict.event_id == EVENT
    assert verdict.room_id == ROOM


def test_session_not_found() -> None:
    place = door(session_id="s-unknown", session=None)
    verdict = decide(BADGE, place, person(), NOW)
    assert_verdict(verdict, Reason.SESSION_NOT_FOUND, 404)
    assert verdict.session_id == "s-unknown"
    assert verdict.session_title is None
    assert verdict.session_price is None


def test_session_not_in_room() -> None:
    verdict = decide(BADGE, door(ELSEWHERE), person(session_access=PAID_ACCESS), NOW)
    assert_verdict(verdict, Reason.SESSION_NOT_IN_ROOM, 400)
    assert verdict.session_id == "s-else"
    assert verdict.session_title == "Atelier Web"
    assert verdict.room_id == ROOM


def test_person_unknown_to_the_event_is_not_in_event() -> None:
    """No facts (no account, or an account of another event only): not_in_event."""
    verdict = decide(BADGE, door(), None, NOW)
    assert_verdict(verdict, Reason.NOT_IN_EVENT, 403)
    assert verdict.user_id == 15
    assert verdict.badge_id == BADGE.badge_id
    assert verdict.name is None
    assert verdict.email is None
    assert verdict.role is None


def test_record_of_someone_else_is_no_record() -> None:
    other = person(user_id=16, badge_id=BADGE.badge_id)
    verdict = decide(BADGE, door(), other, NOW)
    assert_verdict(verdict, Reason.NOT_IN_EVENT, 403)
    assert verdict.user_id == 15


def test_verdict_does_not_leak_another_persons_identity() -> None:
    other = person(user_id=16, name="Someone Else", email="else@example.com")
    verdict = decide(BADGE, door(), other, NOW)
    assert verdict.reason is Reason.NOT_IN_EVENT
    assert verdict.name is None
    assert verdict.email is None
    assert verdict.role is None
    assert verdict.participant_id is None


def test_account_disabled() -> None:
    verdict = decide(BADGE, door(), person(is_active=False), NOW)
    assert_verdict(verdict, Reason.ACCOUNT_DISABLED, 403)
    assert verdict.name == "Awa Diop"
    assert verdict.user_id == 15


def test_revoked_badge() -> None:
    verdict = decide(OLD_BADGE, door(), person(), NOW)
    assert_verdict(verdict, Reason.REVOKED_BADGE, 403)
    assert verdict.badge_id == OLD_BADGE.badge_id
    assert verdict.name == "Awa Diop"


def test_unknown_badge() -> None:
    verdict = decide(FORGED_BADGE, door(), person(), NOW)
    assert_verdict(verdict, Reason.UNKNOWN_BADGE, 404)
    assert verdict.badge_id == FORGED_BADGE.badge_id


def test_unknown_badge_when_none_was_ever_issued() -> None:
    verdict = decide(BADGE, door(), person(badge_id=None, revoked_badge_ids=frozenset()), NOW)
    assert_verdict(verdict, Reason.UNKNOWN_BADGE, 404)


def test_revoked_badge_when_user_has_no_current_badge() -> None:
    verdict = decide(OLD_BADGE, door(), person(badge_id=None), NOW)
    assert_verdict(verdict, Reason.REVOKED_BADGE, 403)


def test_not_in_event() -> None:
    verdict = decide(BADGE, door(), person(role=None), NOW)
    assert_verdict(verdict, Reason.NOT_IN_EVENT, 403)
    assert verdict.name == "Awa Diop"
    assert verdict.role is None


def test_participant_not_found() -> None:
    verdict = decide(BADGE, door(), person(participant_id=None), NOW)
    assert_verdict(verdict, Reason.PARTICIPANT_NOT_FOUND, 404)
    assert verdict.participant_id is None
    assert verdict.role == "participant"


def test_room_not_allowed() -> None:
    verdict = decide(BADGE, door(), person(allowed_room_ids=frozenset({OTHER_ROOM})), NOW)
    assert_verdict(verdict, Reason.ROOM_NOT_ALLOWED, 403)
    assert verdict.room_id == ROOM
    assert verdict.participant_id == "part-15"


def test_payment_required() -> None:
    verdict = decide(BADGE, door(PAID), person(session_access=None), NOW)
    assert_verdict(verdict, Reason.PAYMENT_REQUIRED, 402)
    assert verdict.session_id == "s-paid"
    assert verdict.session_title == "Atelier IA"
    assert verdict.session_price == "5000.00"
    assert verdict.name == "Awa Diop"


def test_every_reason_is_tested_above() -> None:
    tested = {
        Reason.GRANTED: test_granted,
        Reason.INVALID_BADGE: test_invalid_badge,
        Reason.SESSION_NOT_FOUND: test_session_not_found,
        Reason.SESSION_NOT_IN_ROOM: test_session_not_in_room,
        Reason.ACCOUNT_DISABLED: test_account_disabled,
        Reason.REVOKED_BADGE: test_revoked_badge,
        Reason.UNKNOWN_BADGE: test_unknown_badge,
        Reason.NOT_IN_EVENT: test_not_in_event,
        Reason.PARTICIPANT_NOT_FOUND: test_participant_not_found,
        Reason.ROOM_NOT_ALLOWED: test_room_not_allowed,
        Reason.PAYMENT_REQUIRED: test_payment_required,
        Reason.INVALID_SIGNATURE: test_invalid_signature,
        Reason.UNSIGNED_BADGE: test_unsigned_badge_at_a_kiosk,
    }
    assert set(tested) == set(Reason)


# ------------------------------------------------------------------ tables

EXPECTED_HTTP = {
    "granted": 200,
    "payment_required": 402,
    "not_in_event": 403,
    "room_not_allowed": 403,
    "revoked_badge": 403,
    "account_disabled": 403,
    "unknown_badge": 404,
    "participant_not_found": 404,
    "session_not_found": 404,
    "invalid_badge": 400,
    "session_not_in_room": 400,
    "invalid_signature": 403,
    "unsigned_badge": 403,
}


def test_reason_codes_are_stable() -> None:
    assert {r.value for r in Reason} == set(EXPECTED_HTTP)


def test_http_status_covers_every_reason() -> None:
    assert set(HTTP_STATUS) == set(Reason)
    assert {r.value: code for r, code in HTTP_STATUS.items()} == EXPECTED_HTTP


def test_messages_cover_every_reason() -> None:
    assert set(MESSAGES) == set(Reason)
    for reason, message in MESSAGES.items():
        assert isinstance(message, str) and message.strip(), reason
    assert len(set(MESSAGES.values())) == len(MESSAGES)


SIGNED = Badge(15, BADGE.badge_id, key_id="0a1b2c3d", signature=b"s" * 64)
SIGNED_OLD = Badge(15, OLD_BADGE.badge_id, key_id="0a1b2c3d", signature=b"s" * 64)
#: what a kiosk knows of the person: no badge id
KIOSK_PERSON = {"badge_id": None, "badge_id_known": False}


def test_invalid_signature() -> None:
    verdict = decide(SIGNED, door(), person(), NOW, SignatureCheck.INVALID)
    assert_verdict(verdict, Reason.INVALID_SIGNATURE, 403)
    assert verdict.name is None  # a forged badge names no one


def test_a_signature_must_be_checked() -> None:
    """A signed badge whose signature nobody checked (ABSENT) is not trusted either."""
    verdict = decide(SIGNED, door(), person(), NOW)
    assert verdict.reason is Reason.INVALID_SIGNATURE


def test_signed_badge_passes_without_knowing_the_badge_id() -> None:
    verdict = decide(SIGNED, door(), person(**KIOSK_PERSON), NOW, SignatureCheck.VALID)
    assert_verdict(verdict, Reason.GRANTED, 200)


def test_signed_badge_issued_after_the_last_sync_passes() -> None:
    """A badge reissued since the kiosk's data: signed, not revoked: it is theirs."""
    newer = Badge(15, "USER-15-NEWNEWNEWNEWNEW0", key_id="0a1b2c3d", signature=b"s" * 64)
    verdict = decide(newer, door(), person(**KIOSK_PERSON), NOW, SignatureCheck.VALID)
    assert verdict.reason is Reason.GRANTED


def test_signed_revoked_badge_is_revoked() -> None:
    for facts in (person(), person(**KIOSK_PERSON)):
        verdict = decide(SIGNED_OLD, door(), facts, NOW, SignatureCheck.VALID)
        assert_verdict(verdict, Reason.REVOKED_BADGE, 403)


def test_unsigned_badge_at_a_kiosk() -> None:
    """The seed's two-field form: only the holder of the badge ids (the server) can tell."""
    verdict = decide(BADGE, door(), person(**KIOSK_PERSON), NOW)
    assert_verdict(verdict, Reason.UNSIGNED_BADGE, 403)
    assert decide(BADGE, door(), person(), NOW).reason is Reason.GRANTED


def test_unsigned_revoked_badge_at_a_kiosk_is_revoked() -> None:
    verdict = decide(OLD_BADGE, door(), person(**KIOSK_PERSON), NOW)
    assert verdict.reason is Reason.REVOKED_BADGE


# --------------------------------------------------------------- order of checks


@pytest.mark.parametrize(
    ("badge", "place", "facts", "reason"),
    [
        pytest.param(
            BadgeError("bad"),
            door(session_id="s-unknown"),
            None,
            Reason.INVALID_BADGE,
            id="invalid-badge-before-session-not-found",
        ),
        pytest.param(
            BadgeError("bad"),
            door(ELSEWHERE),
            person(is_active=False),
            Reason.INVALID_BADGE,
            id="invalid-badge-before-session-not-in-room",
        ),
        pytest.param(
            BADGE,
            door(session_id="s-unknown"),
            None,
            Reason.SESSION_NOT_FOUND,
            id="session-not-found-before-unknown-user",
        ),
        pytest.param(
            SIGNED,
            door(session_id="s-unknown"),
            None,
            Reason.INVALID_SIGNATURE,
            id="invalid-signature-before-session-not-found",
        ),
        pytest.param(
            BADGE,
            door(ELSEWHERE),
            None,
            Reason.SESSION_NOT_IN_ROOM,
            id="session-not-in-room-before-unknown-user",
        ),
        pytest.param(
            FORGED_BADGE,
            door(ELSEWHERE),
            person(role=Role.ORGANISATEUR.value),
            Reason.SESSION_NOT_IN_ROOM,
            id="session-not-in-room-even-for-staff",
        ),
        pytest.param(
            BADGE,
            door(),
            person(user_id=16, is_active=False),
            Reason.NOT_IN_EVENT,
            id="stranger-before-account-disabled",
        ),
        pytest.param(
            OLD_BADGE,
            door(),
            person(is_active=False),
            Reason.ACCOUNT_DISABLED,
            id="account-disabled-before-revoked",
        ),
        pytest.param(
            FORGED_BADGE,
            door(),
            person(is_active=False),
            Reason.ACCOUNT_DISABLED,
            id="account-disabled-before-unknown-badge",
        ),
        pytest.param(
            OLD_BADGE,
            door(PAID),
            person(role=None, participant_id=None),
            Reason.REVOKED_BADGE,
            id="revoked-before-not-in-event",
        ),
        pytest.param(
            FORGED_BADGE,
            door(),
            person(role=None),
            Reason.UNKNOWN_BADGE,
            id="unknown-badge-before-not-in-event",
        ),
        pytest.param(
            BADGE,
            door(PAID),
            person(
                role=None,
                participant_id="part-15",
                allowed_room_ids=frozenset({OTHER_ROOM}),
                session_access=PENDING_ACCESS,
            ),
            Reason.NOT_IN_EVENT,
            id="not-in-event-before-room-and-payment",
        ),
        pytest.param(
            BADGE,
            door(PAID),
            person(
                participant_id=None,
                allowed_room_ids=frozenset({OTHER_ROOM}),
                session_access=None,
            ),
            Reason.PARTICIPANT_NOT_FOUND,
            id="participant-not-found-before-room-and-payment",
        ),
        pytest.param(
            BADGE,
            door(PAID),
            person(allowed_room_ids=frozenset({OTHER_ROOM}), session_access=PENDING_ACCESS),
            Reason.ROOM_NOT_ALLOWED,
            id="room-not-allowed-before-payment-required",
        ),
    ],
)
def test_order_of_checks(
    badge: Badge | BadgeError, place: Place, facts: PersonFacts | None, reason: Reason
) -> None:
    assert decide(badge, place, facts, NOW).reason is reason


# ---------------------------------------------------------------------- roles


def test_staff_roles_are_the_three_working_roles() -> None:
    assert frozenset({"gestionnaire_des_salles", "controlleur_des_badges", "organisateur"}) == (
        STAFF_ROLES
    )


@pytest.mark.parametrize(
    "role", ["gestionnaire_des_salles", "controlleur_des_badges", "organisateur"]
)
@pytest.mark.parametrize(
    "place",
    [door(), door(PAID), door(FREE), door(room_id=OTHER_ROOM)],
    ids=["plain-door", "paid-session", "free-session", "other-room"],
)
def test_staff_pass_doors_on_their_assignment(role: str, place: Place) -> None:
    staff = person(
        role=role,
        participant_id=None,
        allowed_room_ids=frozenset({"room-elsewhere"}),
        session_access=None,
    )
    verdict = decide(BADGE, place, staff, NOW)
    assert_verdict(verdict, Reason.GRANTED, 200)
    assert verdict.role == role


@pytest.mark.parametrize(
    "role", ["gestionnaire_des_salles", "controlleur_des_badges", "organisateur"]
)
def test_staff_still_need_an_active_account_and_current_badge(role: str) -> None:
    assert decide(BADGE, door(), person(role=role, is_active=False), NOW).reason is (
        Reason.ACCOUNT_DISABLED
    )
    assert decide(OLD_BADGE, door(), person(role=role), NOW).reason is Reason.REVOKED_BADGE


@pytest.mark.parametrize("role", ["exposant", "participant"])
def test_exposant_and_participant_need_a_participant_record(role: str) -> None:
    verdict = decide(BADGE, door(), person(role=role, participant_id=None), NOW)
    assert_verdict(verdict, Reason.PARTICIPANT_NOT_FOUND, 404)
    verdict = decide(BADGE, door(), person(role=role, participant_id="part-15"), NOW)
    assert_verdict(verdict, Reason.GRANTED, 200)


@pytest.mark.parametrize("role", ["exposant", "participant"])
def test_exposant_and_participant_must_pay(role: str) -> None:
    verdict = decide(BADGE, door(PAID), person(role=role, session_access=None), NOW)
    assert_verdict(verdict, Reason.PAYMENT_REQUIRED, 402)


@pytest.mark.parametrize("role", ["unknown_role", "", "Organisateur", "ORGANISATEUR"])
def test_unknown_role_is_not_staff(role: str) -> None:
    verdict = decide(BADGE, door(), person(role=role, participant_id=None), NOW)
    assert verdict.reason is Reason.PARTICIPANT_NOT_FOUND


def test_all_roles_are_known() -> None:
    assert (
        frozenset(
            {
                "gestionnaire_des_salles",
                "controlleur_des_badges",
                "participant",
                "exposant",
                "organisateur",
            }
        )
        == ALL_ROLES
    )
    assert STAFF_ROLES < ALL_ROLES


# ---------------------------------------------------------------------- rooms


@pytest.mark.parametrize("room_id", [ROOM, OTHER_ROOM, "any-room-at-all"])
def test_empty_allowed_rooms_means_every_room(room_id: str) -> None:
    verdict = decide(BADGE, door(room_id=room_id), person(allowed_room_ids=frozenset()), NOW)
    assert_verdict(verdict, Reason.GRANTED, 200)


@pytest.mark.parametrize(
    ("allowed", "reason"),
    [
        ({ROOM}, Reason.GRANTED),
        ({ROOM, OTHER_ROOM}, Reason.GRANTED),
        ({OTHER_ROOM}, Reason.ROOM_NOT_ALLOWED),
        ({"room-1 "}, Reason.ROOM_NOT_ALLOWED),
        ({"ROOM-1"}, Reason.ROOM_NOT_ALLOWED),
    ],
)
def test_allowed_rooms_restrict(allowed: set[str], reason: Reason) -> None:
    verdict = decide(BADGE, door(), person(allowed_room_ids=frozenset(allowed)), NOW)
    assert verdict.reason is reason


# -------------------------------------------------------------------- payment


@pytest.mark.parametrize(
    "access",
    [
        pytest.param(None, id="no-access-record"),
        pytest.param(SessionAccessFacts("pending", True), id="pending"),
        pytest.param(SessionAccessFacts("refunded", True), id="refunded"),
        pytest.param(SessionAccessFacts("paid", False), id="paid-without-access"),
        pytest.param(SessionAccessFacts("pending", False), id="pending-without-access"),
        pytest.param(SessionAccessFacts("refunded", False), id="refunded-without-access"),
        pytest.param(SessionAccessFacts("PAID", True), id="wrong-case"),
        pytest.param(SessionAccessFacts("", True), id="empty-status"),
        pytest.param(SessionAccessFacts("free", False), id="grant-withdrawn"),
        pytest.param(SessionAccessFacts("FREE", True), id="grant-wrong-case"),
    ],
)
def test_payment_required_unless_paid_with_access(access: SessionAccessFacts | None) -> None:
    verdict = decide(BADGE, door(PAID), person(session_access=access), NOW)
    assert_verdict(verdict, Reason.PAYMENT_REQUIRED, 402)
    assert verdict.session_price == "5000.00"
    assert verdict.session_title == "Atelier IA"


@pytest.mark.parametrize(
    "access",
    [SessionAccessFacts("paid", True), SessionAccessFacts("free", True)],
    ids=["paid", "granted-free"],
)
def test_paid_session_opens_to_a_paid_or_granted_access(access: SessionAccessFacts) -> None:
    verdict = decide(BADGE, door(PAID), person(session_access=access), NOW)
    assert_verdict(verdict, Reason.GRANTED, 200)


@pytest.mark.parametrize(
    "access",
    [None, SessionAccessFacts("pending", False), SessionAccessFacts("refunded", False)],
)
def test_free_session_needs_no_payment(access: SessionAccessFacts | None) -> None:
    verdict = decide(BADGE, door(FREE), person(session_access=access), NOW)
    assert_verdict(verdict, Reason.GRANTED, 200)


def test_door_without_session_needs_no_payment() -> None:
    verdict = decide(BADGE, door(), person(session_access=PENDING_ACCESS), NOW)
    assert_verdict(verdict, Reason.GRANTED, 200)


# ---------------------------------------------------------------------- booth


@pytest.mark.parametrize("role", sorted(ALL_ROLES))
def test_booth_grants_any_active_event_member(role: str) -> None:
    member = person(
        role=role,
        participant_id=None,
        allowed_room_ids=frozenset({OTHER_ROOM}),
        session_access=None,
    )
    verdict = decide(BADGE, booth(), member, NOW)
    assert_verdict(verdict, Reason.GRANTED, 200)
    assert verdict.room_id is None
    assert verdict.name == "Awa Diop"


def test_booth_skips_session_and_payment_checks() -> None:
    unpaid = person(session_access=PENDING_ACCESS, allowed_room_ids=frozenset({OTHER_ROOM}))
    for place in (
        booth(session_id="s-unknown"),
        booth(session_id=ELSEWHERE.id, session=ELSEWHERE),
        booth(session_id=PAID.id, session=PAID),
    ):
        assert decide(BADGE, place, unpaid, NOW).reason is Reason.GRANTED, place


@pytest.mark.parametrize(
    ("badge", "facts", "reason"),
    [
        pytest.param(BADGE, person(role=None), Reason.NOT_IN_EVENT, id="not-in-event"),
        pytest.param(OLD_BADGE, person(), Reason.REVOKED_BADGE, id="revoked"),
        pytest.param(FORGED_BADGE, person(), Reason.UNKNOWN_BADGE, id="unknown-badge"),
        pytest.param(BADGE, person(is_active=False), Reason.ACCOUNT_DISABLED, id="disabled"),
        pytest.param(BADGE, None, Reason.NOT_IN_EVENT, id="stranger"),
        pytest.param(BadgeError("bad"), None, Reason.INVALID_BADGE, id="invalid-badge"),
    ],
)
def test_booth_still_denies(
    badge: Badge | BadgeError, facts: PersonFacts | None, reason: Reason
) -> None:
    verdict = decide(badge, booth(), facts, NOW)
    assert_verdict(verdict, reason, HTTP_STATUS[reason])


# --------------------------------------------------------------- verdict form


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (NOW, NOW_ISO),
        (datetime(2025, 11, 29, 10, 30), NOW_ISO),
        (datetime(2025, 11, 29, 11, 30, tzinfo=timezone(timedelta(hours=1))), NOW_ISO),
        (datetime(2025, 11, 29, 10, 30, 0, 123456, tzinfo=UTC), "2025-11-29T10:30:00.123456Z"),
    ],
)
def test_decided_at_is_iso_of_now(now: datetime, expected: str) -> None:
    assert decide(BADGE, door(), person(), now).decided_at == expected
    assert decide(BadgeError("x"), door(), None, now).decided_at == expected


@pytest.mark.parametrize(
    "now",
    [
        datetime.min.replace(tzinfo=timezone(timedelta(hours=1))),
        datetime.max.replace(tzinfo=timezone(timedelta(hours=-1))),
    ],
    ids=["min+01:00", "max-01:00"],
)
def test_decide_is_total_for_extreme_now(now: datetime) -> None:
    assert isinstance(decide(BADGE, door(), person(), now), Verdict)


@pytest.mark.parametrize(
    ("badge", "place", "facts"),
    [
        (BADGE, door(PAID), person(session_access=PAID_ACCESS)),
        (BADGE, door(PAID), person()),
        (BadgeError("bad"), door(), None),
        (OLD_BADGE, booth(), person()),
    ],
)
def test_to_dict_is_json_serialisable(
    badge: Badge | BadgeError, place: Place, facts: PersonFacts | None
) -> None:
    verdict = decide(badge, place, facts, NOW)
    data = verdict.to_dict()
    assert type(data["reason"]) is str
    assert data["reason"] == verdict.reason.value
    assert set(data) == {f.name for f in dataclasses.fields(Verdict)}
    text = json.dumps(data)
    back = json.loads(text)
    assert back == data
    assert back["reason"] == verdict.reason.value
    assert back["http_status"] == verdict.http_status
    assert back["decided_at"] == NOW_ISO
    assert f'"reason": "{verdict.reason.value}"' in text


def test_to_dict_does_not_mutate_verdict() -> None:
    verdict = decide(BADGE, door(), person(), NOW)
    verdict.to_dict()["reason"] = "tampered"
    assert verdict.reason is Reason.GRANTED


def test_verdict_is_frozen() -> None:
    verdict = decide(BADGE, door(), person(), NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.status = "granted"  # type: ignore[misc]


# ----------------------------------------------------------------- properties

USER_IDS = st.sampled_from([1, 2])
SUFFIXES = st.sampled_from(["AAAAAAAA", "BBBBBBBB"])
BADGE_IDS = st.builds(lambda u, s: f"USER-{u}-{s}", USER_IDS, SUFFIXES)
ROOM_IDS = st.sampled_from(["room-1", "room-2"])
SESSION_IDS = st.sampled_from(["s-1", "s-2"])
SHORT_TEXT = st.text(max_size=4)

BADGES = st.one_of(
    st.builds(lambda u, s: Badge(u, f"USER-{u}-{s}"), USER_IDS, SUFFIXES),
    st.builds(Badge, USER_IDS, BADGE_IDS),  # inconsistent pairs are still Badges
    st.builds(BadgeError, SHORT_TEXT),
)
SESSIONS = st.builds(
    SessionFacts,
    id=SESSION_IDS,
    room_id=ROOM_IDS,
    title=SHORT_TEXT,
    is_paid=st.booleans(),
    price=st.sampled_from(["0.00", "5000.00", ""]),
)
PLACES = st.builds(
    Place,
    event_id=st.sampled_from(["ev-1", "ev-2"]),
    room_id=st.none() | ROOM_IDS,
    mode=st.sampled_from(["door", "booth"]),
    session_id=st.none() | SESSION_IDS,
    session=st.none() | SESSIONS,
)
ACCESSES = st.builds(
    SessionAccessFacts,
    payment_status=st.sampled_from(["pending", "paid", "free", "refunded", "PAID", ""]),
    has_access=st.booleans(),
)
PEOPLE = st.builds(
    PersonFacts,
    user_id=USER_IDS,
    name=SHORT_TEXT,
    email=SHORT_TEXT,
    is_active=st.booleans(),
    badge_id=st.none() | BADGE_IDS,
    revoked_badge_ids=st.frozensets(BADGE_IDS, max_size=3),
    role=st.none() | st.sampled_from(sorted(ALL_ROLES)) | SHORT_TEXT,
    participant_id=st.none() | st.sampled_from(["part-1", "part-2"]),
    allowed_room_ids=st.frozensets(ROOM_IDS, max_size=2),
    session_access=st.none() | ACCESSES,
)
NOWS = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [None, UTC, timezone(timedelta(hours=1)), timezone(-timedelta(hours=8))]
    ),
)


@settings(max_examples=1000)
@given(BADGES, PLACES, st.none() | PEOPLE, NOWS)
def test_decide_is_total_deterministic_and_consistent(
    badge: Badge | BadgeError, place: Place, facts: PersonFacts | None, now: datetime
) -> None:
    verdict = decide(badge, place, facts, now)
    assert isinstance(verdict, Verdict)
    assert decide(badge, place, facts, now) == verdict

    assert isinstance(verdict.reason, Reason)
    assert (verdict.http_status == 200) == (verdict.status == "granted")
    assert (verdict.status == "granted") == (verdict.reason == "granted")
    assert verdict.status in ("granted", "denied")
    assert verdict.http_status == HTTP_STATUS[verdict.reason]
    assert verdict.message == MESSAGES[verdict.reason]
    assert verdict.decided_at.endswith("Z")
    json.dumps(verdict.to_dict())

    if verdict.granted:
        # safety: nothing is granted without a valid, current badge of an active member
        assert isinstance(badge, Badge)
        assert facts is not None
        assert facts.user_id == badge.user_id
        assert facts.is_active
        assert facts.badge_id == badge.badge_id
        assert facts.role is not None
        if place.mode == "door" and facts.role not in STAFF_ROLES:
            assert facts.participant_id is not None
            assert not facts.allowed_room_ids or place.room_id in facts.allowed_room_ids
            if place.session is not None and place.session.is_paid:
                access = facts.session_access
                assert access is not None
                assert access.has_access
                assert access.payment_status == "paid"
        if place.mode == "door" and place.session_id is not None:
            assert place.session is not None
            assert place.session.room_id == place.room_id


# ------------------------------------------------------ the core is stdlib only

SHARED_DIR = Path(shared.__file__).resolve().parent


def _imported_top_level_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: inside shared/ by construction
                names.add("shared")
            elif node.module:
                names.add(node.module.split(".")[0])
    return names


def test_shared_imports_only_the_standard_library() -> None:
    files = sorted(SHARED_DIR.rglob("*.py"))
    assert {f.name for f in files} >= {"badge.py", "decision.py", "roles.py", "timefmt.py"}
    offenders = {
        f"{path.relative_to(SHARED_DIR)}: {name}"
        for path in files
        for name in _imported_top_level_modules(path)
        if name != "shared" and name not in sys.stdlib_module_names
    }
    assert not offenders, sorted(offenders)


def test_import_scanner_sees_third_party_imports(tmp_path: Path) -> None:
    """The check above can fail: it spots non-stdlib imports, nested ones too."""
    module = tmp_path / "m.py"
    module.write_text(
        "import json, os.path\n"
        "from . import badge\n"
        "from shared.badge import Badge\n"
        "def f():\n"
        "    import flask\n"
        "    from sqlalchemy.orm import Session\n",
        encoding="utf-8",
    )
    names = _imported_top_level_modules(module)
    assert names == {"json", "os", "shared", "flask", "sqlalchemy"}
    assert {n for n in names if n != "shared" and n not in sys.stdlib_module_names} == {
        "flask",
        "sqlalchemy",
    }


# ------------------------------------------------------------ directions


@pytest.mark.parametrize(
    ("place", "facts", "entry_reason"),
    [
        (door(), person(allowed_room_ids=frozenset({OTHER_ROOM})), Reason.ROOM_NOT_ALLOWED),
        (door(PAID), person(session_access=PENDING_ACCESS), Reason.PAYMENT_REQUIRED),
        (door(PAID), person(session_access=None), Reason.PAYMENT_REQUIRED),
        (door(), person(participant_id=None), Reason.PARTICIPANT_NOT_FOUND),
    ],
)
def test_an_exit_passes_where_the_room_or_the_session_would_refuse_entry(
    place: Place, facts: PersonFacts, entry_reason: Reason
) -> None:
    entry = decide(BADGE, place, facts, NOW, SignatureCheck.ABSENT)
    assert entry.reason is entry_reason and entry.direction == "in"
    out = decide(BADGE, dataclasses.replace(place, direction="out"), facts, NOW)
    assert_verdict(out, Reason.GRANTED, 200)
    assert out.direction == "out" and out.to_dict()["direction"] == "out"
    assert out.participant_id == facts.participant_id and out.name == facts.name


@pytest.mark.parametrize(
    ("badge", "facts", "signature", "reason"),
    [
        (
            BadgeError("payload is not valid JSON"),
            None,
            SignatureCheck.ABSENT,
            Reason.INVALID_BADGE,
        ),
        (SIGNED, person(), SignatureCheck.INVALID, Reason.INVALID_SIGNATURE),
        (BADGE, None, SignatureCheck.ABSENT, Reason.NOT_IN_EVENT),
        (BADGE, person(role=None), SignatureCheck.ABSENT, Reason.NOT_IN_EVENT),
        (BADGE, person(is_active=False), SignatureCheck.ABSENT, Reason.ACCOUNT_DISABLED),
        (OLD_BADGE, person(), SignatureCheck.ABSENT, Reason.REVOKED_BADGE),
        (FORGED_BADGE, person(), SignatureCheck.ABSENT, Reason.UNKNOWN_BADGE),
    ],
)
def test_an_exit_still_needs_a_valid_badge_of_a_person_of_the_event(
    badge: Badge | BadgeError, facts: PersonFacts | None, signature: SignatureCheck, reason: Reason
) -> None:
    """Nobody is kept in, but an exit that names no one is not counted as one."""
    verdict = decide(badge, door(direction="out"), facts, NOW, signature)
    assert_verdict(verdict, reason, HTTP_STATUS[reason])
    assert verdict.direction == "out"
