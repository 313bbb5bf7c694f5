"""How a digest words what the reader's ranking decided (``tracker.reading``): why an
item is a pick, the weekly rising phrases, and where the rest of a cut section is.

Every fixed text goes through the ``Translator`` given (``N_`` marks it where it is
defined); titles, phrases and names stay as they are. The follow behind a nearest
paper is recorded as its kind and value ("category cs.IT") and worded as a reason
words a follow (``tracker.digest.wording``). ``why_lines`` is what the command line
lists of an entry (English unless told).

Pure: no I/O here.
"""

from __future__ import annotations

import datetime as dt
import shlex
from dataclasses import dataclass

from tracker.digest.language import ENGLISH, N_, Language, Translator
from tracker.digest.links import safe_link
from tracker.digest.wording import follow_text, reason_text
from tracker.ids import abs_url, parse_arxiv_id
from tracker.models import DigestEntry, FollowKind, RankReason, RisingPhrase

# The nearest of the reader's papers, by the kind of evidence it is.
_NEAR = {
    "saved": N_("close to your saved '%(title)s'"),
    "up": N_("close to '%(title)s', which you rated up"),
    "library": N_("close to '%(title)s' in your library"),
    "scholar": N_("close to '%(title)s' by %(detail)s, whom you follow"),
    "follow": N_("close to '%(title)s' from your %(detail)s"),
}


def _follow(detail: str, t: Translator) -> str:
    """The follow that brought the nearest paper, recorded as its kind and value
    ("category cs.IT", "query kv cache"), worded as a digest's reasons word it."""
    kind, _, value = detail.partition(" ")
    try:
        return follow_text(FollowKind(kind), value, t)
    except (ValueError, KeyError):  # not a follow's kind: as recorded
        return detail


def pick_text(note: RankReason | None, t: Translator) -> str | None:
    """One line: why the ranking chose an item ("close to your saved 'X' (shared:
    a, b)"), or None."""
    if note is None:
        return None
    # Translators: between the words a pick shares with the reader's paper ("a, b")
    words = t.pgettext("words", ", ").join(note.terms)
    if note.kind == "words":
        return t.gettext("words you read about: %(words)s") % {"words": words}
    near = _NEAR.get(note.kind, N_("close to '%(title)s'"))
    detail = _follow(note.detail, t) if note.kind == "follow" else note.detail
    text = t.gettext(near) % {"title": note.title, "detail": detail}
    if not words:
        return text
    return t.gettext("%(reason)s (shared: %(words)s)") % {"reason": text, "words": words}


def why_lines(entry: DigestEntry, t: Language = ENGLISH) -> tuple[str, ...]:
    """Why an entry is in a digest, as ``tracker digest --section`` lists it: its
    reasons, then why it is a pick."""
    pick = pick_text(entry.note, t)
    return (*reason_text(entry, t), *((pick,) if pick else ()))


def more_command(reader: str, day: dt.date, section: str) -> str:
    """The command that lists a whole section of a recorded digest."""
    where = f"--reader {shlex.quote(reader)} --date {day.isoformat()}"
    return f"tracker digest {where} --section {shlex.quote(section)} --all"


@dataclass(frozen=True, slots=True)
class Example:
    title: str
    link: str | None  # a safe http(s) link, or None


@dataclass(frozen=True, slots=True)
class RisingView:
    phrase: str
    detail: str  # "4 papers this week (2.1%; 0.3% in the weeks before)"
    examples: tuple[Example, ...]


def _example_link(ref: str) -> str | None:
    parsed = parse_arxiv_id(ref)
    return safe_link(abs_url(parsed[0]) if parsed else ref)


def rising_views(phrases: tuple[RisingPhrase, ...], t: Translator) -> tuple[RisingView, ...]:
    found = []
    for r in phrases:
        count = t.ngettext("%(num)d paper this week", "%(num)d papers this week", r.papers) % {
            "num": r.papers
        }
        shares = t.gettext("%(now).1f%%; %(before).1f%% in the weeks before") % {
            "now": 100 * r.share,
            "before": 100 * r.before,
        }
        # Translators: a rising phrase's count, then its shares ("4 papers this week
        # (2.1%; 0.3% in the weeks before)")
        detail = t.gettext("%(count)s (%(shares)s)") % {"count": count, "shares": shares}
        examples = tuple(Example(title, _example_link(ref)) for ref, title in r.examples)
        found.append(RisingView(r.phrase, detail, examples))
    return tuple(found)
