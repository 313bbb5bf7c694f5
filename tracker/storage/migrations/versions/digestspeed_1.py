"""Digests at scale: an index on when items were first seen, newest first, so that a
reader's relevance model finds the newest stored papers (its unlabelled negatives, and
what its fingerprint is checked against at every digest) without sorting the whole
table.

Revision ID: digestspeed_1
Revises: published_1
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "digestspeed_1"
down_revision = "published_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_first_seen_at_id", "items", ["first_seen_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_items_first_seen_at_id", table_name="items")
