"""a door scan's direction: an entry (``in``, every scan so far) or an exit (``out``)

Revision ID: 0014_scan_direction
Revises: 0013_participant_order

A plain ADD COLUMN (not a batch migration): on SQLite a batch copy of
room_accesses would drop its tally triggers (migration 0012).
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


def downgrade():
    # SQLite 3.35+ drops a column in place (no copy, the triggers stay)
    op.drop_column('room_accesses', 'direction')
