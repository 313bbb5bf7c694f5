"""Rendering a ``Digest`` as Markdown with YAML front matter.

The output depends only on the digest: no clock, no environment, stable ordering, so
rebuilding a day's digest gives the same bytes.

Pure: no I/O here (the caller writes the file atomically).
"""

from __future__ import annotations

import json
import re

from tracker.models import CONFIDENT, Digest, DigestEntry, DigestSection, Item, ItemKind

MAX_AUTHORS = 8
CROSS_INTRO = "From fields outside your own, matching what you follow."
MORE_CROSS_INTRO = "Also from other fields, matching what you follow."
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[\"'])")
# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = re.compile(
    r"\b(?:e\.g|i\.e|et al|etc|cf|vs|Fig|Figs|Eq|Eqs|Sec|Ref|Refs|resp|approx|Dr|Prof|No|St)\.$"
)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def escape(text: str) -> str:
    """Text that Markdown shows as written (no links, emphasis or HTML from it)."""
    text = " ".join(text.split())
    if _MD_SPECIAL.search(text):
        text = _MD_SPECIAL.sub(r"\\\1", text)
    return "\\" + text if text[:1] in "#+-" or re.match(r"\d+\.\s", text) else text


def first_sentences(text: str, sentences: int, max_chars: int) -> str:
    """The first sentences of an abstract, cut at a word boundary if still too long."""
    # Only the start can be shown: split no more of a long abstract than that.
    head = " ".join(text[: 2 * max_chars].split())
    if not head:
        return ""
    parts: list[str] = []
    pieces = _SENTENCE_END.split(head)
    while pieces and len(parts) < sentences:
        piece = pieces.pop(0)
        # Glue back pieces that were split after an abbreviation ("et al. show").
        while pieces and _ABBREVIATIONS.search(piece):
            piece += " " + pieces.pop(0)
        parts.append(piece)
    out = " ".join(parts)
    if len(out) > max_chars:
        cut = out[:max_chars].rsplit(" ", 1)[0].rstrip(",;:")
        out = cut + " …"
    elif pieces or len(text) > 2 * max_chars:
        out += " …"
    return out


def _authors(item: Item, followed: tuple[str, ...]) -> str:
    names = [f"**{escape(a)}**" if a in followed else escape(a) for a in item.authors]
    if len(names) > MAX_AUTHORS:
        shown = names[: MAX_AUTHORS - 1]
        # Keep followed authors visible even in long author lists.
        shown += [n for n in names[MAX_AUTHORS - 1 :] if n.startswith("**")]
        return ", ".join(shown) + f", et al. ({len(names)} authors)"
    return ", ".join(names)


def _entry(entry: DigestEntry, sentences: int, max_chars: int) -> list[str]:
    item = entry.item
    link = item.url or ""
    title = escape(item.title)
    lines = [f"### [{title}]({link})" if link else f"### {title}", ""]
    meta: list[str] = []
    if item.authors:
        meta.append(_authors(item, entry.followed_authors))
    if item.categories:
        meta.append(", ".join(item.categories))
    confident = confident_fields(item)
    if confident:
        meta.append("; ".join(confident))
    if meta:
        lines.append(" · ".join(meta) + "  ")
    if item.kind is ItemKind.PAPER and item.arxiv_id:
        version = f"v{item.version}" if item.version else ""
        links = f"arXiv:{item.arxiv_id}{version} · [abs]({item.url}) · [PDF]({item.pdf_url})"
        if entry.announce_type and entry.announce_type != "new":
            links += f" · {entry.announce_type}"
        lines.append(links)
    elif link:
        lines.append(f"<{link}>")
    abstract = first_sentences(item.summary, sentences, max_chars)
    if abstract:
        lines += ["", f"> {escape(abstract)}"]
    why = "; ".join(r.describe() for r in entry.reasons)
    lines += ["", f"*Why:* {escape(why)}", ""]
    return lines


def _compact(entry: DigestEntry) -> str:
    """One line for an entry of "More from other fields": title, fields, why."""
    item = entry.item
    title = escape(item.title)
    parts = [f"[{title}]({item.url})" if item.url else title]
    if item.kind is ItemKind.PAPER and item.arxiv_id:
        parts.append(f"arXiv:{item.arxiv_id}" + (f"v{item.version}" if item.version else ""))
    confident = confident_fields(item)
    if confident:
        parts.append("; ".join(confident))
    parts.append("*Why:* " + escape("; ".join(r.describe() for r in entry.reasons)))
    return "- " + " · ".join(parts)


def section_title(section: DigestSection) -> str:
    return f"Cross-domain: {section.title}" if section.kind == "cross" else section.title


def confident_fields(item: Item) -> list[str]:
    """The fields a digest shows: those tagged with enough confidence."""
    return [t.field for t in item.fields if t.confidence >= CONFIDENT]


def summary_line(digest: Digest) -> str:
    counts = {
        k: sum(len(s.entries) for s in digest.sections if s.kind.removesuffix("-more") == k)
        for k in ("scholars", "field", "cross", "other", "revised")
    }
    total = digest.item_count
    if total == 0:
        return "Nothing new since your last digest."
    parts = []
    labels = {
        "scholars": "from scholars you follow",
        "field": "in your fields",
        "cross": "from neighbouring fields",
        "other": "other",
        "revised": "new version",
    }
    for kind, label in labels.items():
        if counts[kind]:
            plural = "s" if kind == "revised" and counts[kind] > 1 else ""
            parts.append(f"{counts[kind]} {label}{plural}")
    noun = "item" if total == 1 else "items"
    return f"{total} new {noun}: " + ", ".join(parts) + "."


def render_markdown(digest: Digest, *, sentences: int = 2, max_chars: int = 400) -> str:
    front = {
        "reader": digest.reader,
        "date": digest.day.isoformat(),
        "cutoff": digest.cutoff.isoformat(),
        "items": digest.item_count,
        "sections": [
            {"title": s.title, "kind": s.kind, "items": len(s.entries)} for s in digest.sections
        ],
    }
    # JSON is valid YAML: strings come out quoted and escaped, nothing to get wrong.
    lines = ["---"]
    for key, value in front.items():
        lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    lines += [
        "---",
        "",
        f"# {escape(digest.reader)} · {digest.day:%A %d %B %Y}",
        "",
        summary_line(digest),
        "",
    ]
    cross_intro = False
    for section in digest.sections:
        lines += [f"## {section_title(section)}", ""]
        if section.kind == "cross" and not cross_intro:
            lines += [f"*{CROSS_INTRO}*", ""]
            cross_intro = True
        if section.kind == "cross-more":
            lines += [f"*{MORE_CROSS_INTRO}*", ""]
            lines += [_compact(entry) for entry in section.entries] + [""]
            continue
        for entry in section.entries:
            lines += _entry(entry, sentences, max_chars)
    if digest.sources_failing:
        lines += [
            "---",
            "",
            "**Sources failing:** " + "; ".join(escape(s) for s in digest.sources_failing),
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"
