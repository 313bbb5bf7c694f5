"""Research fields: the category → field mapping and tagging of items.

Fields are two-level names, "Group > Field" (``Computer Science > Systems``). The
mapping is data (``fields.toml`` beside this module, or a user's copy), read by
``config`` and validated here by ``FieldMap.from_dict``. Every category of a paper,
cross-lists included, contributes its field; items without categories get keyword
hints (fields below ``CONFIDENT``: searchable, never shown in digests; see
``MAX_KEYWORD_CONFIDENCE``).

Pure: no I/O here. The file is read by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import compress, repeat
from typing import Any

from tracker.errors import ConfigError
from tracker.models import Entry, FieldTag

_CODE = re.compile(r"^[a-z][a-z\-]*(\.[A-Za-z\-]+)?$")

# Keyword scoring: a title hit counts twice, a summary hit once; a field needs at
# least MIN_SCORE to be assigned, and at most MAX_KEYWORD_FIELDS are kept. Keyword
# fields are hints: searchable and explained, never shown in digests (below
# CONFIDENT however many keywords match). On 149 hand-labelled real feed items, the
# keyword fields were right 44% of the time, and still 43% with three different
# keywords or more ("parser", "grammar" and "syntax" in a Ruby post is not NLP).
MIN_SCORE = 2
MAX_KEYWORD_FIELDS = 2
KEYWORD_BASE = 0.25
KEYWORD_STEP = 0.05  # confidence per distinct keyword
MAX_KEYWORD_CONFIDENCE = 0.45  # below CONFIDENT: a hint, not a field digests show
MAX_PHRASE_WORDS = 6  # longer keyword phrases are ignored
_EDGES = ".,;:!?\"'“”‘’()[]{}<>«»…"  # punctuation that is not part of a word


@dataclass(frozen=True)
class FieldMap:
    """arXiv categories and keyword rules mapped to two-level research fields."""

    category_field: Mapping[str, str]  # canonical category code -> field
    aliases: Mapping[str, str]  # alias code -> canonical code
    archive_group: Mapping[str, str]  # archive prefix ("cs", "astro-ph") -> group name
    keywords: Mapping[str, tuple[str, ...]]  # field -> keyword phrases
    fields: tuple[str, ...]  # every field, in file order
    # words of a keyword (and of its plurals) -> (the keyword, the fields listing it)
    _index: Mapping[tuple[str, ...], tuple[str, tuple[str, ...]]] = field(
        default_factory=dict, repr=False
    )
    _prefixes: frozenset[tuple[str, ...]] = field(default=frozenset(), repr=False)
    _singles: frozenset[str] = field(default=frozenset(), repr=False)  # one-word keywords
    _starts: frozenset[str] = field(default=frozenset(), repr=False)  # first words of phrases

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str) -> FieldMap:
        """Validate a parsed fields file; every problem is reported with its key."""
        problems: list[str] = []
        category_field: dict[str, str] = {}
        keywords: dict[str, tuple[str, ...]] = {}
        fields_table = data.get("fields")
        if not isinstance(fields_table, dict) or not fields_table:
            raise ConfigError([f"{origin}: [fields]: expected a table of fields, found none"])
        for name, spec in fields_table.items():
            where = f'{origin}: fields."{name}"'
            if name.count(" > ") != 1 or not all(p.strip() for p in name.split(" > ")):
                problems.append(f'{where}: expected a name "Group > Field"')
            if not isinstance(spec, dict):
                problems.append(f"{where}: expected a table with categories and keywords")
                continue
            unknown = set(spec) - {"categories", "keywords"}
            if unknown:
                problems.append(f"{where}: unknown keys {sorted(unknown)}")
            cats = spec.get("categories", [])
            kws = spec.get("keywords", [])
            if not _is_str_list(cats):
                problems.append(f"{where}.categories: expected a list of category codes")
                cats = []
            if not _is_str_list(kws):
                problems.append(f"{where}.keywords: expected a list of strings")
                kws = []
            for code in cats:
                if not _CODE.match(code):
                    problems.append(f"{where}.categories: {code!r} is not a category code")
                elif code in category_field:
                    problems.append(
                        f'{where}.categories: {code} is already mapped to "{category_field[code]}"'
                    )
                else:
                    category_field[code] = name
            keywords[name] = tuple(k.strip().lower() for k in kws if k.strip())

        aliases_table = data.get("aliases", {})
        aliases: dict[str, str] = {}
        if not isinstance(aliases_table, dict):
            problems.append(f"{origin}: [aliases]: expected a table alias = canonical")
        else:
            for alias, canonical in aliases_table.items():
                if not isinstance(canonical, str) or canonical not in category_field:
                    problems.append(
                        f"{origin}: aliases.{alias}: expected a category mapped in [fields], "
                        f"got {canonical!r}"
                    )
                elif alias in category_field:
                    problems.append(
                        f"{origin}: aliases.{alias}: is also mapped directly in [fields]; "
                        "an alias must map through its canonical code only"
                    )
                else:
                    aliases[alias] = canonical

        groups_table = data.get("archives", {})
        archive_group: dict[str, str] = {}
        if not isinstance(groups_table, dict) or not all(
            isinstance(v, str) for v in groups_table.values()
        ):
            problems.append(f"{origin}: [archives]: expected a table archive = group name")
        else:
            archive_group = dict(groups_table)
        if problems:
            raise ConfigError(problems)
        return cls(
            category_field=category_field,
            aliases=aliases,
            archive_group=archive_group,
            keywords=keywords,
            fields=tuple(fields_table),
            _index=(index := _keyword_index(keywords)),
            _prefixes=frozenset(gram[:n] for gram in index for n in range(1, len(gram))),
            _singles=frozenset(gram[0] for gram in index if len(gram) == 1),
            _starts=frozenset(gram[0] for gram in index if len(gram) > 1),
        )

    def knows(self, code: str) -> bool:
        """Whether a category code is in the mapping (directly or as an alias)."""
        return code in self.category_field or code in self.aliases

    def knows_prefix(self, code: str) -> bool:
        """Whether a code is a known category or an archive of the mapping's ("astro-ph")."""
        return self.knows(code) or any(
            c.startswith(code + ".") for c in (*self.category_field, *self.aliases)
        )

    def canonical(self, code: str) -> str:
        return self.aliases.get(code, code)

    def field_of(self, code: str) -> str | None:
        """The field of a category; unknown codes of a known archive fall back to
        "<Group> > Other"."""
        code = self.canonical(code)
        found = self.category_field.get(code)
        if found:
            return found
        group = self.archive_group.get(code.split(".", 1)[0])
        return f"{group} > Other" if group else None

    def group_of(self, field_name: str) -> str:
        return field_name.split(" > ", 1)[0]

    def tag(self, entry: Entry) -> tuple[FieldTag, ...]:
        """Fields of an entry: from every category when it has any, else from keywords."""
        if entry.categories:
            return self._from_categories(entry.categories)
        return self._from_keywords(entry.title, entry.summary)

    def _from_categories(self, codes: Iterable[str]) -> tuple[FieldTag, ...]:
        tags: dict[str, FieldTag] = {}
        for code in codes:
            name = self.field_of(code)
            if name and name not in tags:
                tags[name] = FieldTag(name, 1.0, "category", code)
        return tuple(tags.values())

    def _hits(self, text: str) -> dict[str, set[str]]:
        """Keywords found in a text, by field: whole words, optional plural ending.

        One-word keywords by a set intersection; phrases from the places of their
        first words only, extended while they are the start of some keyword.
        """
        words = words_of(text)
        found: dict[str, set[str]] = {}
        index, prefixes = self._index, self._prefixes
        for word in self._singles.intersection(words):
            keyword, names = index[(word,)]
            for name in names:
                found.setdefault(name, set()).add(keyword)
        starts = self._starts
        if starts.isdisjoint(words):
            return found
        # the places of phrases' first words, picked out without a Python loop
        for start in compress(range(len(words)), map(starts.__contains__, words)):
            gram: tuple[str, ...] = (words[start],)
            for word in words[start + 1 : start + MAX_PHRASE_WORDS]:
                gram = (*gram, word)
                hit = index.get(gram)
                if hit is not None:
                    for name in hit[1]:
                        found.setdefault(name, set()).add(hit[0])
                if gram not in prefixes:
                    break
        return found

    def _from_keywords(self, title: str, summary: str) -> tuple[FieldTag, ...]:
        in_title = self._hits(title)
        in_summary = self._hits(summary)
        scored: list[tuple[int, str, tuple[str, ...]]] = []
        for name in in_title.keys() | in_summary.keys():
            t, s = in_title.get(name, set()), in_summary.get(name, set())
            score = 2 * len(t) + len(s - t)
            if score >= MIN_SCORE:
                scored.append((score, name, tuple(sorted(t | s))))
        scored.sort(key=lambda s: (-s[0], self.fields.index(s[1])))
        return tuple(
            FieldTag(name, keyword_confidence(len(hits)), "keyword", ", ".join(hits))
            for _, name, hits in scored[:MAX_KEYWORD_FIELDS]
        )


