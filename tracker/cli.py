"""The ``tracker`` command: a thin layer over ``Tracker``.

Every command loads the config once, wires a tracker through ``make_tracker`` and
calls one method. Errors of ours become one clear line and a non-zero exit (2 for bad
config or usage, 1 for the rest); progress goes to stderr only on a terminal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from tracker import __version__
from tracker.bibtex import item_dict
from tracker.config import ScholarFollow, Settings, check_scholar, load_settings
from tracker.core import (
    Tracker,
    copy_database,
    database_status,
    make_tracker,
    upgrade_database,
)
from tracker.errors import ConfigError, TrackerError, UsageError
from tracker.fieldeval import report_lines
from tracker.models import CONFIDENT, FollowKind, Item, SearchFilters
from tracker.worker import run_forever, run_once

F = TypeVar("F", bound=Callable[..., Any])
CONFIG_CANDIDATES = ("tracker.toml", "config/tracker.toml")
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _find_config(given: str | None) -> Path:
    if given:
        return Path(given)
    env = os.environ.get("TRACKER_CONFIG")
    if env:
        return Path(env)
    for candidate in CONFIG_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise ConfigError(
        [
            "no config file: pass --config FILE, set TRACKER_CONFIG, or create tracker.toml "
            "(copy config/tracker.example.toml to start)"
        ]
    )


class State:
    def __init__(self, config: str | None, verbose: int) -> None:
        self.config = config
        self.verbose = verbose
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(_find_config(self.config))
        return self._settings

    @contextmanager
    def tracker(self) -> Iterator[Tracker]:
        tracker = make_tracker(self.settings)
        try:
            yield tracker
        finally:
            tracker.close()


def _setup_logging(verbose: int, default: str = "WARNING") -> None:
    level = {0: default, 1: "INFO"}.get(verbose, "DEBUG")
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def _errors(fn: F) -> F:
    """Turn our errors into one line on stderr and an exit code."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as e:
            click.echo("configuration errors:", err=True)
            for problem in e.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(2)
        except UsageError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        except TrackerError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper  # type: ignore[return-value]


def _progress() -> Callable[[str], None] | None:
    if not sys.stderr.isatty():
        return None
    return lambda message: click.echo(f"… {message}", err=True)


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as e:
        raise UsageError(f"{option}: expected a date YYYY-MM-DD, got {value!r}") from e


pass_state = click.make_pass_decorator(State)


@click.group()
@click.option(
    "--config",
    "config",
    metavar="FILE",
    help="Config file (default: $TRACKER_CONFIG, ./tracker.toml or ./config/tracker.toml).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__)
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: int) -> None:
    """tracker: follow arXiv, scholars and feeds; get a daily digest; search what you saved."""
    ctx.obj = State(config, verbose)
    if ctx.invoked_subcommand != "run":
        _setup_logging(verbose)


# --- config ---------------------------------------------------------------------------


@main.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("check")
@pass_state
@_errors
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
    click.echo(f"  database: {s.database_url}")
    click.echo(f"  fields:   {s.fields_file} ({len(s.field_map.fields)} fields)")
    click.echo(f"  readers:  {', '.join(r.name for r in s.readers)} ({follows} follows)")


# --- follows --------------------------------------------------------------------------

KINDS = click.Choice([k.value for k in FollowKind])


