"""Authentication & Authorization (seed): login with event context, tokens, profile."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from server.access.checkin import checked_in_at
from server.auth import limits, tokens
from server.auth.permissions import (
    Identity,
    authenticate,
    current_identity,
    require_auth,
)
from server.auth.schemas import (
    MIN_PASSWORD,
    AccessTokenSchema,
    ChangePasswordSchema,
    DetailSchema,
    EventChoiceSchema,
    LoginAnswerSchema,
    LoginSchema,
    MyEventsSchema,
    PasswordChangedSchema,
    ProfileSchema,
    ProfileUpdateSchema,
    RefreshSchema,
    RegisterSchema,
    UserSchema,
)
from server.badges import ensure_profile, profile_for_reading
from server.errors import APIError, validation_error
from server.extensions import db
from server.models import (
    Event,
    Participant,
    RevokedToken,
    User,
    UserEventAssignment,
    UserProfile,
)
from server.schema import Blueprint, documented
from shared.roles import Role
from shared.timefmt import utcnow

bp = Blueprint("auth", __name__, description="Login, tokens and the caller's profile")


#: What the client app may offer for each role (select-event's ``permissions``).
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.GESTIONNAIRE: ["manage_event", "manage_rooms", "manage_sessions", "verify_qr"],
    Role.ORGANISATEUR: ["manage_event", "manage_rooms", "manage_sessions", "verify_qr"],
    Role.CONTROLLEUR: ["verify_qr", "view_room_statistics"],
    Role.PARTICIPANT: ["view_sessions", "access_rooms", "check_in"],
    Role.EXPOSANT: ["view_sessions", "scan_visitors", "export_visits"],
}


@dataclass(frozen=True)
class BadgeView:
    """A user's badge as shown in one event: with their check-in there (``BadgeSchema``)."""

    profile: UserProfile
    checked_in_at: datetime | None = None

    @property
    def badge_id(self) -> str:
        return self.profile.badge_id

    @property
    def is_checked_in(self) -> bool:
        return self.checked_in_at is not None


@dataclass(frozen=True)
class Membership:
    """An event with the user's role in it and their badge (``EventSummarySchema``)."""

    event: Event
    role: str
    profile: UserProfile | None
    checked_in_at: datetime | None = None

    @property
    def badge(self) -> BadgeView | None:
        """Controllers get no badge: they scan, they are not scanned."""
        if self.profile is None or self.role == Role.CONTROLLEUR:
            return None
        return BadgeView(self.profile, self.checked_in_at)

    @property
    def permissions(self) -> list[str]:
        return ROLE_PERMISSIONS.get(self.role, [])


@dataclass(frozen=True)
class ProfileView:
    """The caller's account and badge, in their token's event (``ProfileSchema``)."""

    user: User
    profile: UserProfile
    event_id: uuid.UUID | None
    role: str | None
    participant_id: uuid.UUID | None
    checked_in_at: datetime | None = None

    @property
    def badge(self) -> BadgeView:
        return BadgeView(self.profile, self.checked_in_at)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _dummy_hash() -> str:
    cached: str | None = current_app.extensions.get("badgegate_dummy_hash")
    if cached is None:
        cached = hash_password("not-a-password")
        current_app.extensions["badgegate_dummy_hash"] = cached
    return cached


def check_login(email: str | None, password: str | None) -> User | None:
    """The active account with this email and password, else None.

    The attempt is counted against the email and the client's address first
    (429 past their limits, see ``server.auth.limits``). Every refusal costs
    one password hash check (a dummy one when no account has the email), so
    the answer's time does not tell which emails exist.
    """
    attempt = limits.attempt(account=email)
    found = db.session.execute(
        select(User.id, User.password_hash, User.is_active).where(User.email == email)
    ).first()
    db.session.commit()  # no transaction open while the hash runs (SQLite: no lock held)
    if found is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(found.password_hash, password or "") or not found.is_active:
        return None
    attempt.succeeded()
    return db.session.get(User, found.id)


