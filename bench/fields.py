"""Fields: the field classifier on recorded data, the way an installation uses it.

1. **An installation's newest day.** The model is trained as a reader's installation
   trains it: the cold-start metadata (the stratified 1991-2019 sample, arXiv's
   browse and OAI-PMH test records) plus the installation's earlier stored days (the
   all-archives listing of 2024-11-28 and the cs day of 2025-03-18), then scored on
   the newest recorded cs day (2025-07-22): Computer Science macro-F1 over fields
   with at least 5 (and 10) papers, accuracy, top-2 accuracy, F1 per field.
2. **The earlier days** (hyperparameters are chosen here, never on the newest day):
   cold start plus 2024-11-28, scored on 2025-03-18.
3. **Feed items are not abstracts.** 149 real feed items (``bench/data/
   blog_fields.jsonl``, labelled by hand; their texts are read from the fixtures'
   feeds) are tagged as tracker tags posts: precision of the fields digests show
   (as labelled, strict and lenient), and coverage (abstaining is allowed).
4. **Do stored papers move the model?** Half of the newest day (every other paper)
   joins the stored days and the model is scored on the other half, with and
   without adaptation to the stored papers (``[fields] stored_adapt``), against
   the same model without that half: what a reader's own current papers are worth.
5. With ``--size large``: the older 80/20 time split of all recorded metadata with
   cold-start weighting, for comparison with earlier releases.

``small`` (CI) uses every 8th cold-start paper; the stored and test days are whole.
Trained models are cached in the temporary folder, keyed by their training data and
the model code, so a second run only scores.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tracker.errors import ModelError
from tracker.fields import model as model_code
from tracker.fields import training as training_code
from tracker.fields.evaluate import Evaluation, report_lines, score, split_given, time_split
from tracker.fields.mapping import FieldMap
from tracker.fields.model import Example, FieldModel
from tracker.fields.model import examples_from_papers as examples
from tracker.fields.store import ModelStore, read_arxiv_metadata
from tracker.fields.tagger import EVIDENCE_TERMS, MIN_EVIDENCE, Tagger, distinct_words
from tracker.fields.training import WEIGHTING, Weighting, train
from tracker.models import CONFIDENT, Entry
from tracker.sources.feeds import html_to_text, parse_feed

REPO = Path(__file__).resolve().parents[1]
TRAINED_AT = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)  # recorded in the model only
COLD = (
    "staeiou_arxiv_archive_stratified_sample.jsonl",
    "arxiv_browse_testdata_abs_1144.jsonl",
    "arxiv_oaipmh_testdb_metadata.jsonl",
)
LISTING = "arxiv_rss_all_archives_2024-11-28_items.jsonl"
EARLIER = "dw-dengwei-daily-cs/2025-03-18.jsonl"
NEWEST = "dw-dengwei-daily-cs/2025-07-22.jsonl"
LABELS = REPO / "bench" / "data" / "blog_fields.jsonl"
CACHE = Path(tempfile.gettempdir()) / "tracker-bench-fields"
OVERSAMPLE = "research-blogs"  # the labelled sample's deliberate stratum
CURVE = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)  # probability floors shown


def fixtures() -> Path:
    root = os.environ.get("TRACKER_FIXTURES")
    return Path(root) if root else REPO.parent / "shared" / "fixtures"


def field_map() -> FieldMap:
    with (REPO / "tracker" / "fields" / "fields.toml").open("rb") as f:
        return FieldMap.from_dict(tomllib.load(f), "tracker/fields/fields.toml")


def _read(fmap: FieldMap, folder: Path, name: str, *, stored: bool = False) -> list[Example]:
    papers = read_arxiv_metadata(folder / name)
    return examples(papers, fmap.field_of, fmap.fields, stored=stored)


def cached_train(
    found: Sequence[Example], fmap: FieldMap, weighting: Weighting = WEIGHTING
) -> tuple[FieldModel, float]:
    """A model of these examples, from the cache when the same examples, keywords,
    weighting and model code trained one before; the seconds training took (0 when
    cached)."""
    h = hashlib.sha256()
    h.update(Path(model_code.__file__).read_bytes())
    h.update(Path(training_code.__file__).read_bytes())
    h.update(repr(weighting).encode())
    h.update(json.dumps(sorted(fmap.keywords.items())).encode())
    for e in sorted(found, key=lambda e: e.key):
        h.update(repr((e.key, e.title, e.summary, e.fields, e.day, e.stored)).encode())
    store = ModelStore(CACHE / h.hexdigest()[:20])
    try:
        return store.load(), 0.0
    except ModelError:
        pass
    started = time.perf_counter()
    model = train(found, fmap.keywords, trained_at=TRAINED_AT, weighting=weighting)
    seconds = time.perf_counter() - started
    store.save(model)
    return model, seconds


def _summary(ev: Evaluation) -> dict[str, Any]:
    weakest = sorted(ev.per_field, key=lambda s: s.f1)[:3]
    return {
        "papers": ev.n_test,
        "CS accuracy": ev.focus.accuracy,
        f"CS macro-F1 (fields with >= {ev.min_support})": ev.focus.macro_f1,
        "CS top-2 accuracy": ev.focus.top2,
        "CS fields in the average": ev.focus.labels,
        "weakest CS fields (F1, papers)": {
            s.field.split(" > ", 1)[-1]: [s.f1, s.support] for s in weakest
        },
        "shown coverage": ev.shown.coverage if ev.shown else None,
        "shown precision": ev.shown.precision if ev.shown else None,
    }


def installation(
    fmap: FieldMap,
    cold: Sequence[Example],
    stored: Sequence[Example],
    test: Sequence[Example],
    title: str,
    weighting: Weighting = WEIGHTING,
) -> tuple[FieldModel, dict[str, Any]]:
    """Train as an installation (cold start + stored days) and score on ``test``."""
    train_on, test = split_given([*stored, *cold], test)
    unique = list({e.key: e for e in train_on}.values())  # stored first: they win
    model, seconds = cached_train(unique, fmap, weighting)
    results: dict[str, Any] = {"train papers": len(unique), "stored": model.info.n_stored}
    for support in (5, 10):
        ev = score(model, test, min_support=support)
        if support == 5:
            print(f"\n== {title}")
            for line in report_lines(ev)[:-12]:  # without the group confusions
                print(line)
        results[f"min support {support}"] = _summary(ev)
    results["threshold"] = model.threshold
    results["train s"] = round(seconds, 1) if seconds else "cached"
    return model, results


# --- feed items ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Labelled:
    entry: Entry
    fields: tuple[str, ...]  # acceptable fields, as labelled
    lenient: tuple[str, ...]  # with the borderline alternatives named in the notes
    borderline: bool  # the labelled fields are a judgement call
    stratum: str
    feed: str


def labelled_items(folder: Path) -> list[Labelled]:
    """The labelled feed items, parsed from the recorded feeds as tracker reads them."""
    research = {
        "AllThingsDistributed.xml",
        "MachineLearningTheory.xml",
        "PragmaticTheory.xml",
    }
    parsed: dict[str, tuple[Entry, ...]] = {}
    found: list[Labelled] = []
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        path = label["feed"]
        if path not in parsed:
            body = (folder / path).read_bytes()
            parsed[path] = parse_feed(body, url=f"https://feeds.invalid/{path}").entries
        entries = parsed[path]
        matched = [e for e in entries if label["entry_id"] and e.guid == label["entry_id"]]
        if len(matched) != 1:
            title = html_to_text(label["title"])
            matched = [e for e in entries if e.title == title]
        if len(matched) != 1:
            raise ValueError(f"labelled item not found once in {path}: {label['title']!r}")
        stratum = OVERSAMPLE if Path(path).name in research else path.split("/")[1]
        found.append(
            Labelled(
                matched[0],
                tuple(label["fields"]),
                tuple(label["lenient"]),
                bool(label["borderline"]),
                stratum,
                path,
            )
        )
    return found


def feed_items(tagger: Tagger, items: Sequence[Labelled], title: str) -> dict[str, Any]:
    """Precision of the fields digests would show, and coverage."""
    shown = right = strict = lenient = 0
    with_fields = covered = tagged_items = 0
    natural = [0, 0]  # right, shown without the oversampled research blogs
    lines: list[str] = []
    for item in items:
        fields = [t.field for t in tagger.tag(item.entry) if t.confidence >= CONFIDENT]
        with_fields += bool(item.fields)
        tagged_items += bool(fields)
        covered += any(f in item.fields for f in fields)
        for name in fields:
            ok = name in item.fields
            shown += 1
            right += ok
            strict += ok and not item.borderline
            lenient += name in item.lenient
            if item.stratum != OVERSAMPLE:
                natural[0] += ok
                natural[1] += 1
            mark = "right" if ok else ("lenient" if name in item.lenient else "WRONG")
            lines.append(f"  {mark:<8} {name}  <- {item.entry.title[:70]}")
    print(f"\n== {title}: {shown} fields shown on {tagged_items} of {len(items)} items")
    for line in lines:
        print(line)

    def share(a: int, b: int) -> float | None:
        return round(a / b, 3) if b else None

    return {
        "items": len(items),
        "items with a field (labelled)": with_fields,
        "fields shown": shown,
        "items shown a field": tagged_items,
        "precision": share(right, shown),
        "precision strict (borderline labels wrong)": share(strict, shown),
        "precision lenient (borderline alternatives right)": share(lenient, shown),
        "precision without the research-blog oversample": share(*natural),
        "coverage (labelled items given a right field)": share(covered, with_fields),
    }


@dataclass(frozen=True, slots=True)
class Guess:
    """The model's best field for one labelled item, before any threshold."""

    feed: str
    probability: float
    evidence: int  # different words pointing to the field
    right: bool


