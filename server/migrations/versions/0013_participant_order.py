"""a version of each event's participant order, kept by the database

Revision ID: 0013_participant_order
Revises: 0012_tallies_search

A deep page of the participants list (page 2,500 of 5,000) made the database
skip 50,000 index entries for its OFFSET. The server now keeps, per event, the
badge number at every 1,000th place of the list (``server.people.anchors``)
and starts a page from the nearest one. Those anchors hold while the order
holds, so a tally ``participants:order`` in ``event_tallies`` counts the
changes of the order: a participant added, removed, moved to another event or
given another badge number. Triggers keep it, so every writer (a bulk import
too) moves it.
"""
from alembic import op


revision = '0013_participant_order'
down_revision = '0012_tallies_search'
branch_labels = None
depends_on = None

TALLY = "'participants:order'"


def _sqlite_bump(event_sql):
    return (
        "INSERT INTO event_tallies (event_id, name, value) "
        f"VALUES ({event_sql}, {TALLY}, 1) "
        "ON CONFLICT (event_id, name) DO UPDATE SET value = value + 1;"
    )


def _sqlite_leave(event_sql, when="1"):
    return (
        f"UPDATE event_tallies SET value = value + 1 "
        f"WHERE event_id = {event_sql} AND name = {TALLY} AND {when};"
    )


# The side a participant leaves (a delete, the old event of a move) is only
# updated (``_sqlite_leave``), never inserted: when the event itself is being
# deleted, a new tally row would point at it. Its participants tally moves
# there anyway, so the anchors' version changes all the same.
_PG = f"""
CREATE FUNCTION tally_participant_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.event_id = NEW.event_id
     AND OLD.badge_number IS NOT DISTINCT FROM NEW.badge_number THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.event_id <> NEW.event_id) THEN
    UPDATE event_tallies SET value = value + 1 WHERE event_id = OLD.event_id AND name = {TALLY};
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM tally_event(NEW.event_id, {TALLY}, 1);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER tally_participant_order AFTER INSERT OR DELETE OR UPDATE OF event_id, badge_number
  ON participants FOR EACH ROW EXECUTE FUNCTION tally_participant_order();
"""


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(
            "CREATE TRIGGER order_participant_insert AFTER INSERT ON participants BEGIN "
            + _sqlite_bump("NEW.event_id") + " END"
        )
        op.execute(
            "CREATE TRIGGER order_participant_delete AFTER DELETE ON participants BEGIN "
            + _sqlite_leave("OLD.event_id") + " END"
        )
        op.execute(
            "CREATE TRIGGER order_participant_update AFTER UPDATE OF event_id, badge_number "
            "ON participants WHEN OLD.event_id IS NOT NEW.event_id "
            "OR OLD.badge_number IS NOT NEW.badge_number BEGIN "
            + _sqlite_leave("OLD.event_id", "OLD.event_id IS NOT NEW.event_id")
            + _sqlite_bump("NEW.event_id")
            + " END"
        )
    else:
        op.execute(_PG)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for name in ('order_participant_insert', 'order_participant_delete',
                     'order_participant_update'):
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
    else:
        op.execute('DROP TRIGGER IF EXISTS tally_participant_order ON participants')
        op.execute('DROP FUNCTION IF EXISTS tally_participant_order()')
    op.execute(f"DELETE FROM event_tallies WHERE name = {TALLY}")