@main.command()
@click.argument("kind", type=KINDS)
@click.argument("value")
@click.option("--reader", help="Reader to follow for (default: the only one).")
@click.option("--title", help="Display name for a feed.")
@click.option("--arxiv-id", "arxiv_ids", multiple=True, help="Scholar: arXiv author id.")
@click.option("--orcid", multiple=True, help="Scholar: ORCID.")
@click.option("--openalex", multiple=True, help="Scholar: OpenAlex author id (A...).")
@click.option("--feed", "feeds", multiple=True, help="Scholar: their blog or lab feed.")
@click.option("--candidates", is_flag=True, help="Scholar: list who the name may stand for.")
@click.option("--pick", type=int, help="Scholar: follow candidate N of --candidates.")
@pass_state
@_errors
def follow(
    state: State,
    kind: str,
    value: str,
    reader: str | None,
    title: str | None,
    arxiv_ids: tuple[str, ...],
    orcid: tuple[str, ...],
    openalex: tuple[str, ...],
    feeds: tuple[str, ...],
    candidates: bool,
    pick: int | None,
) -> None:
    """Follow a category, a query, a scholar or a feed.

    \b
    tracker follow category cs.DC
    tracker follow query '"speculative decoding"'
    tracker follow scholar "Tri Dao" --orcid 0000-0000-0000-0000 --feed https://tridao.me/feed.xml
    tracker follow scholar "Tri Dao" --candidates          # who may that be?
    tracker follow scholar "Tri Dao" --candidates --pick 2 # that one
    tracker follow feed https://example.org/feed.xml --title "Lab blog"
    """
    scholar_options = arxiv_ids or orcid or openalex or feeds or candidates or pick
    if kind != "scholar" and scholar_options:
        raise UsageError(
            "--arxiv-id, --orcid, --openalex, --feed, --candidates and --pick are for scholars"
        )
    added: bool | None
    with state.tracker() as t:
        if kind != "scholar":
            added = t.follow(reader, FollowKind(kind), value, title)
        elif candidates or pick:
            added = _follow_candidate(t, reader, value, pick)
            if added is None:
                return
        else:
            scholar = scholar_from_options(state, value, arxiv_ids, orcid, openalex, feeds)
            added = t.follow_scholar(reader, scholar)
    click.echo(("now following" if added else "already following") + f" {kind} {value}")


def scholar_from_options(
    state: State,
    name: str,
    arxiv_ids: tuple[str, ...],
    orcid: tuple[str, ...],
    openalex: tuple[str, ...],
    feeds: tuple[str, ...],
) -> ScholarFollow:
    """A scholar from command-line options, checked like the config file's."""
    table: dict[str, Any] = {
        "name": name,
        "arxiv": list(arxiv_ids),
        "orcid": list(orcid),
        "openalex": list(openalex),
        "feeds": list(feeds),
    }
    return check_scholar(table, state.settings.field_map)


def _follow_candidate(t: Tracker, reader: str | None, name: str, pick: int | None) -> bool | None:
    found, authors = t.scholar_candidates(name)
    options: list[ScholarFollow] = []
    for c in found:
        options.append(
            ScholarFollow(
                name,
                variants=tuple(s for s in c.spellings if s != name),
                coauthors=c.coauthors,
                categories=c.categories,
            )
        )
        click.echo(
            f"[{len(options)}] on arXiv as {', '.join(c.spellings)}: {c.papers} papers; "
            f"with {', '.join(c.coauthors[:4]) or 'nobody'}; "
            f"in {', '.join(c.categories) or '?'}"
        )
        for title in c.titles[:2]:
            click.echo(f"      {title}")
    for a in authors:
        options.append(ScholarFollow(name, openalex=(a.id,), orcid=(a.orcid,) if a.orcid else ()))
        click.echo(
            f"[{len(options)}] OpenAlex {a.id} {a.name}: {a.works} works"
            + (f", {a.institution}" if a.institution else "")
            + (f", ORCID {a.orcid}" if a.orcid else "")
        )
    if not options:
        raise UsageError(f"nobody named {name!r} found on arXiv or OpenAlex")
    if pick is None and sys.stdin.isatty():
        pick = click.prompt("Follow which one (0 for none)", type=int, default=0)
    if not pick:
        return None
    if not 1 <= pick <= len(options):
        raise UsageError(f"--pick: choose 1 to {len(options)}")
    return t.follow_scholar(reader, options[pick - 1])


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_state
@_errors
def scholars(state: State, as_json: bool) -> None:
    """Followed scholars: their ids and feeds, items found, latest paper."""
    with state.tracker() as t:
        rows = t.scholars()
    if as_json:
        click.echo(
            json.dumps(
                [
                    dict(
                        name=r.name,
                        readers=list(r.readers),
                        sources=[
                            dict(kind=s.kind.value, value=s.value, error=s.last_error)
                            for s in r.sources
                        ],
                        by_id=r.by_id,
                        by_name=r.by_name,
                        rejected=r.rejected,
                        latest=r.latest.isoformat() if r.latest else None,
                    )
                    for r in rows
                ],
                indent=2,
            )
        )
        return
    for r in rows:
        click.echo(f"{r.name}  (followed by {', '.join(r.readers)})")
        for s in r.sources:
            click.echo(
                f"    {s.kind.value:<13} {s.value}" + (" (failing)" if s.error_count else "")
            )
        latest = f"{r.latest:%Y-%m-%d}" if r.latest else "none yet"
        click.echo(
            f"    {r.by_id} items by id or feed, {r.by_name} by name, "
            f"{r.rejected} rejected; latest {latest}"
        )


