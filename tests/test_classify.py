"""The field classifier: deterministic training, tagging without categories, the model
files, the arXiv metadata reader and the time-split evaluation.

Training on the recorded arXiv metadata happens once per session, on a subsample, so
the suite stays fast; ``tracker fields eval`` measures the full set.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.test_fields_mapping import FIELDS_FILE
from tracker.errors import ModelError
from tracker.fields.evaluate import evaluate, report_lines, time_split
from tracker.fields.mapping import FieldMap
from tracker.fields.model import Example, FieldModel, examples_from_papers
from tracker.fields.store import ModelStore, read_arxiv_metadata
from tracker.fields.tagger import Tagger, own_fields_from_saved, training_due
from tracker.fields.training import train
from tracker.models import CONFIDENT, Entry

NOW = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
SYS = "Computer Science > Systems"
NLP = "Computer Science > Natural Language Processing"
GEN = "Quantitative Biology > Genomics"


@pytest.fixture(scope="session")
def field_map() -> FieldMap:
    import tomllib

    with FIELDS_FILE.open("rb") as f:
        return FieldMap.from_dict(tomllib.load(f), str(FIELDS_FILE))


@pytest.fixture(scope="session")
def recorded(corpus_dir: Path, field_map: FieldMap) -> list[Example]:
    papers = read_arxiv_metadata(corpus_dir / "arxiv-metadata")
    return examples_from_papers(papers, field_map.field_of, field_map.fields)


@pytest.fixture(scope="session")
def model(recorded: list[Example], field_map: FieldMap) -> FieldModel:
    """One model for the session: every 8th recorded paper (about 2,300)."""
    return train(recorded[::8], field_map.keywords, trained_at=NOW)


def synthetic() -> list[Example]:
    """Three fields with distinctive words; enough for a real (tiny) model."""
    words = {
        SYS: "gpu cluster scheduler kernel cache latency throughput distributed",
        NLP: "language model tokens translation parsing corpus sentence text",
        GEN: "genome sequencing gene chromosome variant dna expression assembly",
    }
    found = []
    for k in range(90):
        name = list(words)[k % 3]
        vocab = words[name].split()
        title = " ".join(vocab[(k + j) % len(vocab)] for j in range(4))
        summary = " ".join(vocab[(k * 3 + j) % len(vocab)] for j in range(12))
        day = dt.date(2020, 1, 1) + dt.timedelta(days=k)
        found.append(Example(f"2001.{k:05d}", title, summary, (name,), day))
    return found


# --- training ---------------------------------------------------------------------------


def test_training_is_deterministic_for_a_seed(field_map: FieldMap) -> None:
    examples = synthetic()
    first = train(examples, field_map.keywords, trained_at=NOW, seed=3)
    # the same examples in another order give the same model: they are put in order
    second = train(list(reversed(examples)), field_map.keywords, trained_at=NOW, seed=3)
    assert first.fingerprint() == second.fingerprint()
    text = ("Scheduling kernels on a GPU cluster", "We cut tail latency of the scheduler.")
    assert first.predict(*text) == second.predict(*text)
    assert first.predict(*text)[0][0] == SYS


def test_training_on_recorded_papers_is_deterministic(
    recorded: list[Example], field_map: FieldMap
) -> None:
    sample = recorded[::30]
    first = train(sample, field_map.keywords, trained_at=NOW)
    again = train(sample, field_map.keywords, trained_at=NOW)
    assert again.fingerprint() == first.fingerprint()
    assert again.info == first.info
    texts = [f"{e.title}. {e.summary}" for e in recorded[1::97]]
    assert (again.probabilities(texts) == first.probabilities(texts)).all()


def test_too_few_papers_is_a_clear_error(field_map: FieldMap) -> None:
    with pytest.raises(ModelError, match="too few labelled papers"):
        train(synthetic()[:5], field_map.keywords, trained_at=NOW)


def test_probabilities_and_explanations(model: FieldModel) -> None:
    title = "Genome assembly of a wheat cultivar"
    summary = "We sequenced the genome and annotated 40,000 genes on 21 chromosomes."
    top = model.predict(title, summary, top=3)
    assert top[0][0] == GEN and top[0][1] > 0.5
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
    assert abs(sum(model.probabilities([f"{title}. {summary}"])[0]) - 1) < 1e-9
    terms = model.top_terms(title, summary, GEN)
    assert {"genome", "genes"} & set(terms)
    assert model.top_terms(title, summary, "No > Such field") == []


def test_the_recorded_subsample_trains_a_useful_model(model: FieldModel) -> None:
    assert len(model.labels) >= 60
    assert model.info.holdout_accuracy is not None and model.info.holdout_accuracy > 0.4
    assert model.predict("Attention is all you need", "A transformer for translation.")[0][
        0
    ].startswith("Computer Science")


# --- tagging ------------------------------------------------------------------------------


def test_a_post_without_categories_gets_model_fields_with_confidences(
    field_map: FieldMap, model: FieldModel
) -> None:
    post = Entry(
        title="Eventually consistent: revisited",
        summary="Distributed storage systems in the cloud trade consistency for latency "
        "and availability; replicas of data in several datacenters converge eventually.",
    )
    tags = Tagger(field_map, model).tag(post)
    assert tags and tags[0].field == SYS
    assert all(t.origin == "model" for t in tags)
    assert all(model.threshold <= t.confidence <= 1 for t in tags)
    assert tags[0].basis.startswith(f"fields-v{model.version}: ")


def test_categories_win_and_keywords_stand_in(field_map: FieldMap, model: FieldModel) -> None:
    tagger = Tagger(field_map, model)
    paper = Entry(title="x", summary="genome", categories=("cs.DC", "q-bio.GN"))
    assert [(t.field, t.confidence, t.origin) for t in tagger.tag(paper)] == [
        (SYS, 1.0, "category"),
        (GEN, 1.0, "category"),
    ]
    assert Tagger(field_map, model).tag(Entry(title="")) == ()
    assert Tagger(field_map, None).tag(Entry(title="GPU", summary="")) == field_map.tag(
        Entry(title="GPU", summary="")
    )


class Unsure:
    """A model that is never sure enough: every field at 0.2, below its threshold."""

    version = 7
    threshold = 0.6

    def predict(self, title: str, summary: str, top: int = 3) -> list[tuple[str, float]]:
        return [(SYS, 0.2), (NLP, 0.2)][:top]

    def top_terms(self, title: str, summary: str, label: str, n: int = 6) -> list[str]:
        return ["gpu", "cluster"]


def test_when_the_model_abstains_keywords_give_hints_only(field_map: FieldMap) -> None:
    tagger = Tagger(field_map, Unsure())
    post = Entry(title="Our GPU cluster is live", summary="It has 64 GPUs.")
    assert tagger.from_model(post) == ()
    tags = tagger.tag(post)
    assert tags == field_map.tag(post) and tags[0].origin == "keyword"
    assert all(t.confidence < CONFIDENT for t in tags)  # never shown in digests


def test_training_due_and_fields_learned_from_saved_papers() -> None:
    week = dt.timedelta(days=7)
    assert training_due(None, NOW, week)
    assert not training_due(NOW - dt.timedelta(days=6), NOW, week)
    assert training_due(NOW - week, NOW, week)
    saved = [[SYS, NLP], [NLP], [GEN], [NLP, SYS], [GEN]]
    assert own_fields_from_saved(saved) == [NLP, SYS, GEN]
    assert own_fields_from_saved(saved, most=1) == [NLP]
    assert own_fields_from_saved([[SYS]]) == []  # one saved paper is not a field yet


# --- model files --------------------------------------------------------------------------


def test_models_are_saved_versioned_and_loaded(tmp_path: Path, field_map: FieldMap) -> None:
    store = ModelStore(tmp_path / "models")
    assert store.latest() is None and store.usable() is None
    model = train(synthetic(), field_map.keywords, trained_at=NOW, sources={"test": 90})
    saved = [store.save(model) for _ in range(4)]
    assert [m.version for m in saved] == [1, 2, 3, 4]
    assert store.versions() == [2, 3, 4]  # the last three are kept
    loaded = store.load()
    assert loaded.version == 4 and loaded.fingerprint() == model.fingerprint()
    assert loaded.info.trained_at == NOW and loaded.info.sources == {"test": 90}
    manifest = json.loads((tmp_path / "models" / "fields-v4.json").read_text())
    assert manifest["n_examples"] == 90 and manifest["labels"] == sorted(manifest["labels"])
    text = ("GPU cache", "kernel scheduler latency")
    assert loaded.predict(*text) == model.predict(*text)
    # a model written by another scikit-learn series is not used (pickles do not travel)
    manifest["sklearn"] = "0.1.0"
    (tmp_path / "models" / "fields-v4.json").write_text(json.dumps(manifest))
    assert store.usable() is None
    (tmp_path / "models" / "fields-v3.joblib").write_bytes(b"not a pickle")
    with pytest.raises(ModelError, match="cannot load"):
        store.load(3)


def test_reading_arxiv_metadata_files(tmp_path: Path) -> None:
    lines = [
        {"id": "0704.0001", "title": "A", "abstract": "x", "categories": ["hep-ph"]},
        {"id": "2503.11731", "title": "B", "summary": "y", "categories": ["cs.CV", "cs.RO"]},
        {"id": "hep-th/9901001", "title": "C", "abstract": "z", "categories": "hep-th gr-qc"},
        {
            "id": "1801.00001",
            "title": "D",
            "abstract": "w",
            "categories": ["cs.CL"],
            "primary_category": "cs.CL",
            "created": "2018-01-02",
        },
        {"id": "0704.0001", "title": "duplicate", "abstract": "", "categories": ["math.CO"]},
        {"title": "no id"},
    ]
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in lines) + "\nnot json\n")
    papers = {p.arxiv_id: p for p in read_arxiv_metadata(tmp_path)}
    assert set(papers) == {"0704.0001", "2503.11731", "hep-th/9901001", "1801.00001"}
    assert papers["0704.0001"].title == "A"
    assert papers["2503.11731"].primary_category == "cs.CV"
    assert papers["2503.11731"].summary == "y"
    assert papers["hep-th/9901001"].categories == ("hep-th", "gr-qc")
    assert papers["hep-th/9901001"].published == dt.datetime(1999, 1, 1, tzinfo=dt.UTC)
    assert papers["1801.00001"].published == dt.datetime(2018, 1, 2, tzinfo=dt.UTC)
    with pytest.raises(ModelError, match="not found"):
        read_arxiv_metadata(tmp_path / "missing")


def test_examples_take_the_primary_field_first(field_map: FieldMap) -> None:
    papers = [
        Entry(
            title="t",
            summary="s",
            arxiv_id="1",
            primary_category="cs.LG",
            categories=("stat.ML", "cs.LG", "cs.SY"),
        ),
        Entry(title="t", summary="", arxiv_id="2", categories=("cs.LG",)),  # no abstract
        Entry(title="t", summary="s", arxiv_id="3", categories=("cs.XX",)),  # unknown field
    ]
    [ex] = examples_from_papers(papers, field_map.field_of, field_map.fields)
    assert ex.fields == (
        "Computer Science > Machine Learning",
        "Statistics > Machine Learning",
        "Electrical Engineering and Systems Science > Systems and Control",
    )


# --- evaluation ---------------------------------------------------------------------------


def test_time_split_trains_on_the_older_papers() -> None:
    examples = synthetic()
    older, newer = time_split(list(reversed(examples)), 0.2)
    assert len(newer) == 18 and len(older) == 72
    assert max(e.day for e in older if e.day) <= min(e.day for e in newer if e.day)


def test_evaluation_on_a_recorded_subsample(recorded: list[Example], field_map: FieldMap) -> None:
    ev = evaluate(lambda older: train(older, field_map.keywords, trained_at=NOW), recorded[::16])
    assert ev.n_test == round(len(recorded[::16]) * 0.2)
    assert ev.train_days[1] is not None and ev.test_days[0] is not None
    assert ev.train_days[1] <= ev.test_days[0]
    assert 0.5 < ev.groups.accuracy <= 1 and 0 < ev.groups.macro_f1 <= 1
    assert ev.focus.n > 0 and ev.focus_group == "Computer Science"
    assert ev.field_confusions and ev.field_confusions[0][2] >= ev.field_confusions[-1][2]
    text = "\n".join(report_lines(ev))
    assert "groups" in text and "most confused fields" in text
