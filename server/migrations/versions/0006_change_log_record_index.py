"""change_log: index of a record's versions (scans judged as of their time)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:50:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_change_log_record', 'change_log', ['event_id', 'entity', 'key', 'seq'], unique=False
    )


def downgrade():
    op.drop_index('ix_change_log_record', table_name='change_log')
