"""The change feed kiosks pull: recorded in the same transaction as the data.

Whatever writes through the ORM session (API, CLI, import) marks what it
touched during flushes; just before the commit, the marks are resolved into
whole kiosk records (shared/sync.py documents them) or tombstones and
inserted into ``change_log`` in the same transaction.

Ordering on PostgreSQL: a writer takes a transaction-level advisory lock
before it draws its sequence numbers and keeps it until it commits, so log
entries become visible in ``seq`` order. A reader that has seen ``seq = n``
can never later find a smaller ``seq`` committed: the feed never skips a
change that committed late. SQLite serializes writers by itself.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    String,
    Uuid,
    and_,
    any_,
    bindparam,
    cast,
    event,
    exists,
    func,
    insert,
    inspect,
    literal,
    or_,
    select,
    text,
    tuple_,
    union,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, UOWTransaction, aliased
from sqlalchemy.sql.functions import FunctionElement

from server.auth.tokens import MAX_USER_ID
from server.models import (
    ChangeLogEntry,
    Event,
    EventSession,
    Participant,
    RevokedBadge,
    Room,
    SessionAccess,
    User,
    UserEventAssignment,
    UserProfile,
    participant_allowed_rooms,
)
from server.schema import money
from shared.timefmt import iso

FEED_LOCK_ID = 0x6267_0001  # pg_advisory_xact_lock key of the change log
_CHUNK = 900  # keys per IN (...) list: four such lists stay far under SQLite's 32,766 parameters

Record = dict[str, Any]


@dataclass
class Marks:
    """What a transaction touched, by kiosk entity."""

    events: set[uuid.UUID] = field(default_factory=set)
    rooms: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    sessions: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    members: set[tuple[uuid.UUID, int]] = field(default_factory=set)
    #: members who joined or left (their revoked badges come or go with them)
    moved: set[tuple[uuid.UUID, int]] = field(default_factory=set)
    users: set[int] = field(default_factory=set)  # every event of the user
    revoked: set[tuple[str, int]] = field(default_factory=set)
    accesses: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)  # (part, session)

    def __bool__(self) -> bool:
        return any(
            (
                self.events,
                self.rooms,
                self.sessions,
                self.members,
                self.users,
                self.revoked,
                self.accesses,
            )
        )


def _marks(session: Session) -> Marks:
    marks: Marks | None = session.info.get("badgegate_marks")
    if marks is None:
        marks = session.info["badgegate_marks"] = Marks()
    return marks


def _mark(session: Session, obj: object, marks: Marks) -> None:
    if isinstance(obj, Event):
        marks.events.add(obj.id)
    elif isinstance(obj, Room):
        marks.rooms.add((obj.event_id, obj.id))
    elif isinstance(obj, EventSession):
        marks.sessions.add((obj.event_id, obj.id))
    elif isinstance(obj, UserEventAssignment | Participant):
        if obj.event_id is not None and obj.user_id is not None:
            marks.members.add((obj.event_id, obj.user_id))
    elif isinstance(obj, User):
        marks.users.add(obj.id)
    elif isinstance(obj, UserProfile):
        marks.users.add(obj.user_id)
    elif isinstance(obj, RevokedBadge):
        marks.revoked.add((obj.badge_id, obj.user_id))
    elif isinstance(obj, SessionAccess):
        marks.accesses.add((obj.participant_id, obj.session_id))


def _mark_cascades(session: Session, obj: object, marks: Marks) -> None:
    """Rows the database deletes by cascade with ``obj``: mark them while they exist."""
    if isinstance(obj, Room):
        room_sessions = list(
            session.scalars(select(EventSession.id).where(EventSession.room_id == obj.id))
        )
        marks.sessions.update((obj.event_id, sid) for sid in room_sessions)
        if room_sessions:
            rows = session.execute(
                select(SessionAccess.participant_id, SessionAccess.session_id).where(
                    SessionAccess.session_id.in_(room_sessions)
                )
            )
            marks.accesses.update((p, s) for p, s in rows)
        # participants allowed in this room: their allowed_room_ids change
        for uid in session.scalars(
            select(Participant.user_id)
            .join(
                participant_allowed_rooms,
                participant_allowed_rooms.c.participant_id == Participant.id,
            )
            .where(participant_allowed_rooms.c.room_id == obj.id)
        ):
            marks.members.add((obj.event_id, uid))
    if isinstance(obj, Participant | EventSession):
        column = (
            SessionAccess.participant_id
            if isinstance(obj, Participant)
            else SessionAccess.session_id
        )
        rows = session.execute(
            select(SessionAccess.participant_id, SessionAccess.session_id).where(column == obj.id)
        )
        marks.accesses.update((p, s) for p, s in rows)
    if isinstance(obj, User):
        marks.users.add(obj.id)
        for event_id in _events_of_users(session, [obj.id]).get(obj.id, ()):
            marks.members.add((event_id, obj.id))


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _ctx: UOWTransaction, _instances: object) -> None:
    if not session.deleted:
        return
    marks = _marks(session)
    for obj in list(session.deleted):
        _mark_cascades(session, obj, marks)
        _mark(session, obj, marks)
        if isinstance(obj, UserEventAssignment | Participant):
            marks.moved.add((obj.event_id, obj.user_id))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx: UOWTransaction) -> None:
    touched = list(session.new) + list(session.dirty)
    if not touched:
        return
    marks = _marks(session)
    for obj in touched:
        _mark(session, obj, marks)
        if isinstance(obj, UserEventAssignment | Participant) and (
            obj in session.new
            or (
                isinstance(obj, UserEventAssignment)
                and inspect(obj).attrs.is_active.history.has_changes()
            )
        ):
            marks.moved.add((obj.event_id, obj.user_id))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    session.flush()
    marks: Marks | None = session.info.pop("badgegate_marks", None)
    if not marks:
        return
    rows = list(_resolve(session, marks))
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": FEED_LOCK_ID})
    for start in range(0, len(rows), 5000):
        session.execute(insert(ChangeLogEntry), rows[start : start + 5000])


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("badgegate_marks", None)


# ---------------------------------------------------------------------------
# records


def _chunks(items: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def event_record(e: Event) -> Record:
    return {
        "id": str(e.id),
        "name": e.name,
        "start_date": iso(e.start_date),
        "end_date": iso(e.end_date),
        "is_active": e.is_active,
    }


def room_record(r: Room) -> Record:
    return {"id": str(r.id), "name": r.name, "is_active": r.is_active}


def session_record(s: EventSession | Any) -> Record:
    """A session as kiosks hold it, from the model or from a row of its columns."""
    return {
        "id": str(s.id),
        "room_id": str(s.room_id),
        "title": s.title,
        "start_time": iso(s.start_time),
        "end_time": iso(s.end_time),
        "is_paid": s.is_paid,
        "price": money(s.price),
    }


def access_key(participant_id: uuid.UUID | str, session_id: uuid.UUID | str) -> str:
    return f"{participant_id}:{session_id}"


class uuid_text_sql(FunctionElement[str]):
    """A UUID column as the wire's dashed lower-case text, made by the database:
    PostgreSQL casts its uuid; SQLite stores 32 hex digits and splices in the dashes."""

    type = String()
    inherit_cache = True


@compiles(uuid_text_sql)
def _uuid_text_default(element: uuid_text_sql, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return compiler.process(cast(column, String), **kw)  # type: ignore[no-any-return]


@compiles(uuid_text_sql, "sqlite")
def _uuid_text_sqlite(element: uuid_text_sql, compiler: Any, **kw: Any) -> str:
    col = compiler.process(element.clauses, **kw)
    parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
    return "lower(" + " || '-' || ".join(f"substr({col}, {a}, {n})" for a, n in parts) + ")"


# A participant's allowed rooms as one "a,b" text: a subquery per member row
# (best for a few members: verification) ...
_ALLOWED_LIST = (
    select(func.aggregate_strings(uuid_text_sql(participant_allowed_rooms.c.room_id), ","))
    .where(participant_allowed_rooms.c.participant_id == Participant.id)
    .correlate(Participant)
    .scalar_subquery()
)


def _allowed_rooms(event_id: Any, users: Callable[[Any], Any]) -> Any:
    """... or for all the selected users at once, in one grouped read joined to the
    member rows (a snapshot page of 5000 members: a quarter less database time)."""
    par, owner = participant_allowed_rooms, aliased(Participant)
    return (
        select(
            par.c.participant_id,
            func.aggregate_strings(uuid_text_sql(par.c.room_id), ",").label("room_ids"),
        )
        .join(owner, owner.id == par.c.participant_id)
        .where(owner.event_id == event_id, users(owner.user_id))
        .group_by(par.c.participant_id)
        .subquery("allowed")
    )


def _member_query(
    event_id: Any, users: Callable[[Any], Any], *, many: bool = False, for_kiosk: bool = False
) -> Any:
    """The member rows of an event among the users that ``users(column)`` selects
    (``many``: thousands of them, see :func:`_allowed_rooms`; ``for_kiosk``: without
    the email and badge id, so without reading the profiles at all).

    The condition also bounds the joined profile and membership rows, so the
    planner reads each table by index for just those users (PostgreSQL would
    otherwise hash-join whole tables once more than a few hundred users are
    asked about)."""
    on_profile = [UserProfile.user_id == User.id, users(UserProfile.user_id)]
    on_uea = [
        UserEventAssignment.user_id == User.id,
        UserEventAssignment.event_id == event_id,
        users(UserEventAssignment.user_id),
    ]
    on_part = [
        Participant.user_id == User.id,
        Participant.event_id == event_id,
        users(Participant.user_id),
    ]
    allowed = _allowed_rooms(event_id, users) if many else None
    stmt = select(
        User.id,
        User.first_name,
        User.last_name,
        User.username,
        literal(None) if for_kiosk else User.email,
        User.is_active,
        literal(None) if for_kiosk else UserProfile.badge_id,
        UserEventAssignment.role,
        UserEventAssignment.is_active,
        uuid_text_sql(Participant.id),  # dashed text from the database: no work per row
        Participant.organisation,
        allowed.c.room_ids if allowed is not None else _ALLOWED_LIST,
    ).select_from(User)
    if not for_kiosk:
        stmt = stmt.outerjoin(UserProfile, and_(*on_profile))
    stmt = (
        stmt.outerjoin(UserEventAssignment, and_(*on_uea))
        .outerjoin(Participant, and_(*on_part))
        .where(users(User.id))
    )
    if allowed is not None:
        stmt = stmt.outerjoin(allowed, allowed.c.participant_id == Participant.id)
    return stmt


# Built once (hot path of every verification): requests only bind parameters.
_MEMBERS_BY_ID = _member_query(
    bindparam("event_id", type_=Uuid()),
    lambda col: col.in_(bindparam("user_ids", expanding=True)),
)
# one id (a verification at a door): no expanding IN list to render per call
_MEMBER_BY_ID = _member_query(
    bindparam("event_id", type_=Uuid()),
    lambda col: col == bindparam("user_id", type_=BigInteger()),
)
# PostgreSQL, more than a few ids: one array parameter, not one parameter per
# id and table (a batch of 500 scans: ~50 ms with IN lists, ~17 ms with the
# array; for one id, verification's case, the IN list plans faster: 1.0 vs 1.8 ms)
_ARRAY_FROM = 16
_MEMBERS_BY_ID_ARRAY = _member_query(
    bindparam("event_id", type_=Uuid()),
    lambda col: col == any_(bindparam("user_ids", type_=postgresql.ARRAY(BigInteger))),
)
# an event's members whose ids lie in [first, last], as kiosks get them (snapshot pages)
_MEMBERS_IN_RANGE = _member_query(
    bindparam("event_id", type_=Uuid()),
    lambda col: col.between(bindparam("first"), bindparam("last")),
    many=True,
    for_kiosk=True,
).where(or_(UserEventAssignment.id.is_not(None), Participant.id.is_not(None)))


# the (n+1)-th member id after ``start`` in one membership table, or none
_NTH_MEMBERSHIP = {
    model: select(model.user_id)
    .where(
        model.event_id == bindparam("event_id", type_=Uuid()), model.user_id > bindparam("start")
    )
    .order_by(model.user_id)
    .offset(bindparam("n"))
    .limit(1)
    for model in (UserEventAssignment, Participant)
}


class uuid_raw_text(FunctionElement[str]):
    """A UUID column as text the cheapest way the database gives it: PostgreSQL's
    dashed cast, SQLite's stored 32 hex digits as they are (:func:`dashed` then
    splices the dashes in Python, several times cheaper than ``substr`` in SQL)."""

    type = String()
    inherit_cache = True


@compiles(uuid_raw_text)
def _uuid_raw_default(element: uuid_raw_text, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return compiler.process(cast(column, String), **kw)  # type: ignore[no-any-return]


@compiles(uuid_raw_text, "sqlite")
def _uuid_raw_sqlite(element: uuid_raw_text, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)  # type: ignore[no-any-return]


def dashed(text: str) -> str:
    """A UUID as :class:`uuid_raw_text` read it, as the wire's dashed lower case."""
    if len(text) == 32:
        h = text.lower()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return text