def keyword_confidence(distinct: int) -> float:
    """How sure ``distinct`` different keywords of one field make us: a little more
    with each, never CONFIDENT."""
    value = KEYWORD_BASE + KEYWORD_STEP * distinct
    return round(min(MAX_KEYWORD_CONFIDENCE, value), 2)


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def words_of(text: str) -> list[str]:
    """Lower-case words as keywords are matched: hyphenated words and inner marks
    ("802.11", "ads/cft", "f(r)", "fermat's") stay whole.

    ``map`` and ``filter`` run the strip of each token without a Python loop: a
    summary has a hundred words or more."""
    words = list(filter(None, map(str.strip, text.lower().split(), repeat(_EDGES))))
    if "(" in text:
        words = [
            # "f(r)" lost its closing parenthesis to the strip
            word + ")" if "(" in word and word.count("(") > word.count(")") else word
            for word in words
        ]
    return words


def _keyword_index(
    keywords: Mapping[str, tuple[str, ...]],
) -> dict[tuple[str, ...], tuple[str, tuple[str, ...]]]:
    """Each keyword as a tuple of words, and its plurals ("-s", "-es"), -> the keyword
    and the fields that list it. A plural that is a keyword itself keeps its own."""
    fields_of: dict[tuple[str, ...], list[str]] = {}
    for name, phrases in keywords.items():
        for phrase in phrases:
            gram = tuple(words_of(phrase))
            if gram and name not in fields_of.setdefault(gram, []):
                fields_of[gram].append(name)
    index = {gram: (" ".join(gram), tuple(names)) for gram, names in fields_of.items()}
    for gram, entry in list(index.items()):
        for ending in ("s", "es", "'s", "’s"):  # plurals and possessives
            index.setdefault((*gram[:-1], gram[-1] + ending), entry)
    return index
