"""Jinja2 filters of the web page. Each returns plain text (escaped by the template)
or ``Markup`` built only from escaped text, so fetched content never becomes markup.

Pure: no I/O here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, quote_plus

from markupsafe import Markup, escape

from tracker.web.security import safe_url

_MARKED = re.compile("«([^«»]*)»")  # how storage/snippets.py marks the searched words


def highlight(snippet: str | None) -> Markup:
    """A search snippet with its «marked» words in <mark>, everything else escaped."""
    escaped = str(escape(snippet or ""))
    return Markup(_MARKED.sub(r"<mark>\1</mark>", escaped))


MAX_AUTHORS = 10


def author_links(
    authors: Sequence[str],
    scholars: Mapping[str, str],
    followed: Sequence[str],
    base: str,
    total: int | None = None,
) -> Markup:
    """The author list: followed scholars link to their page, everyone else to a search
    for their name; past MAX_AUTHORS (or when ``total`` says the list was cut), a count.
    Built here, not in the template: it is the hottest loop of every list (each name
    escaped, each link quoted)."""
    parts = []
    for name in authors[: MAX_AUTHORS if total is None else len(authors)]:
        shown = escape(name)
        scholar = scholars.get(name)
        if scholar:
            href = f"{base}/scholars/{quote(scholar, safe='')}"
            parts.append(f'<a class="author followed" href="{escape(href)}">{shown}</a>')
        elif name in followed:
            parts.append(f'<strong class="author followed">{shown}</strong>')
        else:
            href = f"{base}/search?author={quote_plus(name)}"
            parts.append(f'<a class="author" href="{escape(href)}">{shown}</a>')
    count = len(authors) if total is None else total
    more = f", et al. ({count} authors)" if count > len(parts) else ""
    return Markup(", ".join(parts) + more)


def day(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    return value.isoformat()[:10]


def when(value: dt.datetime | None) -> str:
    """A moment in UTC, to the minute."""
    if value is None:
        return "never"
    return f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def long_day(value: dt.date) -> str:
    return f"{value:%A, %d %B %Y}".replace(" 0", " ")


def count(value: int) -> str:
    return f"{value:,}"


def excerpt(text: str | None, limit: int = 320) -> str:
    """The start of an abstract, cut at a word."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def field_leaf(name: str) -> str:
    """ "Computer Science > Systems" -> "Systems"."""
    return name.rsplit(" > ", 1)[-1]


FILTERS: dict[str, Callable[..., Any]] = {
    "highlight": highlight,
    "author_links": author_links,
    "safe_url": safe_url,
    "day": day,
    "when": when,
    "long_day": long_day,
    "count": count,
    "excerpt": excerpt,
    "field_leaf": field_leaf,
}