# On SQLite a snapshot page of members is read as four narrow range scans,
# merged here, UUIDs dashed in Python: a page of 5000 members in about two thirds
# of the time of the joined member query (where SQLite probes three indexes per
# row and dashes UUIDs with substr). PostgreSQL joins faster than it would merge.
_EVENT = bindparam("event_id", type_=Uuid())
_FIRST, _LAST = bindparam("first"), bindparam("last")
_PAGE_ASSIGNMENTS = select(
    UserEventAssignment.user_id, UserEventAssignment.role, UserEventAssignment.is_active
).where(UserEventAssignment.event_id == _EVENT, UserEventAssignment.user_id.between(_FIRST, _LAST))
_PAGE_PARTICIPANTS = select(
    Participant.user_id, uuid_raw_text(Participant.id), Participant.organisation
).where(Participant.event_id == _EVENT, Participant.user_id.between(_FIRST, _LAST))
_PAGE_ROOMS = (
    select(Participant.user_id, uuid_raw_text(participant_allowed_rooms.c.room_id))
    .join(participant_allowed_rooms, participant_allowed_rooms.c.participant_id == Participant.id)
    .where(Participant.event_id == _EVENT, Participant.user_id.between(_FIRST, _LAST))
)
_USER_COLUMNS = (User.id, User.first_name, User.last_name, User.username, User.is_active)
_PAGE_USERS_RANGE = select(*_USER_COLUMNS).where(User.id.between(_FIRST, _LAST))
_PAGE_USERS_LISTED = select(*_USER_COLUMNS).where(
    User.id.in_(bindparam("user_ids", expanding=True))
)


