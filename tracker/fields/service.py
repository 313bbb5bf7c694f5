"""The fields stage: training the field model (cold start, on demand, weekly),
re-tagging items without categories, and what ``tracker fields`` shows.

Training data: the database's arXiv papers (their categories are free labels), plus
the arXiv metadata files of ``[fields] training_data`` and any given on the command
line. A cold start trains when there is no usable model and either training data is
configured or the database holds at least ``[fields] min_papers`` papers over
``MIN_FIELDS`` fields; until then items without categories get keyword fields.

The model is loaded on first use only (importing scikit-learn and reading the file
cost about a second), so commands that tag nothing never pay for it.

Composition: wired by ``make_tracker``; the ``Tracker`` facade delegates here. It
decides nothing itself: when to train is ``tagger.training_due``, which fields an
item gets is ``tagger.Tagger``'s, and the model is ``model``'s.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tracker.config import Settings
from tracker.errors import ModelError, UsageError
from tracker.fields.evaluate import Evaluation, evaluate
from tracker.fields.model import SEED, Example, FieldModel, ModelInfo, examples_from_papers, train
from tracker.fields.store import ModelStore, read_arxiv_metadata
from tracker.fields.tagger import Tagger, training_due
from tracker.models import Entry, FieldTag, Item
from tracker.storage import Storage

log = logging.getLogger(__name__)
MIN_FIELDS = 10  # fields a database-only training set must cover
EXPLAIN_TOP = 5
META_KEY = "field_model"  # the model version the stored model tags come from


class LazyModel:
    """The current model, loaded from the store on first use."""

    def __init__(self, store: ModelStore, info: ModelInfo) -> None:
        self.store = store
        self.info = info
        self._model: FieldModel | None = None

    @property
    def version(self) -> int:
        return self.info.version

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
        """The tag function for storage: fields of one entry."""
        try:
            return self.tagger().tag(entry)
        except ModelError as e:  # a broken model file: fall back to keywords, once
            log.warning("field model unusable, tagging by keywords error=%s", e)
            self._tagger = Tagger(self.settings.field_map, None)
            return self._tagger.tag(entry)

    def model_info(self) -> ModelInfo | None:
        return self.store.usable()

    def sync(self) -> int:
        """Re-tag items without categories if the current model is not the one their
        fields came from (a model trained by another process, or removed)."""
        info = self.store.usable()
        wanted = str(info.version) if info else "none"
        if self.storage.get_meta(META_KEY) == wanted:
            return 0
        count = self.storage.retag(self.tag, uncategorised_only=True)
        self.storage.set_meta(META_KEY, wanted)
        log.info("fields of items without categories recomputed model=%s items=%d", wanted, count)
        return count

    # --- training -----------------------------------------------------------------------

    def _examples(self, extra: Sequence[Path]) -> tuple[list[Example], dict[str, int]]:
        fmap = self.settings.field_map
        found: dict[str, Example] = {}
        sources: dict[str, int] = {}

        def add(name: str, papers: Sequence[Entry]) -> None:
            before = len(found)
            for ex in examples_from_papers(papers, fmap.field_of, fmap.fields):
                found.setdefault(ex.key, ex)
            if len(found) > before:
                sources[name] = len(found) - before

        add("database", self.storage.labelled_papers(self.settings.fields.max_examples))
        paths = [self.settings.fields.training_data, *extra]
        for path in dict.fromkeys(p for p in paths if p is not None):
            add(str(path), read_arxiv_metadata(path))
        return list(found.values()), sources

    def train(self, extra: Sequence[Path] = (), *, seed: int = SEED) -> TrainReport:
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
        return Explanation(item, info, predictions, terms, categories)

    def evaluate(
        self, data: Path | None = None, *, split: str = "time", seed: int = SEED
    ) -> Evaluation:
        """The time-split evaluation on arXiv metadata files (default: training_data)."""
        path = data or self.settings.fields.training_data
        if path is None:
            raise UsageError(
                "no data to evaluate on: pass --data DIR or set [fields] training_data"
            )
        fmap = self.settings.field_map
        examples = examples_from_papers(read_arxiv_metadata(path), fmap.field_of, fmap.fields)
        now = self.clock()
        return evaluate(
            lambda older: train(older, fmap.keywords, trained_at=now, seed=seed),
            examples,
            split=split,
        )
