"""Scratch PostgreSQL databases for tests.

``TRACKER_TEST_POSTGRESQL`` names a server and a role that may create databases
(``bash .ci/postgres`` starts one on 127.0.0.1 and prints the URL). Each test gets a
database of its own, dropped afterwards, so runs in parallel never meet. Without the
variable the PostgreSQL variants skip, except under CI (``CI=true``), where a missing
server is a failure: CI promises both backends.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ENV = "TRACKER_TEST_POSTGRESQL"
_counter = itertools.count()


def server_url() -> str:
    """The test server's URL; skips (fails under CI) when none is configured."""
    url = os.environ.get(ENV)
    if not url:
        reason = f"set {ENV} to a PostgreSQL server for the PostgreSQL variants (bash .ci/postgres)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs every backend: {reason}")
        pytest.skip(reason)
    return url


def _admin() -> sa.Engine:
    return sa.create_engine(server_url(), isolation_level="AUTOCOMMIT")


def create_database() -> str:
    """A new empty database on the test server; returns its URL."""
    name = f"tracker_test_{os.getpid()}_{next(_counter)}"
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
    finally:
        admin.dispose()
    return make_url(server_url()).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def scratch_database() -> Iterator[str]:
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)
