"""Which fields an item gets, and how sure we are.

- An item with arXiv categories gets the field of each category (confidence 1.0,
  origin "category"): categories are the authors' own statement.
- An item without categories (a blog post, lab news, a journal paper) gets the field
  model's most likely fields (origin "model", confidence = probability), at most
  ``MAX_MODEL_FIELDS`` of them, each with a probability of at least the model's own
  threshold (calibrated on held-out papers when it was trained) and at least
  ``MIN_PROBABILITY`` (feed items are not abstracts: see below), and each backed by
  at least ``MIN_EVIDENCE`` different words of the text that point to it. Otherwise
  the model abstains: it gives no field rather than a guess.
- When the model abstains, or there is none yet, the keyword rules of the fields file
  give hints (origin "keyword"): searchable and explained, below ``CONFIDENT``, so
  never shown in digests.

Tagging happens in two steps around storage's write transaction (``Pretagged``):
whatever needs the model is computed for a batch first, outside the transaction;
inside it, only categories are mapped and the results looked up.

Also here: when the model is due for retraining.

Pure: no I/O here. The model is any object with ``predict``, ``top_terms`` and a
``threshold`` (see ``Predictor``); ``tracker.fields.model.FieldModel`` is the real one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tracker.fields.mapping import FieldMap
from tracker.models import Entry, FieldTag

MAX_MODEL_FIELDS = 2
MIN_EVIDENCE = 2  # different words of the text that point to a model's field, at least
# Feed items are not abstracts: on 149 hand-labelled real feed items (bench/data), the
# fields the model gave from a probability of 0.75 were right 12 times in 14; from
# 0.6, 13 in 22. Held-out arXiv papers are right 87% of the time from 0.75.
MIN_PROBABILITY = 0.75
BASIS_TERMS = 4
EVIDENCE_TERMS = 8  # words asked for when counting the evidence


class Predictor(Protocol):
    @property
    def version(self) -> int: ...

    @property
    def threshold(self) -> float: ...

    def predict(self, title: str, summary: str, top: int = 3) -> list[tuple[str, float]]: ...

    def top_terms(self, title: str, summary: str, label: str, n: int = 6) -> list[str]: ...


def model_floor(threshold: float) -> float:
    """The probability from which the model gives an item without categories a field."""
    return max(threshold, MIN_PROBABILITY)


def distinct_words(terms: Iterable[str]) -> int:
    """How many different single words are among the terms (word pairs do not count:
    "genetic improvement" is the word "genetic" again, with a common one)."""
    return len({term for term in terms if " " not in term.strip()})


@dataclass(frozen=True)
class Tagger:
    field_map: FieldMap
    model: Predictor | None = None

    def tag(self, entry: Entry) -> tuple[FieldTag, ...]:
        """Every field of an entry (may call the model: not inside a transaction)."""
        if entry.categories:
            return self.field_map.tag(entry)
        return self.from_model(entry) or self.field_map.tag(entry)

    def from_model(self, entry: Entry) -> tuple[FieldTag, ...]:
        """The model's fields for an entry: empty when there is no model or it abstains."""
        if self.model is None or not (entry.title.strip() or entry.summary.strip()):
            return ()
        found = self.model.predict(entry.title, entry.summary, top=MAX_MODEL_FIELDS)
        floor = model_floor(self.model.threshold)
        tags: list[FieldTag] = []
        for name, probability in found:
            if probability < floor or name not in self.field_map.fields:
                continue
            terms = self.model.top_terms(entry.title, entry.summary, name, EVIDENCE_TERMS)
            if distinct_words(terms) < MIN_EVIDENCE:
                continue  # one word is not evidence ("stars", "genetic")
            basis = f"fields-v{self.model.version}: " + ", ".join(terms[:BASIS_TERMS])
            tags.append(FieldTag(name, round(probability, 2), "model", basis))
        return tuple(tags)

    def pretagged(self, entries: Iterable[Entry]) -> Pretagged:
        """The fields of entries about to be stored, the model's computed now."""
        known = {
            text_key(e): self.from_model(e)
            for e in entries
            if not e.categories and (e.title.strip() or e.summary.strip())
        }
        return Pretagged(self.field_map, known)


def text_key(entry: Entry) -> tuple[str, str]:
    return entry.title, entry.summary


@dataclass(frozen=True)
class Pretagged:
    """A cheap tag function for one write transaction: categories are mapped, the
    model's fields looked up by text; a text not computed before (one a merge made
    inside the transaction) gets keyword hints, and the model's next re-tagging
    (``tracker fields``, the worker) gives it model fields."""

    field_map: FieldMap
    known: dict[tuple[str, str], tuple[FieldTag, ...]]

    def __call__(self, entry: Entry) -> tuple[FieldTag, ...]:
        if entry.categories:
            return self.field_map.tag(entry)
        return self.known.get(text_key(entry)) or self.field_map.tag(entry)


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
