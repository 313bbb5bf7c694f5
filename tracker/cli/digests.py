"""Commands about digests and readers."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from tracker.app.core import why_lines
from tracker.cli.base import (
    WEEKDAY_NAMES,
    State,
    _date,
    _output_folder,
    main,
    pass_state,
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
@click.option(
    "--section",
    metavar="NAME",
    help='List one section of a built digest ("Top picks", a field, "More from other fields").',
)
@click.option("--all", "show_all", is_flag=True, help="With --section: every entry, not the first.")
@click.option("--weekly", is_flag=True, help='The weekly digest (readers with rhythm = "both").')
@pass_state
def digest(
    state: State,
    reader: str | None,
    day: str | None,
    send: bool,
    preview: str | None,
    section: str | None,
    show_all: bool,
    weekly: bool,
) -> None:
    """Build a digest now and deliver it (or write an existing one again)."""
    when = _date(day, "--date")
    folder = _output_folder(preview, "--preview") if preview else None
    with state.tracker() as t:
        if section is not None:
            found = t.digest_section(reader, when, section)
            limit = None if show_all else t.settings.digest.section_items
            for entry in found.entries[:limit]:
                item = entry.item
                ident = f"arXiv:{item.arxiv_id}" if item.arxiv_id else f"#{item.id}"
                score = f"{entry.score:5.1f}" if entry.score is not None else "    -"
                click.echo(f"{score}  {ident:<18} {item.title}")
                click.echo(f"{'':<26}{'; '.join(why_lines(entry))}")
            hidden = len(found.entries) - len(found.entries[:limit])
            if hidden:
                click.echo(f"… and {hidden} more (--all)")
            return
        names = [reader] if reader else [r.name for r in t.settings.readers]
        if weekly:
            for name in (
                names if reader else [r.name for r in t.settings.readers if r.rhythm == "both"]
            ):
                built, deliveries = t.build_weekly(name, when)
                verb = "built" if built.created else "found"
                count = built.digest.item_count
                click.echo(f"{verb} the weekly digest of {name} for {built.day} ({count} items)")
                for d in deliveries:
                    where = built.path if d.channel == "markdown" else "e-mail"
                    note = f": {d.last_error}" if d.last_error else ""
                    click.echo(f"  {d.channel}: {d.state} ({where}){note}")
            return
        for name in names:
            if folder:
                for path in t.preview_digest(name, when, folder):
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
            if outcome.left_to_leader and any(d.state == "pending" for d in outcome.deliveries):
                click.echo("  a running worker leads the schedule: it delivers what is pending")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_state
def readers(state: State, as_json: bool) -> None:
    """Readers, their delivery settings, next digest and the latest deliveries."""
    rows: list[dict[str, Any]] = []
    with state.tracker() as t:
        for r in t.settings.readers:
            upcoming, deliveries = t.reader_status(r.name)
            weekly_at, weekly = t.weekly_status(r.name)
            local = upcoming.astimezone(r.tz) if upcoming else None  # the reader's wall clock
            rows.append(
                dict(
                    name=r.name,
                    timezone=r.timezone,
                    digest_time=r.digest_time.strftime("%H:%M"),
                    days=[WEEKDAY_NAMES[d] for d in sorted(r.days)],
                    channels=list(r.channels),
                    email=r.email,
                    next_digest=local.isoformat() if local else None,
                    rhythm=r.rhythm,
                    next_weekly=weekly_at.astimezone(r.tz).isoformat() if weekly_at else None,
                    latest_weekly=[
                        dict(day=d.day.isoformat(), channel=d.channel, state=d.state)
                        for d in weekly
                    ],
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
        upcoming = dt.datetime.fromisoformat(row["next_digest"]) if row["next_digest"] else None
        when = f"{upcoming:%a %Y-%m-%d %H:%M} {row['timezone']}" if upcoming else "never"
        click.echo(f"    next digest {when}" + (" (weekly)" if row["rhythm"] == "weekly" else ""))
        if row["next_weekly"]:
            weekly_at = dt.datetime.fromisoformat(row["next_weekly"])
            click.echo(f"    next weekly digest {weekly_at:%a %Y-%m-%d %H:%M} {row['timezone']}")
        for d in row["latest_weekly"]:
            click.echo(f"    {d['day']} weekly {d['channel']}: {d['state']}")
        for d in row["latest"]:
            error = f" ({d['error']})" if d["error"] else ""
            click.echo(f"    {d['day']} {d['channel']}: {d['state']}{error}")