@main.group()
def scholar() -> None:
    """One followed scholar."""


@scholar.command("show")
@click.argument("name")
@click.option("--limit", default=30, show_default=True)
@pass_state
@_errors
def scholar_show(state: State, name: str, limit: int) -> None:
    """Their recent items from every source, and why each is theirs."""
    with state.tracker() as t:
        rows = t.scholar_items(name, limit)
    if not rows:
        click.echo("nothing yet")
    for item, basis, evidence, rejected in rows:
        why = (
            "REJECTED" if rejected else (f"name match: {evidence}" if basis == "name" else evidence)
        )
        click.echo(_one_line(item))
        click.echo(f"{'':<27}{why}")


@scholar.command("reject")
@click.argument("name")
@click.argument("ref")
@pass_state
@_errors
def scholar_reject(state: State, name: str, ref: str) -> None:
    """Say an item is not theirs (a namesake's): it never comes back."""
    with state.tracker() as t:
        item = t.reject(name, ref)
    click.echo(f"rejected for {name}: {item.title}")


@main.command()
@click.argument("kind", type=KINDS)
@click.argument("value")
@click.option("--reader")
@pass_state
@_errors
def unfollow(state: State, kind: str, value: str, reader: str | None) -> None:
    """Stop following something (follows from the config file come back on the next run
    unless removed there)."""
    with state.tracker() as t:
        t.unfollow(reader, FollowKind(kind), value)
    click.echo(f"unfollowed {kind} {value}")


@main.command()
@click.option("--reader")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@_errors
def follows(state: State, reader: str | None, as_json: bool) -> None:
    """List follows."""
    with state.tracker() as t:
        rows = t.follows(reader)
    if as_json:
        click.echo(
            json.dumps(
                [
                    dict(reader=f.reader, kind=f.kind.value, value=f.value, origin=f.origin)
                    for f in rows
                ],
                indent=2,
            )
        )
        return
    for f in rows:
        click.echo(f"{f.reader:<12} {f.kind.value:<9} {f.value}  [{f.origin}]")


# --- fetching and status ------------------------------------------------------------------


@main.command()
@click.option("--all", "everything", is_flag=True, help="Fetch every source, due or not.")
@pass_state
@_errors
def fetch(state: State, everything: bool) -> None:
    """Run one fetch cycle for the sources that are due."""
    with state.tracker() as t:
        report = t.fetch(everything=everything, progress=_progress())
    click.echo(
        f"checked {report.checked} sources ({report.not_modified} unchanged): "
        f"{report.new_items} new items, {report.new_sightings} new sightings, "
        f"{len(report.errors)} errors"
    )
    for error in report.errors:
        click.echo(f"  error: {error}", err=True)


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
@_errors
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
@_errors
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


# --- digests --------------------------------------------------------------------------------


