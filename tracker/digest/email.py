"""A digest as an e-mail: the subject, the headers, and the two parts rendered from the
digest's view (``render``): plain text readable on its own, and HTML with inline
styles, no scripts, no event handlers, no images and nothing loaded from elsewhere.

The message has a stable Message-ID per reader and day, so a digest sent twice (a
crash after the server accepted it) is one message to the client. The subject is in
the digest's language, and Content-Language says which (RFC 3282).

Pure: no I/O here (beyond reading the package's templates and catalogues).
"""

from __future__ import annotations

import datetime as dt
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from tracker.digest.catalogs import language
from tracker.digest.render import render_html, render_text
from tracker.digest.view import DigestView


def subject(view: DigestView) -> str:
    t = language(view.language)
    values = {
        "reader": view.header.reader,
        "day": t.short_day(view.header.day),
        "num": view.summary.total,
        "scholars": dict(view.summary.counts).get("scholars", 0),
    }
    if view.header.weekly:
        text = t.ngettext(
            "Weekly digest for %(reader)s, %(day)s: %(num)d top pick",
            "Weekly digest for %(reader)s, %(day)s: %(num)d top picks",
            view.summary.total,
        )
        return text % values
    if not view.summary.total:
        return t.gettext("Digest for %(reader)s, %(day)s: nothing new") % values
    if values["scholars"]:
        text = t.ngettext(
            "Digest for %(reader)s, %(day)s: %(num)d new (%(scholars)d from scholars you follow)",
            "Digest for %(reader)s, %(day)s: %(num)d new (%(scholars)d from scholars you follow)",
            view.summary.total,
        )
    else:
        text = t.ngettext(
            "Digest for %(reader)s, %(day)s: %(num)d new",
            "Digest for %(reader)s, %(day)s: %(num)d new",
            view.summary.total,
        )
    return text % values


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
    # RFC 3282; after the parts: making the message multipart moves Content-* headers
    # into the first part
    msg["Content-Language"] = view.tag
    return msg