def _checked_in(user_id: int, event_id: uuid.UUID | None) -> datetime | None:
    return checked_in_at(user_id, [event_id]).get(event_id) if event_id else None


def _membership_list(
    user_id: int, memberships: list[tuple[UserEventAssignment, Event]], profile: UserProfile
) -> list[Membership]:
    """The user's events, each with their badge and check-in there (one query)."""
    first = checked_in_at(user_id, [e.id for _a, e in memberships])
    return [Membership(e, a.role, profile, first.get(e.id)) for a, e in memberships]


def _memberships(user_id: int) -> list[tuple[UserEventAssignment, Event]]:
    stmt = (
        select(UserEventAssignment, Event)
        .join(Event, Event.id == UserEventAssignment.event_id)
        .where(
            UserEventAssignment.user_id == user_id,
            UserEventAssignment.is_active.is_(True),
            Event.is_active.is_(True),
        )
        .order_by(Event.start_date, Event.name)
    )
    return [(a, e) for a, e in db.session.execute(stmt).all()]


def _session_answer(user: User, assignment: UserEventAssignment, event: Event) -> dict[str, Any]:
    """Tokens for one event plus the seed's ``current_event`` block."""
    profile = ensure_profile(user)
    return LoginAnswerSchema().dump(
        {
            **tokens.issue_pair(user.id, event.id, assignment.role),
            "user": user,
            "current_event": Membership(
                event, assignment.role, profile, _checked_in(user.id, event.id)
            ),
            "requires_event_selection": False,
        }
    )


def _pick(user: User, event_id: uuid.UUID) -> dict[str, Any]:
    for assignment, event in _memberships(user.id):
        if event.id == event_id:
            answer = _session_answer(user, assignment, event)
            db.session.commit()
            return answer
    raise APIError(
        403, "You do not have an active role in this event", fields={"event_id": "not yours"}
    )


@bp.post("/api/auth/register/")
@bp.arguments(RegisterSchema)
@documented(bp, auth=None, errors=(400, 409, 415), answers={201: UserSchema})
def register(data: dict[str, Any]) -> ResponseReturnValue:
    """A new account (no role in any event yet)."""
    username: str = data["username"]
    email: str = data["email"]
    password: str = data["password"]
    first_name: str = data["first_name"]
    last_name: str = data["last_name"]
    if len(password) < MIN_PASSWORD:
        raise validation_error("password", f"must be at least {MIN_PASSWORD} characters")
    password_hash = hash_password(password)  # before any transaction: no lock held meanwhile
    _check_unique(username.strip(), email, exclude_id=None)
    user = User(
        username=username.strip(),
        email=email,
        first_name=(first_name or "").strip(),
        last_name=(last_name or "").strip(),
        password_hash=password_hash,
    )
    db.session.add(user)
    _flush_unique(user.username, email, exclude_id=None)
    ensure_profile(user)
    answer = UserSchema().dump(user)
    db.session.commit()
    return jsonify(answer), 201


