"""The seed's paginated list: ``{count, next, previous, results}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import current_app, request
from sqlalchemy import Select, func, select

from server.extensions import db
from server.validation import query_int

#: keeps OFFSET well inside a 64-bit integer whatever the page size
MAX_PAGE = 2**48


def _page_url(page: int) -> str:
    args = request.args.to_dict()
    args["page"] = str(page)
    return f"{request.base_url}?{urlencode(args)}"


def paginate(
    stmt: Select[Any], serialize: Callable[[Any], dict[str, Any]], *, rows: bool = False
) -> dict[str, Any]:
    """One page of ``stmt``: ORM objects, or whole rows with ``rows=True``."""
    page_size = query_int(
        "page_size",
        current_app.config["PAGE_SIZE"],
        maximum=current_app.config["MAX_PAGE_SIZE"],
    )
    page = query_int("page", 1, maximum=MAX_PAGE)
    count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    count = count or 0
    page_stmt = stmt.limit(page_size).offset((page - 1) * page_size)
    items = db.session.execute(page_stmt).all() if rows else db.session.scalars(page_stmt).all()
    last_page = max(1, -(-count // page_size))
    return {
        "count": count,
        "next": _page_url(page + 1) if page < last_page else None,
        "previous": _page_url(page - 1) if page > 1 and count else None,
        "results": [serialize(item) for item in items],
    }
