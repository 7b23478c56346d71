"""Password reset by mail, and the seed mobile client's path for a token refresh.

``POST /api/auth/password-reset/`` answers the same 200 whether or not the
email belongs to an account, so the answer does not tell which emails exist;
an active account gets a mail (``server.mail``) with a single-use token
(``server.auth.reset``). ``POST /api/auth/password-reset/confirm/`` spends it.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from server.auth import tokens
from server.auth.permissions import authenticate
from server.auth.reset import mail_reset, reset_password, start_reset
from server.auth.schemas import (
    AccessTokenSchema,
    DetailSchema,
    PasswordResetConfirmSchema,
    PasswordResetSchema,
    RefreshSchema,
)
from server.extensions import db
from server.mail import MailError
from server.schema import Blueprint, documented

log = logging.getLogger(__name__)

bp = Blueprint("password_reset", __name__, description="Password reset by mail; token refresh")

RESET_SENT = "If an account has this email, a password reset message was sent to it."


@bp.post("/api/auth/password-reset/")
@bp.arguments(PasswordResetSchema)
@documented(bp, auth=None, errors=(400, 415), answers={200: DetailSchema})
def password_reset(data: dict[str, Any]) -> ResponseReturnValue:
    """Mail a reset token to the account with this email, if there is one."""
    started = start_reset(db.session, data["email"])
    db.session.commit()  # the token is stored before the mail leaves
    if started is not None:
        user, token = started
        try:
            mail_reset(user, token)
        except MailError:
            # the same answer: a failure must not tell that the account exists
            log.exception("password reset mail to user %s could not be sent", user.id)
    return jsonify({"detail": RESET_SENT})


@bp.post("/api/auth/password-reset/confirm/")
@bp.arguments(PasswordResetConfirmSchema)
@documented(bp, auth=None, errors=(400, 415), answers={200: DetailSchema})
def password_reset_confirm(data: dict[str, Any]) -> ResponseReturnValue:
    """Set a new password with a mailed token; every earlier session of the account ends."""
    db.session.commit()  # no transaction open while the new password is hashed
    reset_password(db.session, data["token"], data["new_password"])
    db.session.commit()
    return jsonify({"detail": "Password has been reset."})


@bp.post("/api/auth/token/refresh/")
@bp.arguments(RefreshSchema)
@documented(bp, auth=None, errors=(400, 401, 415), answers={200: AccessTokenSchema})
def auth_token_refresh(data: dict[str, Any]) -> ResponseReturnValue:
    """The same as ``POST /api/token/refresh/`` (the seed's mobile client calls this path)."""
    identity = authenticate(data["refresh"], ("refresh",))
    claims = identity.claims
    return jsonify(
        {"access": tokens.issue("access", claims.user_id, claims.event_id, identity.role)}
    )