class _SqliteRows:
    """The rows of a snapshot read, straight from the sqlite3 cursor: SQLAlchemy's
    result processing is a quarter of a page's read time, and these reads need
    none of it (integers and text; booleans come as 0/1 and UUIDs as the 32 hex
    digits :func:`dashed` takes). The statements are compiled once."""

    _compiled: ClassVar[dict[Any, tuple[str, tuple[str, ...], dict[str, Any]]]] = {}

    def __init__(self, conn: Any, params: dict[str, Any]) -> None:
        self.cursor = conn.connection.driver_connection.cursor()
        self.params = {k: v.hex if isinstance(v, uuid.UUID) else v for k, v in params.items()}
        self.dialect = conn.dialect

    def __call__(self, stmt: Any) -> list[Any]:
        found = self._compiled.get(stmt)
        if found is None:
            compiled = stmt.compile(dialect=self.dialect)
            # the values a statement holds itself (SQLite's ``OFFSET 0``)
            own = {k: v for k, v in compiled.params.items() if v is not None}
            found = self._compiled[stmt] = (str(compiled), tuple(compiled.positiontup), own)
        sql, names, own = found
        params = self.params
        self.cursor.execute(sql, [params[n] if n in params else own[n] for n in names])
        return self.cursor.fetchall()