def _flush_unique(username: str | None, email: str | None, exclude_id: int | None) -> None:
    """Flush; a name another request took since :func:`_check_unique` is a 400 naming it."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        _check_unique(username, email, exclude_id)  # the other request's row is committed now
        # not found: the other request rolled back since; name the constraint that failed
        field = "email" if "email" in str(exc.orig) else "username"
        raise APIError(
            409,
            f"{field}: A user with that {field} already exists.",
            fields={field: f"A user with that {field} already exists."},
        ) from None


def _check_unique(username: str | None, email: str | None, exclude_id: int | None) -> None:
    if username is not None:
        stmt = select(User.id).where(func.lower(User.username) == func.lower(username))
        if exclude_id is not None:
            stmt = stmt.where(User.id != exclude_id)
        if db.session.scalar(stmt) is not None:
            raise validation_error("username", "A user with that username already exists.")
    if email is not None:
        stmt = select(User.id).where(User.email == email)
        if exclude_id is not None:
            stmt = stmt.where(User.id != exclude_id)
        if db.session.scalar(stmt) is not None:
            raise validation_error("email", "A user with that email already exists.")


@bp.post("/api/auth/login/")
@bp.arguments(LoginSchema)
@documented(bp, auth=None, errors=(400, 401, 403, 415, 429), answers={200: LoginAnswerSchema})
def login(data: dict[str, Any]) -> ResponseReturnValue:
    """Tokens for the account's one event, or the events to choose from."""
    email: str = data["email"]
    password: str = data["password"]
    event_id: uuid.UUID | None = data.get("event_id")
    user = check_login(email, password)
    if user is None:
        raise APIError(401, "Invalid email or password", code="invalid_credentials")
    if event_id is not None:
        return jsonify(_pick(user, event_id))

    memberships = _memberships(user.id)
    if len(memberships) == 1:
        answer = _session_answer(user, *memberships[0])
    elif not memberships:
        profile = ensure_profile(user)
        answer = LoginAnswerSchema().dump(
            {
                **tokens.issue_pair(user.id, None, None),
                "user": user,
                "current_event": None,
                "badge": BadgeView(profile),
                "requires_event_selection": False,
            }
        )
    else:
        profile = ensure_profile(user)
        answer = LoginAnswerSchema().dump(
            {
                "user": user,
                "requires_event_selection": True,
                "available_events": _membership_list(user.id, memberships, profile),
                "temp_token": tokens.issue("temp", user.id, None, None),
            }
        )
    db.session.commit()
    return jsonify(answer)


@bp.post("/api/auth/select-event/")
@require_auth(event=False, token_types=("temp", "access"))
@bp.arguments(EventChoiceSchema)
@documented(bp, errors=(400, 403, 415), answers={200: LoginAnswerSchema})
def select_event(data: dict[str, Any]) -> ResponseReturnValue:
    event_id: uuid.UUID = data["event_id"]
    return jsonify(_pick(current_identity().user, event_id))


@bp.post("/api/auth/switch-event/")
@require_auth(event=False)
@bp.arguments(EventChoiceSchema)
@documented(bp, errors=(400, 403, 415), answers={200: LoginAnswerSchema})
def switch_event(data: dict[str, Any]) -> ResponseReturnValue:
    event_id: uuid.UUID = data["event_id"]
    return jsonify(_pick(current_identity().user, event_id))


@bp.get("/api/auth/my-events/")
@documented(bp, answers={200: MyEventsSchema})
@require_auth(event=False)
def my_events() -> ResponseReturnValue:
    identity = current_identity()
    profile = profile_for_reading(identity.user)
    results = _membership_list(identity.user_id, _memberships(identity.user_id), profile)
    answer = MyEventsSchema().dump(
        {
            "count": len(results),
            "next": None,
            "previous": None,
            "results": results,
            "current_event_id": identity.event_id,
        }
    )
    db.session.commit()
    return jsonify(answer)


def _profile_answer(identity: Identity) -> dict[str, Any]:
    profile = profile_for_reading(identity.user)
    view = ProfileView(
        identity.user,
        profile,
        identity.event_id,
        identity.role,
        _participant_id(identity),
        _checked_in(identity.user_id, identity.event_id),
    )
    return ProfileSchema().dump(view)  # type: ignore[no-any-return]


def _participant_id(identity: Identity) -> uuid.UUID | None:
    """The caller's participant record in the token's event (an exposant's booth id)."""
    if identity.event_id is None:
        return None
    found = db.session.scalar(
        select(Participant.id).where(
            Participant.event_id == identity.event_id, Participant.user_id == identity.user_id
        )
    )
    return found


@bp.get("/api/auth/profile/")
@bp.get("/api/auth/me/")
@documented(bp, answers={200: ProfileSchema})
@require_auth(event=False)
def get_profile() -> ResponseReturnValue:
    answer = _profile_answer(current_identity())
    db.session.commit()
    return jsonify(answer)


