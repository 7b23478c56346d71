"""Extensions, created once and bound to the app in the factory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


#: a transaction begun inside :func:`reads_only` does not take SQLite's write lock
_READS_ONLY: ContextVar[bool] = ContextVar("badgegate_reads_only", default=False)


@contextmanager
def reads_only() -> Iterator[None]:
    """Transactions begun here only read: on SQLite they begin deferred, so they
    hold no write lock and run beside writers (WAL). Everywhere else a SQLite
    transaction takes the write lock as it begins (``BEGIN IMMEDIATE``), since
    one that reads and then writes would fail if another wrote meanwhile. End the
    transaction (commit) before the first write."""
    token = _READS_ONLY.set(True)
    try:
        yield
    finally:
        _READS_ONLY.reset(token)


def begins_read_only() -> bool:
    return _READS_ONLY.get()
