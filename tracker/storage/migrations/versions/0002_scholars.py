"""Scholars: a follow may use several sources; profiles and attributions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follows") as batch:
        batch.drop_constraint("uq_follows_reader_kind_value", type_="unique")
        batch.create_unique_constraint(
            "uq_follows_reader_kind_value_source_id", ["reader", "kind", "value", "source_id"]
        )
    op.create_table(
        "scholar_profile",
        sa.Column("scholar", sa.Text, primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.Text, primary_key=True),
    )
    op.create_table(
        "attributions",
        sa.Column("scholar", sa.Text, primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", name="fk_attributions_item_id_items", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("basis", sa.String(8), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_attributions_item_id", "attributions", ["item_id"])


def downgrade() -> None:
    op.drop_table("attributions")
    op.drop_table("scholar_profile")
    with op.batch_alter_table("follows") as batch:
        batch.drop_constraint("uq_follows_reader_kind_value_source_id", type_="unique")
        batch.create_unique_constraint("uq_follows_reader_kind_value", ["reader", "kind", "value"])
