"""How well the field classifier does: splits, accuracy, macro-F1, top-2, per field.

A model is scored on test papers whose truth is the field of their primary category
(``score``). ``evaluate`` makes the test first: a time split (examples ordered by
submission date, then id; the oldest share trains, the newest is the test), a seeded
random split of the same papers (how much of the gap is the shift in time), or a
test set given apart (``split_given``: an installation's earlier days train, its
newest day is the test). Scores are given for

- groups ("Computer Science", "Physics", ...): the group with the highest summed
  probability of its fields;
- fields: the most likely field, and whether the truth is among the two most likely;
- fields of one group (Computer Science by default), on the test papers of that
  group: end to end (any field may be predicted), per field, and given the group
  (the most likely field of that group);
- "any of its fields": how often the most likely field is the field of one of the
  paper's categories, cross-lists included (how tagging uses it);
- what would be shown: the share of papers whose best field reaches the model's
  threshold, and how often that field is one of theirs.

Macro-F1 averages the F1 of the classes with at least ``min_support`` test papers
(a class with two papers says little). F1 is computed here, from counts.

Pure: no I/O, no clock; the model is trained by the caller's ``train`` function.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tracker.fields.model import Example, FieldModel, text_of

FOCUS_GROUP = "Computer Science"
MIN_SUPPORT = 5
_NO_DAY = dt.date.min


@dataclass(frozen=True, slots=True)
class Scores:
    n: int
    accuracy: float
    macro_f1: float
    labels: int  # how many classes the macro average is over (support >= min_support)
    top2: float | None = None  # the truth among the two most likely


@dataclass(frozen=True, slots=True)
class FieldScore:
    field: str
    f1: float
    precision: float
    recall: float
    support: int  # test papers of this field


@dataclass(frozen=True, slots=True)
class Shown:
    """What tagging would show: the best field when it reaches the threshold."""

    threshold: float
    coverage: float  # share of test papers with a field shown
    precision: float  # share of the shown fields that are one of the paper's fields


@dataclass(frozen=True, slots=True)
class Evaluation:
    split: str  # "time", "random", "given" or "model" (an existing model, no training)
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
    per_field: tuple[FieldScore, ...] = ()  # the focus group's fields, by support
    min_support: int = MIN_SUPPORT
    shown: Shown | None = None
    model: str = ""  # the model's name, or "" for one trained for the evaluation
    n_stored: int = 0  # training papers that played the installation's stored papers


def group_of(name: str) -> str:
    return name.split(" > ", 1)[0]


def time_split(
    examples: Sequence[Example], test_share: float = 0.2
) -> tuple[list[Example], list[Example]]:
    """Oldest ``1 - test_share`` for training, the newest for testing."""
    ordered = sorted(examples, key=lambda e: (e.day or _NO_DAY, e.key))
    cut = round(len(ordered) * (1 - test_share))
    return ordered[:cut], ordered[cut:]


def random_split(
    examples: Sequence[Example], test_share: float = 0.2, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """A seeded shuffle: the same data without the shift in time, for comparison."""
    import numpy as np

    ordered = sorted(examples, key=lambda e: e.key)
    order = np.random.RandomState(seed).permutation(len(ordered))
    cut = round(len(ordered) * (1 - test_share))
    return [ordered[n] for n in order[:cut]], [ordered[n] for n in order[cut:]]


def split_given(
    train: Sequence[Example], test: Sequence[Example]
) -> tuple[list[Example], list[Example]]:
    """A test set given apart: the training papers it also holds are left out of
    training (a paper is never tested on after being learned)."""
    tested = {e.key for e in test}
    return [e for e in train if e.key not in tested], list(test)


def per_label(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> list[FieldScore]:
    """Precision, recall and F1 of each label (0 where undefined)."""
    pairs = Counter(zip(truth, predicted, strict=True))
    support = Counter(truth)
    guessed = Counter(predicted)
    found: list[FieldScore] = []
    for name in labels:
        tp = pairs[(name, name)]
        precision = tp / guessed[name] if guessed[name] else 0.0
        recall = tp / support[name] if support[name] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        found.append(
            FieldScore(name, round(f1, 4), round(precision, 4), round(recall, 4), support[name])
        )
    return found


def _scores(
    truth: Sequence[str],
    predicted: Sequence[str],
    min_support: int,
    second: Sequence[str] | None = None,
) -> Scores:
    if not truth:
        return Scores(0, 0.0, 0.0, 0)
    support = Counter(truth)
    labels = sorted(name for name, n in support.items() if n >= min_support)
    f1s = [s.f1 for s in per_label(truth, predicted, labels)]
    right = sum(t == p for t, p in zip(truth, predicted, strict=True))
    top2 = None
    if second is not None:
        hits = sum(t in (p, q) for t, p, q in zip(truth, predicted, second, strict=True))
        top2 = round(hits / len(truth), 4)
    return Scores(
        n=len(truth),
        accuracy=round(right / len(truth), 4),
        macro_f1=round(sum(f1s) / len(f1s), 4) if f1s else 0.0,
        labels=len(labels),
        top2=top2,
    )


def _span(examples: Sequence[Example]) -> tuple[dt.date | None, dt.date | None]:
    days = [e.day for e in examples if e.day]
    return (min(days), max(days)) if days else (None, None)


def evaluate(
    train: Callable[[Sequence[Example]], FieldModel],
    examples: Sequence[Example],
    *,
    split: str = "time",
    test_share: float = 0.2,
    test: Sequence[Example] | None = None,
    focus_group: str = FOCUS_GROUP,
    min_support: int = MIN_SUPPORT,
    confusions: int = 10,
) -> Evaluation:
    """Train on the older examples (or all of them when ``test`` is given) with
    ``train`` and score on the newer ones (or ``test``)."""
    if test is not None:
        older, newer = split_given(examples, test)
        split = "given"
    elif split == "time":
        older, newer = time_split(examples, test_share)
    elif split == "random":
        older, newer = random_split(examples, test_share)
    else:
        raise ValueError(f"unknown split {split!r}")
    model = train(older)
    ev = score(
        model, newer, focus_group=focus_group, min_support=min_support, confusions=confusions
    )
    return replace(
        ev,
        split=split,
        n_train=len(older),
        train_days=_span(older),
        model="",
        n_stored=sum(e.stored for e in older),
    )


def score(
    model: FieldModel,
    test: Sequence[Example],
    *,
    focus_group: str = FOCUS_GROUP,
    min_support: int = MIN_SUPPORT,
    confusions: int = 10,
) -> Evaluation:
    """An existing model on test papers (the truth: their primary category's field)."""
    import numpy as np

    probs = model.probabilities([text_of(e.title, e.summary) for e in test])
    labels = list(model.labels)
    groups = sorted({group_of(name) for name in labels})
    # the group's probability is the sum of its fields'
    membership = np.array([[group_of(name) == g for g in groups] for name in labels], dtype=float)
    group_probs = probs @ membership
    ranked = np.argsort(-probs, axis=1, kind="stable")
    truth = [e.fields[0] for e in test]
    predicted = [labels[n] for n in ranked[:, 0]] if len(test) else []
    second = [labels[n] for n in ranked[:, 1]] if len(test) and len(labels) > 1 else predicted
    truth_groups = [group_of(t) for t in truth]
    predicted_groups = [groups[n] for n in group_probs.argmax(axis=1)] if len(test) else []

    in_focus = [n for n, t in enumerate(truth) if group_of(t) == focus_group]
    focus_truth = [truth[n] for n in in_focus]
    focus_predicted = [predicted[n] for n in in_focus]
    focus_columns = [k for k, name in enumerate(labels) if group_of(name) == focus_group]
    given: list[str] = []
    if focus_columns and in_focus:
        best = probs[np.ix_(in_focus, focus_columns)].argmax(axis=1)
        given = [labels[focus_columns[int(k)]] for k in best]
    known = set(labels)
    unknown = Counter(t for t in truth if t not in known)
    wrong = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    wrong_groups = Counter(
        (t, p) for t, p in zip(truth_groups, predicted_groups, strict=True) if t != p
    )
    group_counts = Counter(truth_groups)
    per_group = per_label(truth_groups, predicted_groups, [g for g in groups if group_counts[g]])
    focus_support = Counter(focus_truth)
    per_field = per_label(
        focus_truth,
        focus_predicted,
        sorted(focus_support, key=lambda name: (-focus_support[name], name)),
    )
    best_p = probs.max(axis=1) if len(test) else np.zeros(0)
    above = [n for n in range(len(test)) if best_p[n] >= model.threshold]
    shown = Shown(
        threshold=model.threshold,
        coverage=round(len(above) / len(test), 4) if len(test) else 0.0,
        precision=round(sum(predicted[n] in test[n].fields for n in above) / len(above), 4)
        if above
        else 0.0,
    )
    return Evaluation(
        split="model",
        n_train=model.info.n_examples,
        n_test=len(test),
        train_days=(None, None),
        test_days=_span(test),
        groups=_scores(truth_groups, predicted_groups, min_support),
        fields=_scores(truth, predicted, min_support, second),
        focus_group=focus_group,
        focus=_scores(focus_truth, focus_predicted, min_support, [second[n] for n in in_focus]),
        focus_given_group=_scores(focus_truth, given, min_support)
        if given
        else Scores(0, 0.0, 0.0, 0),
        any_field_accuracy=round(
            sum(p in e.fields for p, e in zip(predicted, test, strict=True)) / max(1, len(test)),
            4,
        ),
        field_confusions=tuple((t, p, c) for (t, p), c in _top(wrong, confusions)),
        group_confusions=tuple((t, p, c) for (t, p), c in _top(wrong_groups, confusions)),
        per_group_f1=tuple((s.field, s.f1, s.support) for s in per_group),
        unknown_test_labels=tuple(sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0]))),
        per_field=tuple(per_field),
        min_support=min_support,
        shown=shown,
        model=model.info.name if model.info.version else "",
        n_stored=model.info.n_stored,
    )


