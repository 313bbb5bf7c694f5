"""People's names: normalising, matching with initials, and arXiv ``au:`` terms.

Names vary between papers: accents ("Schrödinger" / "Schrodinger"), German umlauts
written out ("Schütze" / "Schuetze", "Möller" / "Moeller", "Strauß" / "Strauss"),
initials ("T. Dao" / "Tri Dao"), order ("Dao, Tri"), hyphens ("Jean-Pierre" / "Jean
Pierre") and particles ("Del Maestro"). ``same_person_name`` decides whether two
spellings can be the same name; it cannot tell namesakes apart (that needs ids or
evidence). ``surname_key`` finds the candidates to ask it about, ``name_key`` the
same name typed another way, and ``arxiv_author_term`` asks arXiv for every spelling.

Pure: no I/O here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Lower-case particles that belong to the surname ("van der Waals", "Del Maestro").
PARTICLES = frozenset(
    "van von der den de del della dei degli di da das dos du la le ter ten bin al el af zu".split()
)
# Combining marks (accents) left over after NFKD decomposition.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_SPLIT = re.compile(r"[^\w']+")
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})


# TeX accents as arXiv's listings write author names ("G\\'omez", "Mar{\\aa}k").
_TEX_ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
}
_TEX_LETTERS = {
    "aa": "å",
    "AA": "Å",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "o": "ø",
    "O": "Ø",
    "l": "ł",
    "L": "Ł",
    "ss": "ß",
    "i": "ı",
    "j": "ȷ",
    "dh": "ð",
    "DH": "Ð",
    "th": "þ",
    "TH": "Þ",
    "ng": "ŋ",
    "NG": "Ŋ",
}
_TEX_ACCENT = re.compile(r"""\\(['`^"~=.]|[uvHckr](?![a-zA-Z]))\s*\{?\s*(\\[ij]\b|[A-Za-z])\}?""")
_TEX_LETTER = re.compile(r"\\(aa|AA|ae|AE|oe|OE|ss|dh|DH|th|TH|ng|NG|o|O|l|L|i|j)(?![a-zA-Z])")


def tex_to_unicode(text: str) -> str:
    """Common TeX accents and letters to Unicode; other braces are dropped."""
    if "\\" not in text and "{" not in text:
        return text

    def accent(m: re.Match[str]) -> str:
        base = m.group(2)
        base = {"\\i": "i", "\\j": "j"}.get(base, base)
        return unicodedata.normalize("NFC", base + _TEX_ACCENTS[m.group(1)])

    text = _TEX_ACCENT.sub(accent, text)
    text = _TEX_LETTER.sub(lambda m: _TEX_LETTERS[m.group(1)], text)
    return text.replace("{", "").replace("}", "")


def fold(text: str) -> str:
    """Lower case without accents: "Schrödinger" → "schrodinger"."""
    if text.isascii():
        return text.lower()
    stripped = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return stripped.casefold().replace("ß", "ss").replace("ø", "o").replace("ł", "l")


@dataclass(frozen=True, slots=True)
class PersonName:
    """A name split into given names and surname, folded to lower case."""

    given: tuple[str, ...]
    surname: tuple[str, ...]

    @property
    def display_surname(self) -> str:
        return " ".join(self.surname)


def split_name(name: str) -> PersonName:
    """Split "Tri Dao", "Dao, Tri", "T. Dao" or "Adrian Del Maestro" into parts."""
    name = " ".join(name.replace("\u00a0", " ").split())
    if "," in name:
        last, _, first = name.partition(",")
        surname = _tokens(last)
        given = _tokens(first)
    else:
        tokens = _tokens(name)
        if len(tokens) > 2 and tokens[-1] in _SUFFIXES:
            tokens = tokens[:-1]
        if not tokens:
            return PersonName((), ())
        # The surname is the last token plus any particles before it.
        cut = len(tokens) - 1
        while cut > 1 and tokens[cut - 1] in PARTICLES:
            cut -= 1
        given, surname = tokens[:cut], tokens[cut:]
    # Drop generational suffixes that are not part of the surname.
    if len(surname) > 1 and surname[-1] in _SUFFIXES:
        surname = surname[:-1]
    return PersonName(tuple(given), tuple(surname))


def _tokens(text: str) -> list[str]:
    # "Jean-Pierre" → ["jean", "pierre"]; "J.-P." → ["j", "p"]
    return [t for t in _SPLIT.split(fold(text).replace("-", " ")) if t and t != "'"]


_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def spellings(name: str) -> list[str]:
    """A name as written and, for German umlauts, transliterated ("Jürgen" is also
    "Juergen"); accents are folded when names are compared."""
    transliterated = name.translate(_UMLAUTS)
    return [name] if transliterated == name else [name, transliterated]


# ä, ö, ü written out as ae, oe, ue, inside a word: not the "gue"/"que" of Spanish,
# Portuguese and French names (Rodriguez, Marquez), nor a word's end (Xue, Yue: "Xu"
# and "Yu" are other, very common names), where the letters are no umlaut.
_WRITTEN_OUT = re.compile(r"(?<![gq])(ae|oe|ue)(?=[a-z])")


def _contracted(word: str) -> str:
    """A folded word with written-out umlauts as plain vowels: "schuetze" → "schutze"."""
    return _WRITTEN_OUT.sub(lambda m: m.group(1)[0], word)


def surname_key(name: str) -> tuple[str, ...]:
    """A coarse key of a name's surname that every spelling of it shares: accents
    folded, ß as ss, and ä, ae and a alike ("Schütze", "Schuetze" and "Schutze" have
    one key). For finding candidates only: ``same_person_name`` decides."""
    return tuple(_contracted(w) for w in split_name(name).surname)


def name_key(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The same name however it is typed: order, case, accents and umlauts written
    out or not ("Hinrich Schütze" is "Schuetze, Hinrich"), nothing looser."""
    parsed = split_name(name.translate(_UMLAUTS))
    return parsed.given, parsed.surname


def same_person_name(a: str, b: str) -> bool:
    """Whether two spellings can name the same person: same surname, and given
    names that agree where both are spelled out and by initial otherwise."""
    for x in spellings(a):
        for y in spellings(b):
            na, nb = split_name(x), split_name(y)
            if na.surname and na.surname == nb.surname and _given_compatible(na.given, nb.given):
                return True
    return False


def given_names_match(a: str, b: str) -> bool:
    """Stronger than ``same_person_name``: the first given names are both spelled out
    (not initials) and equal ("Tri Dao" and "Tri Dao", not "T. Dao")."""
    for x in spellings(a):
        for y in spellings(b):
            na, nb = split_name(x), split_name(y)
            if (
                na.surname
                and na.surname == nb.surname
                and na.given
                and nb.given
                and len(na.given[0]) > 1
                and na.given[0] == nb.given[0]
            ):
                return True
    return False


def _given_compatible(ga: tuple[str, ...], gb: tuple[str, ...]) -> bool:
    if not ga or not gb:
        return True  # a surname alone is compatible with anything
    for x, y in zip(ga, gb, strict=False):
        if len(x) > 1 and len(y) > 1:
            if x != y:
                return False
        elif x[0] != y[0]:
            return False
    return True


def arxiv_author_term(name: str) -> str:
    """The arXiv API ``au:`` term for a name: surname words joined by "_" and the
    first initial ("Tri Dao" → "au:dao_t"). arXiv matches it loosely (every T. Dao);
    results are filtered locally with ``same_person_name``. A surname with an umlaut,
    or what may be one written out, is asked for in both spellings, OR-ed: arXiv's
    index folds "Schütze" to "schutze", so "Hinrich Schuetze" and "Hinrich Schütze"
    both become "au:schuetze_h OR au:schutze_h"."""
    parsed = split_name(name)
    if not parsed.surname:
        raise ValueError(f"no surname in {name!r}")
    written_out = split_name(name.translate(_UMLAUTS)).surname
    forms = {parsed.surname, written_out, tuple(_contracted(w) for w in parsed.surname)}
    initial = _ascii_word(parsed.given[0])[:1] if parsed.given else ""
    terms = {
        "au:" + "_".join(p for p in [*(_ascii_word(w) for w in surname), initial] if p)
        for surname in forms
    }
    return " OR ".join(sorted(terms))


def _ascii_word(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word)
