"""How well the field classifier does: a time split, accuracy, macro-F1, confusions.

The split is by time, as the model is used: examples ordered by submission date (then
id), the oldest share trains, the newest is the test. A seeded random split of the
same papers is there for comparison (how much of the gap is the shift in time). The
truth is the field of a paper's primary category. Scores are given for

- groups ("Computer Science", "Physics", ...): the group with the highest summed
  probability of its fields;
- fields: the most likely field;
- fields of one group (Computer Science by default), on the test papers of that
  group: end to end (any field may be predicted), and given the group (the most
  likely field of that group);
- "any of its fields": how often the most likely field is the field of one of the
  paper's categories, cross-lists included (how tagging uses it).

Pure: no I/O, no clock; the model is trained by the caller's ``train`` function.
scikit-learn's metrics are imported when used (importing them takes seconds).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tracker.fields.model import Example, FieldModel, text_of

FOCUS_GROUP = "Computer Science"
_NO_DAY = dt.date.min


@dataclass(frozen=True, slots=True)
class Scores:
    n: int
    accuracy: float
    macro_f1: float
    labels: int  # how many classes the macro average is over


@dataclass(frozen=True, slots=True)
class Evaluation:
    split: str  # "time" or "random"
    n_train: int
    n_test: int
    train_days: tuple[dt.date | None, dt.date | None]
    test_days: tuple[dt.date | None, dt.date | None]
    groups: Scores
    fields: Scores
    focus_group: str
    focus: Scores  # fields of the focus group, end to end
    focus_given_group: Scores  # fields of the focus group, the group being known
    any_field_accuracy: float
    field_confusions: tuple[tuple[str, str, int], ...]  # (truth, predicted, count)
    group_confusions: tuple[tuple[str, str, int], ...]
    per_group_f1: tuple[tuple[str, float, int], ...]  # (group, F1, test papers)
    unknown_test_labels: tuple[tuple[str, int], ...]  # test fields the model never saw


def group_of(name: str) -> str:
    return name.split(" > ", 1)[0]


def time_split(
    examples: Sequence[Example], test_share: float = 0.2
) -> tuple[list[Example], list[Example]]:
    """Oldest ``1 - test_share`` for training, the newest for testing."""
    ordered = sorted(examples, key=lambda e: (e.day or _NO_DAY, e.key))
    cut = round(len(ordered) * (1 - test_share))
    return ordered[:cut], ordered[cut:]


def _scores(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> Scores:
    from sklearn.metrics import accuracy_score, f1_score

    if not truth:
        return Scores(0, 0.0, 0.0, 0)
    return Scores(
        n=len(truth),
        accuracy=round(float(accuracy_score(truth, predicted)), 4),
        macro_f1=round(
            float(
                f1_score(truth, predicted, labels=list(labels), average="macro", zero_division=0)
            ),
            4,
        ),
        labels=len(labels),
    )


def _span(examples: Sequence[Example]) -> tuple[dt.date | None, dt.date | None]:
    days = [e.day for e in examples if e.day]
    return (min(days), max(days)) if days else (None, None)


def random_split(
    examples: Sequence[Example], test_share: float = 0.2, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """A seeded shuffle: the same data without the shift in time, for comparison."""
    ordered = sorted(examples, key=lambda e: e.key)
    order = np.random.RandomState(seed).permutation(len(ordered))
    cut = round(len(ordered) * (1 - test_share))
    return [ordered[n] for n in order[:cut]], [ordered[n] for n in order[cut:]]


def evaluate(
    train: Callable[[Sequence[Example]], FieldModel],
    examples: Sequence[Example],
    *,
    split: str = "time",
    test_share: float = 0.2,
    focus_group: str = FOCUS_GROUP,
    confusions: int = 10,
) -> Evaluation:
    """Train on the older examples with ``train`` and score on the newer ones."""
    from sklearn.metrics import f1_score

    if split not in ("time", "random"):
        raise ValueError(f"unknown split {split!r}")
    splitter = time_split if split == "time" else random_split
    older, newer = splitter(examples, test_share)
    model = train(older)
    probs = model.probabilities([text_of(e.title, e.summary) for e in newer])
    labels = list(model.labels)
    groups = sorted({group_of(name) for name in labels})
    # the group's probability is the sum of its fields'
    membership = np.array([[group_of(name) == g for g in groups] for name in labels], dtype=float)
    group_probs = probs @ membership
    truth = [e.fields[0] for e in newer]
    predicted = [labels[n] for n in probs.argmax(axis=1)]
    truth_groups = [group_of(t) for t in truth]
    predicted_groups = [groups[n] for n in group_probs.argmax(axis=1)]

    in_focus = [n for n, t in enumerate(truth) if group_of(t) == focus_group]
    focus_labels = sorted({truth[n] for n in in_focus})
    focus_columns = [k for k, name in enumerate(labels) if group_of(name) == focus_group]
    given: list[str] = []
    if focus_columns:
        best = probs[np.ix_(in_focus, focus_columns)].argmax(axis=1) if in_focus else []
        given = [labels[focus_columns[int(k)]] for k in best]
    known = set(labels)
    unknown = Counter(t for t in truth if t not in known)
    wrong = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    wrong_groups = Counter(
        (t, p) for t, p in zip(truth_groups, predicted_groups, strict=True) if t != p
    )
    per_group = f1_score(
        truth_groups, predicted_groups, labels=groups, average=None, zero_division=0
    )
    group_counts = Counter(truth_groups)
    return Evaluation(
        split=split,
        n_train=len(older),
        n_test=len(newer),
        train_days=_span(older),
        test_days=_span(newer),
        groups=_scores(truth_groups, predicted_groups, sorted(set(truth_groups))),
        fields=_scores(truth, predicted, sorted(set(truth))),
        focus_group=focus_group,
        focus=_scores([truth[n] for n in in_focus], [predicted[n] for n in in_focus], focus_labels),
        focus_given_group=_scores([truth[n] for n in in_focus], given, focus_labels)
        if given
        else Scores(0, 0.0, 0.0, 0),
        any_field_accuracy=round(
            sum(p in e.fields for p, e in zip(predicted, newer, strict=True)) / max(1, len(newer)),
            4,
        ),
        field_confusions=tuple((t, p, c) for (t, p), c in _top(wrong, confusions)),
        group_confusions=tuple((t, p, c) for (t, p), c in _top(wrong_groups, confusions)),
        per_group_f1=tuple(
            (g, round(float(f), 4), group_counts[g])
            for g, f in zip(groups, per_group, strict=True)
            if group_counts[g]
        ),
        unknown_test_labels=tuple(sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def _top(counts: Counter[tuple[str, str]], n: int) -> list[tuple[tuple[str, str], int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _pct(x: float) -> str:
    return f"{x:.3f}"


def _days(span: tuple[dt.date | None, dt.date | None]) -> str:
    first, last = span
    return f"{first} to {last}" if first and last else "undated"


def report_lines(ev: Evaluation) -> list[str]:
    """The evaluation as text, for the command line and the benchmark."""
    f = ev.focus_group
    lines = [
        f"{ev.split} split: train {ev.n_train} papers ({_days(ev.train_days)}), "
        f"test {ev.n_test} papers ({_days(ev.test_days)})",
        "",
        f"{'':<36}{'papers':>7}{'accuracy':>10}{'macro-F1':>10}",
    ]
    rows = [
        ("groups", ev.groups),
        ("fields (all)", ev.fields),
        (f"{f} fields", ev.focus),
        (f"{f} fields, group given", ev.focus_given_group),
    ]
    for name, s in rows:
        lines.append(f"{name:<36}{s.n:>7}{_pct(s.accuracy):>10}{_pct(s.macro_f1):>10}")
    lines += [
        f"top field among the paper's fields (cross-lists too): {_pct(ev.any_field_accuracy)}",
        "",
        "F1 per group (test papers):",
        *(f"  {g:<44}{_pct(score)}  ({n})" for g, score, n in ev.per_group_f1),
        "",
        "most confused groups (truth -> predicted):",
        *(f"  {n:>4}  {t} -> {p}" for t, p, n in ev.group_confusions),
        "",
        "most confused fields (truth -> predicted):",
        *(f"  {n:>4}  {t} -> {p}" for t, p, n in ev.field_confusions),
    ]
    if ev.unknown_test_labels:
        lines += [
            "",
            "test fields absent from training:",
            *(f"  {n:>4}  {t}" for t, n in ev.unknown_test_labels),
        ]
    return lines
