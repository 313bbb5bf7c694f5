"""Follow groups: the folders of an imported OPML file (and of an export), kept per follow.

Revision ID: features_1
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "features_1"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follows") as batch:
        # folder paths ("Science/Machine learning") separated by U+001F, as lists are
        batch.add_column(sa.Column("groups", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("follows") as batch:
        batch.drop_column("groups")
