"""A digest's language: its translated texts (a gettext catalogue), and how it writes
a day and a list.

Texts go through gettext: the English text is the message id, and a catalogue gives
the text in the reader's language (``tracker.digest.catalogs`` loads them). Days are
written by Babel from CLDR's data (``format_date``): a language's full date for the
heading ("2024年11月28日星期四") and its abbreviated date with the weekday for the
subject ("2024年11月28日周四"). English keeps the digest's own patterns ("Thursday 28
November 2024", "Thu 28 Nov 2024") rather than CLDR's American ones, so the English
digest reads as it always has.

Pure: no I/O here (Babel's locale data is read by Babel when a date is first written).
"""

from __future__ import annotations

import datetime as dt
import gettext
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from babel import Locale

# (heading, subject) as CLDR patterns; a language not listed uses CLDR's "full" date
# and its "yMMMEd" skeleton
DAY_PATTERNS = {"en": ("EEEE dd MMMM y", "EEE dd MMM y")}
# BCP 47 tags where the code alone says too little (the script decides the glyphs)
TAGS = {"zh": "zh-Hans"}


def N_(message: str) -> str:
    """Marks a text for translation where it is defined (it is translated where used)."""
    return message


class Translator(Protocol):
    """What wording a text needs of a language: its catalogue (``Language`` is one)."""

    def gettext(self, message: str, /) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...

    def pgettext(self, context: str, message: str, /) -> str: ...


@cache
def _locale(code: str) -> Locale:
    from babel import Locale

    return Locale.parse(code)


@dataclass(frozen=True)
class Language:
    """One language of the digest: ``code`` as in ``[[readers]] language``."""

    code: str = "en"
    translations: gettext.NullTranslations = field(default_factory=gettext.NullTranslations)

    @property
    def tag(self) -> str:
        """The BCP 47 tag: ``<html lang>``, the e-mail's Content-Language."""
        return TAGS.get(self.code, self.code.replace("_", "-"))

    def gettext(self, message: str, /) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int, /) -> str:
        return self.translations.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str, /) -> str:
        return self.translations.pgettext(context, message)

    def day(self, day: dt.date) -> str:
        """The day as the heading shows it: "Thursday 28 November 2024"."""
        from babel.dates import format_date

        patterns = DAY_PATTERNS.get(self.code)
        return format_date(day, patterns[0] if patterns else "full", locale=_locale(self.code))

    def short_day(self, day: dt.date) -> str:
        """The day as the e-mail's subject shows it: "Thu 28 Nov 2024"."""
        from babel.dates import format_date, format_skeleton

        patterns = DAY_PATTERNS.get(self.code)
        if patterns:
            return format_date(day, patterns[1], locale=_locale(self.code))
        return format_skeleton("yMMMEd", day, locale=_locale(self.code))

    def and_list(self, items: Sequence[str]) -> str:
        """ "a", "a and b", "a, b and c"."""
        if len(items) < 2:
            return "".join(items)
        # Translators: between the items of a list but the last two ("a, b and c")
        head = self.pgettext("list", ", ").join(items[:-1])
        # Translators: the last two items of a list ("a, b and c")
        return self.pgettext("list", "%(head)s and %(last)s") % {"head": head, "last": items[-1]}


ENGLISH = Language()
