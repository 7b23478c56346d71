"""events: the organizer's contact (name, email, phone)

Revision ID: 0010_events_api
Revises: 0009_username_ci

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_events_api'
down_revision = '0009_username_ci'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events') as batch:
        batch.add_column(
            sa.Column('organizer_name', sa.String(200), nullable=False, server_default='')
        )
        batch.add_column(
            sa.Column('organizer_email', sa.String(254), nullable=False, server_default='')
        )
        batch.add_column(
            sa.Column('organizer_phone', sa.String(40), nullable=False, server_default='')
        )


def downgrade():
    with op.batch_alter_table('events') as batch:
        batch.drop_column('organizer_phone')
        batch.drop_column('organizer_email')
        batch.drop_column('organizer_name')
