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
extension, new-style gettext): a catalogue for a language is installed in its own
environments by ``translations`` and no template changes. Only English exists so far.

No decisions here (what is shown, what is a safe link, what is cut: ``view``), and no
I/O beyond reading the templates from the package.
"""

from __future__ import annotations

import gettext
import json
import re
import textwrap
from collections.abc import Sequence
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from tracker.digest.links import safe_link
from tracker.digest.view import Author, DigestView, Translator

TEMPLATES = {"markdown": "digest.md.j2", "text": "digest.txt.j2", "html": "digest.html.j2"}
LANGUAGES = ("en",)
WIDTH = 76  # of the plain-text part

_MD_SPECIAL = re.compile(r"[\\`*_\[\]<|~]|&(?=#?[0-9A-Za-z]+;)")
# At the start of a value (which may start a line): headings, lists, quotes, breaks.
_MD_START = re.compile(r"[#+\-=>]|([0-9]{1,9})(?=[.)](?:\s|$))")
_MESSY_SPACE = re.compile(r"[^\S ]| {2}|^ | $")
_BLANK_LINES = re.compile(r"\n{3,}")


class Markdown(str):
    """Markdown printed as it is: made only by this module's filters."""

    __slots__ = ()


class Plain(str):
    """Text that keeps its line breaks in the plain-text part (``wrap``'s output)."""

    __slots__ = ()


def escape_markdown(text: str) -> str:
    """Text that Markdown shows as written: one line, no links, emphasis, HTML, entities
    or block syntax from it."""
    if _MESSY_SPACE.search(text):
        text = " ".join(text.split())
    if _MD_SPECIAL.search(text):
        text = _MD_SPECIAL.sub(r"\\\g<0>", text)
    start = _MD_START.match(text)
    if start is None:
        return text
    if start.group(1):  # "1. " or "1) " would start a list: escape the mark, not the digit
        return text[: start.end()] + "\\" + text[start.end() :]
    return "\\" + text


def _md_finalize(value: object) -> str:
    if isinstance(value, Markdown):
        return value
    if value is None:
        return ""
    return escape_markdown(str(value))


def _plain_finalize(value: object) -> object:
    return "" if value is None else value


def _url(value: object) -> str:
    """A link as it may be printed in any output: ``safe_link``'s form, or nothing."""
    return Markdown(safe_link(value) or "") if isinstance(value, str) else Markdown("")


def _json(value: object) -> str:
    # JSON is valid YAML: strings come out quoted and escaped, nothing to get wrong.
    return Markdown(json.dumps(value, ensure_ascii=False))


def _wrap(text: object, indent: str = "  ", first: str | None = None, width: int = WIDTH) -> str:
    """Free text as lines of at most ``width`` characters, indent included; the first
    line starts with ``first`` (default: the indent)."""
    lines = textwrap.wrap(
        " ".join(str(text or "").split()),
        width=width,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,  # a URL stays whole
    )
    return Plain("\n".join(lines))


def _names(authors: Sequence[Author], followed: str = "") -> list[str]:
    """Author names, followed scholars with a mark after them."""
    return [f"{a.name}{followed}" if a.followed else a.name for a in authors]


def _underline(text: str, char: str = "=") -> str:
    return char * len(text)


def translations(language: str) -> Translator:
    """The catalogue of a language (English needs none)."""
    if language not in LANGUAGES:
        raise ValueError(f"no digest translation for {language!r} (have: {', '.join(LANGUAGES)})")
    return gettext.NullTranslations()


@cache
def environment(kind: str, language: str = "en") -> Environment:
    """The compiled environment of one output kind and language (made once)."""
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
        env.filters.update(url=_url, json=_json)
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
    return _BLANK_LINES.sub("\n\n", out).rstrip("\n") + "\n"


def render_markdown(view: DigestView) -> str:
    return render(view, "markdown")


def render_text(view: DigestView) -> str:
    return render(view, "text")


def render_html(view: DigestView) -> str:
    return render(view, "html")