def guesses(model: FieldModel, items: Sequence[Labelled]) -> list[Guess]:
    found: list[Guess] = []
    for item in items:
        e = item.entry
        [(name, probability)] = model.predict(e.title, e.summary, top=1)
        words = distinct_words(model.top_terms(e.title, e.summary, name, EVIDENCE_TERMS))
        found.append(Guess(item.feed, probability, words, name in item.fields))
    return found


def _shown(found: Sequence[Guess], floor: float) -> tuple[int, int]:
    kept = [g for g in found if g.probability >= floor and g.evidence >= MIN_EVIDENCE]
    return len(kept), sum(g.right for g in kept)


def threshold_curve(model: FieldModel, found: Sequence[Guess], with_field: int) -> dict[str, Any]:
    """Precision and coverage of the best field at other probability floors, and a
    2-fold estimate (by feed) of choosing the floor on labels: the lowest floor with
    0.8 precision on one half, scored on the other half."""
    curve: dict[str, Any] = {}
    print("\nfloor  shown  right  precision  coverage")
    for floor in CURVE:
        n, right = _shown(found, max(floor, model.threshold))
        curve[f"{floor:.2f}"] = [n, right]
        precision = f"{right / n:.2f}" if n else "-"
        print(f"{floor:5.2f}  {n:5d}  {right:5d}  {precision:>9}  {right / with_field:8.2f}")
    folds: list[str] = []
    pooled = [0, 0]
    for seed in range(5):
        chosen, shown, right = [], 0, 0
        for half in (0, 1):

            def side(g: Guess, half: int = half, seed: int = seed) -> bool:
                digest = hashlib.sha256(f"{seed}|{g.feed}".encode()).digest()
                return digest[0] % 2 == half

            learn = [g for g in found if not side(g)]
            floor = next(
                (
                    f
                    for f in CURVE
                    if (c := _shown(learn, max(f, model.threshold)))[0] >= 5 and c[1] / c[0] >= 0.8
                ),
                1.0,
            )
            n, ok = _shown([g for g in found if side(g)], max(floor, model.threshold))
            chosen.append(floor)
            shown, right = shown + n, right + ok
        folds.append(f"floors {chosen}: {right}/{shown}")
        pooled[0], pooled[1] = pooled[0] + right, pooled[1] + shown
    print("2-fold by feed, floor chosen on the other half:", "; ".join(folds))
    return {
        "shown, right at each floor": curve,
        "2-fold precision, floor chosen on the other half": round(pooled[0] / pooled[1], 3)
        if pooled[1]
        else None,
        "2-fold splits": folds,
    }


