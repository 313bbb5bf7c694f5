"""Commands about research fields and the field classifier."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from tracker.app.core import report_lines
from tracker.cli.base import (
    State,
    main,
    pass_state,
)
from tracker.models import CONFIDENT

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
