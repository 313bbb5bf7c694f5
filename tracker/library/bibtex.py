"""BibTeX and JSON export of items.

arXiv papers become ``@misc`` entries in the form arXiv recommends (eprint,
archivePrefix, primaryClass); posts become ``@misc`` with a URL. Keys are
``<surname><year><firstword>``, made unique within one export. LaTeX specials are
escaped outside ``$...$`` math; words with inner capitals are braced so styles keep
their case ("{FlashAttention}", "{GPU}").

Pure: no I/O here.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from tracker.models import Item, ItemKind, LinkKind
from tracker.names import PARTICLES

_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "$": r"\$",
}
_MATH = re.compile(r"(\$[^$]+\$)")
_WORD = re.compile(r"(?<![\\\w])[A-Za-z][A-Za-z0-9]*")
_STOPWORDS = frozenset(
    "a an the on of for in to and with from by towards toward via is are".split()
)


def latex_escape(text: str) -> str:
    out = []
    for n, part in enumerate(_MATH.split(" ".join(text.split()))):
        if n % 2:  # inside $...$: leave the math alone
            out.append(part)
        else:
            escaped = "".join(_SPECIALS.get(c, c) for c in part)
            out.append(escaped)
    return "".join(out)


def _protect_case(title: str) -> str:
    def brace(m: re.Match[str]) -> str:
        word = m.group(0)
        return "{" + word + "}" if any(c.isupper() for c in word[1:]) else word

    parts = _MATH.split(title)
    return "".join(p if n % 2 else _WORD.sub(brace, p) for n, p in enumerate(parts))


def bib_author(name: str) -> str:
    """ "Adrian Del Maestro" → "Del Maestro, Adrian" (BibTeX's unambiguous form)."""
    name = " ".join(name.split())
    if "," in name:
        return name
    tokens = name.split(" ")
    if len(tokens) == 1:
        return name
    cut = len(tokens) - 1
    while cut > 1 and tokens[cut - 1].lower() in PARTICLES:
        cut -= 1
    return f"{' '.join(tokens[cut:])}, {' '.join(tokens[:cut])}"


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _year(item: Item) -> str:
    when = item.published or item.updated or item.first_seen
    return f"{when.year}"


def cite_key(item: Item) -> str:
    surname = _ascii_word(bib_author(item.authors[0]).split(",")[0]) if item.authors else ""
    words = [w for w in re.findall(r"[A-Za-z0-9]+", item.title) if w.lower() not in _STOPWORDS]
    first = _ascii_word(words[0]) if words else ""
    return (surname or "anon") + _year(item) + first


def to_bibtex(items: Sequence[Item]) -> str:
    entries: list[str] = []
    used: dict[str, int] = {}
    for item in items:
        key = cite_key(item)
        count = used.get(key, 0)
        used[key] = count + 1
        if count:
            key += chr(ord("a") + count - 1) if count <= 26 else str(count)
        fields: list[tuple[str, str]] = [
            ("title", _protect_case(latex_escape(item.title))),
        ]
        if item.authors:
            fields.append(
                ("author", " and ".join(latex_escape(bib_author(a)) for a in item.authors))
            )
        fields.append(("year", _year(item)))
        if item.kind is ItemKind.PAPER and item.arxiv_id:
            fields += [("eprint", item.arxiv_id), ("archivePrefix", "arXiv")]
            if item.primary_category:
                fields.append(("primaryClass", item.primary_category))
        if item.doi:
            fields.append(("doi", item.doi))
        note = [latex_escape(item.journal_ref)] if item.journal_ref else []
        note += [f"{_NOTE_LABELS[k]}: {urls}" for k, urls in _grouped_links(item)]
        if note:
            fields.append(("note", ". ".join(note)))
        if item.url:
            fields.append(("url", item.url))
        width = max(len(name) for name, _ in fields)
        body = ",\n".join(f"  {name.ljust(width)} = {{{value}}}" for name, value in fields)
        entries.append(f"@misc{{{key},\n{body}\n}}\n")
    return "\n".join(entries)


# how a link is introduced in a BibTeX note (as Zotero and arXiv's own exports write it)
_NOTE_LABELS = {
    LinkKind.CODE: "Code",
    LinkKind.MODEL: "Model",
    LinkKind.DATASET: "Data",
    LinkKind.DEMO: "Demo",
    LinkKind.PROJECT: "Project page",
}


def bib_url(url: str) -> str:
    r"""A URL for ``\url{}``: only http(s); braces, spaces and backslashes (which would
    end the argument or break BibTeX) percent-encoded, ``%`` and ``#`` escaped as
    LaTeX wants them inside an argument."""
    if not url.lower().startswith(("http://", "https://")):
        return ""
    bad = {"{": "%7B", "}": "%7D", " ": "%20", "\\": "%5C", "%": "\\%", "#": "\\#"}
    return "".join(bad.get(c, c) for c in url if c.isprintable())


def _grouped_links(item: Item) -> list[tuple[LinkKind, str]]:
    """The item's code links by kind, in the order kinds first appear: (kind, urls)."""
    grouped: dict[LinkKind, list[str]] = {}
    for link in item.code:
        url = bib_url(link.url)
        if url:
            grouped.setdefault(link.kind, []).append(f"\\url{{{url}}}")
    return [(kind, ", ".join(urls)) for kind, urls in grouped.items()]


def to_json(items: Sequence[Item]) -> str:
    return json.dumps([item_dict(i) for i in items], ensure_ascii=False, indent=2) + "\n"


def item_dict(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "key": item.key,
        "kind": item.kind.value,
        "arxiv_id": item.arxiv_id,
        "version": item.version,
        "title": item.title,
        "authors": list(item.authors),
        "summary": item.summary,
        "url": item.url,
        "pdf_url": item.pdf_url,
        "doi": item.doi,
        "journal_ref": item.journal_ref,
        "primary_category": item.primary_category,
        "categories": list(item.categories),
        "code": [{"kind": link.kind.value, "url": link.url} for link in item.code],
        "fields": [
            {"field": t.field, "confidence": t.confidence, "origin": t.origin, "basis": t.basis}
            for t in item.fields
        ],
        "published": item.published.isoformat() if item.published else None,
        "updated": item.updated.isoformat() if item.updated else None,
        "first_seen": item.first_seen.isoformat(),
    }