@main.command()
@click.option("--reader", help="Default: every reader.")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="Local day (default: today).")
@click.option("--send", is_flag=True, help="E-mail it now (again, if it was sent before).")
@click.option(
    "--preview",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Write the e-mail's HTML and text to DIR instead of sending.",
)
@pass_state
@_errors
def digest(
    state: State, reader: str | None, day: str | None, send: bool, preview: str | None
) -> None:
    """Build a digest now and deliver it (or write an existing one again)."""
    when = _date(day, "--date")
    with state.tracker() as t:
        names = [reader] if reader else [r.name for r in t.settings.readers]
        for name in names:
            if preview:
                for path in t.preview_digest(name, when, Path(preview)):
                    click.echo(f"wrote {path}")
                continue
            outcome = t.send_digest(name, when) if send else t.build_digest(name, when)
            verb = "built" if outcome.created else "found"
            click.echo(
                f"{verb} the digest of {name} for {outcome.day} ({outcome.digest.item_count} items)"
            )
            for d in outcome.deliveries:
                where = outcome.path if d.channel == "markdown" else "e-mail"
                note = f": {d.last_error}" if d.last_error else ""
                click.echo(f"  {d.channel}: {d.state} ({where}){note}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_state
@_errors
def readers(state: State, as_json: bool) -> None:
    """Readers, their delivery settings, next digest and the latest deliveries."""
    rows: list[dict[str, Any]] = []
    with state.tracker() as t:
        for r in t.settings.readers:
            upcoming, deliveries = t.reader_status(r.name)
            rows.append(
                dict(
                    name=r.name,
                    timezone=r.timezone,
                    digest_time=r.digest_time.strftime("%H:%M"),
                    days=[WEEKDAY_NAMES[d] for d in sorted(r.days)],
                    channels=list(r.channels),
                    email=r.email,
                    next_digest=upcoming.isoformat() if upcoming else None,
                    latest=[
                        dict(
                            day=d.day.isoformat(),
                            channel=d.channel,
                            state=d.state,
                            attempts=d.attempts,
                            error=d.last_error,
                        )
                        for d in deliveries
                    ],
                )
            )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['name']}: {', '.join(row['channels'])} at {row['digest_time']} "
            f"{row['timezone']} on {', '.join(row['days'])}"
            + (f" to {row['email']}" if row["email"] else "")
        )
        click.echo(f"    next digest {row['next_digest'] or 'never'}")
        for d in row["latest"]:
            error = f" ({d['error']})" if d["error"] else ""
            click.echo(f"    {d['day']} {d['channel']}: {d['state']}{error}")


# --- search, show, save, export -------------------------------------------------------------


def _filters(
    author: str | None,
    field: str | None,
    category: str | None,
    source: str | None,
    since: str | None,
    until: str | None,
    saved_by: str | None,
) -> SearchFilters:
    return SearchFilters(
        author=author,
        field=field,
        category=category,
        source=source,
        since=_date(since, "--since"),
        until=_date(until, "--until"),
        saved_by=saved_by,
    )


def search_options(fn: F) -> F:
    for option in reversed(
        [
            click.option("--author", help="Author name (any part)."),
            click.option("--field", help='Field ("Computer Science > Systems") or group.'),
            click.option("--category", help="arXiv category (cs.DC) or archive (cs)."),
            click.option(
                "--source",
                help="Source kind (feed, arxiv_listing, arxiv_query) or part "
                "of a source's URL/title.",
            ),
            click.option("--since", metavar="YYYY-MM-DD"),
            click.option("--until", metavar="YYYY-MM-DD"),
            click.option("--saved", is_flag=True, help="Only items you saved."),
            click.option("--reader"),
        ]
    ):
        fn = option(fn)
    return fn


def _one_line(item: Item) -> str:
    ident = f"arXiv:{item.arxiv_id}" if item.arxiv_id else f"#{item.id}"
    year = (item.published or item.first_seen).year
    authors = ", ".join(item.authors[:3]) + (" et al." if len(item.authors) > 3 else "")
    return f"{ident:<22} {year} {item.title}\n{'':<27}{authors}"


