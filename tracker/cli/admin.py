"""Commands that run and look after the installation: config check, fetch, backfill,
status, the worker, the database."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from tracker.app.core import CycleReport
from tracker.app.dbadmin import copy_database, database_status, shown_url, upgrade_database
from tracker.cli.base import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    State,
    _date,
    _progress,
    _setup_logging,
    main,
    pass_state,
)
from tracker.config import json_schema_text, notices
from tracker.errors import TrackerError
from tracker.worker import run_forever, run_once

# --- config ---------------------------------------------------------------------------


@main.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("check")
@pass_state
def config_check(state: State) -> None:
    """Validate the config file and report every problem."""
    s = state.settings
    follows = sum(
        len(r.follows.categories)
        + len(r.follows.queries)
        + len(r.follows.scholars)
        + len(r.follows.feeds)
        for r in s.readers
    )
    click.echo(f"{s.path}: OK")
    click.echo(f"  database: {shown_url(s.database_url)}")
    click.echo(f"  fields:   {s.fields_file} ({len(s.field_map.fields)} fields)")
    # a digest in another language than English says so: "wei (zh)"
    names = ", ".join(
        r.name + (f" ({r.language})" if r.language != "en" else "") for r in s.readers
    )
    click.echo(f"  readers:  {names} ({follows} follows)")
    admins = ", ".join(s.web.admins) or "none"
    click.echo(f"  web:      {s.web.host}:{s.web.port}, sign-in {s.web.auth}, admins {admins}")
    for notice in notices(s):
        click.echo(f"warning: {notice}")


@config.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of the config file, for editors that check TOML (the same
    as config/tracker.schema.json)."""
    click.echo(json_schema_text(), nl=False)


# --- fetching and status ------------------------------------------------------------------


@main.command()
@click.option("--all", "everything", is_flag=True, help="Fetch every source, due or not.")
@pass_state
def fetch(state: State, everything: bool) -> None:
    """Run one fetch cycle for the sources that are due."""
    with state.tracker() as t:
        report = t.fetch(everything=everything, progress=_progress())
    sys.exit(_report_fetch(report))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _report_fetch(report: CycleReport) -> int:
    """Print what a fetch cycle did; return the exit code it calls for (see EXIT_*)."""
    if not report.tried:
        click.echo(
            f"nothing was due (tracker fetch --all fetches every source): "
            f"{_plural(report.new_items, 'new item')}"
        )
    else:
        fetched = report.tried - report.failed
        click.echo(
            f"tried {_plural(report.tried, 'source')}: {fetched} fetched"
            + (f" ({report.not_modified} unchanged)" if fetched else "")
            + f", {report.failed} failed; {_plural(report.new_items, 'new item')}, "
            f"{_plural(report.new_sightings, 'new sighting')}"
        )
    for error in report.errors:
        click.echo(f"  error: {error}", err=True)
    if report.all_failed:
        click.echo(
            "error: every source failed: nothing could be fetched (see tracker status)", err=True
        )
        return EXIT_FAILED
    return EXIT_PARTIAL if report.failed else EXIT_OK


