"""Extensions, created once and bound to the app in the factory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


#: how the transactions begun here begin on SQLite: True (deferred: they only
#: read), False (they take the write lock), None (as the request's method says)
_READS_ONLY: ContextVar[bool | None] = ContextVar("badgegate_reads_only", default=None)

#: requests that change nothing, by HTTP's definition: their transactions read
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@contextmanager
def reads_only() -> Iterator[None]:
    """Transactions begun here only read: on SQLite they begin deferred, so they
    hold no write lock and run beside writers (WAL). A transaction that may write
    takes the write lock as it begins (``BEGIN IMMEDIATE``), since one that reads
    and then writes would fail if another wrote meanwhile. End the transaction
    (commit) before the first write.

    A GET (HEAD, OPTIONS) request's transactions only read unless begun inside
    :func:`writes`: two hundred controllers reading statistics never queue for
    the write lock, nor a scan behind them."""
    token = _READS_ONLY.set(True)
    try:
        yield
    finally:
        _READS_ONLY.reset(token)


@contextmanager
def writes() -> Iterator[None]:
    """Transactions begun here may write, whatever the request's method: a GET
    that writes (a badge made on first sight) ends its reading transaction
    (commit), then writes inside this."""
    token = _READS_ONLY.set(False)
    try:
        yield
    finally:
        _READS_ONLY.reset(token)


def begins_read_only() -> bool:
    mode = _READS_ONLY.get()
    if mode is not None:
        return mode
    return has_request_context() and request.method in SAFE_METHODS
