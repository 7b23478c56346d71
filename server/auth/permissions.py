"""Who may do what: the seed's permission classes, checked per event.

The token names an event; the role is read from the user's *active*
assignment in that event at every request (one query), so a withdrawn role
stops working at once and a role in event A grants nothing in event B.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from flask import g, request
from sqlalchemy import Uuid, and_, bindparam, select

from server.auth.tokens import TokenClaims, TokenError, TokenType, decode
from server.errors import APIError
from server.extensions import db
from server.models import Event, RevokedToken, User, UserEventAssignment
from shared.roles import ALL_ROLES, Role

P = ParamSpec("P")
R = TypeVar("R")

# The seed's permission classes, as the roles each one admits.
IS_GESTIONNAIRE: frozenset[str] = frozenset({Role.GESTIONNAIRE, Role.ORGANISATEUR})
IS_CONTROLLER: frozenset[str] = frozenset({Role.CONTROLLEUR})
IS_PARTICIPANT: frozenset[str] = frozenset({Role.PARTICIPANT})
IS_EXPOSANT: frozenset[str] = frozenset({Role.EXPOSANT})
IS_EVENT_MEMBER: frozenset[str] = ALL_ROLES
#: "QR Codes / Verify": gestionnaires and controllers.
CAN_VERIFY: frozenset[str] = IS_GESTIONNAIRE | IS_CONTROLLER

NO_EVENT_CONTEXT = "No event context found. Please select an event first."


@dataclass
class Identity:
    """Who is calling: checked with one Core query; ORM objects loaded on demand."""

    user_id: int
    claims: TokenClaims
    role: str | None
    assignment_id: uuid.UUID | None

    @property
    def event_id(self) -> uuid.UUID | None:
        return self.claims.event_id

    @functools.cached_property
    def user(self) -> User:
        user = db.session.get(User, self.user_id)
        if user is None:  # deleted since the request began
            raise APIError(401, "User not found or inactive", code="token_not_valid")
        return user

    @functools.cached_property
    def assignment(self) -> UserEventAssignment | None:
        if self.assignment_id is None:
            return None
        return db.session.get(UserEventAssignment, self.assignment_id)

    def has(self, roles: frozenset[str]) -> bool:
        return self.role is not None and self.role in roles

    def require_event(self) -> uuid.UUID:
        if self.event_id is None:
            raise APIError(400, NO_EVENT_CONTEXT, code="no_event_context")
        return self.event_id


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise APIError(401, "Authentication credentials were not provided")
    if scheme.lower() != "bearer" or not token.strip():
        raise APIError(401, "Authorization header must be 'Bearer <token>'")
    return token.strip()


# Built once: the request only binds parameters (this runs on every request).
_AUTH_QUERY = (
    select(
        User.id,
        User.is_active,
        User.tokens_valid_after,
        UserEventAssignment.id,
        UserEventAssignment.role,
        Event.is_active,
        RevokedToken.jti,
    )
    .select_from(User)
    .outerjoin(
        UserEventAssignment,
        and_(
            UserEventAssignment.user_id == User.id,
            UserEventAssignment.event_id == bindparam("event_id", type_=Uuid()),
            UserEventAssignment.is_active.is_(True),
        ),
    )
    .outerjoin(RevokedToken, RevokedToken.jti == bindparam("jti"))
    .outerjoin(Event, Event.id == UserEventAssignment.event_id)
    .where(User.id == bindparam("user_id"))
)


def authenticate(token: str, token_types: tuple[TokenType, ...] = ("access",)) -> Identity:
    """Check a token and its user's active assignment in the token's event: one query."""
    try:
        claims = decode(token, token_types)
    except TokenError as exc:
        raise APIError(401, str(exc), code="token_not_valid") from None
    row = (
        db.session.connection()
        .execute(
            _AUTH_QUERY,
            {"user_id": claims.user_id, "event_id": claims.event_id, "jti": claims.jti},
        )
        .first()
    )
    if row is None or not row[1]:
        raise APIError(401, "User not found or inactive", code="token_not_valid")
    user_id, _active, valid_after, assignment_id, role, event_active, revoked = row
    if revoked is not None or (valid_after is not None and claims.issued_at < valid_after):
        raise APIError(401, "Token has been revoked", code="token_not_valid")
    if claims.event_id is not None and assignment_id is None:
        raise APIError(403, "You no longer have a role in this event")
    if assignment_id is not None and not event_active:
        raise APIError(403, "This event is no longer active")
    return Identity(user_id=user_id, claims=claims, role=role, assignment_id=assignment_id)


def current_identity() -> Identity:
    return g.identity  # type: ignore[no-any-return]


def require_auth(
    roles: frozenset[str] | None = None,
    *,
    event: bool = True,
    token_types: tuple[TokenType, ...] = ("access",),
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: a valid token, an event context (unless ``event=False``) and a role."""

    def wrap(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            identity = authenticate(bearer_token(), token_types)
            if event or roles:
                identity.require_event()
            if roles is not None and not identity.has(roles):
                raise APIError(403, "You do not have permission to perform this action")
            g.identity = identity
            return view(*args, **kwargs)

        return inner

    return wrap


def same_event(identity: Identity, event_id: Any, what: str) -> None:
    """Objects of another event do not exist for this caller (404, not 403)."""
    if event_id != identity.event_id:
        raise APIError(404, f"{what} not found")


def is_annonce_owner(identity: Identity, created_by_id: int | None, event_id: Any) -> bool:
    """IsAnnonceOwner: the author, or a gestionnaire of the announcement's event."""
    if event_id != identity.event_id:
        return False
    return created_by_id == identity.user_id or identity.has(IS_GESTIONNAIRE)
