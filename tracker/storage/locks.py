"""Named locks: held by one process of an installation at a time, and freed by the
database or the kernel when the holder dies, however it dies.

PostgreSQL: a session-level advisory lock on a connection of the lock's own, outside
any transaction. It lasts until it is released or its connection closes, and the
server closes the connection as soon as the holding process is gone (a SIGKILL
included), so a dead holder never blocks the others for long.
SQLite: ``flock`` on a file beside the database (``<database>.<name>.lock``), freed by
the kernel with the process. An in-memory database has one process: the lock always
succeeds there.

Used by the scheduler leader (one process runs digests) and by arXiv's pacing (one
request at a time across every worker). Not for use from several threads at once:
each user keeps its own in-process lock in front.
"""

from __future__ import annotations

import os
import threading
import zlib
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from tracker.errors import StorageError
from tracker.storage.base import StorageBase, reason

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: in-process locks only
    fcntl = None  # type: ignore[assignment]

LOCK_SPACE = 0x747263  # first key of tracker's advisory locks ("trc"); the name gives the second
KEEPALIVES = (
    ("tcp_keepalives_idle", 30),
    ("tcp_keepalives_interval", 10),
    ("tcp_keepalives_count", 3),
)


class NamedLock:
    """A lock that always succeeds (one process only); the base of the real ones."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._held = False
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self, wait: bool = True) -> bool:
        """Take the lock, waiting for it (``wait``) or not; True when held after."""
        with self._mutex:
            self._held = True
            return True

    def release(self) -> None:
        with self._mutex:
            self._held = False

    def close(self) -> None:
        self.release()


class AdvisoryLock(NamedLock):
    """PostgreSQL's session-level advisory lock on a connection of its own."""

    def __init__(self, engine: Engine, name: str) -> None:
        super().__init__(name)
        self._engine = engine
        crc = zlib.crc32(name.encode())
        self._params = {"space": LOCK_SPACE, "key": crc - (1 << 32) if crc >= 1 << 31 else crc}
        self._conn: Connection | None = None

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            # A holder whose machine vanishes (power, network) sends no FIN: have the
            # server probe this connection's socket, so the lock is freed in about a
            # minute rather than after the system's default of two hours.
            for setting, value in KEEPALIVES:
                conn.execute(text(f"SET {setting} = {value}"))
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        """Forget the connection (and with it the lock, which the server frees)."""
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except SQLAlchemyError:
                pass

    def _alive(self) -> bool:
        try:
            self._connection().execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def acquire(self, wait: bool = True) -> bool:
        with self._mutex:
            if self._held:
                if self._alive():
                    return True
                self._drop()  # the connection broke: the lock went with it
            call = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
            for attempt in (1, 2):  # a connection kept idle may have gone away: retry once
                try:
                    got = self._connection().execute(
                        text(f"SELECT {call}(:space, :key)"), self._params
                    )
                    self._held = wait or bool(got.scalar())
                    return self._held
                except SQLAlchemyError as e:
                    self._drop()
                    if attempt == 2:
                        raise StorageError(f"cannot take the lock {self.name}: {reason(e)}") from e
            raise AssertionError("unreachable")

    def release(self) -> None:
        with self._mutex:
            if not self._held:
                return
            try:
                self._connection().execute(
                    text("SELECT pg_advisory_unlock(:space, :key)"), self._params
                )
                self._held = False
            except SQLAlchemyError:
                self._drop()

    def close(self) -> None:
        self.release()
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class FileLock(NamedLock):
    """``flock`` on a lock file (SQLite: every process is on this machine)."""

    def __init__(self, path: Path, name: str) -> None:
        super().__init__(name)
        self.path = path
        self._fd: int | None = None

    def acquire(self, wait: bool = True) -> bool:
        with self._mutex:
            if self._fd is not None:
                return True
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise StorageError(f"cannot open the lock file {self.path}: {e}") from e
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            except OSError as e:
                os.close(fd)
                raise StorageError(f"cannot lock {self.path}: {e}") from e
            self._fd = fd
            self._held = True
            return True

    def release(self) -> None:
        with self._mutex:
            fd, self._fd, self._held = self._fd, None, False
            if fd is not None:
                os.close(fd)  # closing the only descriptor drops the flock


class LocksMixin(StorageBase):
    def named_lock(self, name: str) -> NamedLock:
        """A new handle on the installation-wide lock ``name`` (not yet taken)."""
        if self.dialect == "postgresql":
            return AdvisoryLock(self.engine, name)
        database = self.engine.url.database
        if fcntl is None or not database or database == ":memory:":
            return NamedLock(name)
        path = Path(database).expanduser()
        return FileLock(path.with_name(f"{path.name}.{name}.lock"), name)
