"""a door scan's direction: an entry (``in``, every scan so far) or an exit (``out``)

Revision ID: 0014_scan_direction
Revises: 0013_participant_order

A plain ADD COLUMN (not a batch migration): on SQLite a batch copy of
room_accesses would drop its tally triggers (migration 0012). The room
statistics index takes the column last, so that attendance, which counts
entries only, still reads the index alone.
"""
import sqlalchemy as sa
from alembic import op


revision = '0014_scan_direction'
down_revision = '0013_participant_order'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'room_accesses',
        sa.Column('direction', sa.String(length=3), nullable=False, server_default='in'),
    )
    _stats_index('room_id', 'participant_id', 'access_time', 'status', 'server_status',
                 'direction')


def _stats_index(*columns):
    op.drop_index('ix_room_accesses_room_stats', table_name='room_accesses')
    op.create_index('ix_room_accesses_room_stats', 'room_accesses', list(columns))


def downgrade():
    _stats_index('room_id', 'participant_id', 'access_time', 'status', 'server_status')
    # SQLite 3.35+ drops a column in place (no copy, the triggers stay)
    op.drop_column('room_accesses', 'direction')
