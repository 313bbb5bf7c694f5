"""A digest as an e-mail: subject, a plain-text part readable on its own, and an HTML
part that renders well in common mail clients.

The HTML is written here, not taken from feeds: every text (titles, names, abstracts,
which were reduced to plain text at ingest) is escaped, styles are inline, there are no
scripts, no event handlers, no images and nothing loaded from elsewhere; only http(s)
links are made clickable. The message has a stable Message-ID per reader and day, so a
digest sent twice (a crash after the server accepted it) is one message to the client.

Pure: no I/O here.
"""

from __future__ import annotations

import datetime as dt
import html
import textwrap
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from tracker.digest.markdown import (
    CROSS_INTRO,
    MAX_AUTHORS,
    confident_fields,
    first_sentences,
    section_title,
    summary_line,
)
from tracker.models import Digest, DigestEntry, ItemKind

FONT = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif"
MUTED = "color:#555555"


def subject(digest: Digest) -> str:
    day = f"{digest.day:%a %d %b %Y}"
    if not digest.item_count:
        return f"Digest for {digest.reader}, {day}: nothing new"
    scholars = sum(len(s.entries) for s in digest.sections if s.kind == "scholars")
    extra = f" ({scholars} from scholars you follow)" if scholars else ""
    return f"Digest for {digest.reader}, {day}: {digest.item_count} new{extra}"