def _snapshot_members(
    session: Session, event_id: uuid.UUID, start: int, limit: int
) -> list[tuple[str, Record]]:
    """Up to ``limit`` member records of the event with user ids after ``start``,
    as kiosks receive them: what :func:`kiosk_data` leaves of the records
    :func:`_member_records` builds from the joined member query (on
    PostgreSQL, that query itself)."""
    # The page is the id range (start, last]: ``last`` is the limit-th id after
    # ``start`` in the membership table where it comes first (one index-only
    # probe per table), so neither table has more than ``limit`` ids in range.
    conn = session.connection()
    bounds = [
        conn.execute(
            _NTH_MEMBERSHIP[model], {"event_id": event_id, "start": start, "n": limit - 1}
        ).scalar()
        for model in (UserEventAssignment, Participant)
    ]
    known = [b for b in bounds if b is not None]
    last = min(known) if known else MAX_USER_ID
    params = {"event_id": event_id, "first": start + 1, "last": last}
    if conn.dialect.name == "postgresql":
        # PostgreSQL joins the member rows faster than four reads merged here
        joined = conn.execute(_MEMBERS_IN_RANGE, params).all()
        recs = sorted(_member_records(joined, for_kiosk=True), key=lambda r: r["user_id"])
        return [(str(r["user_id"]), r) for r in recs[:limit]]
    rows = _SqliteRows(conn, params)
    roles = {uid: role if active else None for uid, role, active in rows(_PAGE_ASSIGNMENTS)}
    parts = {uid: (dashed(pid), org) for uid, pid, org in rows(_PAGE_PARTICIPANTS)}
    rooms: dict[int, list[str]] = defaultdict(list)
    room_text: dict[str, str] = {}  # an event has few rooms: each dashed once
    for uid, room in rows(_PAGE_ROOMS):
        text_ = room_text.get(room)
        if text_ is None:
            text_ = room_text[room] = dashed(room)
        rooms[uid].append(text_)
    wanted = roles.keys() | parts.keys()
    if not wanted:
        return []
    if last - start <= 4 * len(wanted):  # dense ids, as usual: one range scan
        users = rows(_PAGE_USERS_RANGE)
    else:  # the event's members are sparse among the users: ask for just them
        ids = sorted(wanted)
        users = [
            row
            for chunk in _chunks(ids)
            for row in conn.execute(_PAGE_USERS_LISTED, {"user_ids": chunk})
        ]
        users.sort()
    out: list[tuple[str, Record]] = []
    no_part = (None, "")
    for uid, first, last_name, username, active in users:
        if uid not in wanted:
            continue
        pid, org = parts.get(uid, no_part)
        allowed = rooms.get(uid)
        record = {
            "user_id": uid,
            "name": f"{first} {last_name}".strip() or username,
            "organisation": org or "",
            "is_active": bool(active),
            "role": roles.get(uid),
            "participant_id": pid,
            "allowed_room_ids": sorted(allowed) if allowed and pid else [],
        }
        out.append((str(uid), record))
        if len(out) == limit:
            break
    return out


