"""The reader's relevance model, its reasons, cross-domain picks, rising phrases and
library files: pure functions on small hand-made data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from tracker.errors import UsageError
from tracker.library.importing import detect, normalise_doi, parse
from tracker.models import FEED_POST, Item, ItemKind, LibraryEntry, LibraryRecord
from tracker.reading import text
from tracker.reading.model import train
from tracker.reading.profile import Evidence, evidence, query_words
from tracker.reading.rank import Candidate, Ranking, rank
from tracker.reading.rising import Paper, phrases, rising

LIBRARY_FILES = Path(__file__).parent / "data" / "library"
NOW = dt.datetime(2024, 11, 28, 8, tzinfo=dt.UTC)

DECODING = [
    "Speculative decoding with draft models accelerates large language model inference.",
    "A tree of draft tokens verified in parallel makes speculative decoding faster.",
    "Lossless speculative decoding: draft model acceptance rates and inference latency.",
    "Medusa heads for speculative decoding of language model inference on GPUs.",
]
OTHERS = [
    "Galaxy rotation curves and dark matter halos in dwarf galaxies.",
    "Protein folding with molecular dynamics simulations of membrane proteins.",
    "A proof of the Riemann hypothesis for function fields over finite fields.",
    "Cosmic microwave background anisotropies constrain inflation models.",
    "Graph neural networks for molecule property prediction in chemistry.",
    "Stock market volatility forecasting with stochastic volatility models.",
    "Topological insulators and Majorana modes in superconducting wires.",
    "Reinforcement learning for robot locomotion over rough terrain.",
    "Image segmentation of medical scans with convolutional networks.",
    "Quantum error correction with surface codes and logical qubits.",
]


def saved(title: str, n: int = 0) -> Evidence:
    return Evidence(f"item:{n}", "saved", title, title, n)


def item(n: int, title: str, summary: str = "", categories: tuple[str, ...] = ()) -> Item:
    return Item(
        id=n,
        key=f"arxiv:{n}",
        kind=ItemKind.PAPER,
        title=title,
        summary=summary,
        authors=(),
        url=None,
        arxiv_id=None,
        version=None,
        pdf_url=None,
        doi=None,
        journal_ref=None,
        comment=None,
        primary_category=categories[0] if categories else None,
        categories=categories,
        published=None,
        updated=None,
        first_seen=NOW,
        quality=FEED_POST,
    )


# --- text -------------------------------------------------------------------------------


def test_terms_drop_stop_words_numbers_and_fold_plurals() -> None:
    found = text.terms("The Models of 2024 use 3 kernels, a transformer's heads -- and Bayes")
    assert found == ["model", "kernel", "transformer", "head", "bayes"]
    assert text.terms("studies of approaches in physics and analysis") == [
        "study",
        "approach",
        "physics",
        "analysis",
    ]


def test_vocabulary_rows_match_a_direct_computation() -> None:
    texts = ["speculative decoding decoding", "speculative decoding is fast", "fast cars"]
    vocab = text.fit(texts, max_df=1.0)
    assert "speculative decoding" in vocab.terms  # a phrase in two texts
    assert "decoding fast" not in vocab.terms  # "is" is a stop word: no phrase across it
    rows = vocab.matrix(texts).toarray()
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0)
    first = dict(zip(vocab.terms, rows[0], strict=True))
    idf = dict(zip(vocab.terms, vocab.idf, strict=True))
    expected = {
        "speculative": idf["speculative"],
        "decoding": (1 + np.log(2)) * idf["decoding"],
        "speculative decoding": idf["speculative decoding"],
    }
    norm = np.sqrt(sum(v * v for v in expected.values()))
    for term, value in expected.items():
        assert first[term] == pytest.approx(value / norm)


def test_joined_texts_keep_their_rows_even_when_a_text_holds_the_separator() -> None:
    vocab = text.fit(["alpha beta", "gamma delta"], max_df=1.0)
    rows = vocab.matrix(["alpha\x01 gamma", "", "delta beta"]).toarray()
    at = {t: n for n, t in enumerate(vocab.terms)}
    assert rows[0, at["alpha"]] > 0 and rows[0, at["gamma"]] > 0
    assert not rows[1].any()
    assert rows[2, at["delta"]] > 0 and rows[2, at["beta"]] > 0


# --- the model and the ranking ----------------------------------------------------------------


def test_the_papers_like_the_saved_ones_rank_first_with_a_reason() -> None:
    model = train([saved(t, n) for n, t in enumerate(DECODING[:3])], OTHERS)
    candidates = [Candidate(10 + n, t, t) for n, t in enumerate(OTHERS[:6])]
    candidates.insert(3, Candidate(99, DECODING[3], DECODING[3]))
    ranking = Ranking(model, candidates)
    assert ranking.order()[0].key == 99
    [best] = ranking.top(1)
    assert best.key == 99 and best.score > 1  # well above a usual paper
    assert best.reason is not None and best.reason.kind == "saved"
    assert best.reason.title in DECODING[:3]
    assert "speculative decoding" in best.reason.terms
    assert "close to your saved" in best.reason.describe()
    assert [s.key for s in rank(model, candidates)] == [s.key for s in ranking.order()]


def test_a_rating_down_pushes_similar_papers_down() -> None:
    galaxy = "Dark matter in dwarf galaxy rotation curves."
    liked = [saved(t, n) for n, t in enumerate(DECODING)]
    plain = train([*liked, saved(galaxy, 50)], OTHERS)
    disliked = train([*liked, Evidence("item:50", "down", galaxy, galaxy, 50)], OTHERS)
    candidate = [Candidate(1, OTHERS[0], OTHERS[0])]
    assert Ranking(disliked, candidate).scores[1] < Ranking(plain, candidate).scores[1]


def test_without_evidence_nothing_scores_and_nothing_is_picked() -> None:
    model = train([], OTHERS)
    ranking = Ranking(model, [Candidate(1, DECODING[0], DECODING[0])])
    assert ranking.scores == {1: 0.0}
    assert ranking.cross([1], 5) == []


def test_cold_start_from_a_followed_query_alone() -> None:
    found = evidence(queries=['ti:"speculative decoding" AND cat:cs.CL'])
    assert [(e.kind, e.text) for e in found] == [("follow", "speculative decoding")]
    model = train(found, OTHERS + DECODING[2:])
    order = Ranking(model, [Candidate(n, t, t) for n, t in enumerate([*OTHERS, DECODING[0]])])
    assert order.order()[0].key == len(OTHERS)


def test_cross_picks_name_the_nearest_paper_and_never_take_one_sharing_nothing() -> None:
    model = train([saved(t, n) for n, t in enumerate(DECODING)], OTHERS)
    texts = [
        ("Draft tokens for faster protein language model inference", ("q-bio.BM",)),
        ("Speculative sampling of molecular dynamics trajectories", ("physics.chem-ph",)),
        ("Parallel decoding of quantum error correcting codes", ("quant-ph",)),
        ("Parallel decoding of surface codes on GPUs", ("quant-ph",)),
        ("Decoding surface codes with neural networks", ("quant-ph",)),
        ("Galaxy clusters in the early universe", ("astro-ph.GA",)),
    ]
    candidates = [Candidate(n, t, t, c) for n, (t, c) in enumerate(texts)]
    picks = Ranking(model, candidates).cross(range(len(texts)), 10)
    keys = [p.key for p in picks]
    assert 5 not in keys  # shares no word with any saved paper
    assert sum(texts[k][1] == ("quant-ph",) for k in keys) <= 2  # two per category at most
    assert keys[0] == 0
    for p in picks:
        assert p.reason is not None and p.reason.title in DECODING and p.reason.terms


def test_profile_counts_an_item_once_as_its_strongest_evidence() -> None:
    paper = item(7, "Speculative decoding", "Draft models.")
    entry = LibraryEntry(1, LibraryRecord("Old book", "About caches."), None)
    found = evidence(
        saved=[paper],
        rated=[(paper, -1)],
        library=[entry, LibraryEntry(2, LibraryRecord("Speculative decoding"), paper)],
        scholars=[(paper, "Tri Dao")],
    )
    assert [(e.key, e.kind) for e in found] == [("item:7", "down"), ("library:1", "library")]


def test_query_words_keep_only_words() -> None:
    assert query_words('ti:"mixture of experts" AND cat:cs.LG') == "mixture of experts"
    assert query_words("au:Dao_T ANDNOT abs:flash") == "flash"


# --- rising phrases -----------------------------------------------------------------------


def test_a_phrase_new_this_week_rises_with_examples() -> None:
    before = [Paper(n, f"Graph neural networks for task {n}", "") for n in range(40)]
    current = [
        Paper(100 + n, f"Mamba layers for sequence {n}", "Graph neural networks.") for n in range(4)
    ] + [Paper(200 + n, f"Graph neural networks again {n}", "") for n in range(4)]
    found = rising(current, before, limit=3)
    assert found[0].phrase == "mamba layer"
    assert found[0].papers == 4 and found[0].before == 0.0
    assert len(found[0].examples) == 2
    assert all(r.phrase != "graph neural" for r in found)
    assert phrases("Mixture of experts models") == {"expert model"}  # no phrase across "of"


# --- library files ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["zotero.bib", "zotero.json", "zotero.ris"])
def test_zotero_exports_give_titles_authors_and_identifiers(name: str) -> None:
    path = LIBRARY_FILES / name
    parsed = parse(path.name, path.read_text(encoding="utf-8"))
    by_title = {r.title: r for r in parsed.records}
    chameleon = by_title[
        "Chameleon: Adaptive Caching and Scheduling for Many-Adapter LLM Inference Environments"
    ]
    assert chameleon.arxiv_id == "2411.17741"
    assert chameleon.doi == "10.48550/arxiv.2411.17741"
    assert chameleon.year == 2024
    assert chameleon.authors[:2] == ("Nikoleta Iliakopoulou", "Jovan Stojkovic")
    assert chameleon.abstract.startswith("The widespread adoption of LLMs")
    lamport = by_title["Time, Clocks, and the Ordering of Events in a Distributed System"]
    assert (lamport.doi, lamport.arxiv_id, lamport.year) == ("10.1145/359545.359563", None, 1978)
    mapreduce = by_title["MapReduce: Simplified Data Processing on Large Clusters"]
    assert mapreduce.abstract.startswith("MapReduce is a programming model")  # no markup


def test_bibtex_finds_arxiv_ids_in_the_journal_field_and_eprints_and_counts_broken_entries() -> (
    None
):
    path = LIBRARY_FILES / "zotero.bib"
    parsed = parse(path.name, path.read_text(encoding="utf-8"))
    ids = {r.title: r.arxiv_id for r in parsed.records}
    assert (
        ids[
            "MAS-Attention: Memory-Aware Stream Processing for Attention Acceleration on "
            "Resource-Constrained Edge Devices"
        ]
        == "2411.17720"
    )
    assert ids["A Paper by Bernhard Schölkopf Nobody Has Fetched"] == "3001.00001"
    assert parsed.unreadable == 1
    assert parsed.format == "bibtex"


def test_library_formats_are_detected_and_bad_files_explained() -> None:
    assert detect("export.txt", "TY  - JOUR\nTI  - x\nER  - \n") == "ris"
    assert detect("export", "  [ {} ]") == "csl-json"
    assert detect("x", "% comment\n@article{a, title={x}}") == "bibtex"
    with pytest.raises(UsageError, match="not a BibTeX, CSL JSON or RIS file"):
        detect("notes.txt", "just some notes")
    with pytest.raises(UsageError, match="not valid JSON"):
        parse("lib.json", "[{")
    assert normalise_doi("https://doi.org/10.1145/359545.359563.") == "10.1145/359545.359563"
    assert normalise_doi("no doi here") is None
