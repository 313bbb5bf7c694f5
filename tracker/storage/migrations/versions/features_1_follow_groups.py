"""Follow groups (the folders of an imported OPML file, kept per follow) and readers'
mute and must rules.

Revision ID: features_1
Revises: web_1
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "features_1"
down_revision = "web_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follows") as batch:
        # folder paths ("Science/Machine learning") separated by U+001F, as lists are
        batch.add_column(sa.Column("groups", sa.Text, nullable=False, server_default=""))
    op.create_table(
        "rules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reader", sa.String(64), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),  # "mute" | "must"
        sa.Column("text", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("category", sa.String(32)),
        sa.Column("feed", sa.Text),
        sa.Column("follow_kind", sa.String(16)),
        sa.Column("follow_value", sa.Text),
        sa.Column("in_search", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("ix_rules_reader", "reader"),
    )


def downgrade() -> None:
    op.drop_table("rules")
    with op.batch_alter_table("follows") as batch:
        batch.drop_column("groups")