def _room_ids(joined: str | None) -> list[str]:
    """``"a,b"`` as aggregated by the database (dashed UUIDs), sorted."""
    if not joined:
        return []
    return sorted(joined.split(","))


#: what the server's member records hold that no kiosk receives: a badge id is
#: the secret of a badge, and an email reaches a booth only after a visit
SERVER_ONLY_MEMBER_FIELDS = ("email", "badge_id")


def kiosk_data(entity: str, data: Record | None) -> Record | None:
    """A logged record as kiosks receive it (members without their secrets)."""
    if data is None or entity != "member":
        return data
    return {k: v for k, v in data.items() if k not in SERVER_ONLY_MEMBER_FIELDS}


def _member_records(rows: list[Any], *, for_kiosk: bool = False) -> list[Record]:
    """Member records; ``for_kiosk`` leaves out :data:`SERVER_ONLY_MEMBER_FIELDS`."""
    out = []
    for (
        uid,
        first,
        last,
        username,
        email,
        active,
        badge_id,
        role,
        role_active,
        pid,
        org,
        rooms,
    ) in rows:
        if role is None and pid is None:
            continue  # not a member of this event
        record = {
            "user_id": uid,
            "name": f"{first} {last}".strip() or username,
            "organisation": org or "",
            "is_active": active,
            "role": role if role_active else None,
            "participant_id": pid or None,
            "allowed_room_ids": _room_ids(rooms) if rooms and pid else [],
        }
        if not for_kiosk:
            record["email"] = email
            record["badge_id"] = badge_id
        out.append(record)
    return out


