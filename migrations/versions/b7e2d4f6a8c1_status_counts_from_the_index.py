"""review indexes carry the id: status counts and pages by votes from the index alone

The review page counts an episode's questions per status, with the newest id, on every
view. PostgreSQL read the whole table for it (its indexes do not hold the row's id); with
the id included, an index-only scan answers. Sorted by votes, ties are broken on the id:
with the id in the index, a page far down (offset 4950) walks it in order instead of
sorting the rows it skips. SQLite's indexes end with the rowid already: for it the first
is rebuilt as it was, the second holds the id twice.

Revision ID: b7e2d4f6a8c1
Revises: a3c9e5f1b7d2
Create Date: 2026-11-27 16:33:29.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7e2d4f6a8c1'
down_revision = 'a3c9e5f1b7d2'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_question_episode_status', table_name='question')
    op.create_index(
        'ix_question_episode_status', 'question', ['episode_id', 'status'],
        unique=False, postgresql_include=['id'],
    )
    op.drop_index('ix_question_episode_votes', table_name='question')
    op.create_index(
        'ix_question_episode_votes', 'question', ['episode_id', 'vote_count', 'id'], unique=False
    )


def downgrade():
    op.drop_index('ix_question_episode_votes', table_name='question')
    op.create_index(
        'ix_question_episode_votes', 'question', ['episode_id', 'vote_count'], unique=False
    )
    op.drop_index('ix_question_episode_status', table_name='question')
    op.create_index(
        'ix_question_episode_status', 'question', ['episode_id', 'status'], unique=False
    )
