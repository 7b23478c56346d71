"""tallies kept by the database, and a substring index over people's names

Revision ID: 0012_tallies_search
Revises: 0011_read_indexes

The organizer's common reads counted rows on every request: an event's
participants (a page of the list, the dashboard), a room's scans and distinct
visitors (room statistics). At 100,000 rows each count read the whole index.
Now triggers keep the counts as rows change, in the writing transaction, so
every writer (the API, the scan upload, a bulk import with Core inserts) keeps
them right and a read takes one row:

* ``event_tallies``: per event, ``participants`` (participant records) and
  ``role:<role>`` (active assignments with that role);
* ``room_tallies`` and ``room_day_tallies``: per room, all days and per UTC
  day, the scans, the granted ones (the server's verdict when there is one,
  else the door's) and the distinct people scanned.

A person counts as a new visitor of a room when no other scan of them in that
room (that day) exists. The checks run row by row (SQLite's triggers; a
BEFORE ROW trigger on PostgreSQL), so a statement writing many scans counts
each as if written alone. On PostgreSQL the trigger first takes the tally row's
lock and only then looks (a new statement, a new snapshot), so two doors
scanning the same newcomer at once count them once.

Search: on SQLite an FTS5 table with the trigram tokenizer (``user_search``,
rowid = user id) holds each user's "first last / email / username", kept by
triggers; on PostgreSQL a pg_trgm GIN index on the same expression. Both make a
substring search use an index. Without the pg_trgm extension (it is part of
PostgreSQL's contrib modules; a database owner may create it) search still
works, reading every row.

A session's questions index gains the id, the tie-breaker of their order, so
a page of them is read in order from the index.

SQLite drops a table's triggers when a batch migration recreates the table:
a later migration that does so on ``users``, ``participants``,
``user_event_assignments`` or ``room_accesses`` must create them again.
"""
import logging

from alembic import op
import sqlalchemy as sa


revision = '0012_tallies_search'
down_revision = '0011_read_indexes'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')

#: the text a search looks in (SQLite's FTS content; PostgreSQL's index expression)
SEARCH_TEXT = (
    "lower(first_name || ' ' || last_name || chr(10) || email || chr(10) || username)"
)


