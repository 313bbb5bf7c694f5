"""Rendering a ``DigestView``: Jinja2 templates for Markdown, e-mail text and e-mail
HTML (``tracker/digest/templates/``), one compiled environment per output and language.

What enters each output, and how it is made harmless there:

- **HTML**: autoescaped; every link goes through the ``url`` filter (``safe_link``).
- **Markdown**: every value printed with ``{{ }}`` is escaped by the environment's
  ``finalize`` (``escape_markdown``), so a template that forgets a filter still shows
  text as text. Only the ``url`` filter (a link that passed ``safe_link``) and the
  ``json`` filter (front matter) print anything as it is. Macros are not used in the
  Markdown template: their output would be escaped a second time.
- **Text**: printed as it is; free text goes through ``wrap`` (76 columns).

Every fixed text of the templates is wrapped in ``_()`` / ``ngettext()`` (Jinja's i18n
extension, new-style gettext): each language's catalogue (``catalogs``) is installed in
its own environments and no template changes. The plain-text part is wrapped by
display width: a Chinese or Japanese character takes two columns and a line may break
between two of them.

No decisions here (what is shown, what is a safe link, what is cut: ``view``), and no
I/O beyond reading the templates from the package.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from tracker.digest.catalogs import languages, translations
from tracker.digest.links import safe_link
from tracker.digest.view import DigestView, EntryView

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = {"markdown": "digest.md.j2", "text": "digest.txt.j2", "html": "digest.html.j2"}
__all__ = ["languages", "render", "translations"]
WIDTH = 76  # of the plain-text part

_MD_SPECIAL = re.compile(r"[\\`*_\[\]<|~]")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")  # "&amp;" would show as "&"
# At the start of a value (which may start a line): headings, lists, quotes, breaks.
_MD_START = re.compile(r"[#+\-=>]|([0-9]{1,9})(?=[.)](?:\s|$))")
# Whitespace that could end a line or indent one (CommonMark: line endings, tabs).
_BREAKS = re.compile(r"[\t\n\r\x0b\x0c]")
_ANYTHING = re.compile(r"[\t\n\r\x0b\x0c\\`*_\[\]<|~&]")  # either of the above, or "&"
_START = frozenset("#+-=> 0123456789")


class Markdown(str):
    """Markdown printed as it is: made only by this module's filters."""

    __slots__ = ()


class Plain(str):
    """Text that keeps its line breaks in the plain-text part (``wrap``'s output)."""

    __slots__ = ()


def escape_markdown(text: str) -> str:
    """Text that Markdown shows as written: one line, no links, emphasis, HTML, entities
    or block syntax from it."""
    if not _ANYTHING.search(text) and text[:1] not in _START and not text[-1:].isspace():
        return text  # most titles, names and abstracts: nothing to do
    if _BREAKS.search(text) or text[:1].isspace() or text[-1:].isspace():
        text = " ".join(text.split())
    if _MD_SPECIAL.search(text):
        text = _MD_SPECIAL.sub(r"\\\g<0>", text)
    if "&" in text:
        text = _ENTITY.sub(r"\\&", text)
    start = _MD_START.match(text)
    if start is None:
        return text
    if start.group(1):  # "1. " or "1) " would start a list: escape the mark, not the digit
        return text[: start.end()] + "\\" + text[start.end() :]
    return "\\" + text


_escape_repeated = lru_cache(maxsize=4096)(escape_markdown)  # names, categories, reasons


def _md_finalize(value: object) -> str:
    if isinstance(value, Markdown):
        return value
    if value is None:
        return ""
    text = str(value)
    return _escape_repeated(text) if len(text) <= 80 else escape_markdown(text)


def _md_names(entry: EntryView) -> str:
    """The authors shown, escaped, followed scholars in bold."""
    marked = entry.followed
    return Markdown(
        ", ".join(
            f"**{_escape_repeated(a)}**" if a in marked else _escape_repeated(a)
            for a in entry.authors
        )
    )


def _plain_finalize(value: object) -> object:
    return "" if value is None else value


def _url(value: object) -> str:
    """A link as it may be printed in any output: ``safe_link``'s form, or nothing."""
    return Markdown(safe_link(value) or "") if isinstance(value, str) else Markdown("")


def _json(value: object) -> str:
    # JSON is valid YAML: strings come out quoted and escaped, nothing to get wrong.
    return Markdown(json.dumps(value, ensure_ascii=False))


@cache
def _lines(room: int) -> re.Pattern[str]:
    """Greedy lines of at most ``room`` characters of single-spaced text, cut at spaces;
    a longer word is a line of its own."""
    return re.compile(rf"(\S{{{room + 1},}}|.{{1,{room}}})(?: |$)")


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


# The blocks that hold the wide characters (Unicode's East Asian Width W and F) and a
# few narrow ones: a quick test before looking at each character.
_MAYBE_WIDE = re.compile(
    "[\u1100-\u115f\u2190-\u2bff\u2e80-\ua4cf\ua960-\ua97f\uac00-\ud7a3"
    "\uf900-\ufaff\ufe10-\ufe6f\uff00-\uffe6\U00016fe0-\U0001b2ff\U0001f000-\U0001faff"
    "\U00020000-\U0003fffd]"
)


