"""Ranking: how well a reader's relevance model orders a later day's papers, what
cross-domain picks look like, and what ranking costs.

Leave-category-out, on the recorded arXiv metadata (``$TRACKER_FIXTURES``, else
``../shared/fixtures``), title and abstract only:

- **arXiv-wide**: a reader's library is 30 papers of one primary category from the
  stratified sample (to 2019); the candidates are every paper of the 2024-11-28
  all-archives listing; relevant are those carrying the category. Every category with
  30 papers in the sample and 5 relevant candidates is a reader.
- **cs days**: the library is 30 papers carrying a category on 2025-03-18, the
  candidates the papers of 2025-07-22; every category with 30 and 5 such papers (only
  four: five libraries are drawn for each).

Unlabelled negatives are, as in an installation, the recent papers: the candidates
and 1,000 other papers of the library's source. Figures per protocol: nDCG@10 and
precision@10 of a random order (the expectation), of the plain TF-IDF cosine to the
library (to its centre, and to its nearest paper), and of ``tracker.reading``'s
model; averaged over the categories.

Cross-domain: a reader who follows the library's category gets at most 5 picks of
the day's papers outside the fields of that category; every pick must carry a
reason, and the share whose categories all differ from the followed one is given.

Cost: ranking 5,000 candidates for one reader (median of 5), against scikit-learn's
``TfidfVectorizer.transform`` of the same texts measured in the same run; training
the reader's model is timed apart. ``small`` uses every 4th category.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tracker.fields.mapping import FieldMap
from tracker.reading import model as reading_model
from tracker.reading import text as reading_text
from tracker.reading.model import ReaderModel
from tracker.reading.profile import Evidence
from tracker.reading.rank import Candidate, Ranking

REPO = Path(__file__).resolve().parents[1]
LIBRARY = 30
MIN_RELEVANT = 5
BACKGROUND = 1000
K = 10
SEED = 20241128
COST_CANDIDATES = 5000


@dataclass(frozen=True)
class Paper:
    id: str
    title: str
    abstract: str
    categories: tuple[str, ...]

    @property
    def text(self) -> str:
        return f"{self.title}. {self.abstract}"


def fixtures() -> Path:
    root = os.environ.get("TRACKER_FIXTURES")
    return (Path(root) if root else REPO.parent / "shared" / "fixtures") / "arxiv-metadata"


def load(path: Path) -> list[Paper]:
    papers = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        cats = r.get("categories") or []
        if isinstance(cats, str):
            cats = cats.split()
        primary = r.get("primary_category")
        ordered = tuple(dict.fromkeys([primary, *cats] if primary else cats))
        abstract = r.get("abstract") or r.get("summary") or ""
        papers.append(
            Paper(r["id"], " ".join(r["title"].split()), " ".join(abstract.split()), ordered)
        )
    return papers


def ndcg(relevance: Sequence[int], k: int = K) -> float:
    dcg = sum(r / math.log2(n + 2) for n, r in enumerate(relevance[:k]))
    ideal = sorted(relevance, reverse=True)
    best = sum(r / math.log2(n + 2) for n, r in enumerate(ideal[:k]))
    return dcg / best if best else 0.0


def random_ndcg(relevance: Sequence[int], k: int = K) -> float:
    """The expected nDCG@k of a random order: each position holds a relevant paper
    with probability (relevant / total)."""
    share = sum(relevance) / len(relevance)
    ideal = sorted(relevance, reverse=True)
    best = sum(r / math.log2(n + 2) for n, r in enumerate(ideal[:k]))
    return sum(share / math.log2(n + 2) for n in range(min(k, len(relevance)))) / best


def ordered(scores: Sequence[float], relevance: Sequence[int]) -> list[int]:
    order = sorted(range(len(scores)), key=lambda n: (-scores[n], n))
    return [relevance[n] for n in order]


@dataclass
class Protocol:
    name: str
    library_source: list[Paper]
    candidates: list[Paper]
    primary_only: bool  # a library paper's category is its primary one


def readers(p: Protocol) -> list[str]:
    counts: dict[str, int] = {}
    for paper in p.library_source:
        for c in paper.categories[:1] if p.primary_only else paper.categories:
            counts[c] = counts.get(c, 0) + 1
    found = []
    for category, n in sorted(counts.items()):
        relevant = sum(category in c.categories for c in p.candidates)
        if n >= LIBRARY and relevant >= MIN_RELEVANT:
            found.append(category)
    return found


def evaluate(p: Protocol, every: int, fmap: FieldMap) -> dict[str, Any]:
    rng = random.Random(SEED)
    categories = readers(p)[::every]
    scores: dict[str, list[float]] = {}
    picks_total = picks_with_reason = picks_elsewhere = 0
    cand_texts = [c.text for c in p.candidates]

    def add(name: str, relevance: Sequence[int], values: Sequence[float] | None) -> None:
        if values is None:
            n_value = random_ndcg(relevance)
            p_value = sum(relevance) / len(relevance)
        else:
            ranked = ordered(values, relevance)
            n_value, p_value = ndcg(ranked), sum(ranked[:K]) / K
        scores.setdefault(f"{name} nDCG@10", []).append(n_value)
        scores.setdefault(f"{name} P@10", []).append(p_value)

    # few categories: several libraries each, so that one draw does not decide
    draws = 1 if len(categories) >= 10 else 5
    for category in [c for c in categories for _ in range(draws)]:
        mine = [
            q
            for q in p.library_source
            if (q.categories[:1] if p.primary_only else q.categories).count(category)
        ]
        library = rng.sample(mine, LIBRARY)
        taken = {q.id for q in library}
        others = [q for q in p.library_source if q.id not in taken]
        background = rng.sample(others, min(BACKGROUND, len(others)))
        relevance = [int(category in c.categories) for c in p.candidates]
        evidence = [
            Evidence(f"library:{q.id}", "library", q.title, q.text, detail=category)
            for q in library
        ]
        model = reading_model.train(evidence, [*cand_texts, *(q.text for q in background)])
        # the plain baseline: TF-IDF over the same texts, cosine to the library
        rows = model.rows(cand_texts)
        lib_rows = model.positive_rows
        centre = np.asarray(lib_rows.mean(axis=0)).ravel()
        add("random", relevance, None)
        add("cosine (centre)", relevance, list(rows @ centre))
        add("cosine (nearest)", relevance, list((rows @ lib_rows.T).max(axis=1).toarray().ravel()))
        add("tracker", relevance, list(model.score_rows(rows)))
        # cross-domain: picks outside the fields of the followed category
        own = fmap.field_of(category)
        outside = [
            Candidate(n, c.title, c.text, c.categories)
            for n, c in enumerate(p.candidates)
            if own not in {fmap.field_of(x) for x in c.categories}
        ]
        chosen = Ranking(model, outside).cross([c.key for c in outside], 5)
        picks_total += len(chosen)
        picks_with_reason += sum(bool(r.reason) for r in chosen)
        picks_elsewhere += sum(
            all(fmap.canonical(x) != category for x in p.candidates[int(str(r.key))].categories)
            for r in chosen
        )
    result: dict[str, Any] = {"readers (categories)": len(categories), "libraries": draws}
    result.update({k: round(statistics.fmean(v), 3) for k, v in scores.items()})
    result["cross-domain picks"] = picks_total
    result["picks with a reason"] = (
        round(picks_with_reason / picks_total, 3) if picks_total else None
    )
    result["picks outside every followed category"] = (
        round(picks_elsewhere / picks_total, 3) if picks_total else None
    )
    return result


def cost(papers: list[Paper]) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [q.text for q in papers[:COST_CANDIDATES]]
    library = [Evidence(f"library:{q.id}", "library", q.title, q.text) for q in papers[-LIBRARY:]]
    background = [q.text for q in papers[-LIBRARY - 2000 : -LIBRARY]]
    started = time.perf_counter()
    model: ReaderModel = reading_model.train(library, background)
    train_s = time.perf_counter() - started
    candidates = [Candidate(n, "", t, ()) for n, t in enumerate(texts)]

    def ours() -> object:
        return Ranking(model, candidates).order()

    reference = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)).fit(background)

    def sklearn_transform() -> object:
        return reference.transform(texts)

    ours_s = _median_time(ours)
    ref_s = _median_time(sklearn_transform)
    return {
        "candidates": len(texts),
        "rank s (median of 5)": round(ours_s, 3),
        "sklearn TfidfVectorizer.transform s": round(ref_s, 3),
        "rank / transform": round(ours_s / ref_s, 2),
        "train s (30 positives, 2,000 negatives)": round(train_s, 3),
        "vocabulary terms": model.vocabulary.size,
    }


def _median_time(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(every: int = 1) -> dict[str, Any]:
    folder = fixtures()
    if not folder.is_dir():
        return {"skipped": f"no recorded arXiv metadata at {folder}"}
    with (REPO / "tracker" / "fields" / "fields.toml").open("rb") as f:
        fmap = FieldMap.from_dict(tomllib.load(f), "tracker/fields/fields.toml")
    sample = load(folder / "staeiou_arxiv_archive_stratified_sample.jsonl")
    day = load(folder / "arxiv_rss_all_archives_2024-11-28_items.jsonl")
    cs = folder / "dw-dengwei-daily-cs"
    early, late = load(cs / "2025-03-18.jsonl"), load(cs / "2025-07-22.jsonl")
    out: dict[str, Any] = {}
    for protocol in (
        Protocol("arXiv-wide (sample to 2019 -> 2024-11-28)", sample, day, True),
        Protocol("cs days (2025-03-18 -> 2025-07-22)", early, late, False),
    ):
        out[protocol.name] = evaluate(protocol, every, fmap)
        print(json.dumps({protocol.name: out[protocol.name]}, indent=2), flush=True)
    out["cost"] = cost(sample)
    _ = reading_text  # the vectoriser under test
    return out