def run(every: int, *, large: bool = False) -> dict[str, Any]:
    folder = fixtures() / "arxiv-metadata"
    if not folder.is_dir():
        return {"skipped": f"no recorded arXiv metadata at {folder}"}
    fmap = field_map()
    cold = [e for name in COLD for e in _read(fmap, folder, name)][::every]
    listing = _read(fmap, folder, LISTING, stored=True)
    earlier = _read(fmap, folder, EARLIER, stored=True)
    newest = _read(fmap, folder, NEWEST)
    results: dict[str, Any] = {"cold-start papers": len(cold)}
    _, results["earlier days: cold start + 2024-11-28 -> 2025-03-18"] = installation(
        fmap, cold, listing, [*_read(fmap, folder, EARLIER)], "earlier days (validation)"
    )
    model, results["installation: cold start + 2024-11-28 + 2025-03-18 -> 2025-07-22"] = (
        installation(fmap, cold, [*listing, *earlier], newest, "installation, newest day")
    )
    results["stored papers: half of the newest day stored, tested on the other half"] = (
        learning_from_stored(fmap, cold, [*listing, *earlier], newest)
    )
    items = labelled_items(fixtures())
    tagged = feed_items(Tagger(fmap, model), items, "feed items, model")
    with_field = tagged["items with a field (labelled)"]
    tagged["best field at other floors"] = threshold_curve(model, guesses(model, items), with_field)
    results["feed items, model"] = tagged
    results["feed items, no model (keyword hints)"] = feed_items(
        Tagger(fmap, None), items, "feed items, no model"
    )
    if large:
        everything = examples(read_arxiv_metadata(folder), fmap.field_of, fmap.fields)
        results["time split 80/20, all recorded metadata"] = _time_split(fmap, everything)
    return results


