"""The worker: APScheduler triggers the same stages the CLI runs.

Nothing about what is due lives here: sources carry their next check time and
digests their day in the database, so a restart loses nothing and a missed digest is
built once when the worker comes back. The field model carries its training time in
its manifest: the fields job looks every few hours and trains when a week has passed
(or, at the first start, when there is no model and data to train one).
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

from tracker.core import Tracker
from tracker.digesting import DigestOutcome
from tracker.ingest import CycleReport, Progress

log = logging.getLogger(__name__)
DIGEST_CHECK = dt.timedelta(minutes=1)
STARTUP_GAP = dt.timedelta(seconds=1)
FIELDS_CHECK = dt.timedelta(hours=6)  # training itself is weekly: [fields] retrain_days


def run_once(
    tracker: Tracker, progress: Progress | None = None
) -> tuple[CycleReport, list[DigestOutcome]]:
    """One fetch cycle, then every digest that is due (a first run trains the field
    model first when training data is configured)."""
    tracker.ensure_field_model()
    report = tracker.fetch(progress=progress)
    return report, tracker.deliver_due()


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


def add_jobs(scheduler: BaseScheduler, tracker: Tracker, start: dt.datetime) -> None:
    """Fetch every ``schedule.fetch_every``, check for due digests every minute, and
    for a due field model training every ``FIELDS_CHECK``; one stage at a time."""
    every = tracker.settings.schedule.fetch_every
    stage = threading.Lock()
    scheduler.add_job(
        _guarded("fetch", tracker.fetch, stage),
        IntervalTrigger(seconds=every.total_seconds()),
        id="fetch",
        next_run_time=start,
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        _guarded("digests", tracker.deliver_due, stage),
        IntervalTrigger(seconds=DIGEST_CHECK.total_seconds()),
        id="digests",
        next_run_time=start + STARTUP_GAP,  # the first fetch goes first
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        _guarded("fields", tracker.retrain_fields_if_due, stage),
        IntervalTrigger(seconds=FIELDS_CHECK.total_seconds()),
        id="fields",
        next_run_time=start + 2 * STARTUP_GAP,
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
