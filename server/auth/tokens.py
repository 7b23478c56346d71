"""JSON Web Tokens: access, refresh and the temporary event-selection token.

Every token carries the user (``sub``), the event it was issued for (or none),
the role in that event, its type, a unique ``jti`` and its expiry. Only HS256
is accepted, so ``alg: none`` and algorithm-confusion tokens are refused.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import jwt
from flask import current_app

from shared.timefmt import utcnow

TokenType = Literal["access", "refresh", "temp"]
ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "type"]
MAX_USER_ID = 2**31 - 1  # users.id is a 32-bit integer


class TokenError(Exception):
    """The token is unusable; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    event_id: uuid.UUID | None
    role: str | None
    type: TokenType
    jti: str
    expires_at: datetime
    issued_at: datetime


def _lifetime(token_type: TokenType) -> timedelta:
    cfg = current_app.config
    if token_type == "access":
        return timedelta(minutes=cfg["JWT_ACCESS_MINUTES"])
    if token_type == "refresh":
        return timedelta(days=cfg["JWT_REFRESH_DAYS"])
    return timedelta(minutes=cfg["JWT_TEMP_MINUTES"])


def issue(token_type: TokenType, user_id: int, event_id: uuid.UUID | None, role: str | None) -> str:
    now = utcnow()
    claims = {
        "sub": str(user_id),
        "event_id": str(event_id) if event_id else None,
        "role": role,
        "type": token_type,
        "jti": uuid.uuid4().hex,
        # a NumericDate may be fractional (RFC 7519): microseconds, so a password
        # change refuses the tokens issued earlier in its own second
        "iat": now.timestamp(),
        "exp": now + _lifetime(token_type),
    }
    return jwt.encode(claims, current_app.config["JWT_SECRET_KEY"], algorithm=ALGORITHM)


def issue_pair(user_id: int, event_id: uuid.UUID | None, role: str | None) -> dict[str, str]:
    return {
        "access": issue("access", user_id, event_id, role),
        "refresh": issue("refresh", user_id, event_id, role),
    }


def _numeric_date(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("iat")
    return float(value)


def _verify(token: str, key: str) -> TokenClaims:
    """Signature and claims of a token, expiry aside (checked on every use)."""
    try:
        data = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"require": _REQUIRED_CLAIMS, "verify_exp": False},
        )
    except jwt.PyJWTError:
        raise TokenError("Token is invalid") from None
    token_type = data.get("type")
    if token_type not in ("access", "refresh", "temp"):
        raise TokenError("Token is invalid")
    try:
        user_id = int(data["sub"])
        if not 0 < user_id <= MAX_USER_ID:
            raise ValueError("sub")
        raw_event = data.get("event_id")
        event_id = uuid.UUID(raw_event) if raw_event else None
        role = data.get("role")
        if role is not None and not isinstance(role, str):
            raise ValueError("role")
        jti = str(data["jti"])
        expires_at = datetime.fromtimestamp(int(data["exp"]), tz=utcnow().tzinfo)
        # whole seconds in tokens issued before the fractional iat: still read
        issued_at = datetime.fromtimestamp(_numeric_date(data["iat"]), tz=utcnow().tzinfo)
    except (TypeError, ValueError, OverflowError, OSError):
        raise TokenError("Token is invalid") from None
    return TokenClaims(user_id, event_id, role, token_type, jti, expires_at, issued_at)


# A scanner sends the same token with every scan: verifying its signature once
# per process is enough (the result for the same string and key never
# changes). Expiry and revocation are still checked on every request.
_verify_cached = functools.lru_cache(maxsize=4096)(_verify)


def decode(token: str, expected: TokenType | tuple[TokenType, ...]) -> TokenClaims:
    """Verify signature, expiry and type; raise :class:`TokenError` otherwise."""
    allowed = (expected,) if isinstance(expected, str) else expected
    if len(token) > 4096:
        raise TokenError("Token is invalid")
    claims = _verify_cached(token, current_app.config["JWT_SECRET_KEY"])
    if claims.expires_at <= utcnow():
        raise TokenError("Token has expired")
    if claims.type not in allowed:
        raise TokenError(f"A {'/'.join(allowed)} token is required, got {claims.type!r}")
    return claims
