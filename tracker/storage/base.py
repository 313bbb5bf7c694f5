"""The database connection, transactions and migrations shared by the storage mixins.

SQLite runs in WAL mode with foreign keys on; write transactions start with
``BEGIN IMMEDIATE`` so that two writers queue on the lock instead of failing half-way.
SQLAlchemy stays inside this package: callers get model objects, never rows.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.sql.dml import Insert

from tracker.errors import StorageError, UsageError
from tracker.storage import schema

log = logging.getLogger(__name__)
HEAD_REVISION = "searchtail_1"
MAX_REASON = 160  # characters of a database error in a message


def reason(e: BaseException) -> str:
    """A database error in one short line for messages that are stored and shown
    (``tracker status``): the driver's error class and its own first line, never the
    statement, its parameters or a DETAIL line with row values. The statement (never
    its parameters) goes to the debug log."""
    orig = getattr(e, "orig", None)
    cause = orig if isinstance(orig, BaseException) else e
    lines = str(cause).split("[SQL:", 1)[0].strip().splitlines()
    first = lines[0].strip() if lines else ""
    message = f"{type(cause).__name__}: {first}" if first else type(cause).__name__
    statement = getattr(e, "statement", None)
    if statement:
        log.debug("database error %s statement=%.500s", message, " ".join(str(statement).split()))
    return message if len(message) <= MAX_REASON else message[: MAX_REASON - 1] + "…"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is unreliable).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get("tracker_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def shown(url: str | URL) -> str:
    """A database URL fit for messages and logs: the password hidden, also in a URL
    that cannot be parsed."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return _PASSWORD.sub(r"\1***@", str(url))
    return parsed.render_as_string(hide_password=True)


_PASSWORD = re.compile(r"^([^:/?#]*://[^:/?#@]*:)[^@]*@")


def read_database_url(url: str) -> URL:
    """A parsed database URL, or a UsageError that shows it without its password."""
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a port that is not a number fails here, not later
    except (ArgumentError, ValueError) as e:
        raise UsageError(
            f"not a database URL: {shown(url)!r} (expected sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE, the port a number)"
        ) from e
    return parsed


def make_engine(url: str) -> Engine:
    parsed = read_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
    # Times cross the wire as UTC whatever the server's default zone (date bounds in
    # search are written as UTC text).
    return create_engine(parsed, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"})


class StorageBase:
    """Engine, transactions, migrations and small helpers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except SQLAlchemyError as e:
            raise StorageError(f"database read failed: {reason(e)}") from e

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with (
                self.engine.connect().execution_options(tracker_write=True) as conn,
                conn.begin(),
            ):
                yield conn
        except SQLAlchemyError as e:
            raise StorageError(f"database write failed: {reason(e)}") from e

    def _insert_ignore(self, table: Table) -> Insert:
        """INSERT that skips rows conflicting with a unique constraint."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects import postgresql  # imported only when used: it is slow

            return postgresql.insert(table).on_conflict_do_nothing()
        return sqlite.insert(table).on_conflict_do_nothing()

    # --- migrations ---------------------------------------------------------------

    def revision(self) -> str | None:
        with self._read() as conn:
            try:
                row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            except SQLAlchemyError:
                return None
        return row[0] if row else None

    def migrate(self) -> bool:
        """Bring the schema to the latest revision; True when anything was applied."""
        if self.revision() == HEAD_REVISION:
            return False
        from alembic import command
        from alembic.config import Config

        logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are noise here
        cfg = Config()
        cfg.set_main_option("script_location", "tracker.storage:migrations")
        try:
            # Several workers may start at once: the first migrates while the others
            # wait (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-level advisory
            # lock), then find the schema at head and do nothing.
            with (
                self.engine.connect().execution_options(tracker_write=True) as conn,
                conn.begin(),
            ):
                if self.dialect == "postgresql":  # key: tracker's lock space (locks.py), 0
                    conn.execute(text("SELECT pg_advisory_xact_lock(7631459, 0)"))
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except SQLAlchemyError as e:
            raise StorageError(f"database migration failed: {reason(e)}") from e
        log.info("database migrated to=%s", HEAD_REVISION)
        return True

    def check_integrity(self) -> list[str]:
        """Problems the database reports about itself (empty when healthy)."""
        if self.dialect != "sqlite":
            return []
        with self._read() as conn:
            rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
            try:
                fts = conn.exec_driver_sql(
                    "INSERT INTO items_fts(items_fts, rank) VALUES('integrity-check', 1)"
                )
                fts.close()
            except DBAPIError as e:
                # FTS5 answers a mismatch with an error (SQLITE_CORRUPT_VTAB): a problem
                # to report, not a failure of the check.
                rows.append(f"full-text index items_fts does not match items ({e.orig})")
        return [r for r in rows if r != "ok"]

    def close(self) -> None:
        self.engine.dispose()

    # --- small key/value store ------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._read() as conn:
            return conn.scalar(select(schema.meta.c.value).where(schema.meta.c.key == key))

    def set_meta(self, key: str, value: str) -> None:
        m = schema.meta
        # an upsert: two workers starting together may both set the same key
        if self.dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            pg = postgresql.insert(m).values(key=key, value=value)
            upsert: Any = pg.on_conflict_do_update(index_elements=[m.c.key], set_={"value": value})
        else:
            lite = sqlite.insert(m).values(key=key, value=value)
            upsert = lite.on_conflict_do_update(index_elements=[m.c.key], set_={"value": value})
        with self._write() as conn:
            conn.execute(upsert)


SEPARATOR = "\x1f"  # ASCII unit separator: never in a name or a code; FTS5 splits on it


def dumps(values: Sequence[str]) -> str:
    """A list of names or codes as one column value (cheaper to read back than JSON)."""
    return SEPARATOR.join(v.replace(SEPARATOR, " ") for v in values)


def loads(text_value: str | None) -> tuple[str, ...]:
    return tuple(text_value.split(SEPARATOR)) if text_value else ()
