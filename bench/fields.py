"""Fields: the field classifier's time-split evaluation on the recorded arXiv metadata
(``$TRACKER_FIXTURES/arxiv-metadata``, else ``../shared/fixtures/arxiv-metadata``):
accuracy and macro-F1 for groups and for Computer Science fields, and training time.
``small`` evaluates every 8th paper; ``medium`` and ``large`` all of them."""

from __future__ import annotations

import datetime as dt
import os
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tracker.fields.evaluate import evaluate, report_lines
from tracker.fields.mapping import FieldMap
from tracker.fields.model import Example, FieldModel, train
from tracker.fields.model import examples_from_papers as examples
from tracker.fields.store import read_arxiv_metadata

REPO = Path(__file__).resolve().parents[1]
TRAINED_AT = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)  # recorded in the model only


def data_dir() -> Path:
    root = os.environ.get("TRACKER_FIXTURES")
    return (Path(root) if root else REPO.parent / "shared" / "fixtures") / "arxiv-metadata"


def run(every: int, split: str = "time") -> dict[str, Any]:
    folder = data_dir()
    if not folder.is_dir():
        return {"skipped": f"no recorded arXiv metadata at {folder}"}
    with (REPO / "tracker" / "fields" / "fields.toml").open("rb") as f:
        fmap = FieldMap.from_dict(tomllib.load(f), "tracker/fields/fields.toml")
    found = examples(read_arxiv_metadata(folder), fmap.field_of, fmap.fields)[::every]
    started = time.perf_counter()

    def fit(older: Sequence[Example]) -> FieldModel:
        return train(older, fmap.keywords, trained_at=TRAINED_AT)

    ev = evaluate(fit, found, split=split)
    seconds = time.perf_counter() - started
    for line in report_lines(ev):
        print(line)
    return {
        "split": split,
        "papers": len(found),
        "train": ev.n_train,
        "test": ev.n_test,
        "groups accuracy": ev.groups.accuracy,
        "groups macro-F1": ev.groups.macro_f1,
        "CS fields accuracy": ev.focus.accuracy,
        "CS fields macro-F1": ev.focus.macro_f1,
        "CS fields macro-F1, group given": ev.focus_given_group.macro_f1,
        "train and test s": round(seconds, 1),
    }
