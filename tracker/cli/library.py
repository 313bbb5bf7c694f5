"""Commands over what is stored: search, show, save, export."""

from __future__ import annotations

import json

import click

from tracker.app.core import dated_by_month, item_dict
from tracker.cli.base import (
    F,
    State,
    _date,
    _one_line,
    _output_file,
    _write_file,
    main,
    pass_state,
)
from tracker.models import SearchFilters

# --- search, show, save, export -------------------------------------------------------------


def _filters(
    author: str | None,
    field: str | None,
    category: str | None,
    source: str | None,
    since: str | None,
    until: str | None,
    saved_by: str | None,
    has_code: bool = False,
) -> SearchFilters:
    return SearchFilters(
        author=author,
        field=field,
        category=category,
        source=source,
        since=_date(since, "--since"),
        until=_date(until, "--until"),
        saved_by=saved_by,
        has_code=has_code,
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
            click.option(
                "--has-code", is_flag=True, help="Only papers that link a code repository."
            ),
            click.option("--reader"),
        ]
    ):
        fn = option(fn)
    return fn


@main.command()
@click.argument("text", default="")
@search_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@pass_state
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
    has_code: bool,
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
            _filters(
                author, field, category, source, since, until, who if saved else None, has_code
            ),
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
    if dated_by_month(item):
        click.echo(f"date: {when:%Y-%m} (the month of its arXiv id)")
    else:
        click.echo(f"date: {when:%Y-%m-%d}")
    if item.version and item.version > 1 and item.updated:
        click.echo(f"version {item.version}: {item.updated:%Y-%m-%d}")
    click.echo("")
    click.echo(item.summary)


@main.command()
@click.argument("ref")
@click.option("--reader")
@pass_state
def save(state: State, ref: str, reader: str | None) -> None:
    """Save (star) an item (arXiv id, URL or number)."""
    with state.tracker() as t:
        item = t.save(reader, ref)
    click.echo(f"saved: {item.title}")


@main.command()
@click.argument("ref")
@click.option("--reader")
@pass_state
def unsave(state: State, ref: str, reader: str | None) -> None:
    """Remove an item from your saved ones (arXiv id, URL or number)."""
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
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1))
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True))
@pass_state
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
    has_code: bool,
    reader: str | None,
    limit: int,
    output: str | None,
) -> None:
    """Export saved items (or a search result) as BibTeX or JSON."""
    target = _output_file(output, "--output") if output else None
    filters = _filters(author, field, category, source, since, until, None, has_code)
    searching = text is not None or filters != SearchFilters()
    with state.tracker() as t:
        if searching:
            who = t.settings.reader(reader).name if saved else None
            filters = _filters(author, field, category, source, since, until, who, has_code)
            items = [h.item for h in t.search(text or "", filters, limit=limit)]
        else:
            items = t.saved(reader)
        out = t.export(items, fmt)
    if target:
        _write_file(target, out, "--output")
        click.echo(f"wrote {len(items)} items to {target}", err=True)
    else:
        click.echo(out, nl=False)
