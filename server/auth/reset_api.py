"""Password reset by mail, and the seed mobile client's path for a token refresh.

``POST /api/auth/password-reset/`` answers the same 200 whether or not the
email belongs to an account, so the answer does not tell which emails exist;
an active account gets a mail (``server.mail``) with a single-use token
(``server.auth.reset``). ``POST /api/auth/password-reset/confirm/`` spends it.
"""

from __future__ import annotations

import logging

from flask import jsonify
from flask.typing import ResponseReturnValue

from server.auth import api as auth_api
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
from server.validation import get_email, get_str, json_body

log = logging.getLogger(__name__)

bp = Blueprint("password_reset", __name__, description="Password reset by mail; token refresh")

RESET_SENT = "If an account has this email, a password reset message was sent to it."


@bp.post("/api/auth/password-reset/")
@documented(bp, auth=None, body=PasswordResetSchema, answers={200: DetailSchema})
def password_reset() -> ResponseReturnValue:
    """Mail a reset token to the account with this email, if there is one."""
    email = get_email(json_body())
    assert email is not None
    started = start_reset(db.session, email)
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
@documented(bp, auth=None, body=PasswordResetConfirmSchema, answers={200: DetailSchema})
def password_reset_confirm() -> ResponseReturnValue:
    """Set a new password with a mailed token; every earlier session of the account ends."""
    data = json_body()
    token = get_str(data, "token", max_len=128, controls="line")
    new_password = get_str(data, "new_password", max_len=auth_api.MAX_PASSWORD, allow_blank=True)
    assert token is not None and new_password is not None
    db.session.commit()  # no transaction open while the new password is hashed
    reset_password(db.session, token, new_password)
    db.session.commit()
    return jsonify({"detail": "Password has been reset."})


@bp.post("/api/auth/token/refresh/")
@documented(bp, auth=None, errors=(401,), body=RefreshSchema, answers={200: AccessTokenSchema})
def auth_token_refresh() -> ResponseReturnValue:
    """The same as ``POST /api/token/refresh/`` (the seed's mobile client calls this path)."""
    return auth_api.refresh_token()
