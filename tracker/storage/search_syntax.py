"""Search text → safe full-text queries for SQLite FTS5 and PostgreSQL.

``parse_search`` turns what a researcher types into ``tracker search "..."`` into a small
AST (``Term``, ``Phrase``, ``And``, ``Or``, ``Not``) and ``SearchQuery`` renders it as an
FTS5 MATCH expression or a ``to_tsquery('english', ...)`` expression. Every token is
emitted quoted, so no user text is ever read as query syntax by either backend.

Grammar: bare words are ANDed; ``"a phrase"``; ``decod*`` (prefix, at least 3 characters);
``OR`` / ``AND`` / ``NOT`` (uppercase only; OR binds tighter than AND, as in web search,
so ``a b OR c`` means a AND (b OR c)); ``-word``, ``-"phrase"``, ``-(group)``;
``title:`` ``author:`` ``authors:`` ``abstract:`` ``summary:`` before a word, phrase or
group; ``( )`` for grouping. Unbalanced parentheses and quotes, unknown ``x:`` prefixes
and all other punctuation are plain text. Words are split like FTS5's unicode61
tokenizer: letters, digits and private-use characters are word characters, everything
else separates (``e-mail`` is the phrase "e mail", ``C++`` the word "c").

Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Literal

from tracker.errors import SearchQueryError

MAX_LENGTH = 1000
PREFIX_MIN = 3  # characters before "*"; shorter prefixes would match half the vocabulary
MAX_TERMS = 32
MAX_DEPTH = 16

Column = Literal["title", "authors", "summary"]
_COLUMNS: dict[str, Column] = {"title": "title", "author": "authors", "authors": "authors"}
_COLUMNS |= {"abstract": "summary", "summary": "summary"}
_COLUMN_RE = re.compile(r"(title|authors?|abstract|summary):", re.IGNORECASE)
_WEIGHTS: dict[Column, str] = {"title": "A", "authors": "B", "summary": "C"}
_KEYWORDS = ("OR", "AND", "NOT")
_ONLY_EXCLUDED = "the search needs at least one word to search for, not only exclusions"


@dataclass(frozen=True)
class Term:
    """One word; ``prefix`` matches every word starting with it."""

    word: str
    prefix: bool = False
    column: Column | None = None

    @property
    def words(self) -> tuple[str, ...]:
        return (self.word,)


@dataclass(frozen=True)
class Phrase:
    """Words adjacent and in order; ``prefix`` applies to the last word."""

    words: tuple[str, ...]
    column: Column | None = None
    prefix: bool = False


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Term | Phrase | And | Or | Not


def _is_word_char(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] in "LN" or category == "Co"


def tokenize(text: str) -> tuple[str, ...]:
    """The lowercased words of ``text``, split as the unicode61 tokenizer splits them."""
    spaced = "".join(ch if _is_word_char(ch) else " " for ch in unicodedata.normalize("NFC", text))
    return tuple(spaced.lower().split())


@dataclass(frozen=True)
class _Tok:
    kind: str  # "(", ")", "OR", "AND", "NOT", "COL" or "WORDS"
    words: tuple[str, ...] = ()
    prefix: bool = False
    column: Column | None = None


def _grouping_parens(text: str) -> set[int]:
    """Positions of the parentheses that pair up outside quotes; the rest are punctuation."""
    stack: list[int] = []
    pairs: set[int] = set()
    in_quote = False
    for i, ch in enumerate(text):
        if ch == '"':
            in_quote = not in_quote
        elif ch == "(" and not in_quote:
            stack.append(i)
        elif ch == ")" and not in_quote and stack:
            pairs.update((stack.pop(), i))
    return pairs


def _lex(text: str, groups: set[int]) -> list[_Tok]:
    toks: list[_Tok] = []
    n = len(text)

    def starts_operand(k: int) -> bool:
        return k < n and (text[k] == '"' or k in groups or _is_word_char(text[k]))

    i = 0
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif i in groups:
            toks.append(_Tok(ch))
            i += 1
        elif ch == '"':  # an unbalanced quote runs to the end of the text
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            words = tokenize(text[i + 1 : end])
            if words or (toks and toks[-1].kind in ("NOT", "COL")):  # else nothing at all
                toks.append(_Tok("WORDS", words))
            i = end + 1
        else:
            j = i
            if ch == "-" and starts_operand(i + 1):
                toks.append(_Tok("NOT"))
                j += 1
            match = _COLUMN_RE.match(text, j)
            if match and starts_operand(match.end()):
                toks.append(_Tok("COL", column=_COLUMNS[match.group(1).lower()]))
                j = match.end()
            if j > i and (text[j] == '"' or j in groups):
                i = j
                continue
            k = j
            while k < n and not text[k].isspace() and text[k] != '"' and k not in groups:
                k += 1
            chunk = text[j:k]
            if j == i and chunk in _KEYWORDS:
                toks.append(_Tok(chunk))
            elif words := tokenize(chunk):  # a prefix needs 3 word characters before a final *
                tail = chunk[-PREFIX_MIN - 1 :]
                prefix = (
                    len(tail) == PREFIX_MIN + 1
                    and tail[-1] == "*"
                    and all(_is_word_char(c) for c in tail[:-1])
                )
                toks.append(_Tok("WORDS", words, prefix))
            i = k
    return toks


def _combine(kind: type[And] | type[Or], parts: list[Node]) -> Node | None:
    """Flatten nested nodes of the same kind, drop duplicates, collapse 0 or 1 child."""
    flat: dict[Node, None] = {}
    for part in parts:
        flat.update(dict.fromkeys(part.children if isinstance(part, kind) else (part,)))
    if len(flat) <= 1:
        return next(iter(flat), None)
    return kind(tuple(flat))


class _Parser:
    """Recursive descent: and := or*; or := unary (OR unary)*; unary := (NOT|COL)* primary.

    OR binds tighter than AND, as in web search: ``a b OR c`` is a AND (b OR c).
    """

    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.i = self.depth = 0

    def peek(self) -> str | None:
        return self.toks[self.i].kind if self.i < len(self.toks) else None

    def parse_and(self, column: Column | None) -> Node | None:
        parts: list[Node | None] = []
        while (kind := self.peek()) not in (None, ")"):
            if kind in ("AND", "OR"):  # AND is the default; an OR with nothing before it
                self.i += 1
                continue
            parts.append(self.parse_or(column))
        return _combine(And, [node for node in parts if node is not None])

    def parse_or(self, column: Column | None) -> Node | None:
        branches = [self.parse_unary(column)]
        while self.peek() == "OR":
            self.i += 1
            if self.peek() not in (None, ")", "OR", "AND"):  # else a dangling OR: dropped
                branches.append(self.parse_unary(column))
        return _combine(Or, [node for node in branches if node is not None])

    def parse_unary(self, column: Column | None) -> Node | None:
        negated = False
        while (kind := self.peek()) in ("NOT", "COL"):
            tok = self.toks[self.i]
            self.i += 1
            negated = not negated if kind == "NOT" else negated
            column = tok.column or column
        node = self.parse_primary(column)  # a NOT with nothing after it is dropped
        if node is None or not negated:
            return node
        return node.child if isinstance(node, Not) else Not(node)

    def parse_primary(self, column: Column | None) -> Node | None:
        kind = self.peek()
        if kind == "(":  # parentheses are balanced: parse_and stops at the matching ")"
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise SearchQueryError(f"parentheses nest too deeply (the limit is {MAX_DEPTH})")
            self.i += 1
            node = self.parse_and(column)
            self.i += 1
            self.depth -= 1
            return node
        if kind != "WORDS":
            return None
        tok = self.toks[self.i]
        self.i += 1
        if len(tok.words) > 1:
            return Phrase(tok.words, column, tok.prefix)
        return Term(tok.words[0], tok.prefix, column) if tok.words else None


def _check(node: Node) -> bool:
    """Raise when ``node`` cannot be searched; return whether it finds anything on its own."""
    if isinstance(node, Term | Phrase):
        return True
    if isinstance(node, Not):
        _check(node.child)
        return False
    found = [_check(child) for child in node.children]
    if isinstance(node, Or) and not all(found):
        raise SearchQueryError(
            "each side of OR needs a word to search for: an exclusion (-word, NOT word) "
            "cannot be one side of OR on its own"
        )
    if not any(found):
        raise SearchQueryError(_ONLY_EXCLUDED)
    return True


def _leaves(node: Node, excluded: bool = False) -> Iterator[tuple[tuple[str, ...], bool]]:
    """The words of every Term and Phrase, with whether they are excluded."""
    for leaf, out in _marked(node, excluded):
        yield leaf.words, out


def _marked(node: Node, excluded: bool = False) -> Iterator[tuple[Term | Phrase, bool]]:
    """Every Term and Phrase, with whether it is excluded."""
    if isinstance(node, Term | Phrase):
        yield node, excluded
    elif isinstance(node, Not):
        yield from _marked(node.child, not excluded)
    else:
        for child in node.children:
            yield from _marked(child, excluded)


def _nodes(node: Node) -> Iterator[Term | Phrase]:
    """Every Term and Phrase of a query."""
    if isinstance(node, Term | Phrase):
        yield node
    elif isinstance(node, Not):
        yield from _nodes(node.child)
    else:
        for child in node.children:
            yield from _nodes(child)


def _ts_lexeme(word: str, prefix: bool, column: Column | None) -> str:
    suffix = ("*" if prefix else "") + (_WEIGHTS[column] if column else "")
    quoted = "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"
    return f"{quoted}:{suffix}" if suffix else quoted


def _wrap(render: Callable[[Node], str], node: Node, *compound: type[Node]) -> str:
    """Render a child, in parentheses when it is a compound expression."""
    return f"({render(node)})" if isinstance(node, (And, Or, *compound)) else render(node)


def _fts5(node: Node) -> str:
    if isinstance(node, Term | Phrase):
        quoted = '"' + " ".join(node.words).replace('"', '""') + ('"*' if node.prefix else '"')
        return f"{{{node.column}}} : {quoted}" if node.column else quoted
    if isinstance(node, Or):
        return " OR ".join(_wrap(_fts5, child) for child in node.children)
    if isinstance(node, Not):  # only reached for a SearchQuery built by hand
        raise SearchQueryError(_ONLY_EXCLUDED)
    # FTS5's NOT is binary: (positives) NOT (negative OR negative ...).
    wanted = [child for child in node.children if not isinstance(child, Not)]
    unwanted = [child.child for child in node.children if isinstance(child, Not)]
    if not wanted:
        raise SearchQueryError(_ONLY_EXCLUDED)
    text = " AND ".join(_wrap(_fts5, child) for child in wanted)
    if not unwanted:
        return text
    left = f"({text})" if len(wanted) > 1 else text
    right = " OR ".join(_wrap(_fts5, child) for child in unwanted)
    return f"{left} NOT ({right})" if len(unwanted) > 1 else f"{left} NOT {right}"


def _tsquery(node: Node, default: Column | None = None) -> str:
    def render(child: Node) -> str:
        return _tsquery(child, default)

    if isinstance(node, Term | Phrase):
        last = len(node.words) - 1
        return " <-> ".join(
            _ts_lexeme(word, node.prefix and i == last, node.column or default)
            for i, word in enumerate(node.words)
        )
    if isinstance(node, Not):
        return "!" + _wrap(render, node.child, Phrase)
    operator = " & " if isinstance(node, And) else " | "
    return operator.join(_wrap(render, child, Phrase) for child in node.children)


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search, ready to render for either backend."""

    node: Node

    def fts5(self) -> str:
        """An FTS5 MATCH expression for ``items_fts(title, authors, summary)``."""
        return _fts5(self.node)

    def tsquery(self, column: Column | None = None) -> str:
        """A ``to_tsquery('english', ...)`` expression; weights title A, authors B, summary C.
        ``column`` confines the words that name no column of their own to that one."""
        return _tsquery(self.node, column)

    def term_queries(self) -> tuple[str, ...]:
        """Each word of the query (excluded ones too) as its own FTS5 expression, so
        that a backend can look at how common each one is."""
        found: dict[str, None] = {}
        for leaf in _nodes(self.node):
            last = len(leaf.words) - 1
            for i, word in enumerate(leaf.words):
                star = "*" if leaf.prefix and i == last else ""
                found['"' + word.replace('"', '""') + '"' + star] = None
        return tuple(found)

    def in_columns(self) -> tuple[tuple[Column, str], ...]:
        """The words and phrases the whole query needs in one column (those it ANDs at
        its top level), each with that column and as a tsquery without weights: an
        index of that column's lexemes alone finds the rows that can match."""
        children = self.node.children if isinstance(self.node, And) else (self.node,)
        found = {
            (child.column, _tsquery(replace(child, column=None))): None
            for child in children
            if isinstance(child, Term | Phrase) and child.column is not None
        }
        return tuple(found)

    def excluded_apart(self) -> tuple[SearchQuery, tuple[SearchQuery, ...]] | None:
        """The query as what it wants and what it excludes at its top level (``a b -c``:
        ``a b``, and ``c``), or None when it excludes nothing there; a match of the
        query is a match of the first that matches none of the others."""
        if not isinstance(self.node, And):
            return None
        unwanted = tuple(SearchQuery(c.child) for c in self.node.children if isinstance(c, Not))
        if not unwanted:
            return None
        wanted = [child for child in self.node.children if not isinstance(child, Not)]
        return SearchQuery(wanted[0] if len(wanted) == 1 else And(tuple(wanted))), unwanted

    def every_word(self) -> tuple[str, ...]:
        """Every word of the query, excluded ones too, deduplicated."""
        return tuple(dict.fromkeys(word for words, _ in _leaves(self.node) for word in words))

    def excludes(self) -> bool:
        """Whether the query excludes anything (``-word``, ``NOT``)."""
        return any(out for _, out in _leaves(self.node))

    def words(self) -> tuple[str, ...]:
        """The words searched for (not excluded), lowercased and deduplicated, to highlight."""
        found = (word for words, out in _leaves(self.node) if not out for word in words)
        return tuple(dict.fromkeys(found))

    def highlights(self) -> tuple[str, ...]:
        """The words a snippet marks: ``words()``, with a "*" after a prefix."""
        found = (
            word + ("*" if node.prefix and k == len(node.words) - 1 else "")
            for node, out in _marked(self.node)
            if not out
            for k, word in enumerate(node.words)
        )
        return tuple(dict.fromkeys(found))


def parse_search(text: str) -> SearchQuery:
    """Parse what the user typed; raises SearchQueryError when it cannot become a search."""
    if len(text) > MAX_LENGTH:
        raise SearchQueryError(
            f"the search text is too long ({len(text)} characters; the limit is {MAX_LENGTH})"
        )
    text = unicodedata.normalize("NFC", text)
    node = _Parser(_lex(text, _grouping_parens(text))).parse_and(None)
    if node is None:
        raise SearchQueryError("no words to search for")
    terms = sum(1 for _ in _leaves(node))
    if terms > MAX_TERMS:
        raise SearchQueryError(f"the search has too many terms ({terms}; the limit is {MAX_TERMS})")
    if not _check(node):
        raise SearchQueryError(_ONLY_EXCLUDED)
    return SearchQuery(node)
