"""The seed's paginated list: ``{count, next, previous, results}``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from flask import current_app, request
from sqlalchemy import Select, func, select

from server.errors import validation_error
from server.extensions import db
from server.schema import query_int

#: keeps OFFSET well inside a 64-bit integer whatever the page size
MAX_PAGE = 2**48


def _page_url(page: int) -> str:
    args = request.args.to_dict()
    args["page"] = str(page)
    return f"{request.base_url}?{urlencode(args)}"


def paginate(
    stmt: Select[Any],
    serialize: Callable[[Any], Any] | None = None,
    *,
    rows: bool = False,
    args: Mapping[str, Any] | None = None,
    count: int | None = None,
    seek: Callable[[Select[Any], int], tuple[Select[Any], int]] | None = None,
) -> dict[str, Any]:
    """One page of ``stmt``: ORM objects, or whole rows with ``rows=True``.

    ``args``: ``page`` and ``page_size`` as a schema parsed them (``PageArgs``);
    without it they are read from the query string. Without ``serialize`` the
    results are the objects, for a response schema to dump. ``count``: the number
    of rows of ``stmt`` when the caller knows it (a tally), else it is counted.
    ``seek``: turns ``(stmt, offset)`` into a statement and a smaller offset that
    give the same rows (``server.people.anchors``)."""
    max_size = current_app.config["MAX_PAGE_SIZE"]
    if args is None:
        page_size = query_int("page_size", current_app.config["PAGE_SIZE"], maximum=max_size)
        page = query_int("page", 1, maximum=MAX_PAGE)
    else:
        page = args.get("page", 1)
        page_size = args.get("page_size", current_app.config["PAGE_SIZE"])
        if page_size > max_size:
            raise validation_error("page_size", f"must be at least 1 and at most {max_size}")
    if count is None:
        count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        count = count or 0
    offset = (page - 1) * page_size
    if seek is not None:
        stmt, offset = seek(stmt, offset)
    page_stmt = stmt.limit(page_size).offset(offset)
    items = db.session.execute(page_stmt).all() if rows else db.session.scalars(page_stmt).all()
    last_page = max(1, -(-count // page_size))
    return {
        "count": count,
        "next": _page_url(page + 1) if page < last_page else None,
        "previous": _page_url(page - 1) if page > 1 and count else None,
        "results": [serialize(item) for item in items] if serialize else list(items),
    }