def member_records(session: Session, event_id: uuid.UUID, user_ids: Iterable[int]) -> list[Record]:
    out: list[Record] = []
    conn = session.connection()
    wanted = sorted({u for u in user_ids if 0 < u <= MAX_USER_ID})
    if len(wanted) == 1:
        params = {"event_id": event_id, "user_id": wanted[0]}
        return _member_records(conn.execute(_MEMBER_BY_ID, params).all())
    array = conn.dialect.name == "postgresql" and len(wanted) >= _ARRAY_FROM
    stmt = _MEMBERS_BY_ID_ARRAY if array else _MEMBERS_BY_ID
    for chunk in _chunks(wanted):
        rows = conn.execute(stmt, {"event_id": event_id, "user_ids": chunk}).all()
        out.extend(_member_records(rows))
    return out


def members_of_event(event_id: uuid.UUID) -> Any:
    """The ids of the event's members (an assignment or a participant record)."""
    return union(
        select(UserEventAssignment.user_id).where(UserEventAssignment.event_id == event_id),
        select(Participant.user_id).where(Participant.event_id == event_id),
    ).subquery()


def _events_of_users(session: Session, user_ids: list[int]) -> dict[int, set[uuid.UUID]]:
    found: dict[int, set[uuid.UUID]] = defaultdict(set)
    for chunk in _chunks(user_ids):
        for model in (UserEventAssignment, Participant):
            for uid, eid in session.execute(
                select(model.user_id, model.event_id).where(model.user_id.in_(chunk))
            ):
                found[uid].add(eid)
    return found


