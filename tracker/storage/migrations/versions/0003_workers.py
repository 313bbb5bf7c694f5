"""Several workers: source claims with a lease, a shared pacing table; PostgreSQL
full-text search (a weighted tsvector kept by the database, with a GIN index).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

# The text search configuration: English stemming like SQLite's porter tokenizer, but
# without a stop-word list (a search for "the" or "of" finds them, as on SQLite), and
# accents folded by the unaccent dictionary where the extension may be created.
CONFIG = "tracker_text"
WORDS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"

# Title weighs most (A), then authors (B), then the abstract (C), as in SQLite's bm25.
# A generated column: the database keeps it in step with every write, like the FTS5
# triggers do on SQLite. The tags column stays out: filters use the category and field
# tables on PostgreSQL, where an index intersection is what the planner does anyway.
POSTGRESQL_SEARCH = [
    f"""ALTER TABLE items ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('{CONFIG}', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('{CONFIG}', translate(coalesce(authors, ''), E'\\x1f', ' ')), 'B') ||
        setweight(to_tsvector('{CONFIG}', coalesce(summary, '')), 'C')
    ) STORED""",
    "CREATE INDEX ix_items_search ON items USING gin (search)",
]


def _text_search_config() -> None:
    bind = op.get_bind()
    # unaccent is a trusted extension (PostgreSQL 13+): the database owner may create it.
    # Without it, accents are kept: a savepoint keeps the failure from aborting the rest.
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
        filters = "unaccent, "
    except sa.exc.DBAPIError:
        filters = ""
    op.execute(
        "CREATE TEXT SEARCH DICTIONARY tracker_stem (TEMPLATE = snowball, Language = english)"
    )
    op.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = english)")
    op.execute(
        f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR {WORDS} "
        f"WITH {filters}tracker_stem"
    )


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(64)))
        batch.add_column(sa.Column("claimed_until", TS))
    op.create_table(
        "pacing",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("next_at", TS, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        _text_search_config()
        for statement in POSTGRESQL_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_items_search")
        op.execute("ALTER TABLE items DROP COLUMN IF EXISTS search")
        op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")
        op.execute("DROP TEXT SEARCH DICTIONARY IF EXISTS tracker_stem")
    op.drop_table("pacing")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
