"""The field model's weighting, priors and abstention, table by table; the tagger's
evidence rule and its two-step tagging around storage's write transaction; model
manifests old and new."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from tests.test_classify import GEN, NLP, NOW, SYS, synthetic
from tests.test_fields_mapping import FIELDS_FILE
from tracker.errors import ModelError
from tracker.fields.mapping import MAX_KEYWORD_CONFIDENCE, FieldMap, keyword_confidence
from tracker.fields.model import DEFAULT_THRESHOLD, Example, log_prior_bias
from tracker.fields.store import ModelStore
from tracker.fields.tagger import MIN_PROBABILITY, Tagger, distinct_words
from tracker.fields.training import (
    MIN_PRIOR_PAPERS,
    WEIGHTING,
    Weighting,
    choose_threshold,
    example_weights,
    stored_priors,
    train,
)
from tracker.models import CONFIDENT, Entry

DAY = dt.date(2025, 7, 22)


@pytest.fixture(scope="module")
def field_map() -> FieldMap:
    import tomllib

    with FIELDS_FILE.open("rb") as f:
        return FieldMap.from_dict(tomllib.load(f), str(FIELDS_FILE))


def ex(key: str, field: str, day: dt.date | None = DAY, stored: bool = True) -> Example:
    return Example(key, "t", "s", (field,), day, stored)


# --- weights and priors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "age_days", "expected"),
    [
        (False, 0, 1.0),  # a cold-start paper
        (True, 0, 3.0),  # a stored paper of the newest day
        (True, 180, 2.0),  # one half-life older: half the extra weight
        (True, 360, 1.5),
        (True, 100_000, 1.0),  # very old: never below a cold-start paper
    ],
)
def test_stored_papers_weigh_more_the_newer_they_are(
    stored: bool, age_days: int, expected: float
) -> None:
    weighting = Weighting(stored=3.0, half_life_days=180)
    newest = ex("newest", SYS)
    other = ex("other", SYS, DAY - dt.timedelta(days=age_days), stored)
    weights = example_weights([newest, other], weighting)
    assert weights[0] == 3.0
    assert math.isclose(weights[1], expected, rel_tol=1e-9, abs_tol=1e-9)


def test_the_default_weighting_is_neutral() -> None:
    found = [ex("a", SYS), ex("b", NLP, DAY - dt.timedelta(days=30)), ex("c", GEN, stored=False)]
    assert example_weights(found, WEIGHTING) == [1.0, 1.0, 1.0]
    many = [ex(f"s{n}", SYS) for n in range(MIN_PRIOR_PAPERS * 2)]
    assert stored_priors(many, (SYS, NLP), WEIGHTING) == {}


def test_priors_come_from_the_stored_papers_mixed_with_a_uniform_share() -> None:
    labels = (SYS, NLP, GEN)
    stored = [ex(f"s{n}", SYS) for n in range(75)] + [ex(f"n{n}", NLP) for n in range(25)]
    cold = [ex(f"c{n}", GEN, stored=False) for n in range(500)]  # not counted
    priors = stored_priors([*stored, *cold], labels, Weighting(prior_share=0.5))
    assert priors == pytest.approx({SYS: 0.375 + 1 / 6, NLP: 0.125 + 1 / 6, GEN: 1 / 6})
    assert sum(priors.values()) == pytest.approx(1.0)
    # too few stored papers, or no share: no priors at all
    assert stored_priors(stored[: MIN_PRIOR_PAPERS - 1], labels, Weighting()) == {}
    assert stored_priors(stored, labels, Weighting(prior_share=0.0)) == {}


def test_log_prior_bias_is_centred_and_scaled() -> None:
    labels = ("a", "b", "c")
    bias = log_prior_bias(labels, {"a": 0.5, "b": 0.25, "c": 0.25}, 2.0)
    assert bias.sum() == pytest.approx(0.0)
    assert bias[0] - bias[1] == pytest.approx(2 * math.log(2))
    assert (log_prior_bias(labels, {}, 1.0) == 0).all()
    assert (log_prior_bias(labels, {"a": 0.9, "b": 0.1}, 0.0) == 0).all()


# --- the abstention threshold ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "value", "precision", "coverage"),
    [
        # all right: the lowest confidence
        ([(0.9 - n / 100, True) for n in range(20)], 0.71, 1.0, 1.0),
        # right above 0.5, wrong below: the threshold sits where precision is still 0.8
        (
            [(0.95 - n / 100, True) for n in range(16)]
            + [(0.5 - n / 100, False) for n in range(8)],
            0.47,
            0.8,
            0.8333,
        ),
        # never right often enough: never sure
        ([(0.9, False)] * 12 + [(0.8, True)] * 3, 1.0, None, 0.0),
        # too few held-out papers to tell: the default
        ([(0.9, True)] * 5, DEFAULT_THRESHOLD, None, None),
    ],
)
def test_the_threshold_is_the_lowest_confidence_that_keeps_precision(
    pairs: list[tuple[float, bool]], value: float, precision: float | None, coverage: float | None
) -> None:
    chosen = choose_threshold([p for p, _ in pairs], [ok for _, ok in pairs], target=0.8)
    assert (chosen.value, chosen.precision, chosen.coverage) == (value, precision, coverage)


def test_ties_are_decided_together() -> None:
    # ten at 0.7 of which five are right: not 0.8 however they are ordered
    pairs = [(0.9, True)] * 10 + [(0.7, True)] * 5 + [(0.7, False)] * 5
    chosen = choose_threshold([p for p, _ in pairs], [ok for _, ok in pairs], target=0.8)
    assert chosen.value == 0.9 and chosen.coverage == 0.5


def test_a_trained_model_stores_its_calibration(field_map: FieldMap) -> None:
    found = [
        Example(e.key, e.title, e.summary, e.fields, e.day, stored=n % 2 == 0)
        for n, e in enumerate(synthetic() * 3)
    ]
    # 270 examples (90 distinct keys repeated: de-duplicated to 90), 9 held out: too
    # few to calibrate, so the defaults stay
    model = train(found, field_map.keywords, trained_at=NOW)
    assert model.info.n_examples == 90 and model.info.n_stored == 45
    assert model.threshold == DEFAULT_THRESHOLD and model.info.threshold_precision is None


def test_stored_papers_teach_their_own_sense_of_a_word(field_map: FieldMap) -> None:
    """Cold-start genomics papers say "diffusion" of molecules; the installation's
    stored papers say it of language models. Adapting to the stored papers moves a
    new "diffusion" paper towards their sense more than weighing them alike does,
    and the model keeps one weight per term either way."""
    old = dt.date(2019, 1, 1)
    cold = synthetic() + [
        Example(f"1901.{k:05d}", f"diffusion of {w} in the genome",
                f"diffusion gene {w} chromosome diffusion dna", (GEN,), old)
        for k, w in enumerate(["protein", "variant", "expression", "assembly"] * 15)
    ]  # fmt: skip
    stored = [
        Example(f"2507.{n}{k:04d}", f"{w} {topic}", f"a {w} {topic} with {extra}", (name,), DAY,
                True)
        for n, (name, topic, extra, words) in enumerate([
            (NLP, "diffusion model", "diffusion", ["language", "tokens", "translation", "parsing"]),
            (GEN, "genome study", "dna", ["protein", "variant", "expression", "assembly"]),
            (SYS, "cluster study", "kernel", ["cache", "latency", "scheduler", "throughput"]),
        ])
        for k, w in enumerate(words * 3)
    ]  # fmt: skip
    text = "Diffusion at scale. Diffusion, diffusion and more diffusion."

    def margin(adapt: float) -> float:
        model = train([*cold, *stored], {}, trained_at=NOW, weighting=Weighting(adapt=adapt))
        assert model.coef.shape == (3, len(model.vectorizer.vocabulary_))
        assert model.info.adapt == adapt
        scores = model.scores([text])[0]
        return float(scores[model.labels.index(NLP)] - scores[model.labels.index(GEN)])

    assert margin(1.0) > margin(0.0) + 0.05


@pytest.mark.parametrize("stored", [False, True], ids=["none stored", "all stored"])
def test_adaptation_needs_stored_and_cold_start_papers(field_map: FieldMap, stored: bool) -> None:
    found = [replace(e, stored=stored) for e in synthetic()]
    plain = train(found, field_map.keywords, trained_at=NOW, weighting=Weighting(adapt=0))
    adapted = train(found, field_map.keywords, trained_at=NOW, weighting=Weighting(adapt=1))
    assert plain.fingerprint() == adapted.fingerprint()
    assert adapted.info.adapt == 0.0


# --- the tagger: threshold and evidence ------------------------------------------------------


class Fixed:
    """A model that always says the same, with the words given."""

    version = 4

    def __init__(self, found: list[tuple[str, float]], terms: list[str], threshold: float) -> None:
        self.found, self.terms, self.threshold = found, terms, threshold
        self.calls = 0

    def predict(self, title: str, summary: str, top: int = 3) -> list[tuple[str, float]]:
        self.calls += 1
        return self.found[:top]

    def top_terms(self, title: str, summary: str, label: str, n: int = 6) -> list[str]:
        return self.terms[:n]


@pytest.mark.parametrize(
    ("probability", "threshold", "terms", "fields"),
    [
        (0.9, 0.8, ["genome", "sequencing reads", "assembly"], [GEN]),
        (0.9, 0.8, ["genetic"], []),  # one word is not evidence
        (0.9, 0.8, ["genetic", "genetic improvement"], []),  # a pair is the same word again
        (0.79, 0.8, ["genome", "sequencing", "assembly"], []),  # below the model's threshold
        (0.8, 0.8, ["genome", "assembly"], [GEN]),
        (0.7, 0.3, ["genome", "assembly"], []),  # feed items need MIN_PROBABILITY too
        (MIN_PROBABILITY, 0.3, ["genome", "assembly"], [GEN]),
    ],
)
def test_model_fields_need_the_threshold_and_two_words_of_evidence(
    field_map: FieldMap, probability: float, threshold: float, terms: list[str], fields: list[str]
) -> None:
    tagger = Tagger(field_map, Fixed([(GEN, probability)], terms, threshold=threshold))
    post = Entry(title="Genetic Improvement to Enhance Code Snippets", summary="")
    assert [t.field for t in tagger.from_model(post)] == fields
    tags = tagger.tag(post)
    if fields:
        assert tags[0].origin == "model" and tags[0].basis.startswith("fields-v4: ")
        assert tags[0].confidence >= CONFIDENT  # what the model gives is shown
    else:  # abstained: hints at most, never shown
        assert all(t.origin == "keyword" and t.confidence < CONFIDENT for t in tags)


def test_distinct_words_of_terms() -> None:
    assert distinct_words(["soap", "soap stars", "stars"]) == 2
    assert distinct_words(["genetic", "genetic improvement"]) == 1
    assert distinct_words([]) == 0


@pytest.mark.parametrize("distinct", range(0, 30))
def test_keywords_never_make_a_field_confident(distinct: int) -> None:
    assert keyword_confidence(distinct) <= MAX_KEYWORD_CONFIDENCE < CONFIDENT


def test_one_title_word_is_a_hint(field_map: FieldMap) -> None:
    for title in ("Mexican Soap Stars", "Genetic Improvement to Enhance Code Snippets"):
        tags = field_map.tag(Entry(title=title))
        assert all(t.confidence < CONFIDENT for t in tags), tags


def test_pretagged_calls_the_model_before_and_never_inside(field_map: FieldMap) -> None:
    model = Fixed([(SYS, 0.95)], ["gpu", "cluster"], threshold=0.5)
    tagger = Tagger(field_map, model)
    post = Entry(title="Our GPU cluster", summary="Scheduling jobs.")
    paper = Entry(title="x", summary="y", categories=("q-bio.GN",), arxiv_id="2501.00001")
    tag = tagger.pretagged([post, paper])
    assert model.calls == 1  # the post only: the paper has categories
    assert [t.field for t in tag(post)] == [SYS]
    assert [(t.field, t.origin) for t in tag(paper)] == [(GEN, "category")]
    # a text merged inside the transaction, not seen before: keyword hints, no model
    merged = Entry(title="Our GPU cluster, updated", summary="Scheduling jobs on GPUs.")
    assert all(t.origin == "keyword" for t in tag(merged))
    assert model.calls == 1


# --- model files --------------------------------------------------------------------------


def test_manifests_carry_the_threshold_and_priors(tmp_path: Path, field_map: FieldMap) -> None:
    store = ModelStore(tmp_path / "models")
    model = train(synthetic(), field_map.keywords, trained_at=NOW)
    model = model.with_info(threshold=0.42, priors={SYS: 0.5, NLP: 0.25, GEN: 0.25})
    saved = store.save(model.with_info(prior_strength=1.0))
    manifest = json.loads((tmp_path / "models" / "fields-v1.json").read_text())
    assert manifest["threshold"] == 0.42 and manifest["priors"][SYS] == 0.5
    loaded = store.load()
    assert loaded.threshold == 0.42 and loaded.info.priors == saved.info.priors
    assert loaded.fingerprint() == saved.fingerprint()
    text = ("GPU cache", "kernel scheduler latency")
    assert loaded.predict(*text) == saved.predict(*text)
    # a manifest written before abstention existed: the default threshold, no priors
    for key in ("threshold", "priors", "prior_strength", "n_stored"):
        del manifest[key]
    (tmp_path / "models" / "fields-v1.json").write_text(json.dumps(manifest))
    old = store.load()
    assert old.threshold == DEFAULT_THRESHOLD and old.info.priors == {}
    assert (old.bias == 0).all()


def test_models_named_on_the_command_line(tmp_path: Path, field_map: FieldMap) -> None:
    store = ModelStore(tmp_path / "models")
    store.save(train(synthetic(), field_map.keywords, trained_at=NOW))
    store.save(train(synthetic(), field_map.keywords, trained_at=NOW, seed=1))
    assert ModelStore.load_ref("1", store).version == 1
    assert ModelStore.load_ref("fields-v2", store).version == 2
    assert ModelStore.load_ref(str(tmp_path / "models" / "fields-v1.json"), store).version == 1
    assert ModelStore.load_ref(str(tmp_path / "models"), store).version == 2
    with pytest.raises(ModelError, match="no field model version 9"):
        ModelStore.load_ref("9", store)
    with pytest.raises(ModelError, match="neither a model version"):
        ModelStore.load_ref(str(tmp_path / "elsewhere.pkl"), store)