def _revoked_of_users(session: Session, user_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for chunk in _chunks(user_ids):
        for badge_id, uid in session.execute(
            select(RevokedBadge.badge_id, RevokedBadge.user_id).where(
                RevokedBadge.user_id.in_(chunk)
            )
        ):
            found[uid].append(badge_id)
    return found


def _resolve(session: Session, marks: Marks) -> Iterator[Record]:
    """Turn marks into change_log rows: current records, or tombstones."""

    def row(event_id: uuid.UUID, entity: str, key: str, data: Record | None) -> Record:
        return {
            "event_id": event_id,
            "entity": entity,
            "key": key,
            "op": "upsert" if data is not None else "delete",
            "data": data,
        }

    for eid in marks.events:
        e = session.get(Event, eid)
        yield row(eid, "event", str(eid), event_record(e) if e else None)
    for eid, rid in marks.rooms:
        r = session.get(Room, rid)
        yield row(eid, "room", str(rid), room_record(r) if r else None)
    for eid, sid in marks.sessions:
        s = session.get(EventSession, sid)
        yield row(eid, "session", str(sid), session_record(s) if s else None)

    members: dict[uuid.UUID, set[int]] = defaultdict(set)
    for eid, uid in marks.members:
        members[eid].add(uid)
    user_ids = sorted(marks.users | {uid for _b, uid in marks.revoked})
    user_events = _events_of_users(session, user_ids)
    for uid in marks.users:
        for eid in user_events.get(uid, ()):
            members[eid].add(uid)
    revoked_of = _revoked_of_users(session, sorted({uid for _e, uid in marks.moved}))
    emitted: set[tuple[uuid.UUID, str]] = set()
    for eid, uids in members.items():
        found = {r["user_id"]: r for r in member_records(session, eid, uids)}
        for uid in sorted(uids):
            yield row(eid, "member", str(uid), found.get(uid))
            # a person who joins or leaves the event brings or takes their old badges
            if (eid, uid) not in marks.moved:
                continue
            for badge_id in revoked_of.get(uid, ()):
                data = {"badge_id": badge_id, "user_id": uid} if uid in found else None
                emitted.add((eid, badge_id))
                yield row(eid, "revoked_badge", badge_id, data)

    for badge_id, uid in marks.revoked:
        still = session.get(RevokedBadge, badge_id)
        data = {"badge_id": badge_id, "user_id": uid} if still else None
        for eid in user_events.get(uid, ()):
            if (eid, badge_id) not in emitted:
                yield row(eid, "revoked_badge", badge_id, data)

    if marks.accesses:
        sessions = {sid for _p, sid in marks.accesses}
        event_of: dict[uuid.UUID, uuid.UUID] = {}
        for chunk in _chunks(sessions):
            event_of.update(
                session.execute(
                    select(EventSession.id, EventSession.event_id).where(EventSession.id.in_(chunk))
                ).all()
            )
        # the current rows of the marked pairs, a chunk of pairs per query
        current: dict[tuple[uuid.UUID, uuid.UUID], Record] = {}
        for pairs in _chunks(sorted(marks.accesses)):
            wanted = set(pairs)
            stmt = select(SessionAccess).where(
                SessionAccess.participant_id.in_({p for p, _s in pairs}),
                SessionAccess.session_id.in_({s for _p, s in pairs}),
            )
            for sa in session.scalars(stmt):
                if (sa.participant_id, sa.session_id) in wanted:
                    current[(sa.participant_id, sa.session_id)] = access_record(sa)
        orphans = {pid for pid, sid in marks.accesses if sid not in event_of}
        event_of_participant: dict[uuid.UUID, uuid.UUID] = {}
        for chunk in _chunks(orphans):  # sessions gone: find the event by participant
            event_of_participant.update(
                session.execute(
                    select(Participant.id, Participant.event_id).where(Participant.id.in_(chunk))
                ).all()
            )
        for pid, sid in marks.accesses:
            eid = event_of.get(sid) or event_of_participant.get(pid)
            if eid is None:
                continue  # both gone with their event
            yield row(eid, "session_access", access_key(pid, sid), current.get((pid, sid)))


def access_record(sa: SessionAccess) -> Record:
    return {
        "participant_id": str(sa.participant_id),
        "session_id": str(sa.session_id),
        "payment_status": sa.payment_status,
        "has_access": sa.has_access,
    }


# ---------------------------------------------------------------------------
# reading: snapshots and deltas

SNAPSHOT_ORDER = ("event", "room", "session", "member", "revoked_badge", "session_access")


def latest_seq(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(ChangeLogEntry.seq), 0))) or 0


def latest_seq_of_event(session: Session, event_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.max(ChangeLogEntry.seq), 0)).where(
                ChangeLogEntry.event_id == event_id
            )
        )
        or 0
    )


