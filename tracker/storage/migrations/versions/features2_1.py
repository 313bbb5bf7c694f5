"""Code links stored per item (found in the abstract and comments, filled here for the
items stored before), the count of items a digest's rules removed, and weekly digests.

Revision ID: features2_1
Revises: reading_1
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tracker.codelinks import encode_links, find_links, has_code

revision = "features2_1"
down_revision = "reading_1"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BATCH = 2000


def _fill_code_links() -> None:
    """Look for links in every stored item, a batch of ids at a time."""
    conn = op.get_bind()
    items = sa.table(
        "items",
        sa.column("id", sa.Integer),
        sa.column("summary", sa.Text),
        sa.column("comment", sa.Text),
        sa.column("code_links", sa.Text),
        sa.column("has_code", sa.Boolean),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(items.c.id, items.c.summary, items.c.comment)
            .where(items.c.id > last)
            .order_by(items.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        updates = []
        for row in rows:
            links = find_links(row.summary, row.comment)
            updates.append(
                {"b_id": row.id, "b_links": encode_links(links), "b_code": has_code(links)}
            )
        conn.execute(
            items.update()
            .where(items.c.id == sa.bindparam("b_id"))
            .values(code_links=sa.bindparam("b_links"), has_code=sa.bindparam("b_code")),
            updates,
        )
        last = rows[-1].id


def upgrade() -> None:
    # Plain ADD COLUMN (see reading_1: a batch would copy the tables).
    op.add_column("items", sa.Column("code_links", sa.Text))
    op.add_column(
        "items", sa.Column("has_code", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.add_column("digests", sa.Column("removed", sa.Integer, nullable=False, server_default="0"))
    _fill_code_links()
    op.create_table(
        "weekly_digests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reader", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("cutoff_at", TS, nullable=False),
        sa.Column("built_at", TS, nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("entries", sa.Text, nullable=False),
        sa.Column("rising", sa.Text),
        sa.UniqueConstraint("reader", "day", name="uq_weekly_digests_reader_day"),
    )
    op.create_table(
        "weekly_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "weekly_id",
            sa.Integer,
            sa.ForeignKey(
                "weekly_digests.id",
                name="fk_weekly_deliveries_weekly_id_weekly_digests",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", TS),
        sa.UniqueConstraint("weekly_id", "channel", name="uq_weekly_deliveries_weekly_id_channel"),
    )
    op.create_index(
        "ix_weekly_deliveries_state_next_attempt_at",
        "weekly_deliveries",
        ["state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_weekly_deliveries_state_next_attempt_at", "weekly_deliveries")
    op.drop_table("weekly_deliveries")
    op.drop_table("weekly_digests")
    for table, column in (
        ("digests", "removed"),
        ("items", "has_code"),
        ("items", "code_links"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
