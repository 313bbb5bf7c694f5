"""The details of a digest reason as data: their codes, and how the English texts of
earlier versions are read back into them.

A ``Reason`` says which follow an item matched; its ``Detail``s say what supports the
match: a cross-list, how a followed scholar's paper was recognised (their arXiv
author id, ORCID, OpenAlex id or feed; by name with a co-author, a usual category or
the full name), or why a cross-domain item was chosen (similar to papers the reader
saved or to papers in their fields, cross-listed in some categories). Digests store
the codes and values; the view words them in the reader's language.

Two texts are read here: a scholar attribution's evidence, which is recorded as
English ("co-author A. Gu; usual category cs.LG", ``tracker.fetch.attribution``), and
the detail texts of digests stored before details were data. Each piece becomes its
detail; a piece this version does not know is kept as written (``TEXT``), so nothing
is lost and an old digest reads as it did.

Pure: no I/O here.
"""

from __future__ import annotations

import re

from tracker.models import Detail

CROSS_LIST = "cross-list"  # the item is cross-listed in the followed category
NAME_MATCH = "name-match"  # a followed scholar's by name; the evidence follows it
COAUTHOR = "coauthor"  # evidence: co-authors they publish with (values: names, as one text)
USUAL_CATEGORY = "usual-category"  # evidence: their usual categories (as one text)
FULL_NAME = "full-name"  # evidence: their full name as written on the paper
ARXIV_AUTHOR = "arxiv-author"  # theirs by their arXiv author id
ORCID = "orcid"  # theirs by their ORCID
OPENALEX = "openalex"  # theirs by their OpenAlex author id
OWN_FEED = "own-feed"  # from their own feed (value: its title or URL)
SIMILAR_SAVED = "similar-saved"  # close to ``count`` papers the reader saved
SIMILAR_FIELDS = "similar-fields"  # close to ``count`` papers in the reader's fields
CROSS_LISTED_IN = "cross-listed-in"  # values: the categories (the first few)
TEXT = "text"  # a text kept as written
NAME_EVIDENCE = frozenset({COAUTHOR, USUAL_CATEGORY, FULL_NAME})

_PIECES = (
    (re.compile(r"co-author (.+)", re.S), COAUTHOR),
    (re.compile(r"usual category (.+)", re.S), USUAL_CATEGORY),
    (re.compile(r"full name (.+)", re.S), FULL_NAME),
    (re.compile(r"arXiv author (.+)", re.S), ARXIV_AUTHOR),
    (re.compile(r"ORCID (.+)", re.S), ORCID),
    (re.compile(r"OpenAlex (.+)", re.S), OPENALEX),
    (re.compile(r"their feed (.+)", re.S), OWN_FEED),
)
_SIMILAR = re.compile(r"similar to (\d+) papers? (you saved|in your fields)")
_CROSS_LISTED = re.compile(r"cross-listed in (.+)", re.S)


def _piece(text: str) -> Detail:
    if text == "cross-list":
        return Detail(CROSS_LIST)
    if text == "name match":
        return Detail(NAME_MATCH)
    if m := _SIMILAR.fullmatch(text):
        return Detail(SIMILAR_SAVED if m[2] == "you saved" else SIMILAR_FIELDS, (), int(m[1]))
    if m := _CROSS_LISTED.fullmatch(text):
        head, _, last = m[1].rpartition(" and ")
        return Detail(CROSS_LISTED_IN, (*head.split(", "), last) if head else (last,))
    for pattern, code in _PIECES:
        if m := pattern.fullmatch(text):
            return Detail(code, (m[1],))
    return Detail(TEXT, (text,))


def _pieces(text: str) -> tuple[Detail, ...]:
    out: list[Detail] = []
    for piece in text.split("; "):
        if piece.startswith("name match: "):  # the evidence follows the mark
            out += [Detail(NAME_MATCH), _piece(piece.removeprefix("name match: "))]
        elif piece:
            out.append(_piece(piece))
    return tuple(out)


def from_attribution(basis: str, evidence: str) -> tuple[Detail, ...]:
    """The details of a followed scholar's reason from their attribution: ``basis`` "id",
    "feed" or "name", and its recorded evidence."""
    if basis == "name":
        return (Detail(NAME_MATCH), *_pieces(evidence))
    return _pieces(evidence)


def from_text(text: str) -> tuple[Detail, ...]:
    """The details of a reason stored as English text ("name match: full name Tri Dao;
    usual category cs.LG", "cross-list; similar to 2 papers you saved")."""
    return _pieces(text)
