"""The worker: APScheduler triggers the same stages the CLI runs.

Nothing about what is due lives here: sources carry their next check time and
digests their day in the database, so a restart loses nothing and a missed digest is
built once when the worker comes back. The leader re-tags stored items before it
builds digests when the field mapping or the model changed. The field model carries
its training time in its manifest: the fields job looks every few hours and trains
when a week has passed (or, at the first start, when there is no model and data to
train one).

Several workers may run against one database (a lab's PostgreSQL): every one of them
fetches (claims split the due sources between them), but only the scheduler leader
builds and delivers digests and trains the field model (``app.leader``); the others
try to take the lead every ``[schedule] leader_retry_seconds``.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from tracker.app.core import CycleReport, DigestOutcome, Progress, Tracker

log = logging.getLogger(__name__)
DIGEST_CHECK = dt.timedelta(minutes=1)
STARTUP_GAP = dt.timedelta(seconds=1)
FIELDS_CHECK = dt.timedelta(hours=6)  # training itself is weekly: [fields] retrain_days


def run_once(
    tracker: Tracker, progress: Progress | None = None
) -> tuple[CycleReport, list[DigestOutcome]]:
    """One fetch cycle, then every digest that is due (a first run trains the field
    model first when training data is configured). Digests and training are left to
    the scheduler leader when another process holds the lead."""
    leading = tracker.leadership.try_lead()
    try:
        if leading:
            tracker.sync_fields()
            tracker.ensure_field_model()
        report = tracker.fetch(progress=progress)
        if not leading:
            log.info("digests left to the scheduler leader, another process")
            return report, []
        return report, tracker.deliver_due()
    finally:
        tracker.leadership.release()


def _guarded(name: str, job: Callable[[], object], stage: threading.Lock) -> Callable[[], None]:
    """A job that runs alone (one stage at a time: a digest due during a fetch waits for
    it, so the fetched items are in it) and whose failure does not stop the schedule."""

    def run() -> None:
        with stage:
            try:
                job()
            except Exception:  # the schedule must outlive any one failure
                log.exception("job failed job=%s", name)

    return run


def _leading(name: str, job: Callable[[], object], tracker: Tracker) -> Callable[[], None]:
    """A job that only the scheduler leader runs."""

    def run() -> None:
        if tracker.leadership.held:
            log.info("running job=%s as the scheduler leader", name)
            job()

    return run


def add_jobs(scheduler: BaseScheduler, tracker: Tracker, start: dt.datetime) -> None:
    """Fetch every ``schedule.fetch_every``, check for due digests every minute, and
    for a due field model training every ``FIELDS_CHECK``; one stage at a time. Every
    worker fetches; the digests and fields jobs run in the scheduler leader only, and
    every ``leader_retry`` each worker tries to lead (or checks that it still does)."""
    every = tracker.settings.schedule.fetch_every
    stage = threading.Lock()
    leadership = tracker.leadership

    def elect() -> None:
        was = leadership.held
        if leadership.try_lead() and not was:
            # taking over: the leader's jobs soon, not at their next interval
            now = dt.datetime.now(dt.UTC)
            scheduler.modify_job("digests", next_run_time=now + STARTUP_GAP)
            scheduler.modify_job("fields", next_run_time=now + 2 * STARTUP_GAP)

    scheduler.add_job(
        _guarded("fetch", tracker.fetch, stage),
        IntervalTrigger(seconds=every.total_seconds()),
        id="fetch",
        name="fetch",  # how APScheduler names it in the log
        next_run_time=start,
        max_instances=1,
        coalesce=True,
    )

    def digests() -> None:
        tracker.sync_fields()  # fields out of date after a mapping edit or a new model
        tracker.deliver_due()

    scheduler.add_job(
        _guarded("digests", _leading("digests", digests, tracker), stage),
        IntervalTrigger(seconds=DIGEST_CHECK.total_seconds()),
        id="digests",
        name="digests",
        next_run_time=start + STARTUP_GAP,  # the first fetch goes first
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        _guarded("fields", _leading("fields", tracker.retrain_fields_if_due, tracker), stage),
        IntervalTrigger(seconds=FIELDS_CHECK.total_seconds()),
        id="fields",
        name="fields",
        next_run_time=start + 2 * STARTUP_GAP,
        max_instances=1,
        coalesce=True,
    )
    # not behind the stage lock: a long fetch must not delay a takeover
    scheduler.add_job(
        _guarded("leader", elect, threading.Lock()),
        IntervalTrigger(seconds=tracker.settings.schedule.leader_retry.total_seconds()),
        id="leader",
        name="leader",
        next_run_time=start,
        max_instances=1,
        coalesce=True,
    )


def run_forever(tracker: Tracker) -> None:
    """Run the jobs until SIGINT or SIGTERM."""
    scheduler = BlockingScheduler(timezone=dt.UTC)
    add_jobs(scheduler, tracker, dt.datetime.now(dt.UTC))
    every = tracker.settings.schedule.fetch_every

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping on signal=%d", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started fetch_every=%s readers=%d", every, len(tracker.settings.readers))
    scheduler.start()
