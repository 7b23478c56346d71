"""Finding people by a piece of their name, email or username, through an index.

The text searched is each user's "first last", email and username, lowercased
(migration 0012). On SQLite an FTS5 table with the trigram tokenizer holds it
(``user_search``, rowid = user id, kept by triggers); a needle of three or more
characters is a phrase of its trigrams, which matches exactly the texts holding
it, from the index. Shorter needles (no trigram) read the table with ``LIKE``.
On PostgreSQL a pg_trgm GIN index on the same expression serves ``LIKE``.
"""

from __future__ import annotations

from sqlalchemy import Select, literal_column, select, text

from server.extensions import db
from server.models import User

#: tables the search owns that the models do not declare (FTS5 and its shadow tables)
SEARCH_TABLES = frozenset(
    {"user_search"} | {f"user_search_{s}" for s in ("data", "idx", "content", "docsize", "config")}
)

#: PostgreSQL's trigram index (an expression index the models do not declare)
SEARCH_INDEX = "ix_users_search_trgm"

#: PostgreSQL's index expression (migration 0012), written the same way here so that
#: the planner recognises it
_PG_TEXT = literal_column(
    "lower(users.first_name || ' ' || users.last_name || chr(10) || users.email "
    "|| chr(10) || users.username)"
)


def not_search_table(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name``: leave the search's own tables and index out of
    comparisons with the models."""
    if type_ == "table":
        return name not in SEARCH_TABLES
    return not (type_ == "index" and name == SEARCH_INDEX)


def _like_pattern(needle: str) -> str:
    escaped = needle.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def selective(needle: str) -> bool:
    """Whether the search of ``needle`` reads an index (few rows, usually): then a
    page of its results is better sorted than read in the list's order."""
    return len(needle) >= 3 or db.engine.dialect.name != "sqlite"


def matching_user_ids(needle: str) -> Select[tuple[int]]:
    """The ids of the users whose text holds ``needle`` (lowercased, not blank)."""
    if db.engine.dialect.name == "sqlite":
        if len(needle) >= 3:
            phrase = '"' + needle.replace('"', '""') + '"'
            return (
                select(literal_column("rowid"))
                .select_from(text("user_search"))
                .where(text("user_search MATCH :phrase").bindparams(phrase=phrase))
            )
        return (
            select(literal_column("rowid"))
            .select_from(text("user_search"))
            .where(text("text LIKE :pattern ESCAPE '/'").bindparams(pattern=_like_pattern(needle)))
        )
    return select(User.id).where(_PG_TEXT.like(_like_pattern(needle), escape="/"))
