"""The digest's translations: one gettext catalogue per language, shipped as package
data in ``tracker/locale/<code>/LC_MESSAGES/tracker.po`` and compiled in memory by
Babel (``read_po``, ``write_mo``) the first time a digest is written in that language.

Why the ``.po`` file and no compiled ``.mo``: the catalogue a translator edits is the
one that runs, so there is no build step to forget and no stale binary to ship; a
wheel carries the ``.po`` as package data. Compiling a catalogue of a hundred messages
takes milliseconds, once per process. Untranslated and fuzzy messages fall back to
English. English needs no catalogue: its texts are the message ids.

``tracker/locale/tracker.pot`` is the template, made by ``pybabel extract`` (see the
``[tool.babel]`` table of pyproject.toml); a test checks that it, the sources and each
catalogue agree.

Reads package files only; no decisions here.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from tracker.digest.language import ENGLISH, Language

DOMAIN = "tracker"
SOURCE = "en"  # the language of the message ids


def locale_dir() -> Traversable:
    return files("tracker").joinpath("locale")


def _catalogue(code: str) -> Traversable:
    return locale_dir().joinpath(code, "LC_MESSAGES", f"{DOMAIN}.po")


@cache
def languages() -> tuple[str, ...]:
    """The languages a digest can be written in: English, then every catalogue."""
    base = locale_dir()
    found = (
        sorted(d.name for d in base.iterdir() if d.is_dir() and _catalogue(d.name).is_file())
        if base.is_dir()
        else []
    )
    return (SOURCE, *(code for code in found if code != SOURCE))


def names() -> str:
    """The languages with their own names, for messages: "en (English), zh (中文)"."""
    from babel import Locale

    return ", ".join(
        f"{code} ({Locale.parse(code).get_display_name(code)})" for code in languages()
    )


@cache
def translations(code: str) -> gettext.NullTranslations:
    """The catalogue of a language (English needs none); ``ValueError`` for a language
    without one."""
    if code not in languages():
        raise ValueError(f"no digest translation for {code!r} (available: {names()})")
    if code == SOURCE:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with _catalogue(code).open("rb") as po:
        catalog = read_po(po, locale=code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@cache
def language(code: str) -> Language:
    """A language of the digest, its catalogue loaded."""
    return ENGLISH if code == SOURCE else Language(code, translations(code))