def _tables():
    op.create_table(
        'event_tallies',
        sa.Column('event_id', sa.Uuid(), nullable=False),
        sa.Column('name', sa.String(40), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False, server_default='0'),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('event_id', 'name'),
    )
    op.create_table(
        'room_tallies',
        sa.Column('room_id', sa.Uuid(), nullable=False),
        sa.Column('scans', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('granted', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('visitors', sa.BigInteger(), nullable=False, server_default='0'),
        sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('room_id'),
    )
    op.create_table(
        'room_day_tallies',
        sa.Column('room_id', sa.Uuid(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('scans', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('granted', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('visitors', sa.BigInteger(), nullable=False, server_default='0'),
        sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('room_id', 'day'),
    )


# --- SQLite ---------------------------------------------------------------

_SQLITE_SEARCH_ROW = (
    "NEW.id, lower(NEW.first_name || ' ' || NEW.last_name || char(10) || NEW.email "
    "|| char(10) || NEW.username)"
)


def _sqlite_event_tally(name_sql, event_sql, delta):
    """Add ``delta`` to a tally; a decrement of a tally that is not there (its
    rows being deleted after it) changes nothing."""
    if delta < 0:
        return (
            f"UPDATE event_tallies SET value = value - {-delta} "
            f"WHERE event_id = {event_sql} AND name = {name_sql};"
        )
    return (
        "INSERT INTO event_tallies (event_id, name, value) "
        f"VALUES ({event_sql}, {name_sql}, {delta}) "
        f"ON CONFLICT (event_id, name) DO UPDATE SET value = value + {delta};"
    )


def _sqlite_room_change(row, sign):
    """The statements that add (sign 1) or take away (sign -1) the scan ``row``
    (NEW or OLD) from its room's tallies. A person is a visitor while some scan
    of them is there: the check leaves the row itself out."""
    granted = f"(coalesce({row}.server_status, {row}.status) = 'granted')"
    day = f"date({row}.access_time)"
    others_in_room = (
        f"SELECT 1 FROM room_accesses o WHERE o.room_id = {row}.room_id "
        f"AND o.participant_id = {row}.participant_id AND o.id != {row}.id"
    )
    others_that_day = (
        f"{others_in_room} AND o.access_time >= {day} "
        f"AND o.access_time < date({row}.access_time, '+1 day')"
    )
    visitor = f"({row}.participant_id IS NOT NULL AND NOT EXISTS ({others_in_room}))"
    visitor_day = f"({row}.participant_id IS NOT NULL AND NOT EXISTS ({others_that_day}))"
    if sign < 0:
        return (
            f"UPDATE room_tallies SET scans = scans - 1, granted = granted - {granted}, "
            f"visitors = visitors - {visitor} WHERE room_id = {row}.room_id;"
            f"UPDATE room_day_tallies SET scans = scans - 1, granted = granted - {granted}, "
            f"visitors = visitors - {visitor_day} WHERE room_id = {row}.room_id AND day = {day};"
        )
    return (
        "INSERT INTO room_tallies (room_id, scans, granted, visitors) "
        f"VALUES ({row}.room_id, 1, {granted}, {visitor}) "
        "ON CONFLICT (room_id) DO UPDATE SET scans = scans + 1, "
        "granted = granted + excluded.granted, visitors = visitors + excluded.visitors;"
        "INSERT INTO room_day_tallies (room_id, day, scans, granted, visitors) "
        f"VALUES ({row}.room_id, {day}, 1, {granted}, {visitor_day}) "
        "ON CONFLICT (room_id, day) DO UPDATE SET scans = scans + 1, "
        "granted = granted + excluded.granted, visitors = visitors + excluded.visitors;"
    )


def _sqlite():
    ex = op.execute
    # event tallies
    ex(
        "CREATE TRIGGER tally_participant_insert AFTER INSERT ON participants BEGIN "
        + _sqlite_event_tally("'participants'", "NEW.event_id", 1)
        + " END"
    )
    ex(
        "CREATE TRIGGER tally_participant_delete AFTER DELETE ON participants BEGIN "
        + _sqlite_event_tally("'participants'", "OLD.event_id", -1)
        + " END"
    )
    ex(
        "CREATE TRIGGER tally_participant_move AFTER UPDATE OF event_id ON participants "
        "WHEN OLD.event_id IS NOT NEW.event_id BEGIN "
        + _sqlite_event_tally("'participants'", "OLD.event_id", -1)
        + _sqlite_event_tally("'participants'", "NEW.event_id", 1)
        + " END"
    )
    ex(
        "CREATE TRIGGER tally_assignment_insert AFTER INSERT ON user_event_assignments "
        "WHEN NEW.is_active BEGIN "
        + _sqlite_event_tally("'role:' || NEW.role", "NEW.event_id", 1)
        + " END"
    )
    ex(
        "CREATE TRIGGER tally_assignment_delete AFTER DELETE ON user_event_assignments "
        "WHEN OLD.is_active BEGIN "
        + _sqlite_event_tally("'role:' || OLD.role", "OLD.event_id", -1)
        + " END"
    )
    ex(
        "CREATE TRIGGER tally_assignment_update AFTER UPDATE OF event_id, role, is_active "
        "ON user_event_assignments BEGIN "
        "UPDATE event_tallies SET value = value - 1 WHERE OLD.is_active "
        "AND event_id = OLD.event_id AND name = 'role:' || OLD.role;"
        "INSERT INTO event_tallies (event_id, name, value) "
        "SELECT NEW.event_id, 'role:' || NEW.role, 1 WHERE NEW.is_active "
        "ON CONFLICT (event_id, name) DO UPDATE SET value = value + 1;"
        " END"
    )
    # room tallies
    ex(
        "CREATE TRIGGER tally_scan_insert AFTER INSERT ON room_accesses BEGIN "
        + _sqlite_room_change("NEW", 1)
        + " END"
    )
    ex(
        "CREATE TRIGGER tally_scan_delete AFTER DELETE ON room_accesses BEGIN "
        + _sqlite_room_change("OLD", -1)
        + " END"
    )
    ex(
        "CREATE TRIGGER tally_scan_update AFTER UPDATE OF room_id, participant_id, "
        "access_time, status, server_status ON room_accesses BEGIN "
        + _sqlite_room_change("OLD", -1)
        + _sqlite_room_change("NEW", 1)
        + " END"
    )
    # search
    ex("CREATE VIRTUAL TABLE user_search USING fts5(text, tokenize='trigram')")
    ex(
        "CREATE TRIGGER search_user_insert AFTER INSERT ON users BEGIN "
        f"INSERT INTO user_search (rowid, text) VALUES ({_SQLITE_SEARCH_ROW}); END"
    )
    ex(
        "CREATE TRIGGER search_user_update AFTER UPDATE OF id, first_name, last_name, "
        "email, username ON users BEGIN "
        "DELETE FROM user_search WHERE rowid = OLD.id;"
        f"INSERT INTO user_search (rowid, text) VALUES ({_SQLITE_SEARCH_ROW}); END"
    )
    ex(
        "CREATE TRIGGER search_user_delete AFTER DELETE ON users BEGIN "
        "DELETE FROM user_search WHERE rowid = OLD.id; END"
    )
    ex(
        "INSERT INTO user_search (rowid, text) SELECT id, lower(first_name || ' ' || "
        "last_name || char(10) || email || char(10) || username) FROM users"
    )


# --- PostgreSQL -----------------------------------------------------------

_PG_FUNCTIONS = """
-- a decrement of a tally that is not there (its rows deleted after it) changes nothing
CREATE FUNCTION tally_event(e uuid, n text, delta bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF delta < 0 THEN
    UPDATE event_tallies SET value = value + delta WHERE event_id = e AND name = n;
  ELSE
    INSERT INTO event_tallies (event_id, name, value) VALUES (e, n, delta)
    ON CONFLICT (event_id, name) DO UPDATE SET value = event_tallies.value + delta;
  END IF;
END $$;

CREATE FUNCTION tally_participants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN PERFORM tally_event(OLD.event_id, 'participants', -1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM tally_event(NEW.event_id, 'participants', 1);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION tally_assignments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.is_active THEN
    PERFORM tally_event(OLD.event_id, 'role:' || OLD.role, -1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.is_active THEN
    PERFORM tally_event(NEW.event_id, 'role:' || NEW.role, 1);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION tally_room_scan(r room_accesses, sign bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  g bigint := CASE WHEN coalesce(r.server_status, r.status) = 'granted' THEN sign ELSE 0 END;
  d date := (r.access_time AT TIME ZONE 'UTC')::date;
BEGIN
  -- the tally rows are locked first; the visitor checks below then see any
  -- scan committed by a writer that held the lock before
  IF sign < 0 THEN
    UPDATE room_tallies SET scans = scans - 1, granted = granted + g WHERE room_id = r.room_id;
    UPDATE room_day_tallies SET scans = scans - 1, granted = granted + g
    WHERE room_id = r.room_id AND day = d;
  ELSE
    INSERT INTO room_tallies (room_id, scans, granted) VALUES (r.room_id, 1, g)
    ON CONFLICT (room_id) DO UPDATE
      SET scans = room_tallies.scans + 1, granted = room_tallies.granted + g;
    INSERT INTO room_day_tallies (room_id, day, scans, granted) VALUES (r.room_id, d, 1, g)
    ON CONFLICT (room_id, day) DO UPDATE
      SET scans = room_day_tallies.scans + 1, granted = room_day_tallies.granted + g;
  END IF;
  IF r.participant_id IS NULL THEN
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM room_accesses o WHERE o.room_id = r.room_id
                 AND o.participant_id = r.participant_id AND o.id <> r.id) THEN
    UPDATE room_tallies SET visitors = visitors + sign WHERE room_id = r.room_id;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM room_accesses o WHERE o.room_id = r.room_id
                 AND o.participant_id = r.participant_id AND o.id <> r.id
                 AND o.access_time >= d::timestamp AT TIME ZONE 'UTC'
                 AND o.access_time < (d + 1)::timestamp AT TIME ZONE 'UTC') THEN
    UPDATE room_day_tallies SET visitors = visitors + sign
    WHERE room_id = r.room_id AND day = d;
  END IF;
END $$;

-- BEFORE each row: its checks see the rows the same statement wrote before it (an
-- AFTER trigger would see them all, and count a person scanned twice in one
-- multi-row insert as no visitor at all)
CREATE FUNCTION tally_room_accesses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN PERFORM tally_room_scan(OLD, -1); END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM tally_room_scan(NEW, 1); RETURN NEW; END IF;
  RETURN OLD;
END $$;

CREATE TRIGGER tally_participants AFTER INSERT OR DELETE OR UPDATE OF event_id
  ON participants FOR EACH ROW EXECUTE FUNCTION tally_participants();
CREATE TRIGGER tally_assignments AFTER INSERT OR DELETE OR UPDATE OF event_id, role, is_active
  ON user_event_assignments FOR EACH ROW EXECUTE FUNCTION tally_assignments();
CREATE TRIGGER tally_room_accesses BEFORE INSERT OR DELETE
  OR UPDATE OF room_id, participant_id, access_time, status, server_status
  ON room_accesses FOR EACH ROW EXECUTE FUNCTION tally_room_accesses();
"""


def _postgresql():
    op.execute(_PG_FUNCTIONS)
    bind = op.get_bind()
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        log.warning("pg_trgm is not available (%s): a search reads every row", exc.orig)
        return
    savepoint.commit()
    op.execute(f"CREATE INDEX ix_users_search_trgm ON users USING gin (({SEARCH_TEXT}) gin_trgm_ops)")


def _backfill():
    """The tallies of what is there already."""
    ex = op.execute
    ex(
        "INSERT INTO event_tallies (event_id, name, value) "
        "SELECT event_id, 'participants', count(*) FROM participants GROUP BY event_id"
    )
    ex(
        "INSERT INTO event_tallies (event_id, name, value) "
        "SELECT event_id, 'role:' || role, count(*) FROM user_event_assignments "
        "WHERE is_active GROUP BY event_id, role"
    )
    granted = "count(*) FILTER (WHERE coalesce(server_status, status) = 'granted')"
    ex(
        "INSERT INTO room_tallies (room_id, scans, granted, visitors) "
        f"SELECT room_id, count(*), {granted}, count(DISTINCT participant_id) "
        "FROM room_accesses GROUP BY room_id"
    )
    if op.get_bind().dialect.name == 'sqlite':
        day = 'date(access_time)'
    else:
        day = "(access_time AT TIME ZONE 'UTC')::date"
    ex(
        "INSERT INTO room_day_tallies (room_id, day, scans, granted, visitors) "
        f"SELECT room_id, {day}, count(*), {granted}, count(DISTINCT participant_id) "
        f"FROM room_accesses GROUP BY room_id, {day}"
    )


def _question_order():
    """A session's questions come in (asked_at, id) order from the index alone."""
    op.drop_index('ix_session_questions_session_asked', table_name='session_questions')
    op.create_index(
        'ix_session_questions_session_asked', 'session_questions',
        ['session_id', 'asked_at', 'id'], unique=False,
    )


def upgrade():
    _question_order()
    _tables()
    _backfill()
    if op.get_bind().dialect.name == 'sqlite':
        _sqlite()
    else:
        _postgresql()


def downgrade():
    op.drop_index('ix_session_questions_session_asked', table_name='session_questions')
    op.create_index(
        'ix_session_questions_session_asked', 'session_questions', ['session_id', 'asked_at'],
        unique=False,
    )
    if op.get_bind().dialect.name == 'sqlite':
        for name in (
            'tally_participant_insert', 'tally_participant_delete', 'tally_participant_move',
            'tally_assignment_insert', 'tally_assignment_delete', 'tally_assignment_update',
            'tally_scan_insert', 'tally_scan_delete', 'tally_scan_update',
            'search_user_insert', 'search_user_update', 'search_user_delete',
        ):
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
        op.execute('DROP TABLE IF EXISTS user_search')
    else:
        op.execute('DROP INDEX IF EXISTS ix_users_search_trgm')
        op.execute('DROP TRIGGER IF EXISTS tally_room_accesses ON room_accesses')
        op.execute('DROP TRIGGER IF EXISTS tally_assignments ON user_event_assignments')
        op.execute('DROP TRIGGER IF EXISTS tally_participants ON participants')
        for fn in (
            'tally_room_accesses()', 'tally_room_scan(room_accesses, bigint)',
            'tally_assignments()', 'tally_participants()', 'tally_event(uuid, text, bigint)',
        ):
            op.execute(f'DROP FUNCTION IF EXISTS {fn}')
    op.drop_table('room_day_tallies')
    op.drop_table('room_tallies')
    op.drop_table('event_tallies')
