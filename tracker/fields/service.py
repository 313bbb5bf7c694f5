"""The fields stage: training the field model (cold start, on demand, weekly),
re-tagging items, and what ``tracker fields`` shows.

Training data: the database's arXiv papers (their categories are free labels; they
are the installation's stored papers, weighted up and the source of the fields'
priors, see ``model.Weighting``), plus the arXiv metadata files of ``[fields]
training_data`` and any given on the command line (the cold start). A cold start
trains when there is no usable model and either training data is configured or the
database holds at least ``[fields] min_papers`` papers over ``MIN_FIELDS`` fields;
until then items without categories get keyword hints only.

The model is loaded on first use only (importing scikit-learn and reading the file
cost about a second), so commands that tag nothing never pay for it. Storage calls
no model inside its write transactions: ``pretag`` computes a batch's model fields
before the batch is written, and re-tagging computes between a read and a short
write. Re-tagging after the field mapping or the model changed (``sync``) is done by
``tracker fields`` and the worker, not as a side effect of every command.

Composition: wired by ``make_tracker``; the ``Tracker`` facade delegates here. It
decides nothing itself: when to train is ``tagger.training_due``, which fields an
item gets is ``tagger.Tagger``'s, and the model is ``model``'s.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tracker.config import Settings
from tracker.errors import ModelError, UsageError
from tracker.fields.evaluate import MIN_SUPPORT, Evaluation, evaluate, score
from tracker.fields.model import Example, FieldModel, ModelInfo, examples_from_papers
from tracker.fields.store import ModelStore, read_arxiv_metadata
from tracker.fields.tagger import Tagger, model_floor, training_due
from tracker.fields.training import SEED, Weighting, train
from tracker.models import Entry, FieldTag, Item
from tracker.storage import Storage
from tracker.storage.items import TagFn

log = logging.getLogger(__name__)
MIN_FIELDS = 10  # fields a database-only training set must cover
EXPLAIN_TOP = 5
META_KEY = "field_model"  # the model version the stored model tags come from
MAP_KEY = "field_map"  # the digest of the field mapping the stored tags come from


class LazyModel:
    """The current model, loaded from the store on first use."""

    def __init__(self, store: ModelStore, info: ModelInfo) -> None:
        self.store = store
        self.info = info
        self._model: FieldModel | None = None

    @property
    def version(self) -> int:
        return self.info.version

    @property
    def threshold(self) -> float:
        return self.info.threshold

    def get(self) -> FieldModel:
        if self._model is None:
            self._model = self.store.load(self.info.version)
        return self._model

    def predict(self, title: str, summary: str, top: int = 3) -> list[tuple[str, float]]:
        return self.get().predict(title, summary, top)

    def top_terms(self, title: str, summary: str, label: str, n: int = 6) -> list[str]:
        return self.get().top_terms(title, summary, label, n)


@dataclass(frozen=True, slots=True)
class TrainReport:
    model: ModelInfo
    retagged: int  # items without categories whose fields were recomputed


@dataclass(frozen=True, slots=True)
class FieldCount:
    field: str
    by_origin: Mapping[str, int]  # "category" / "model" / "keyword" -> items

    @property
    def total(self) -> int:
        return sum(self.by_origin.values())


@dataclass(frozen=True, slots=True)
class Explanation:
    item: Item
    model: ModelInfo | None  # the model that was asked (None: there is none)
    predictions: tuple[tuple[str, float], ...]  # the model's best fields for the text
    terms: Mapping[str, tuple[str, ...]]  # field -> the words that pointed to it
    categories: tuple[tuple[str, str, str | None], ...]  # (code, canonical, field)
    floor: float = 1.0  # the probability from which the model gives a post a field


class FieldService:
    def __init__(
        self, settings: Settings, storage: Storage, clock: Callable[[], dt.datetime]
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.clock = clock
        self.store = ModelStore(settings.data_dir / "models")
        self._tagger: Tagger | None = None

    # --- tagging ------------------------------------------------------------------------

    def tagger(self) -> Tagger:
        if self._tagger is None:
            info = self.store.usable()
            model = LazyModel(self.store, info) if info else None
            self._tagger = Tagger(self.settings.field_map, model)
        return self._tagger

    def tag(self, entry: Entry) -> tuple[FieldTag, ...]:
        """Every field of one entry; may load and call the model."""
        try:
            return self.tagger().tag(entry)
        except ModelError as e:
            return self._without_model(e).tag(entry)

    def pretag(self, entries: Iterable[Entry]) -> TagFn:
        """The tag function for one storage write of ``entries``: the model's fields
        are computed here, before the write transaction; the function only looks
        them up and maps categories."""
        batch = list(entries)
        try:
            return self.tagger().pretagged(batch)
        except ModelError as e:
            return self._without_model(e).pretagged(batch)

    def _without_model(self, error: ModelError) -> Tagger:
        # a broken model file: keyword hints from now on, said once
        log.warning("field model unusable, tagging by keywords error=%s", error)
        self._tagger = Tagger(self.settings.field_map, None)
        return self._tagger

    def model_info(self) -> ModelInfo | None:
        return self.store.usable()

    def _mapping_digest(self) -> str:
        return hashlib.sha256(self.settings.fields_file.read_bytes()).hexdigest()

    def start(self) -> None:
        """At every start: a new database records the mapping and the model its fields
        will come from. Nothing is re-tagged here (see ``sync``)."""
        if self.storage.get_meta(MAP_KEY) is None:
            self.storage.set_meta(MAP_KEY, self._mapping_digest())
        if self.storage.get_meta(META_KEY) is None:
            info = self.store.usable()
            self.storage.set_meta(META_KEY, str(info.version) if info else "none")

    def sync(self) -> tuple[int, int]:
        """Re-tag what is out of date: every item if the field mapping changed since
        the stored fields were computed, then the items without categories if the
        current model is not the one their fields came from (a model trained by
        another process, or removed). Returns both counts."""
        mapping = self._mapping_digest()
        remapped = 0
        if self.storage.get_meta(MAP_KEY) != mapping:
            remapped = self.storage.retag(self.tag)
            self.storage.set_meta(MAP_KEY, mapping)
            if remapped:
                log.info("fields recomputed after the mapping changed items=%d", remapped)
        info = self.store.usable()
        wanted = str(info.version) if info else "none"
        if self.storage.get_meta(META_KEY) == wanted:
            return remapped, 0
        count = self.storage.retag(self.tag, uncategorised_only=True)
        self.storage.set_meta(META_KEY, wanted)
        log.info("fields of items without categories recomputed model=%s items=%d", wanted, count)
        return remapped, count

    # --- training -----------------------------------------------------------------------

    def _examples(self, extra: Sequence[Path]) -> tuple[list[Example], dict[str, int]]:
        fmap = self.settings.field_map
        found: dict[str, Example] = {}
        sources: dict[str, int] = {}

        def add(name: str, papers: Sequence[Entry], stored: bool) -> None:
            before = len(found)
            for ex in examples_from_papers(papers, fmap.field_of, fmap.fields, stored=stored):
                found.setdefault(ex.key, ex)
            if len(found) > before:
                sources[name] = len(found) - before

        add("database", self.storage.labelled_papers(self.settings.fields.max_examples), True)
        paths = [self.settings.fields.training_data, *extra]
        for path in dict.fromkeys(p for p in paths if p is not None):
            add(str(path), read_arxiv_metadata(path), False)
        return list(found.values()), sources

    def weighting(self) -> Weighting:
        """How much stored papers count, from ``[fields] stored_weight``,
        ``stored_priors`` and ``stored_adapt``."""
        f = self.settings.fields
        return Weighting(stored=f.stored_weight, prior_share=f.stored_priors, adapt=f.stored_adapt)

    def train(
        self, extra: Sequence[Path] = (), *, seed: int = SEED, weighting: Weighting | None = None
    ) -> TrainReport:
        """Train a new model version from every source, save it, re-tag what it tags."""
        examples, sources = self._examples(extra)
        if not examples:
            raise UsageError(
                "no labelled papers to train on: the database has no arXiv papers with "
                "abstracts yet; set [fields] training_data or pass --from-jsonl"
            )
        log.info("training the field model examples=%d sources=%s", len(examples), sources)
        model = train(
            examples,
            self.settings.field_map.keywords,
            trained_at=self.clock(),
            seed=seed,
            sources=sources,
            weighting=weighting or self.weighting(),
        )
        saved = self.store.save(model)
        self._tagger = Tagger(self.settings.field_map, saved)
        retagged = self.storage.retag(self.tag, uncategorised_only=True)
        self.storage.set_meta(META_KEY, str(saved.version))
        log.info("field model trained model=%s retagged=%d", saved.info.name, retagged)
        return TrainReport(saved.info, retagged)

    def database_suffices(self) -> bool:
        counts = self.storage.primary_category_counts()
        fields = {self.settings.field_map.field_of(code) for code in counts}
        return (
            sum(counts.values()) >= self.settings.fields.min_papers
            and len(fields & set(self.settings.field_map.fields)) >= MIN_FIELDS
        )

    def ensure_model(self) -> TrainReport | None:
        """Cold start: train when there is no usable model and enough data."""
        if self.store.usable() is not None:
            return None
        if self.settings.fields.training_data is None and not self.database_suffices():
            return None
        return self.train()

    def retrain_if_due(self) -> TrainReport | None:
        """The weekly job: train again when the model is ``retrain_every`` old."""
        info = self.store.usable()
        if info is None:
            return self.ensure_model()
        if not training_due(info.trained_at, self.clock(), self.settings.fields.retrain_every):
            return None
        try:
            return self.train()
        except (ModelError, UsageError) as e:
            log.warning("field model not retrained error=%s", e)
            return None

    # --- what tracker fields shows ----------------------------------------------------------

    def counts(self) -> list[FieldCount]:
        """Every field of the mapping, in file order, with its items by origin; then any
        stored field no longer in the mapping."""
        stored = self.storage.field_counts()
        mapped = self.settings.field_map.fields
        names = [*mapped, *sorted(set(stored) - set(mapped))]
        return [FieldCount(name, dict(sorted(stored.get(name, {}).items()))) for name in names]

    def explain(self, ref: str) -> Explanation:
        item = self.storage.item(ref)
        fmap = self.settings.field_map
        categories = tuple((c, fmap.canonical(c), fmap.field_of(c)) for c in item.categories)
        tagger = self.tagger()
        model = tagger.model
        if model is None or not (item.title.strip() or item.summary.strip()):
            return Explanation(item, None, (), {}, categories)
        predictions = tuple(model.predict(item.title, item.summary, top=EXPLAIN_TOP))
        wanted = dict.fromkeys([*(t.field for t in item.fields), *(p for p, _ in predictions[:2])])
        terms = {name: tuple(model.top_terms(item.title, item.summary, name)) for name in wanted}
        info = model.info if isinstance(model, LazyModel | FieldModel) else None
        floor = model_floor(model.threshold)
        return Explanation(item, info, predictions, terms, categories, floor)

    def _read_examples(self, path: Path, *, stored: bool = False) -> list[Example]:
        fmap = self.settings.field_map
        papers = read_arxiv_metadata(path)
        return examples_from_papers(papers, fmap.field_of, fmap.fields, stored=stored)

    def load_model(self, ref: str) -> FieldModel:
        """A model by version, path, or "current" (this installation's newest)."""
        if ref.strip().lower() in ("current", "latest"):
            info = self.store.usable()
            if info is None:
                raise UsageError("no usable field model yet (tracker fields train)")
            return self.store.load(info.version)
        return ModelStore.load_ref(ref, self.store)

    def evaluate(
        self,
        data: Path | None = None,
        *,
        split: str = "time",
        seed: int = SEED,
        stored: Sequence[Path] = (),
        test: Path | None = None,
        model: str | None = None,
        min_support: int = MIN_SUPPORT,
    ) -> Evaluation:
        """Score the classifier on arXiv metadata files.

        With ``model``: that model on ``test`` (or on all of ``data``), no training.
        Otherwise a model is trained for the evaluation on ``data`` (default:
        ``[fields] training_data``) as the cold start plus the ``stored`` files as an
        installation's stored papers, and scored on ``test``, or on the newest 20%
        of those papers (``split`` "time", or "random" for comparison).
        """
        if model is not None:
            target = test or data
            if target is None:
                raise UsageError("no data to score the model on: pass --test FILE or --data")
            return score(
                self.load_model(model), self._read_examples(target), min_support=min_support
            )
        path = data or self.settings.fields.training_data
        if path is None:
            raise UsageError(
                "no data to evaluate on: pass --data DIR or set [fields] training_data"
            )
        found: dict[str, Example] = {}
        for name in stored:
            for ex in self._read_examples(name, stored=True):
                found.setdefault(ex.key, ex)
        for ex in self._read_examples(path):
            found.setdefault(ex.key, ex)
        keywords, now, weighting = self.settings.field_map.keywords, self.clock(), self.weighting()
        return evaluate(
            lambda older: train(older, keywords, trained_at=now, seed=seed, weighting=weighting),
            list(found.values()),
            split=split,
            test=self._read_examples(test) if test is not None else None,
            min_support=min_support,
        )