def message_id(reader: str, day: dt.date, sender: str) -> str:
    """The same for every send of one reader's digest for one day."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "tracker.invalid"
    return f"<digest.{reader}.{day.isoformat()}@{domain}>"


def _authors(entry: DigestEntry, mark: str) -> list[str]:
    names = [f"{a}{mark}" if a in entry.followed_authors else a for a in entry.item.authors]
    if len(names) > MAX_AUTHORS:
        followed = [n for n in names[MAX_AUTHORS - 1 :] if n.endswith(mark)]
        return [*names[: MAX_AUTHORS - 1], *followed, f"et al. ({len(names)} authors)"]
    return names


def _safe_link(url: str | None) -> str | None:
    return url if url and url.startswith(("https://", "http://")) else None


# --- plain text ------------------------------------------------------------------------


def text_part(digest: Digest, *, sentences: int = 2, max_chars: int = 400) -> str:
    lines = [f"Digest for {digest.reader}, {digest.day:%A %d %B %Y}", summary_line(digest), ""]
    cross_intro = False
    for section in digest.sections:
        title = section_title(section)
        lines += [title.upper(), "=" * len(title), ""]
        if section.kind == "cross" and not cross_intro:
            lines += [CROSS_INTRO, ""]
            cross_intro = True
        for entry in section.entries:
            lines += _text_entry(entry, sentences, max_chars)
    if any(e.followed_authors for e in _entries(digest)):
        lines += ["* a scholar you follow", ""]
    if digest.sources_failing:
        lines += ["SOURCES FAILING", *(f"- {s}" for s in digest.sources_failing), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _entries(digest: Digest) -> list[DigestEntry]:
    return [e for s in digest.sections for e in s.entries]


def _wrap(text: str, indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, width=76, initial_indent=indent, subsequent_indent=indent) or []


def _text_entry(entry: DigestEntry, sentences: int, max_chars: int) -> list[str]:
    item = entry.item
    lines = _wrap(item.title, indent="")
    lines = [f"- {lines[0]}", *(f"  {rest}" for rest in lines[1:])] if lines else ["- (untitled)"]
    meta = [", ".join(_authors(entry, "*"))] if item.authors else []
    if item.categories:
        meta.append(", ".join(item.categories))
    fields = confident_fields(item)
    if fields:
        meta.append("; ".join(fields))
    if meta:
        lines += _wrap(" | ".join(meta))
    if item.kind is ItemKind.PAPER and item.arxiv_id:
        version = f"v{item.version}" if item.version else ""
        note = f" ({entry.announce_type})" if entry.announce_type not in (None, "new") else ""
        lines.append(f"  arXiv:{item.arxiv_id}{version}{note}  {item.url}")
        lines.append(f"  PDF: {item.pdf_url}")
    elif item.url:
        lines.append(f"  {item.url}")
    abstract = first_sentences(item.summary, sentences, max_chars)
    if abstract:
        lines += _wrap(abstract)
    lines += _wrap("Why: " + "; ".join(r.describe() for r in entry.reasons))
    return [*lines, ""]


# --- HTML ----------------------------------------------------------------------------


def _a(url: str | None, text: str) -> str:
    safe = _safe_link(url)
    label = html.escape(text)
    if not safe:
        return label
    return f'<a href="{html.escape(safe, quote=True)}" style="color:#1a5fb4">{label}</a>'


def _html_entry(entry: DigestEntry, sentences: int, max_chars: int) -> str:
    item = entry.item
    parts = [
        f'<h3 style="{FONT};font-size:16px;margin:18px 0 4px 0">{_a(item.url, item.title)}</h3>'
    ]
    meta: list[str] = []
    if item.authors:
        names = _authors(entry, "\0")
        meta.append(
            ", ".join(
                f"<strong>{html.escape(n[:-1])}</strong>" if n.endswith("\0") else html.escape(n)
                for n in names
            )
        )
    if item.categories:
        meta.append(html.escape(", ".join(item.categories)))
    fields = confident_fields(item)
    if fields:
        meta.append(html.escape("; ".join(fields)))
    if meta:
        parts.append(f'<div style="{FONT};font-size:13px;{MUTED}">{" · ".join(meta)}</div>')
    if item.kind is ItemKind.PAPER and item.arxiv_id:
        version = f"v{item.version}" if item.version else ""
        note = (
            f" · {html.escape(entry.announce_type)}"
            if entry.announce_type not in (None, "new")
            else ""
        )
        parts.append(
            f'<div style="{FONT};font-size:13px">arXiv:{html.escape(item.arxiv_id)}{version}'
            f" · {_a(item.url, 'abs')} · {_a(item.pdf_url, 'PDF')}{note}</div>"
        )
    abstract = first_sentences(item.summary, sentences, max_chars)
    if abstract:
        parts.append(
            f'<p style="{FONT};font-size:14px;line-height:1.45;margin:6px 0">'
            f"{html.escape(abstract)}</p>"
        )
    why = "; ".join(r.describe() for r in entry.reasons)
    parts.append(
        f'<div style="{FONT};font-size:12px;{MUTED}"><em>Why:</em> {html.escape(why)}</div>'
    )
    return "\n".join(parts)


def html_part(digest: Digest, *, sentences: int = 2, max_chars: int = 400) -> str:
    title = f"Digest for {digest.reader}, {digest.day:%A %d %B %Y}"
    body = [
        f'<h1 style="{FONT};font-size:20px;margin:0 0 4px 0">{html.escape(title)}</h1>',
        f'<p style="{FONT};font-size:14px;{MUTED};margin:0 0 12px 0">'
        f"{html.escape(summary_line(digest))}</p>",
    ]
    cross_intro = False
    for section in digest.sections:
        body.append(
            f'<h2 style="{FONT};font-size:18px;border-bottom:1px solid #dddddd;'
            f'padding-bottom:4px;margin:26px 0 6px 0">{html.escape(section_title(section))}</h2>'
        )
        if section.kind == "cross" and not cross_intro:
            body.append(
                f'<p style="{FONT};font-size:13px;{MUTED}"><em>{html.escape(CROSS_INTRO)}</em></p>'
            )
            cross_intro = True
        body += [_html_entry(e, sentences, max_chars) for e in section.entries]
    if digest.sources_failing:
        items = "".join(f"<li>{html.escape(s)}</li>" for s in digest.sources_failing)
        body.append(
            f'<div style="{FONT};font-size:12px;{MUTED};margin-top:28px">'
            f"<strong>Sources failing:</strong><ul>{items}</ul></div>"
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        f"<title>{html.escape(title)}</title></head>\n"
        '<body style="margin:0;padding:0;background:#ffffff">\n'
        '<div style="max-width:680px;margin:0 auto;padding:16px">\n'
        + "\n".join(body)
        + "\n</div>\n</body></html>\n"
    )


# --- the message -----------------------------------------------------------------------


def compose(
    digest: Digest,
    *,
    sender: str,
    to: str,
    now: dt.datetime,
    unsubscribe: str | None = None,
    sentences: int = 2,
    max_chars: int = 400,
) -> EmailMessage:
    """The complete message: headers, text part, HTML part."""
    msg = EmailMessage()
    msg["Subject"] = subject(digest)
    msg["From"] = sender
    name, address = parseaddr(to)
    msg["To"] = Address(display_name=name or digest.reader, addr_spec=address)
    msg["Date"] = format_datetime(now.astimezone(dt.UTC))
    msg["Message-ID"] = message_id(digest.reader, digest.day, sender)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    domain = parseaddr(sender)[1].rpartition("@")[2] or "tracker.invalid"
    msg["List-Id"] = f"tracker digest for {digest.reader} <digest.{digest.reader}.{domain}>"
    if unsubscribe:
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"  # RFC 2369
    msg.set_content(text_part(digest, sentences=sentences, max_chars=max_chars))
    msg.add_alternative(html_part(digest, sentences=sentences, max_chars=max_chars), subtype="html")
    return msg
