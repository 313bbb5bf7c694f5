"""Commands about research fields and the field classifier. They bring the stored
fields up to date first (after an edit of the field mapping or a new model), which
other commands do not."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from tracker.app.core import MIN_SUPPORT, Tracker, report_lines
from tracker.cli.base import (
    State,
    main,
    pass_state,
)
from tracker.models import CONFIDENT

# --- fields ---------------------------------------------------------------------------------


def _synced(t: Tracker) -> Tracker:
    remapped, retagged = t.sync_fields()
    if remapped:
        click.echo(
            f"fields recomputed after the field mapping changed: {remapped:,} items", err=True
        )
    if retagged:
        click.echo(f"fields of {retagged:,} items without categories recomputed", err=True)
    return t


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
        counts = _synced(t).field_counts()
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
        ex = _synced(t).explain_fields(ref)
    item = ex.item
    click.echo(item.title)
    ident = f"arXiv:{item.arxiv_id}" if item.arxiv_id else f"#{item.id} {item.url or ''}"
    click.echo(ident.strip())
    click.echo("")
    if not item.fields:
        click.echo("no fields: no categories, the model abstained and no keyword matched")
    for tag in item.fields:
        why = {
            "category": f"from category {tag.basis}",
            "model": f"predicted by {tag.basis.split(':', 1)[0]}"
            + (f" from the words {tag.basis.split(':', 1)[1].strip()}" if ":" in tag.basis else ""),
            "keyword": f"keyword rules matched: {tag.basis}",
        }.get(tag.origin, tag.basis)
        shown = "" if tag.confidence >= CONFIDENT else "  (a hint: not in digests)"
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
    click.echo(
        f"model {ex.model.name} ({role}, from title and abstract; it gives a field from "
        f"{ex.floor:.2f} with two words of evidence, else none):"
    )
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
        report = _synced(t).train_fields(extra)
    info = report.model
    sources = ", ".join(f"{name} {n:,}" for name, n in info.sources.items())
    held = f", held-out accuracy {info.holdout_accuracy:.3f}" if info.holdout_accuracy else ""
    click.echo(
        f"trained {info.name} on {info.n_examples:,} papers ({sources}); "
        f"{len(info.labels)} fields{held}"
    )
    shown = (
        f" (held-out papers: {info.threshold_coverage:.0%} reach it, right "
        f"{info.threshold_precision:.0%})"
        if info.threshold_coverage is not None and info.threshold_precision is not None
        else ""
    )
    click.echo(f"fields shown from probability {info.threshold:.2f}{shown}; below it, none")
    click.echo(f"re-tagged {report.retagged:,} items without categories")


@fields.command("eval")
@click.option(
    "--data",
    type=click.Path(exists=True, path_type=Path),
    help="arXiv metadata JSONL, a file or a folder (default: [fields] training_data): the "
    "cold-start papers to train on, or with --model the papers to score.",
)
@click.option(
    "--stored",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Also train on these as an installation's stored papers (weighted up, priors "
    "from them); repeatable.",
)
@click.option(
    "--test",
    type=click.Path(exists=True, path_type=Path),
    help="Score on these papers (e.g. the newest day) instead of splitting --data.",
)
@click.option(
    "--model",
    metavar="VERSION|PATH",
    help="Score an existing model (a version of this installation, 'current', or a "
    "fields-v<N>.json path) instead of training one.",
)
@click.option(
    "--split",
    type=click.Choice(["time", "random"]),
    default="time",
    show_default=True,
    help="Without --test: time: the newest 20% are the test; random: a seeded shuffle.",
)
@click.option(
    "--min-support",
    type=click.IntRange(min=1),
    default=MIN_SUPPORT,
    show_default=True,
    help="Macro-F1 over the classes with at least this many test papers.",
)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def fields_eval(
    state: State,
    data: Path | None,
    stored: tuple[Path, ...],
    test: Path | None,
    model: str | None,
    split: str,
    min_support: int,
    as_json: bool,
) -> None:
    """Evaluate the classifier: accuracy, macro-F1, top-2 accuracy and F1 per field,
    for groups and Computer Science fields. By default a model is trained on the
    older 80% of the papers and tested on the newest 20%; --stored and --test play an
    installation (cold start plus its stored days, tested on a newer day); --model
    scores a model that exists."""
    with state.tracker() as t:
        ev = t.evaluate_fields(
            data, split, stored=stored, test=test, model=model, min_support=min_support
        )
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(ev), default=str, indent=2))
        return
    for line in report_lines(ev):
        click.echo(line)
