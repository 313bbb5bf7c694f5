"""Which fields an item gets, and how sure we are: the tag function given to storage.

- An item with arXiv categories gets the field of each category (confidence 1.0,
  origin "category"): categories are the authors' own statement.
- An item without categories (a blog post, lab news, a journal paper) gets the field
  model's most likely fields (origin "model", confidence = probability), at most
  ``MAX_MODEL_FIELDS`` of them and each at least ``MIN_MODEL_CONFIDENCE``; the basis
  names the model version and the words that weighed most.
- When there is no model yet, or it is unsure of every field, the keyword rules of
  the fields file decide (origin "keyword"), as before any model existed.

Also here: when the model is due for retraining.

Pure: no I/O here. The model is any object with ``predict`` and ``top_terms`` (see
``Predictor``); ``tracker.fields.model.FieldModel`` is the real one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tracker.fields.mapping import FieldMap
from tracker.models import Entry, FieldTag

MAX_MODEL_FIELDS = 2
MIN_MODEL_CONFIDENCE = 0.35  # kept (searchable, explained); digests show >= CONFIDENT
BASIS_TERMS = 4


class Predictor(Protocol):
    @property
    def version(self) -> int: ...

    def predict(self, title: str, summary: str, top: int = 3) -> list[tuple[str, float]]: ...

    def top_terms(self, title: str, summary: str, label: str, n: int = 6) -> list[str]: ...


@dataclass(frozen=True)
class Tagger:
    field_map: FieldMap
    model: Predictor | None = None

    def tag(self, entry: Entry) -> tuple[FieldTag, ...]:
        if entry.categories or self.model is None:
            return self.field_map.tag(entry)
        return self.from_model(entry) or self.field_map.tag(entry)

    def from_model(self, entry: Entry) -> tuple[FieldTag, ...]:
        """The model's confident fields for an entry (empty when it is unsure)."""
        if self.model is None or not (entry.title.strip() or entry.summary.strip()):
            return ()
        found = self.model.predict(entry.title, entry.summary, top=MAX_MODEL_FIELDS)
        tags: list[FieldTag] = []
        for name, probability in found:
            if probability < MIN_MODEL_CONFIDENCE or name not in self.field_map.fields:
                continue
            terms = self.model.top_terms(entry.title, entry.summary, name, BASIS_TERMS)
            basis = f"fields-v{self.model.version}" + (": " + ", ".join(terms) if terms else "")
            tags.append(FieldTag(name, round(probability, 2), "model", basis))
        return tuple(tags)


def training_due(trained_at: dt.datetime | None, now: dt.datetime, every: dt.timedelta) -> bool:
    """Whether the model should be trained again: never trained, or ``every`` has passed."""
    return trained_at is None or now - trained_at >= every


def own_fields_from_saved(
    saved_fields: Sequence[Sequence[str]], *, min_papers: int = 2, most: int = 3
) -> list[str]:
    """A reader's fields learned from what they saved: the fields of at least
    ``min_papers`` saved papers, most frequent first (ties: first seen), ``most`` at most."""
    counts: dict[str, int] = {}
    for fields in saved_fields:
        for name in dict.fromkeys(fields):
            counts[name] = counts.get(name, 0) + 1
    ranked = sorted(counts, key=lambda name: -counts[name])  # stable: first seen wins ties
    return [name for name in ranked if counts[name] >= min_papers][:most]
