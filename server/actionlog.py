"""Who did what: the event's action log (a refund, a reissued badge, a revoked kiosk...).

An operation that changes data calls :func:`record` with the values before and
after, in its own transaction: the row is added to the caller's session and
never committed here, so it is written with the change or, on a rollback, not
at all. :func:`log_query` builds the filtered listing (newest first) that an
endpoint pages through; :func:`list_entries` pages it outside a request.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, Select, String, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.types import JSON

from server.dbtypes import UTCDateTime
from server.extensions import db
from shared.timefmt import iso, utcnow

#: the longest action name, object type and object id the log holds
MAX_ACTION = 64
MAX_OBJ_TYPE = 40
MAX_OBJ_ID = 64


class ActionLogEntry(db.Model):
    """One write of an organizer or staff member, with the values before and after."""

    __tablename__ = "action_log"
    __table_args__ = (
        Index("ix_action_log_event_at", "event_id", "at"),
        Index("ix_action_log_event_object", "event_id", "obj_type", "obj_id"),
        Index("ix_action_log_event_actor", "event_id", "actor_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    #: none: an action outside any event (a platform admin's)
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    #: none: the system (a CLI command, a scheduled job), or an account since deleted
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: "<object type>.<verb>", e.g. "session_access.refund"
    action: Mapped[str] = mapped_column(String(MAX_ACTION))
    obj_type: Mapped[str] = mapped_column(String(MAX_OBJ_TYPE))
    obj_id: Mapped[str] = mapped_column(String(MAX_OBJ_ID))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


def jsonable(value: Any) -> Any:
    """``value`` with UUIDs, instants, dates, decimals and enums as JSON strings."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    raise TypeError(f"cannot log a {type(value).__name__}")


def snapshot(obj: Any, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The column values of a model instance (all, or ``fields``), ready to log."""
    mapper = sa_inspect(obj).mapper
    names = list(fields) if fields is not None else [c.key for c in mapper.column_attrs]
    return {name: jsonable(getattr(obj, name)) for name in names}


def changed(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """The keys whose values differ between two snapshots."""
    old, new = before or {}, after or {}
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _obj_id(obj_id: uuid.UUID | int | str) -> str:
    text = str(obj_id)
    if not text or len(text) > MAX_OBJ_ID:
        raise ValueError(f"obj_id must be 1 to {MAX_OBJ_ID} characters")
    return text


def record(
    session: Session,
    *,
    event_id: uuid.UUID | None,
    actor_id: int | None,
    action: str,
    obj_type: str,
    obj_id: uuid.UUID | int | str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    at: datetime | None = None,
) -> ActionLogEntry:
    """Add an entry to ``session``'s transaction (no flush, no commit of its own)."""
    if not action or len(action) > MAX_ACTION:
        raise ValueError(f"action must be 1 to {MAX_ACTION} characters")
    if not obj_type or len(obj_type) > MAX_OBJ_TYPE:
        raise ValueError(f"obj_type must be 1 to {MAX_OBJ_TYPE} characters")
    entry = ActionLogEntry(
        event_id=event_id,
        actor_id=actor_id,
        at=at or utcnow(),
        action=action,
        obj_type=obj_type,
        obj_id=_obj_id(obj_id),
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )
    session.add(entry)
    return entry


def log_query(
    event_id: uuid.UUID | None,
    *,
    obj_type: str | None = None,
    obj_id: uuid.UUID | int | str | None = None,
    actor_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[tuple[ActionLogEntry]]:
    """The event's entries matching every filter given, newest first.

    ``action`` matches a whole action (``"session_access.refund"``) or, ending
    in a dot, every action of an object type (``"session_access."``).
    ``since`` is inclusive, ``until`` exclusive.
    """
    stmt = select(ActionLogEntry).where(
        ActionLogEntry.event_id.is_(None)
        if event_id is None
        else ActionLogEntry.event_id == event_id
    )
    if obj_type is not None:
        stmt = stmt.where(ActionLogEntry.obj_type == obj_type)
    if obj_id is not None:
        stmt = stmt.where(ActionLogEntry.obj_id == str(obj_id))
    if actor_id is not None:
        stmt = stmt.where(ActionLogEntry.actor_id == actor_id)
    if action is not None:
        if action.endswith("."):
            stmt = stmt.where(func.substr(ActionLogEntry.action, 1, len(action)) == action)
        else:
            stmt = stmt.where(ActionLogEntry.action == action)
    if since is not None:
        stmt = stmt.where(ActionLogEntry.at >= since)
    if until is not None:
        stmt = stmt.where(ActionLogEntry.at < until)
    return stmt.order_by(ActionLogEntry.at.desc(), ActionLogEntry.id.desc())


@dataclass(frozen=True, slots=True)
class LogPage:
    count: int
    entries: list[ActionLogEntry]


def list_entries(
    session: Session,
    event_id: uuid.UUID | None,
    *,
    page: int = 1,
    page_size: int = 50,
    **filters: Any,
) -> LogPage:
    """One page (from 1) of :func:`log_query` with ``filters``, and the total count."""
    if page < 1 or page_size < 1:
        raise ValueError("page and page_size start at 1")
    stmt = log_query(event_id, **filters)
    count = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(stmt.limit(page_size).offset((page - 1) * page_size)).all()
    return LogPage(count or 0, list(rows))


def entry_dict(entry: ActionLogEntry) -> dict[str, Any]:
    """An entry as the API shows it."""
    return {
        "id": entry.id,
        "event_id": str(entry.event_id) if entry.event_id else None,
        "actor_id": entry.actor_id,
        "at": iso(entry.at),
        "action": entry.action,
        "object_type": entry.obj_type,
        "object_id": entry.obj_id,
        "before": entry.before,
        "after": entry.after,
        "changed": changed(entry.before, entry.after),
    }
