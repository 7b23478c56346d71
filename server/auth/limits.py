"""Limits on credential attempts: per account and per client address.

Login, provisioning by login, change-password and provisioning codes count
their failures in the ``auth_attempts`` table, so the limit holds across every
worker process and server (the default database is an SQLite file and there
is no shared cache: a limiter that keeps its counters in process memory would
give each gunicorn worker its own budget).

An attempt is written and committed *before* the credential is checked, then
counted: two workers checking at once both see both rows, so no attempt goes
uncounted and the limit is never overshot. A successful attempt deletes its
rows; what stays are the failures, for one window (older rows are deleted as
attempts come). Once a key is over its limit its attempts are refused before
anything is written, so an attacker cannot grow the table.

Per account the limit is generous (a victim's account is not locked by a few
failures); per address it is stricter, so one address cannot lock an account
alone. The client address is the TCP peer's, unless ``TRUSTED_PROXIES`` says
how many reverse proxies in front of the server append to
``X-Forwarded-For`` (werkzeug's ProxyFix then takes the address they saw).
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, Response, current_app, jsonify, request
from sqlalchemy import and_, delete, func, insert, or_, select
from werkzeug.middleware.proxy_fix import ProxyFix

from server.errors import APIError
from server.extensions import db
from server.models import AuthAttempt
from shared.timefmt import utcnow

LIMIT_CONFIG = {"account": "AUTH_LIMIT_PER_ACCOUNT", "address": "AUTH_LIMIT_PER_ADDRESS"}


class TooManyAttempts(APIError):
    """429 with ``Retry-After``: the seconds until an attempt is counted again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            f"Too many failed attempts: try again in {retry_after} seconds",
            code="too_many_attempts",
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    """The rows of one attempt, deleted by :meth:`succeeded`."""

    ids: tuple[int, ...]

    def succeeded(self) -> None:
        """The credential was right: this attempt is not a failure (committed now)."""
        if self.ids:
            db.session.execute(delete(AuthAttempt).where(AuthAttempt.id.in_(self.ids)))
            db.session.commit()


def address_key(addr: str | None) -> str:
    """What one client's attempts are counted under: its IPv4 address, or its
    IPv6 /64 (one host usually holds a whole /64: counting single addresses
    would give it 2**64 budgets)."""
    if not addr:
        return "unknown"
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr[:255]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def client_address() -> str:
    return address_key(request.remote_addr)


def _window() -> timedelta:
    return timedelta(seconds=current_app.config["AUTH_LIMIT_WINDOW_SECONDS"])


def _over(keys: list[tuple[str, str]], extra: int) -> int | None:
    """Seconds to wait if a key has more than its limit - ``extra`` rows, else None."""
    now = utcnow()
    window = _window()
    match = or_(*(and_(AuthAttempt.scope == s, AuthAttempt.key == k) for s, k in keys))
    rows = db.session.execute(
        select(AuthAttempt.scope, func.count(), func.min(AuthAttempt.at))
        .where(match, AuthAttempt.at > now - window)
        .group_by(AuthAttempt.scope)
    ).all()
    waits = [
        (oldest + window - now).total_seconds()
        for scope, count, oldest in rows
        if count > current_app.config[LIMIT_CONFIG[scope]] - extra
    ]
    if not waits:
        return None
    return max(1, math.ceil(max(waits)))


def attempt(account: str | None = None) -> Attempt:
    """Count an attempt against ``account`` (an email) and the client's address.

    Raises :class:`TooManyAttempts` when either is over its limit; otherwise
    the attempt is recorded as a failure until :meth:`Attempt.succeeded`.
    """
    keys = [("address", client_address())]
    if account is not None:
        keys.append(("account", account.lower()))
    wait = _over(keys, extra=1)  # already at the limit: refused, nothing written
    db.session.rollback()
    if wait is not None:
        raise TooManyAttempts(wait)
    now = utcnow()
    db.session.execute(delete(AuthAttempt).where(AuthAttempt.at <= now - _window()))
    ids = tuple(
        db.session.scalars(
            insert(AuthAttempt).returning(AuthAttempt.id),
            [{"scope": s, "key": k, "at": now} for s, k in keys],
        )
    )
    db.session.commit()
    wait = _over(keys, extra=0)  # counted with the attempts made at the same time
    if wait is not None:
        Attempt(ids).succeeded()  # not let through: not kept either
        raise TooManyAttempts(wait)
    return Attempt(ids)


def _too_many(exc: TooManyAttempts) -> tuple[Response, int, dict[str, str]]:
    db.session.rollback()
    return jsonify(exc.body()), exc.status, {"Retry-After": str(exc.retry_after)}


def init_app(app: Flask) -> None:
    """The 429 answer, and ProxyFix when the server sits behind trusted proxies."""
    app.register_error_handler(TooManyAttempts, _too_many)
    proxies: int = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