@main.command()
@click.argument("text", default="")
@search_options
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
@_errors
def search(
    state: State,
    text: str,
    author: str | None,
    field: str | None,
    category: str | None,
    source: str | None,
    since: str | None,
    until: str | None,
    saved: bool,
    reader: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Search stored papers and posts.

    \b
    Words must all match; "quoted phrases"; prefix*; a OR b; -excluded;
    title:word, author:name, abstract:word.
    """
    with state.tracker() as t:
        who = t.settings.reader(reader).name if (saved or reader) else None
        hits = t.search(
            text,
            _filters(author, field, category, source, since, until, who if saved else None),
            limit=limit,
            reader=who,
        )
    if as_json:
        click.echo(
            json.dumps(
                [
                    dict(item_dict(h.item), score=h.score, snippet=h.snippet, saved=h.saved)
                    for h in hits
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not hits:
        click.echo("no results")
    for h in hits:
        click.echo(("★ " if h.saved else "") + _one_line(h.item))
        if h.snippet:
            click.echo(f"{'':<27}{h.snippet}")


@main.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@_errors
def show(state: State, ref: str, as_json: bool) -> None:
    """Show one item (arXiv id, URL or number)."""
    with state.tracker() as t:
        item = t.item(ref)
    if as_json:
        click.echo(json.dumps(item_dict(item), ensure_ascii=False, indent=2))
        return
    click.echo(item.title)
    click.echo(", ".join(item.authors))
    if item.arxiv_id:
        click.echo(f"arXiv:{item.arxiv_id}v{item.version or 1}  {item.url}  {item.pdf_url}")
    elif item.url:
        click.echo(item.url)
    if item.categories:
        click.echo("categories: " + ", ".join(item.categories))
    if item.fields:
        click.echo("fields: " + "; ".join(f"{t.field} ({t.basis})" for t in item.fields))
    when = item.published or item.first_seen
    click.echo(f"date: {when:%Y-%m-%d}")
    click.echo("")
    click.echo(item.summary)


@main.command()
@click.argument("ref")
@click.option("--reader")
@pass_state
@_errors
def save(state: State, ref: str, reader: str | None) -> None:
    """Save (star) an item."""
    with state.tracker() as t:
        item = t.save(reader, ref)
    click.echo(f"saved: {item.title}")


@main.command()
@click.argument("ref")
@click.option("--reader")
@pass_state
@_errors
def unsave(state: State, ref: str, reader: str | None) -> None:
    """Remove an item from your saved ones."""
    with state.tracker() as t:
        item = t.unsave(reader, ref)
    click.echo(f"unsaved: {item.title}")


@main.command()
@click.option(
    "--format", "fmt", type=click.Choice(["bibtex", "json"]), default="bibtex", show_default=True
)
@click.option(
    "--search", "text", metavar="TEXT", help="Export a search result instead of your saved items."
)
@search_options
@click.option("--limit", default=200, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True))
@pass_state
@_errors
def export(
    state: State,
    fmt: str,
    text: str | None,
    author: str | None,
    field: str | None,
    category: str | None,
    source: str | None,
    since: str | None,
    until: str | None,
    saved: bool,
    reader: str | None,
    limit: int,
    output: str | None,
) -> None:
    """Export saved items (or a search result) as BibTeX or JSON."""
    filters = _filters(author, field, category, source, since, until, None)
    searching = text is not None or filters != SearchFilters()
    with state.tracker() as t:
        if searching:
            who = t.settings.reader(reader).name if saved else None
            filters = _filters(author, field, category, source, since, until, who)
            items = [h.item for h in t.search(text or "", filters, limit=limit)]
        else:
            items = t.saved(reader)
        out = t.export(items, fmt)
    if output:
        Path(output).write_text(out, encoding="utf-8")
        click.echo(f"wrote {len(items)} items to {output}", err=True)
    else:
        click.echo(out, nl=False)


# --- fields ---------------------------------------------------------------------------------


def _count_line(name: str, total: int, by_origin: dict[str, int], width: int) -> str:
    detail = ", ".join(f"{origin} {n:,}" for origin, n in by_origin.items() if n)
    return f"{name:<{width}}{total:>8,}" + (f"  ({detail})" if detail else "")


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def fields(ctx: click.Context, as_json: bool) -> None:
    """Research fields: list them with item counts (and explain, train, eval)."""
    if ctx.invoked_subcommand is not None:
        return
    state = ctx.find_object(State)
    assert state is not None  # main() sets it
    _fields_list(state, as_json)


@_errors
def _fields_list(state: State, as_json: bool) -> None:
    with state.tracker() as t:
        counts = t.field_counts()
        info = t.fields.model_info()
    if as_json:
        rows = [dict(field=c.field, items=c.total, by_origin=dict(c.by_origin)) for c in counts]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if info:
        click.echo(
            f"model {info.name}, trained {info.trained_at:%Y-%m-%d} on {info.n_examples:,} "
            f"papers ({len(info.labels)} fields): tags items without categories"
        )
    else:
        click.echo(
            "no field model yet: items without categories get fields from keyword rules "
            "(tracker fields train)"
        )
    width = max((len(c.field.split(" > ", 1)[-1]) for c in counts), default=10) + 4
    group = None
    for c in counts:
        head, _, name = c.field.partition(" > ")
        if head != group:
            group = head
            members = [x for x in counts if x.field.startswith(head + " > ")]
            click.echo("")
            click.echo(f"{head}  ({sum(x.total for x in members):,} tags)")
        click.echo(_count_line("  " + name, c.total, dict(c.by_origin), width))


@fields.command("explain")
@click.argument("ref")
@pass_state
@_errors
def fields_explain(state: State, ref: str) -> None:
    """Why an item has its fields (arXiv id, URL or number)."""
    with state.tracker() as t:
        ex = t.explain_fields(ref)
    item = ex.item
    click.echo(item.title)
    ident = f"arXiv:{item.arxiv_id}" if item.arxiv_id else f"#{item.id} {item.url or ''}"
    click.echo(ident.strip())
    click.echo("")
    if not item.fields:
        click.echo("no fields: no categories, and neither the model nor a keyword rule was sure")
    for tag in item.fields:
        why = {
            "category": f"from category {tag.basis}",
            "model": f"predicted by {tag.basis.split(':', 1)[0]}"
            + (f" from the words {tag.basis.split(':', 1)[1].strip()}" if ":" in tag.basis else ""),
            "keyword": f"keyword rules matched: {tag.basis}",
        }.get(tag.origin, tag.basis)
        shown = "" if tag.confidence >= CONFIDENT else "  (not confident: not in digests)"
        click.echo(f"  {tag.field}  {tag.confidence:.2f}  {tag.origin}: {why}{shown}")
    for code, canonical, name in ex.categories:
        if code != canonical:
            click.echo(f"  ({code} is an alias of {canonical}: {name})")
    if ex.model is None:
        click.echo("")
        click.echo("no field model to ask (tracker fields train)")
        return
    role = "second opinion" if item.categories else "predictions"
    click.echo("")
    click.echo(f"model {ex.model.name} ({role}, from title and abstract):")
    for name, p in ex.predictions:
        words = ", ".join(ex.terms.get(name, ()))
        click.echo(f"  {p:.2f}  {name}" + (f"  · words: {words}" if words else ""))


@fields.command("train")
@click.option(
    "--from-jsonl",
    "extra",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Also train on arXiv metadata JSONL (a file or a folder); repeatable.",
)
@pass_state
@_errors
def fields_train(state: State, extra: tuple[Path, ...]) -> None:
    """Train a new field model from the database's arXiv papers (and training data),
    then re-tag the items without categories."""
    with state.tracker() as t:
        report = t.train_fields(extra)
    info = report.model
    sources = ", ".join(f"{name} {n:,}" for name, n in info.sources.items())
    held = f", held-out accuracy {info.holdout_accuracy:.3f}" if info.holdout_accuracy else ""
    click.echo(
        f"trained {info.name} on {info.n_examples:,} papers ({sources}); "
        f"{len(info.labels)} fields{held}"
    )
    click.echo(f"re-tagged {report.retagged:,} items without categories")


@fields.command("eval")
@click.option(
    "--data",
    type=click.Path(exists=True, path_type=Path),
    help="arXiv metadata JSONL, a file or a folder (default: [fields] training_data).",
)
@click.option(
    "--split",
    type=click.Choice(["time", "random"]),
    default="time",
    show_default=True,
    help="time: the newest 20% are the test; random: a seeded shuffle, for comparison.",
)
@click.option("--json", "as_json", is_flag=True)
@pass_state
@_errors
def fields_eval(state: State, data: Path | None, split: str, as_json: bool) -> None:
    """Evaluate the classifier: train on the older 80% of the papers, test on the
    newest 20%: accuracy and macro-F1 for groups and Computer Science fields."""
    with state.tracker() as t:
        ev = t.evaluate_fields(data, split)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(ev), default=str, indent=2))
        return
    for line in report_lines(ev):
        click.echo(line)


# --- the worker and the database ------------------------------------------------------------


@main.command()
@click.option("--once", is_flag=True, help="One fetch cycle and the due digests, then exit.")
@pass_state
@_errors
def run(state: State, once: bool) -> None:
    """Run the worker: fetch on schedule, write digests at each reader's time."""
    _setup_logging(state.verbose, default=state.settings.log_level)
    with state.tracker() as t:
        if once:
            report, outcomes = run_once(t, progress=_progress())
            click.echo(f"fetched: {report.new_items} new items, {len(report.errors)} errors")
            for o in outcomes:
                click.echo(f"digest: {o.path} ({o.digest.item_count} items)")
            return
        run_forever(t)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_state
@_errors
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
@_errors
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
@_errors
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


if __name__ == "__main__":  # pragma: no cover
    main()
