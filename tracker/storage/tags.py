"""Filter tokens: an item's categories and fields, written into the full-text index.

Filtering a text search by category or field then costs an index intersection inside
FTS5 (``{tags} : "…"``) instead of a join that visits every text match. Each value
becomes one opaque token of letters and digits (the tokenizer would split "cs.LG"), so
nothing a user types for text collides with it by accident.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator

MAX_MONTHS = 600  # a date filter spanning more months than this is left to SQL alone


def _token(kind: str, value: str) -> str:
    return "zz" + kind + hashlib.blake2b(value.encode(), digest_size=6).hexdigest()


def category_token(code: str) -> str:
    return _token("c", code)


def archive_token(archive: str) -> str:
    return _token("a", archive)


def field_token(name: str) -> str:
    return _token("f", name)


def group_token(group: str) -> str:
    return _token("g", group)


def month_token(day: dt.date) -> str:
    return f"zzm{day.year:04d}{day.month:02d}"


def months(since: dt.date, until: dt.date) -> Iterator[dt.date]:
    """The first day of every month from ``since``'s to ``until``'s, inclusive."""
    current = since.replace(day=1)
    while current <= until:
        yield current
        current = (current + dt.timedelta(days=32)).replace(day=1)


def item_tags(
    categories: Iterable[str], fields: Iterable[str], when: dt.datetime | None = None
) -> str:
    """The tokens of an item, space-separated, for the ``tags`` column: its categories
    and their archives, its fields and their groups, and the month it is dated by."""
    tokens: dict[str, None] = {}
    if when is not None:
        tokens[month_token(when.date())] = None
    for code in categories:
        tokens[category_token(code)] = None
        tokens[archive_token(code.split(".", 1)[0])] = None
    for name in fields:
        tokens[field_token(name)] = None
        tokens[group_token(name.split(" > ", 1)[0])] = None
    return " ".join(tokens)
