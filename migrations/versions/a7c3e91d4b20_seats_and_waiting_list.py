"""seats and a fair waiting list: episode.capacity, registration.waiting_since

The waiting list is a state of the registration, not a table of its own: a person on it
follows the episode as before (one row per attendee and episode, the same unique key, the
same erasure by cascade, the same backup), only `waiting_since` is set. The order of arrival
is (waiting_since, id); being given a seat clears it. So nothing else has to move when a
seat is freed, and a person can never be both seated and waiting. Rows already on file
keep their seat (NULL), and an empty capacity means unlimited, as before.

Revision ID: a7c3e91d4b20
Revises: f2ac5dc4f5ef
Create Date: 2026-11-27 16:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e91d4b20'
down_revision = 'f2ac5dc4f5ef'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('episode', schema=None) as batch_op:
        batch_op.add_column(sa.Column('capacity', sa.Integer(), nullable=True))

    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_since', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_registration_episode_waiting', ['episode_id', 'waiting_since'], unique=False)


def downgrade():
    # Going back makes everyone on a waiting list a registrant: there are no seats before.
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index('ix_registration_episode_waiting')
        batch_op.drop_column('waiting_since')

    with op.batch_alter_table('episode', schema=None) as batch_op:
        batch_op.drop_column('capacity')
