"""Text from feeds and APIs made safe to store and to show: pure string functions.

Every source's entries pass through ``clean_entry`` when they are parsed, so keys,
storage, search and every digest see the same neutral text. What it removes:

- NUL and the other control characters (PostgreSQL refuses NUL in text, so one NUL
  would block a whole feed; a terminal obeys escape sequences; U+001F separates author
  names in storage). Controls that are whitespace become a space.
- Invisible format characters (Unicode category Cf): bidirectional embeddings,
  overrides and isolates (U+202A-U+202E, U+2066-U+2069: "U+202E gpj.exe" reads
  "exe.jpg") and marks (U+200E, U+200F, U+061C), zero-width spaces and word joiners
  (U+200B, U+2060, U+FEFF), the soft hyphen, invisible operators, tag characters
  (U+E0000 block: invisible copies of ASCII) and the rest listed in ``_INVISIBLE``.
- Lone surrogates (from JSON ``\\ud800``), which cannot be encoded.

What it keeps: the zero-width joiner and non-joiner where Unicode gives them a job (inside
an emoji sequence such as "woman scientist", and between letters of the scripts that join
or form ligatures, such as Persian or Devanagari, where removing them misspells words);
between Latin letters, spaces or digits they only hide or split words, and go. The few
visible format characters that belong to a script (Arabic number signs, the Syriac
abbreviation mark, Egyptian hieroglyph joiners) stay.

Titles are cut at ``MAX_TITLE`` characters at a word boundary with an ellipsis; author
names, author lists and the other free-text fields have caps too.

Pure: no I/O; imports only the models.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import replace

from tracker.models import Entry

MAX_TITLE = 300
MAX_SUMMARY = 20_000
MAX_NOTE = 1_000  # an arXiv comment or journal reference, a DOI, a category
MAX_URL = 4_000  # links and ids: cut only when absurd (browsers' practical limit is higher)
MAX_NAME = 200
# Above the longest real author list (5,154 names: ATLAS and CMS, arXiv:1503.07589).
MAX_AUTHORS = 6_000
ELLIPSIS = "…"
ZWNJ, ZWJ = "\u200c", "\u200d"

# Controls other than tab, newline and carriage return; invisible format characters;
# surrogates. U+200C and U+200D are handled apart (``_joiner``).
_INVISIBLE_CHARS = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0 and C1 controls
    "\u00ad"  # soft hyphen
    "\u061c"  # Arabic letter mark
    "\u180e"  # Mongolian vowel separator
    "\u200b\u200e\u200f"  # zero-width space; left-to-right and right-to-left marks
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u206f"  # bidi isolates; deprecated format characters
    "\ufeff"  # zero-width no-break space (byte order mark)
    "\ufff9-\ufffb"  # interlinear annotation
    "\U0001bca0-\U0001bca3"  # shorthand format controls
    "\U0001d173-\U0001d17a"  # musical symbol format controls
    "\U000e0000-\U000e007f"  # tag characters
    "\ud800-\udfff"  # lone surrogates
)
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]")
_JOINERS = re.compile(f"[{ZWNJ}{ZWJ}]")
_ASCII_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Format characters kept: visible, and part of one script's writing.
KEPT_FORMAT = frozenset(
    [*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD]
) | frozenset(range(0x13430, 0x13440))


def _emoji(char: str) -> bool:
    """A character that takes part in emoji ZWJ sequences (pictographs, their
    modifiers and the emoji variation selector)."""
    code = ord(char)
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2190 <= code <= 0x2BFF  # arrows, technical, dingbats, misc. symbols
        or code in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0xFE0F)
    )


def _joining_letter(char: str) -> bool:
    """A letter or mark of a script beyond Latin, Greek and Cyrillic (where the joiners
    control cursive joining and ligatures)."""
    return ord(char) > 0x052F and unicodedata.category(char)[0] in "LM"


def _replace(match: re.Match[str]) -> str:
    return " " if match.group().isspace() else ""


def _joiner(match: re.Match[str]) -> str:
    text, at = match.string, match.start()
    before = text[at - 1] if at > 0 else ""
    after = text[at + 1] if at + 1 < len(text) else ""
    if not before or not after:
        return ""
    if match.group() == ZWJ and _emoji(before) and _emoji(after):
        return ZWJ
    return match.group() if _joining_letter(before) and _joining_letter(after) else ""


def neutralise(text: str) -> str:
    """``text`` without controls, invisible format characters and lone surrogates
    (whitespace controls become spaces); line breaks and tabs are kept."""
    if text.isascii():
        return _ASCII_CONTROLS.sub(_replace, text) if _ASCII_CONTROLS.search(text) else text
    if _INVISIBLE.search(text):
        text = _INVISIBLE.sub(_replace, text)
    if ZWJ in text or ZWNJ in text:
        text = _JOINERS.sub(_joiner, text)
    return text


def clean_line(text: str) -> str:
    """Neutralised, with runs of whitespace as one space and none at the ends."""
    return " ".join(neutralise(text).split())


def shorten(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else cut to fit with an
    ellipsis: at the last space if that keeps most of it, else within the word."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space >= limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:-" + ZWJ + ZWNJ) + ELLIPSIS


def clean_title(text: str) -> str:
    return shorten(clean_line(text), MAX_TITLE)


def clean_names(names: Iterable[str]) -> tuple[str, ...]:
    """Author names: each cleaned and capped, empty ones dropped, at most
    ``MAX_AUTHORS`` of them."""
    cleaned = (shorten(clean_line(n), MAX_NAME) for n in names)
    return tuple(n for n in cleaned if n)[:MAX_AUTHORS]


def _line(text: str, limit: int) -> str:
    """``shorten(clean_line(text), limit)``, and the same object when that changes
    nothing (most text: one scan in C instead of a split and a join)."""
    # str.isprintable() is False for every control, format character, surrogate and
    # whitespace but the space: whatever else cleaning could change.
    if (
        len(text) <= limit
        and text.isprintable()
        and "  " not in text
        and text[:1] != " "
        and text[-1:] != " "
    ):
        return text
    return shorten(clean_line(text), limit)


def _optional(text: str | None, limit: int = MAX_NOTE) -> str | None:
    return None if text is None else (_line(text, limit) or None)


def _names(names: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = [_line(n, MAX_NAME) for n in names]
    if len(names) <= MAX_AUTHORS and all(c is n and c for c, n in zip(cleaned, names, strict=True)):
        return names
    return tuple(n for n in cleaned if n)[:MAX_AUTHORS]


def clean_entry(entry: Entry) -> Entry:
    """The entry with every text field neutralised and capped (the same entry when
    nothing changes)."""
    fields = {
        "title": _line(entry.title, MAX_TITLE) or ("(untitled)" if entry.title else ""),
        "summary": _line(entry.summary, MAX_SUMMARY),
        "url": _optional(entry.url, MAX_URL),
        "pdf_url": _optional(entry.pdf_url, MAX_URL),
        "doi": _optional(entry.doi),
        "journal_ref": _optional(entry.journal_ref),
        "comment": _optional(entry.comment),
        "primary_category": _optional(entry.primary_category),
        "guid": _optional(entry.guid, MAX_URL),
    }
    changed: dict[str, object] = {k: v for k, v in fields.items() if v is not getattr(entry, k)}
    authors = _names(entry.authors)
    if authors is not entry.authors:
        changed["authors"] = authors
    categories = tuple(c for c in (_line(c, MAX_NOTE) for c in entry.categories) if c)
    if categories != entry.categories:
        changed["categories"] = categories
    return replace(entry, **changed) if changed else entry  # type: ignore[arg-type]
