"""A digest as an e-mail: the subject, the headers, and the two parts rendered from the
digest's view (``render``): plain text readable on its own, and HTML with inline
styles, no scripts, no event handlers, no images and nothing loaded from elsewhere.

The message has a stable Message-ID per reader and day, so a digest sent twice (a
crash after the server accepted it) is one message to the client.

Pure: no I/O here.
"""

from __future__ import annotations

import datetime as dt
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from tracker.digest.render import render_html, render_text
from tracker.digest.view import DigestView


def subject(view: DigestView) -> str:
    day = f"{view.header.day:%a %d %b %Y}"
    reader = view.header.reader
    if view.header.weekly:
        return f"Weekly digest for {reader}, {day}: {view.summary.total} top picks"
    if not view.summary.total:
        return f"Digest for {reader}, {day}: nothing new"
    scholars = dict(view.summary.counts).get("scholars", 0)
    extra = f" ({scholars} from scholars you follow)" if scholars else ""
    return f"Digest for {reader}, {day}: {view.summary.total} new{extra}"


def message_id(reader: str, day: dt.date, sender: str, *, weekly: bool = False) -> str:
    """The same for every send of one reader's digest for one day (the weekly digest of
    that day has its own)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "tracker.invalid"
    kind = "weekly." if weekly else ""
    return f"<digest.{reader}.{kind}{day.isoformat()}@{domain}>"


def compose(
    view: DigestView,
    *,
    sender: str,
    to: str,
    now: dt.datetime,
    unsubscribe: str | None = None,
) -> EmailMessage:
    """The complete message: headers, text part, HTML part."""
    reader = view.header.reader
    msg = EmailMessage()
    msg["Subject"] = subject(view)
    msg["From"] = sender
    name, address = parseaddr(to)
    msg["To"] = Address(display_name=name or reader, addr_spec=address)
    msg["Date"] = format_datetime(now.astimezone(dt.UTC))
    msg["Message-ID"] = message_id(reader, view.header.day, sender, weekly=view.header.weekly)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    domain = parseaddr(sender)[1].rpartition("@")[2] or "tracker.invalid"
    msg["List-Id"] = f"tracker digest for {reader} <digest.{reader}.{domain}>"
    if unsubscribe:
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"  # RFC 2369
    msg.set_content(render_text(view))
    msg.add_alternative(render_html(view), subtype="html")
    return msg