@main.command()
@click.option(
    "--set", "set_spec", required=True, metavar="SET", help="OAI set: cs, math, physics:hep-th, …"
)
@click.option(
    "--from",
    "since",
    required=True,
    metavar="YYYY-MM-DD",
    help="Records added or changed on or after this day (their OAI datestamp).",
)
@click.option("--until", metavar="YYYY-MM-DD", help="… and on or before this day.")
@click.option(
    "--prefix",
    default="arXiv",
    show_default=True,
    help="Metadata format: arXiv, or arXivRaw (with every version's date).",
)
@pass_state
def backfill(state: State, set_spec: str, since: str, until: str | None, prefix: str) -> None:
    """Harvest a set's arXiv metadata through OAI-PMH (resumable: run it again)."""
    start, end = _date(since, "--from"), _date(until, "--until")
    with state.tracker() as t:
        report = t.backfill(
            set_spec,
            since=start,
            until=end,
            prefix=prefix,
            progress=lambda message: click.echo(f"… {message}", err=True),
        )
    c = report.counts
    how = " (resumed)" if report.resumed else " (restarted: the saved token had expired)"
    how = how if report.resumed or report.restarted else ""
    if report.nothing_matched and not c.records:
        click.echo(f"no records match: nothing to harvest{how}")
    else:
        click.echo(
            f"harvested {c.records} records in {c.pages} pages{how}: {c.new} new, "
            f"{c.updated} updated, {c.unchanged} unchanged, {c.deleted} deleted upstream "
            f"({c.deleted_stored} of them stored here, kept), {c.skipped} skipped"
        )
    if report.last_completed:
        click.echo(f"this harvest had completed before: {_when(report.last_completed)}")


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_state
def status(state: State, as_json: bool) -> None:
    """Each source: last success, last error, next check, items."""
    with state.tracker() as t:
        rows = t.status()
        failing_after = t.settings.fetch.failing_after
    if as_json:
        click.echo(
            json.dumps(
                [
                    dict(
                        kind=r.source.kind.value,
                        value=r.source.value,
                        title=r.source.title,
                        last_success=r.source.last_success.isoformat()
                        if r.source.last_success
                        else None,
                        last_error=r.source.last_error,
                        error_count=r.source.error_count,
                        failing=r.source.error_count >= failing_after,
                        next_check=r.source.next_check.isoformat(),
                        items=r.item_count,
                        readers=list(r.followers),
                        unseen_listing_days=[d.isoformat() for d in r.unseen_days],
                        claimed_by=r.source.claimed_by,
                        claimed_until=r.source.claimed_until.isoformat()
                        if r.source.claimed_until
                        else None,
                    )
                    for r in rows
                ],
                indent=2,
            )
        )
        return
    for r in rows:
        s = r.source
        if s.error_count >= failing_after:
            health = f"FAILING ({s.error_count} errors in a row): {s.last_error}"
        elif s.error_count:
            health = f"retrying after an error: {s.last_error}"
        else:
            health = "ok"
        click.echo(f"{s.kind.value:<13} {s.title or s.value}")
        click.echo(
            f"    items {r.item_count} · last success {_when(s.last_success)} · "
            f"next {_when(s.next_check)} · {health}"
        )
        if s.claimed_by:  # several workers share the queue: this one is fetching it
            click.echo(f"    claimed by worker {s.claimed_by} until {_when(s.claimed_until)}")
        if len(r.unseen_days) > 1:  # the latest one is simply not fetched yet
            days = ", ".join(d.isoformat() for d in r.unseen_days[:-1])
            click.echo(
                f"    gap: listings of {days} not seen; caught up through the API "
                "at the next success"
            )


# --- the worker and the database ------------------------------------------------------------


@main.command()
@click.option("--once", is_flag=True, help="One fetch cycle and the due digests, then exit.")
@pass_state
def run(state: State, once: bool) -> None:
    """Run the worker: fetch on schedule, write digests at each reader's time."""
    _setup_logging(state.verbose, default=state.settings.log_level)
    with state.tracker() as t:
        if once:
            report, outcomes = run_once(t, progress=_progress())
            code = _report_fetch(report)
            for o in outcomes:
                click.echo(f"digest: {o.path} ({o.digest.item_count} items)")
            sys.exit(code)
        run_forever(t)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: State) -> None:
    """Bring the configured database to the latest migration (the worker also does
    this when it starts)."""
    before, after, problems = upgrade_database(state.settings)
    if before == after:
        click.echo(f"database already up to date (revision {after})")
    elif before is None:
        click.echo(f"database created at revision {after}")
    else:
        click.echo(f"database upgraded from revision {before} to {after}")
    if problems:
        raise TrackerError("integrity check failed: " + "; ".join(problems))


@db.command("status")
@pass_state
def db_status(state: State) -> None:
    """The configured database: backend, revision and item count."""
    s = database_status(state.settings)
    click.echo(f"database: {s.url}")
    click.echo(f"backend:  {s.backend}")
    if s.revision is None:
        click.echo(f"revision: none yet (tracker db upgrade creates revision {s.latest})")
        return
    behind = "" if s.revision == s.latest else f" ({s.latest} available: tracker db upgrade)"
    click.echo(f"revision: {s.revision}{behind}")
    click.echo(f"items:    {s.items or 0:,}")


@db.command("copy")
@click.option("--to", "target", required=True, metavar="URL", help="The database to copy into.")
@click.option(
    "--replace", is_flag=True, help="Delete what the target holds first (in the same transaction)."
)
@pass_state
def db_copy(state: State, target: str, replace: bool) -> None:
    """Copy the whole configured database into another one, e.g. from SQLite into a
    lab's PostgreSQL; ids are kept, so history, saved marks and digests carry over.

    \b
    tracker db copy --to postgresql://tracker:SECRET@db.example.org/tracker
    """
    report = copy_database(state.settings, target, replace=replace, progress=_progress())
    width = max(len(t.table) for t in report.tables) + 2
    click.echo(f"{'table':<{width}}{'source':>12}{'target':>12}")
    for t in report.tables:
        click.echo(f"{t.table:<{width}}{t.source_rows:>12,}{t.target_rows:>12,}")
    replaced = f", after deleting {report.replaced:,} rows it held" if report.replaced else ""
    click.echo(
        f"copied {report.rows:,} rows from {report.source} to {report.target} "
        f"(revision {report.revision}){replaced}; every table's count matches"
    )
