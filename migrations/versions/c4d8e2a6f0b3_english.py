"""English: the content's English versions, and the language each attendee registered in

Series and episodes keep their English texts (from the content file) beside the French, as
a JSON object of field → text; an attendee's mail goes out in their language ('fr' for
everyone already registered).

Revision ID: c4d8e2a6f0b3
Revises: b7e2d4f6a8c1
Create Date: 2026-11-27 19:20:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4d8e2a6f0b3'
down_revision = 'b7e2d4f6a8c1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('series') as batch_op:
        batch_op.add_column(sa.Column('english', sa.JSON(), nullable=True))
    with op.batch_alter_table('episode') as batch_op:
        batch_op.add_column(sa.Column('english', sa.JSON(), nullable=True))
    with op.batch_alter_table('attendee') as batch_op:
        batch_op.add_column(
            sa.Column('language', sa.String(length=5), server_default='fr', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('attendee') as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('episode') as batch_op:
        batch_op.drop_column('english')
    with op.batch_alter_table('series') as batch_op:
        batch_op.drop_column('english')