@bp.route("/api/auth/profile/", methods=["PUT", "PATCH"])
@bp.route("/api/auth/me/", methods=["PUT", "PATCH"])
@require_auth(event=False)
@bp.arguments(ProfileUpdateSchema)
@documented(bp, errors=(400, 409, 415), answers={200: ProfileSchema})
def update_profile(data: dict[str, Any]) -> ResponseReturnValue:
    """PUT: username and email required; PATCH: any of the four fields."""
    identity = current_identity()
    user = identity.user
    username: str | None = data.get("username")
    email: str | None = data.get("email")
    first_name: str | None = data.get("first_name")
    last_name: str | None = data.get("last_name")
    _check_unique(username.strip() if username else None, email, exclude_id=user.id)
    if username is not None:
        user.username = username.strip()
    if email is not None:
        user.email = email
    if first_name is not None:
        user.first_name = first_name.strip()
    if last_name is not None:
        user.last_name = last_name.strip()
    _flush_unique(username.strip() if username else None, email, exclude_id=user.id)
    answer = _profile_answer(identity)
    db.session.commit()
    return jsonify(answer)


@bp.post("/api/auth/change-password/")
@require_auth(event=False)
@bp.arguments(ChangePasswordSchema)
@documented(bp, errors=(400, 415, 429), answers={200: PasswordChangedSchema})
def change_password(data: dict[str, Any]) -> ResponseReturnValue:
    user = current_identity().user
    old: str = data["old_password"]
    new: str = data["new_password"]
    attempt = limits.attempt(account=user.email)
    current_hash = user.password_hash
    db.session.commit()  # no transaction open while the hashes run
    if not check_password_hash(current_hash, old):
        raise validation_error("old_password", "Old password is not correct.")
    if len(new) < MIN_PASSWORD:
        raise validation_error("new_password", f"must be at least {MIN_PASSWORD} characters")
    if new == old:
        raise validation_error("new_password", "must differ from the old password")
    new_hash = hash_password(new)
    attempt.succeeded()
    user.password_hash = new_hash
    # every session of the account ends, this one too: the caller gets a new pair
    # (token times have microseconds: the new pair is issued after this instant)
    user.tokens_valid_after = utcnow()
    db.session.commit()
    identity = current_identity()
    pair = tokens.issue_pair(user.id, identity.claims.event_id, identity.role)
    return jsonify({"detail": "Password updated successfully", **pair})


def _revoke(claims: tokens.TokenClaims) -> None:
    if db.session.get(RevokedToken, claims.jti) is None:
        db.session.add(
            RevokedToken(jti=claims.jti, user_id=claims.user_id, expires_at=claims.expires_at)
        )


@bp.post("/api/auth/logout/")
@require_auth(event=False)
@bp.arguments(RefreshSchema)
@documented(bp, errors=(400, 415), answers={200: DetailSchema})
def logout(data: dict[str, Any]) -> ResponseReturnValue:
    """Revoke the refresh token given in the body, and the access token used."""
    identity = current_identity()
    raw: str = data["refresh"]
    try:
        refresh = tokens.decode(raw, "refresh")
    except tokens.TokenError as exc:
        raise validation_error("refresh", str(exc)) from None
    if refresh.user_id != identity.user_id:
        raise validation_error("refresh", "This refresh token belongs to another user")
    _revoke(refresh)
    _revoke(identity.claims)
    db.session.commit()
    return jsonify({"detail": "Successfully logged out"})


@bp.post("/api/token/refresh/")
@bp.arguments(RefreshSchema)
@documented(bp, auth=None, errors=(400, 401, 415), answers={200: AccessTokenSchema})
def refresh_token(data: dict[str, Any]) -> ResponseReturnValue:
    raw: str = data["refresh"]
    identity = authenticate(raw, ("refresh",))
    claims = identity.claims
    return jsonify(
        {"access": tokens.issue("access", claims.user_id, claims.event_id, identity.role)}
    )
