"""Commands about what a reader reads: rating items, importing a reference library."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.app.core import LIBRARY_FORMATS
from tracker.cli.base import State, _one_line, main, pass_state


@main.command()
@click.argument("ref")
@click.argument("rating", type=click.Choice(["up", "down", "none"]))
@click.option("--reader")
@pass_state
def rate(state: State, ref: str, rating: str, reader: str | None) -> None:
    """Rate an item up or down (none: forget the rating); your ranking learns from it."""
    with state.tracker() as t:
        item = t.rate(reader, ref, rating)
    verb = {"up": "rated up", "down": "rated down", "none": "rating removed"}[rating]
    click.echo(f"{verb}: {item.title}")


@main.group()
def library() -> None:
    """Your reference library (imported from Zotero and other reference managers)."""


@library.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reader")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(LIBRARY_FORMATS),
    help="Default: from the file's name or content.",
)
@pass_state
def import_(state: State, file: Path, reader: str | None, fmt: str | None) -> None:
    """Import a BibTeX (.bib), CSL JSON (.json) or RIS (.ris) export of your library.

    Entries are matched to stored papers by arXiv id, DOI or title; the others are
    kept with their own title and abstract. Your ranking learns from all of them.
    Importing the same file again adds nothing.
    """
    with state.tracker() as t:
        report = t.import_library(reader, file, fmt)
    r = report.result
    click.echo(
        f"{file}: {r.entries} entries ({report.format}): {r.matched} matched to stored papers, "
        f"{r.unmatched} kept as texts; {r.new} new"
    )
    if r.skipped or report.unreadable:
        click.echo(
            f"  left out: {r.skipped} without a title or identifier, "
            f"{report.unreadable} the parser could not read",
            err=True,
        )


@library.command("show")
@click.option("--reader")
@click.option("--limit", default=50, show_default=True)
@pass_state
def show_library(state: State, reader: str | None, limit: int) -> None:
    """The entries of your imported library, and the stored papers they matched."""
    with state.tracker() as t:
        entries = t.library(reader)
    matched = sum(1 for e in entries if e.item is not None)
    click.echo(f"{len(entries)} entries, {matched} matched to stored papers")
    for e in entries[:limit]:
        if e.item is not None:
            click.echo(_one_line(e.item))
        else:
            r = e.record
            ident = f"arXiv:{r.arxiv_id}" if r.arxiv_id else (f"doi:{r.doi}" if r.doi else "-")
            click.echo(f"{ident:<22} {r.year or '':<4} {r.title}  (not stored)")


@library.command("forget")
@click.option("--reader")
@click.confirmation_option(prompt="Remove your whole imported library?")
@pass_state
def forget_library(state: State, reader: str | None) -> None:
    """Remove your imported library (to import a new export from scratch)."""
    with state.tracker() as t:
        count = t.forget_library(reader)
    click.echo(f"removed {count} library entries")