def learning_from_stored(
    fmap: FieldMap, cold: Sequence[Example], stored: Sequence[Example], newest: Sequence[Example]
) -> dict[str, Any]:
    """Accuracy and macro-F1 on the odd half of the newest day, the even half stored or
    not, adaptation on or off."""
    half = [replace(e, stored=True) for e in newest[::2]]
    test = list(newest[1::2])
    print("\n== stored papers: half of the newest day stored, tested on the other half")
    print(f"{'':34}{'accuracy':>10}{'macro-F1':>10}{'top-2':>8}")
    found: dict[str, Any] = {}
    for adapt in (WEIGHTING.adapt, 0.0):
        for name, days in (("without the half", stored), ("with the half", [*stored, *half])):
            train_on, tested = split_given([*days, *cold], test)
            unique = list({e.key: e for e in train_on}.values())
            model, _ = cached_train(unique, fmap, replace(WEIGHTING, adapt=adapt))
            focus = score(model, tested).focus
            label = f"adapt {adapt:g}, {name}"
            top2 = focus.top2 or 0.0
            print(f"{label:34}{focus.accuracy:>10.3f}{focus.macro_f1:>10.3f}{top2:>8.3f}")
            found[label] = {
                "CS accuracy": focus.accuracy, "CS macro-F1": focus.macro_f1, "CS top-2": focus.top2
            }  # fmt: skip
    return found


def _time_split(fmap: FieldMap, found: Sequence[Example]) -> dict[str, Any]:
    older, newer = time_split(found)
    model, _ = cached_train(older, fmap)
    ev = score(model, newer)
    print("\n== time split 80/20")
    for line in report_lines(ev)[:20]:
        print(line)
    return {"groups accuracy": ev.groups.accuracy, **_summary(ev)}