def width_of(text: str) -> int:
    """Columns a terminal or a fixed-width font gives ``text``: two for a wide
    (Chinese, Japanese, Korean, full-width) character."""
    if text.isascii() or not _MAYBE_WIDE.search(text):
        return len(text)
    return sum(2 if _wide(c) else 1 for c in text)


# No line starts with these (closing punctuation) or ends with those (opening).
_NO_START = frozenset("，。、；：！？）》」』】〕〉”’)]},.;:!?")
_NO_END = frozenset("（《「『【〔〈“‘([{")


def _units(text: str) -> list[tuple[str, bool]]:
    """The pieces a line may break between, each with whether a space comes before
    it: words, and wide characters one by one (punctuation kept with its neighbour)."""
    units: list[tuple[str, bool]] = []
    for n, word in enumerate(text.split(" ")):
        space = n > 0
        piece = ""
        for char in word:
            breakable = piece and (_wide(char) or _wide(piece[-1]))
            if breakable and char not in _NO_START and piece[-1] not in _NO_END:
                units.append((piece, space))
                piece, space = "", False
            piece += char
        units.append((piece, space))
    return units


def _wrap_wide(text: str, width: int, first: str, indent: str) -> list[str]:
    lines: list[str] = []
    line, used = first, width_of(first)
    empty = True  # nothing of the text on this line yet
    for piece, space in _units(text):
        size = width_of(piece) + (1 if space and not empty else 0)
        if not empty and used + size > width:
            lines.append(line)
            line, used, empty = indent, width_of(indent), True
            size = width_of(piece)
        line += (" " if space and not empty else "") + piece
        used += size
        empty = False
    lines.append(line)
    return lines


def wrap(text: str, width: int = WIDTH, first: str = "", indent: str = "") -> list[str]:
    """Words of ``text`` in lines of at most ``width`` columns, indent included (a
    longer word has a line of its own: URLs stay whole); the first line starts with
    ``first``, the others with ``indent``. A line may also break between two wide
    characters (Chinese has no spaces), never before a closing mark or after an
    opening one."""
    text = " ".join(text.split())
    if not text:
        return []
    if not text.isascii() and _MAYBE_WIDE.search(text):
        return _wrap_wide(text, width, first, indent)
    if len(first) + len(text) <= width:
        return [first + text]
    head = _lines(max(width - len(first), 1)).match(text)
    assert head is not None  # text is not empty and starts with a word
    rest = text[head.end() :]
    room = max(width - len(indent), 1)
    return [first + head.group(1), *(indent + line for line in _lines(room).findall(rest))]


def _wrap(text: object, indent: str = "  ", first: str | None = None, width: int = WIDTH) -> str:
    """Free text as lines (see ``wrap``); the first line starts with ``first``
    (default: the indent)."""
    lines = wrap(str(text or ""), width, indent if first is None else first, indent)
    return Plain("\n".join(lines))


def _names(entry: EntryView, mark: str = "") -> list[str]:
    """The authors shown, followed scholars with a mark after them."""
    return [f"{a}{mark}" if a in entry.followed else a for a in entry.authors]


def _underline(text: str, char: str = "=") -> str:
    return char * width_of(text)


@cache
def environment(kind: str, language: str = "en") -> Environment:
    """The compiled environment of one output kind and language (made once)."""
    # Imported here: commands that render no digest do not pay for Jinja's import.
    from jinja2 import Environment, PackageLoader, StrictUndefined

    common: dict[str, Any] = dict(
        loader=PackageLoader("tracker.digest", "templates"),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    if kind == "markdown":
        env = Environment(autoescape=False, finalize=_md_finalize, **common)
        env.filters.update(url=_url, json=_json, names=_md_names)
        env.globals["BR"] = Markdown("  ")  # a hard line break at the end of a line
    elif kind == "html":
        env = Environment(autoescape=True, finalize=_plain_finalize, **common)
        env.filters.update(url=_url)
    elif kind == "text":
        env = Environment(autoescape=False, finalize=_plain_finalize, **common)
        env.filters.update(url=_url, wrap=_wrap, underline=_underline, names=_names)
    else:
        raise ValueError(f"unknown output {kind!r}")
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def render(view: DigestView, kind: str) -> str:
    """The view in one output: ``markdown``, ``text`` or ``html``."""
    template = environment(kind, view.language).get_template(TEMPLATES[kind])
    out = template.render(view=view)
    if kind != "html":  # a blank line or two more from the templates' conditions
        while "\n\n\n" in out:  # (str.replace: a regular expression is 20 times slower)
            out = out.replace("\n\n\n", "\n\n")
    return out.rstrip("\n") + "\n"


def render_markdown(view: DigestView) -> str:
    return render(view, "markdown")


def render_text(view: DigestView) -> str:
    return render(view, "text")


def render_html(view: DigestView) -> str:
    return render(view, "html")