# A page of session accesses: an IN list of the event's few sessions, not a join,
# so that the (session, participant) index gives the page order with no sort of
# all the event's accesses for every page; the next page resumes after a row
# value, where the index range starts (an OR of the two cases is a filter, and
# every page would scan every access before it again).
_ACCESS_PAGE_FIRST = (
    select(
        uuid_raw_text(SessionAccess.participant_id),
        uuid_raw_text(SessionAccess.session_id),
        SessionAccess.payment_status,
        SessionAccess.has_access,
    )
    .where(
        SessionAccess.session_id.in_(select(EventSession.id).where(EventSession.event_id == _EVENT))
    )
    .order_by(SessionAccess.session_id, SessionAccess.participant_id)
    .limit(bindparam("limit"))
)
_ACCESS_PAGE_AFTER = _ACCESS_PAGE_FIRST.where(
    tuple_(SessionAccess.session_id, SessionAccess.participant_id)
    > tuple_(bindparam("after_s", type_=Uuid()), bindparam("after_p", type_=Uuid()))
)


def snapshot_records(
    session: Session,
    event_id: uuid.UUID,
    entity: str,
    after: str | None,
    limit: int,
) -> list[tuple[str, Record]]:
    """Up to ``limit`` (key, record) of one entity, keys after ``after``, in key
    order, as kiosks receive them (:func:`kiosk_data`)."""
    if entity == "event":
        if after is not None:
            return []
        e = session.get(Event, event_id)
        return [(str(event_id), event_record(e))] if e else []
    if entity == "room":
        stmt = select(Room).where(Room.event_id == event_id).order_by(Room.id).limit(limit)
        if after is not None:
            stmt = stmt.where(Room.id > uuid.UUID(after))
        return [(str(r.id), room_record(r)) for r in session.scalars(stmt)]
    if entity == "session":
        stmt = (
            select(EventSession)
            .where(EventSession.event_id == event_id)
            .order_by(EventSession.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(EventSession.id > uuid.UUID(after))
        return [(str(s.id), session_record(s)) for s in session.scalars(stmt)]
    if entity == "member":
        return _snapshot_members(session, event_id, int(after) if after is not None else 0, limit)
    if entity == "revoked_badge":
        # the revoked badges are few: each is checked for a membership in the event
        member = or_(
            exists().where(
                UserEventAssignment.user_id == RevokedBadge.user_id,
                UserEventAssignment.event_id == event_id,
            ),
            exists().where(
                Participant.user_id == RevokedBadge.user_id, Participant.event_id == event_id
            ),
        )
        stmt = (
            select(RevokedBadge.badge_id, RevokedBadge.user_id)
            .where(member)
            .order_by(RevokedBadge.badge_id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(RevokedBadge.badge_id > after)
        return [(b, {"badge_id": b, "user_id": u}) for b, u in session.execute(stmt)]
    if entity == "session_access":
        params: dict[str, Any] = {"event_id": event_id, "limit": limit}
        stmt = _ACCESS_PAGE_FIRST
        if after is not None:
            pid, _, sid = after.partition(":")
            params.update(after_p=uuid.UUID(pid), after_s=uuid.UUID(sid))
            stmt = _ACCESS_PAGE_AFTER
        conn = session.connection()
        if conn.dialect.name == "sqlite":
            rows = _SqliteRows(conn, params)(stmt)
        else:
            rows = conn.execute(stmt, params).all()
        out = []
        session_text: dict[str, str] = {}  # an event has few sessions: each dashed once
        for raw_p, raw_s, st, ha in rows:
            p_text = dashed(raw_p)
            s_text = session_text.get(raw_s)
            if s_text is None:
                s_text = session_text[raw_s] = dashed(raw_s)
            record = {
                "participant_id": p_text,
                "session_id": s_text,
                "payment_status": st,
                "has_access": bool(ha),
            }
            out.append((f"{p_text}:{s_text}", record))
        return out
    raise ValueError(entity)
