"""Venues noticed later: venue events, the watch step's schedule, and which events
each reader's digests held.

Revision ID: published_1
Revises: reading_1
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "published_1"
down_revision = "features2_1"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "venue_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", name="fk_venue_events_item_id_items", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("noticed_at", TS, nullable=False),
        sa.UniqueConstraint("item_id", "kind", "value", name="uq_venue_events_item_id_kind_value"),
    )
    op.create_index("ix_venue_events_noticed_at", "venue_events", ["noticed_at"])
    op.create_table(
        "venue_checks",
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", name="fk_venue_checks_item_id_items", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("checked_at", TS),
        sa.Column("next_check_at", TS, nullable=False),
    )
    op.create_index("ix_venue_checks_next_check_at", "venue_checks", ["next_check_at"])
    op.create_table(
        "digest_venues",
        sa.Column(
            "digest_id",
            sa.Integer,
            sa.ForeignKey(
                "digests.id", name="fk_digest_venues_digest_id_digests", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("reader", sa.String(64), nullable=False),
        sa.Column(
            "event_id",
            sa.Integer,
            sa.ForeignKey(
                "venue_events.id", name="fk_digest_venues_event_id_venue_events", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("reader", "event_id", name="uq_digest_venues_reader_event_id"),
    )
    op.create_index(
        "ix_digest_venues_digest_id_position", "digest_venues", ["digest_id", "position"]
    )


def downgrade() -> None:
    op.drop_table("digest_venues")
    op.drop_table("venue_checks")
    op.drop_table("venue_events")
