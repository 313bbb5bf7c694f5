"""Claims on due sources, named locks and racing digests, on every storage backend (SQLite, and
PostgreSQL when ``TRACKER_TEST_POSTGRESQL`` names a server).

Several "workers" here are several ``Storage`` objects on one database, each with its
own engine and connections, as separate processes would have; the tests that need a
process to die start a real one and SIGKILL it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.conftest import LISTING_MORNING, REPO, Clock, write_config
from tests.test_storage import BACKENDS, T0, category, database_url, feed, follow, query
from tracker.app.core import Tracker, make_tracker
from tracker.cli import main
from tracker.config import load_settings, settings_from_dict
from tracker.errors import ConfigError, StorageError
from tracker.models import FollowKind, Source, SourceKind
from tracker.storage import Storage, open_storage

LEASE = dt.timedelta(minutes=5)
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(str(request.param), tmp_path) as found:
        yield found


@pytest.fixture
def storage(url: str) -> Iterator[Storage]:
    st = open_storage(url)
    try:
        yield st
    finally:
        st.close()


def feeds(storage: Storage, count: int) -> list[int]:
    return [follow(storage, "ada", feed(f"https://blog{n}.example.org/feed")) for n in range(count)]


def ids(sources: Sequence[Source]) -> list[int]:
    return [s.id for s in sources]


# --- claims ---------------------------------------------------------------------------------


def test_two_claimers_never_get_the_same_source(storage: Storage) -> None:
    every = feeds(storage, 6)
    a = storage.claim_due_sources("worker-a", T0, LEASE, limit=2)
    b = storage.claim_due_sources("worker-b", T0, LEASE)
    assert ids(a) == every[:2]  # oldest due first, at most the limit
    assert ids(b) == every[2:]
    assert storage.claim_due_sources("worker-c", T0, LEASE) == []
    assert {s.claimed_by for s in a} == {"worker-a"}
    assert {s.claimed_until for s in a + b} == {T0 + LEASE}
    assert storage.source(every[0]).claimed_by == "worker-a"


def test_concurrent_claimers_split_the_queue(storage: Storage, url: str) -> None:
    every = set(feeds(storage, 60))
    got: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        own = open_storage(url, migrate=False)  # a connection pool of its own, as a process
        try:
            start.wait()
            mine = got.setdefault(name, [])
            while claimed := own.claim_due_sources(name, T0, LEASE, limit=3):
                mine.extend(ids(claimed))
        finally:
            own.close()

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [i for mine in got.values() for i in mine]
    assert sorted(claimed) == sorted(every)  # each source once, none left over


def test_a_lease_that_ran_out_hands_the_source_over(storage: Storage) -> None:
    [blog] = feeds(storage, 1)
    assert ids(storage.claim_due_sources("dead", T0, LEASE)) == [blog]
    assert storage.claim_due_sources("alive", T0 + LEASE - MINUTE, LEASE) == []
    taken = storage.claim_due_sources("alive", T0 + LEASE, LEASE)
    assert [(s.id, s.claimed_by, s.claimed_until) for s in taken] == [
        (blog, "alive", T0 + 2 * LEASE)
    ]


def test_success_failure_and_postponing_release_the_claim(storage: Storage) -> None:
    ok, broken, later = feeds(storage, 3)
    assert len(storage.claim_due_sources("a", T0, LEASE)) == 3
    storage.record_success([ok], T0, T0 + HOUR)
    storage.record_failure(broken, T0, "503", T0 + HOUR)
    storage.postpone([later], T0 + HOUR)
    for source_id in (ok, broken, later):
        assert storage.source(source_id).claimed_by is None
        assert storage.source(source_id).claimed_until is None
    assert storage.claim_due_sources("b", T0, LEASE) == []  # released, but not due
    assert ids(storage.claim_due_sources("b", T0 + HOUR, LEASE)) == [ok, broken, later]


def test_renewing_and_releasing_claims(storage: Storage) -> None:
    every = feeds(storage, 3)
    storage.claim_due_sources("a", T0, LEASE)
    assert storage.renew_claims("a", T0 + 2 * LEASE) == 3
    assert storage.claim_due_sources("b", T0 + LEASE, LEASE) == []  # renewed: still a's
    assert storage.release_claims("a", every[:1]) == 1
    assert ids(storage.claim_due_sources("b", T0 + LEASE, LEASE)) == every[:1]
    assert storage.release_claims("a") == 2
    assert storage.renew_claims("a", T0 + 3 * LEASE) == 0  # nothing left to renew
    assert ids(storage.claim_due_sources("b", T0 + LEASE, LEASE)) == every[1:]


def test_claims_take_followed_sources_of_the_kinds_asked(storage: Storage) -> None:
    dc = follow(storage, "ada", category("cs.DC"))
    q = follow(storage, "ada", query("ti:quantum"))
    [blog] = feeds(storage, 1)
    gone = follow(storage, "bob", feed("https://gone.example.org/feed"))
    storage.remove_follow("bob", FollowKind.FEED, "https://gone.example.org/feed")
    storage.record_success([q], T0, T0 + HOUR)
    listed = storage.claim_due_sources("a", T0, LEASE, kinds=[SourceKind.ARXIV_LISTING])
    assert ids(listed) == [dc]
    rest = storage.claim_due_sources("a", T0, LEASE)
    assert ids(rest) == [blog]  # the query is not due; nobody follows ``gone``
    everything = storage.claim_due_sources("b", T0, LEASE, everything=True)
    assert ids(everything) == [q]  # due or not, but never someone else's claim
    assert gone not in ids(storage.claim_due_sources("c", T0 + 2 * LEASE, LEASE))


def test_status_shows_who_holds_a_source(storage: Storage) -> None:
    [blog] = feeds(storage, 1)
    storage.claim_due_sources("host:42:beef", T0, LEASE)
    [status] = storage.source_statuses()
    assert (status.source.id, status.source.claimed_by) == (blog, "host:42:beef")


def test_tracker_status_shows_claims(url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")
    env = {"TRACKER_DATABASE_URL": url}
    at = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + HOUR  # both are due
    runner = CliRunner()
    assert runner.invoke(main, ["--config", str(config), "status"], env=env).exit_code == 0
    st = open_storage(url)
    try:
        [claimed, _] = st.claim_due_sources("lab-host:42:beef", at, LEASE)
    finally:
        st.close()
    shown = runner.invoke(main, ["--config", str(config), "status", "--json"], env=env)
    rows = {r["value"]: r for r in json.loads(shown.output)}
    assert rows[claimed.value]["claimed_by"] == "lab-host:42:beef"
    assert rows[claimed.value]["claimed_until"] == (at + LEASE).isoformat()
    text = runner.invoke(main, ["--config", str(config), "status"], env=env).output
    until = (at + LEASE).strftime("%Y-%m-%d %H:%M UTC")
    assert f"claimed by worker lab-host:42:beef until {until}" in text


# --- named locks ----------------------------------------------------------------------------


def test_a_named_lock_is_held_by_one_handle_at_a_time(storage: Storage, url: str) -> None:
    other = open_storage(url, migrate=False)
    first, second = storage.named_lock("scheduler"), other.named_lock("scheduler")
    unrelated = other.named_lock("arxiv")
    try:
        assert first.acquire(wait=False)
        assert first.acquire(wait=False)  # held already: still held
        assert not second.acquire(wait=False)
        assert unrelated.acquire(wait=False)  # another name, another lock
        first.release()
        assert second.acquire(wait=False)
        assert not first.acquire(wait=False)
        second.close()  # closing frees it too
        assert first.acquire(wait=False)
    finally:
        for lock in (first, second, unrelated):
            lock.close()
        other.close()


HOLDER = """
import sys, time
from tracker.storage import open_storage
lock = open_storage(sys.argv[1], migrate=False).named_lock("scheduler")
assert lock.acquire(wait=False)
print("held", flush=True)
time.sleep(60)
"""


def test_a_killed_holder_frees_the_lock(storage: Storage, url: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    lock = storage.named_lock("scheduler")
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert not lock.acquire(wait=False)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 5
        while not lock.acquire(wait=False):
            assert time.monotonic() < deadline, "the dead holder's lock was never freed"
            time.sleep(0.05)
    finally:
        lock.close()
        if holder.poll() is None:
            holder.kill()
            holder.wait()


# --- digests built by two processes at once -------------------------------------------------


def two_trackers(url: str, folder: Path) -> tuple[Tracker, Tracker]:
    config = write_config(folder, "http://127.0.0.1:9")
    settings = load_settings(config, environ={"TRACKER_DATABASE_URL": url})
    clock = Clock(LISTING_MORNING)
    return make_tracker(settings, clock=clock), make_tracker(settings, clock=clock)


def test_a_digest_raced_by_two_processes_is_recorded_once(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leader lock keeps digests in one process; should two ever race (a broken
    connection lets a second leader in before the first notices), the storage's
    one-digest-per-reader-and-day rule decides, and the loser takes the winner's."""
    first, second = two_trackers(url, tmp_path)
    try:
        looked = second.storage.stored_digest
        calls = {"n": 0}

        def stale_look(reader: str, day: dt.date) -> object:
            calls["n"] += 1  # its first look came before the other's digest was recorded
            return None if calls["n"] == 1 else looked(reader, day)

        monkeypatch.setattr(second.storage, "stored_digest", stale_look)
        won = first.build_digest("ada")
        lost = second.build_digest("ada")
        assert won.created and lost.digest == won.digest
        with first.storage.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM digests")) == 1
    finally:
        first.close()
        second.close()