def _top(counts: Counter[tuple[str, str]], n: int) -> list[tuple[tuple[str, str], int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def _days(span: tuple[dt.date | None, dt.date | None]) -> str:
    first, last = span
    return f"{first} to {last}" if first and last else "undated"


def _head(ev: Evaluation) -> str:
    test = f"test {ev.n_test} papers ({_days(ev.test_days)})"
    if ev.split == "model":
        return f"model {ev.model or '(unsaved)'} ({ev.n_train} training papers), {test}"
    stored = f", {ev.n_stored} as stored papers" if ev.n_stored else ""
    return f"{ev.split} split: train {ev.n_train} papers ({_days(ev.train_days)}{stored}), {test}"


def report_lines(ev: Evaluation) -> list[str]:
    """The evaluation as text, for the command line and the benchmark."""
    f = ev.focus_group
    lines = [
        _head(ev),
        f"macro-F1 over classes with at least {ev.min_support} test papers",
        "",
        f"{'':<38}{'papers':>7}{'accuracy':>10}{'macro-F1':>10}{'top-2':>8}{'classes':>9}",
    ]
    rows = [
        ("groups", ev.groups),
        ("fields (all)", ev.fields),
        (f"{f} fields", ev.focus),
        (f"{f} fields, group given", ev.focus_given_group),
    ]
    for name, s in rows:
        lines.append(
            f"{name:<38}{s.n:>7}{_pct(s.accuracy):>10}{_pct(s.macro_f1):>10}"
            f"{_pct(s.top2):>8}{s.labels:>9}"
        )
    lines.append(
        f"top field among the paper's fields (cross-lists too): {_pct(ev.any_field_accuracy)}"
    )
    if ev.shown is not None:
        lines.append(
            f"shown (best field at or above the threshold {ev.shown.threshold:.2f}): "
            f"{_pct(ev.shown.coverage)} of the papers, right {_pct(ev.shown.precision)}"
        )
    if ev.per_field:
        lines += [
            "",
            f"{f} fields (test papers; F1, precision, recall):",
            *(
                f"  {s.field.split(' > ', 1)[-1]:<44}{s.f1:.3f}  {s.precision:.3f}  "
                f"{s.recall:.3f}  ({s.support})"
                for s in ev.per_field
            ),
        ]
    lines += [
        "",
        "F1 per group (test papers):",
        *(f"  {g:<44}{_pct(value)}  ({n})" for g, value, n in ev.per_group_f1),
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
