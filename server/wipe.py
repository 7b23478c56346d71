"""Deleting every row (``badgegate-server reset-everything``): a fresh start for a
development or demo database, the schema and its migrations left as they are.

As the seed's ``reset_everything`` keeps the superuser, platform admins keep
their accounts (with their badge and revoked tokens) unless told otherwise;
everything else goes: events and all they hold, every other account, kiosks,
the change log, scans, the action log. Stored files go too, once the rows
are gone.
"""

from __future__ import annotations

import logging

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from server.extensions import db
from server.models import User
from server.storage import Storage

log = logging.getLogger(__name__)

#: tables whose rows of a kept admin stay (by their ``user_id`` column)
_ADMINS_KEEP = ("user_profiles", "revoked_tokens", "revoked_badges")


def delete_all_data(session: Session, *, keep_admins: bool = True) -> dict[str, int]:
    """Delete the rows of every table in ``session``'s transaction (no commit).
    Returns the number of rows deleted per table, tables that had none left out."""
    admin_ids = select(User.id).where(User.is_admin.is_(True)).scalar_subquery()
    counts: dict[str, int] = {}
    tables: list[Table] = list(reversed(db.metadata.sorted_tables))
    for table in tables:
        stmt = delete(table)
        if keep_admins and table.name == User.__tablename__:
            stmt = stmt.where(table.c.is_admin.is_(False))
        elif keep_admins and table.name in _ADMINS_KEEP:
            stmt = stmt.where(table.c.user_id.not_in(admin_ids))
        deleted = session.execute(stmt).rowcount  # type: ignore[attr-defined]
        if deleted:
            counts[table.name] = deleted
    return counts


def delete_stored_files(storage: Storage) -> int:
    """Delete every stored file; returns how many there were."""
    names = list(storage.names())
    for name in names:
        storage.delete(name)
    if names:
        log.info("deleted %d stored files", len(names))
    return len(names)