def test_digests_recorded_at_the_same_moment_are_recorded_once(url: str) -> None:
    """Two processes recording the same reader's digest for the same day at once: one
    wins, the other gets a StorageError (and then takes the winner's, as above)."""
    day = LISTING_MORNING.date()
    start = threading.Barrier(2)
    results: list[str] = []

    def record() -> None:
        own = open_storage(url, migrate=False)
        try:
            start.wait()
            own.record_digest("ada", day, LISTING_MORNING, [], LISTING_MORNING)
            results.append("recorded")
        except StorageError:
            results.append("refused")
        finally:
            own.close()

    open_storage(url).close()
    threads = [threading.Thread(target=record) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["recorded", "refused"]
    check = open_storage(url, migrate=False)
    try:
        assert len(check.deliveries("ada")) == 1
    finally:
        check.close()


# --- settings -------------------------------------------------------------------------------


def test_the_lease_must_outlast_a_fetch(tmp_path: Path) -> None:
    base = {
        "tracker": {"fields_file": str(REPO / "tracker" / "fields" / "fields.toml")},
        "arxiv": {"contact_email": "tests@example.org"},
        "readers": [{"name": "ada"}],
    }
    fine = settings_from_dict(base, origin="t.toml", base_dir=tmp_path, environ={})
    assert fine.schedule.claim_lease == LEASE
    assert fine.schedule.leader_retry == dt.timedelta(seconds=30)
    short = {**base, "fetch": {"deadline": 90}, "schedule": {"claim_lease_minutes": 1.5}}
    with pytest.raises(ConfigError) as e:
        settings_from_dict(short, origin="t.toml", base_dir=tmp_path, environ={})
    assert e.value.problems == [
        "t.toml: schedule.claim_lease_minutes: must be longer than one fetch's deadline "
        "([fetch] deadline = 90 s), got 90 s"
    ]
    retry = {**base, "schedule": {"leader_retry_seconds": 0}}
    with pytest.raises(ConfigError, match="leader_retry_seconds: expected a positive number"):
        settings_from_dict(retry, origin="t.toml", base_dir=tmp_path, environ={})
