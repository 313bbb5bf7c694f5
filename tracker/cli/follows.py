"""Commands about what readers follow: categories, searches, feeds and scholars."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from tracker.app.core import Tracker
from tracker.app.follows import describe_source
from tracker.cli.base import (
    State,
    _one_line,
    _output_file,
    _write_file,
    main,
    pass_state,
)
from tracker.config import ScholarFollow, check_scholar
from tracker.errors import UsageError
from tracker.models import FollowKind, Rule, RuleAction

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
@click.option("--limit", default=30, show_default=True, type=click.IntRange(min=1))
@pass_state
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
def unfollow(state: State, kind: str, value: str, reader: str | None) -> None:
    """Stop following something added with `tracker follow`.

    A follow written in the config file is removed there: the command says which file
    and key, and changes nothing."""
    with state.tracker() as t:
        t.unfollow(reader, FollowKind(kind), value)
    click.echo(f"unfollowed {kind} {value}")


@main.group(invoke_without_command=True)
@click.option("--reader")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def follows(ctx: click.Context, reader: str | None, as_json: bool) -> None:
    """List follows (import and export them as OPML).

    \b
    tracker follows                          # every reader's follows
    tracker follows import subscriptions.opml
    tracker follows export -o tracker.opml
    """
    if ctx.invoked_subcommand is not None:
        return
    state = ctx.ensure_object(State)
    with state.tracker() as t:
        rows = t.follow_summaries(reader)
        names = [t.settings.reader(reader).name] if reader else [r.name for r in t.settings.readers]
        rules = [(name, rule) for name in names for rule in t.rules(name)]
    if as_json:
        click.echo(
            json.dumps(
                [
                    dict(
                        reader=f.reader,
                        kind=f.kind.value,
                        value=f.value,
                        origin=f.origin,
                        groups=list(f.groups),
                        sources=[dict(kind=s.kind.value, value=s.value) for s in f.sources],
                    )
                    for f in rows
                ]
                + [
                    dict(
                        reader=name,
                        kind="rule",
                        id=rule.id,
                        rule=rule.describe(),
                        origin=rule.origin,
                    )
                    for name, rule in rules
                ],
                indent=2,
            )
        )
        return
    for f in rows:
        groups = f"  ({'; '.join(f.groups)})" if f.groups else ""
        click.echo(f"{f.reader:<12} {f.kind.value:<9} {f.value}  [{f.origin}]{groups}")
        if f.kind is FollowKind.SCHOLAR:  # who they are: every id and feed followed
            click.echo(f"{'':<23}" + " · ".join(describe_source(s) for s in f.sources))
    for name, rule in rules:
        click.echo(f"{name:<12} rule {rule.id:<4} {rule.describe()}  [{rule.origin}]")


@follows.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--reader", help="Reader to follow for (default: the only one).")
@click.option("--skip-invalid", is_flag=True, help="Import what can be followed, list the rest.")
@click.option("--dry-run", is_flag=True, help="Check the file and say what would change.")
@pass_state
def follows_import(
    state: State, file: Path, reader: str | None, skip_invalid: bool, dry_run: bool
) -> None:
    """Follow what an OPML file of a feed reader lists (folders become groups).

    Feeds are followed as feeds; arXiv listings, searches and author feeds as
    categories, queries and scholars. The file is checked whole first: an outline that
    cannot be followed stops the import and nothing changes (unless --skip-invalid).
    """
    try:
        data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read {file}: {e.strerror}") from e
    with state.tracker() as t:
        done = t.import_opml(reader, data, skip_invalid=skip_invalid, dry_run=dry_run)
    for problem in done.skipped:
        click.echo(f"skipped: {problem}", err=True)
    verb = "would follow" if dry_run else "now following"
    click.echo(
        f"{verb} {done.added} new, {done.known} already followed, in {done.groups} groups"
        + (f"; {len(done.skipped)} skipped" if done.skipped else "")
    )


@follows.command("export")
@click.option("--reader", help="Whose follows (default: the only reader).")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (default: standard output).")
@pass_state
def follows_export(state: State, reader: str | None, output: str | None) -> None:
    """Write follows as OPML 2.0: feeds, arXiv listings, searches and author feeds that
    any feed reader can subscribe to, and that tracker imports back as the same follows."""
    target = _output_file(output, "--output") if output else None
    with state.tracker() as t:
        data = t.export_opml(reader).decode("utf-8")
    if target is None:
        click.echo(data, nl=False)
        return
    _write_file(target, data, "--output")
    click.echo(f"wrote {target}", err=True)


# --- mute and must rules ---------------------------------------------------------------


@main.command()
@click.argument("text", required=False)
@click.option("--author", help="Mute a person (any spelling of the name).")
@click.option("--category", help="Mute papers listed in a category or archive (cs.CV, astro-ph).")
@click.option("--feed", help="Mute what a feed brings (unless another follow brings it too).")
@click.option("--search", "in_search", is_flag=True, help="Hide it from your searches too.")
@click.option("--reader")
@pass_state
def mute(
    state: State,
    text: str | None,
    author: str | None,
    category: str | None,
    feed: str | None,
    in_search: bool,
    reader: str | None,
) -> None:
    """Keep items out of your digest: a text in the search syntax, or an author,
    category or feed.

    \b
    tracker mute '"prompt engineering" OR benchmark*'
    tracker mute --author "Jane Doe"
    tracker mute --category cs.CV          # cs.CV papers cross-listed to what you follow
    tracker mute --feed https://example.org/feed.xml --search
    """
    rule = Rule(
        RuleAction.MUTE, text=text, author=author, category=category, feed=feed, search=in_search
    )
    with state.tracker() as t:
        stored = t.add_rule(reader, rule)
    click.echo(f"rule {stored.id}: {stored.describe()}")


@main.command()
@click.argument("kind", type=KINDS)
@click.argument("value")
@click.argument("text")
@click.option("--reader")
@pass_state
def must(state: State, kind: str, value: str, text: str, reader: str | None) -> None:
    """Narrow a noisy follow: what it brings must match TEXT (the search syntax).

    \b
    tracker must query diffusion 'inverse problem* OR "image restoration"'
    tracker must category cs.LG 'title:(theory OR bound*)'
    """
    rule = Rule(RuleAction.MUST, text=text, follow=(FollowKind(kind), value))
    with state.tracker() as t:
        stored = t.add_rule(reader, rule)
    click.echo(f"rule {stored.id}: {stored.describe()}")


@main.command()
@click.argument("rule_id", type=int)
@click.option("--reader")
@pass_state
def unmute(state: State, rule_id: int, reader: str | None) -> None:
    """Remove a mute or must rule (its number is in `tracker follows`)."""
    with state.tracker() as t:
        gone = t.remove_rule(reader, rule_id)
    click.echo(f"removed rule {rule_id}: {gone.describe()}")
