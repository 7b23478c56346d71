"""usernames unique whatever their case: unique index on lower(username)

Revision ID: 0009_username_ci
Revises: 0008_blocks
Two accounts whose usernames differ only in case stop the upgrade with their
ids: rename one (``UPDATE users SET username = ... WHERE id = ...``) and rerun.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_username_ci'
down_revision = '0008_blocks'
branch_labels = None
depends_on = None


def upgrade():
    clashes = op.get_bind().execute(sa.text(
        "SELECT lower(username), count(*) FROM users GROUP BY lower(username) HAVING count(*) > 1"
    )).all()
    if clashes:
        names = ", ".join(f"{name!r} ({n} accounts)" for name, n in clashes[:20])
        raise RuntimeError(
            "usernames that differ only in case must be made distinct before this "
            f"upgrade: {names}"
        )
    op.create_index(
        'uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True
    )


def downgrade():
    op.drop_index('uq_users_username_lower', table_name='users')
