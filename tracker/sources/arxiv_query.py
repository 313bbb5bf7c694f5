"""arXiv API search expressions: parse, render, batch, and match locally.

A keyword follow is an arXiv search expression (``all:"speculative decoding"``,
``ti:transformer AND cat:cs.LG``, ``au:Dao_T``) or plain words, which become
``all:`` terms joined by AND. Several follows are OR-ed into one request
(``batch``); because arXiv does not say which part of an OR matched, each result is
attributed back by evaluating the expressions locally (``matches``). Local matching
is deliberately lenient (Porter stems as in ``tracker.words``, initials) since arXiv
already filtered.

Grammar (arXiv's): ``expr := and (OR and)*``, ``and := unary ((AND|ANDNOT) unary)*``,
``unary := "(" expr ")" | [field ":"] (word | "quoted phrase")``.

Pure: no I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tracker.models import Entry
from tracker.names import same_person_name
from tracker.words import stem, tokens

FIELDS = frozenset({"ti", "au", "abs", "co", "jr", "cat", "rn", "id", "all"})
_TOKEN = re.compile(r'\s*(?:(\()|(\))|"([^"]*)"|([^\s()"]+))')


class QuerySyntaxError(ValueError):
    """The text is not a valid arXiv search expression."""


@dataclass(frozen=True, slots=True)
class Term:
    field: str
    text: str
    phrase: bool = False

    def render(self) -> str:
        text = f'"{self.text}"' if self.phrase else self.text
        return f"{self.field}:{text}"


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str  # "AND" | "OR" | "ANDNOT"
    left: Node
    right: Node

    def render(self) -> str:
        return f"{_wrap(self.left, self.op)} {self.op} {_wrap(self.right, self.op)}"


Node = Term | BinOp


def _wrap(node: Node, parent_op: str) -> str:
    if isinstance(node, BinOp) and (node.op != parent_op or parent_op == "ANDNOT"):
        return f"({node.render()})"
    return node.render()


def parse(text: str) -> Node:
    """Parse a follow's query text; plain words become ``all:`` terms joined by AND."""
    tokens = _tokenize(text)
    if not tokens:
        raise QuerySyntaxError("empty query")
    parser = _Parser(tokens)
    node = parser.expr()
    if parser.pos != len(tokens):
        raise QuerySyntaxError(f"unexpected {tokens[parser.pos][1]!r} in {text!r}")
    return node


def normalise(text: str) -> str:
    """The canonical form of a query (what is stored and sent)."""
    return parse(text).render()


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QuerySyntaxError(f"cannot read {text[pos:]!r} (unbalanced quote?)")
        pos = m.end()
        if m.group(1):
            tokens.append(("(", "("))
        elif m.group(2):
            tokens.append((")", ")"))
        elif m.group(3) is not None:
            tokens.append(("phrase", m.group(3)))
        else:
            word = m.group(4)
            if word in ("AND", "OR", "ANDNOT"):
                tokens.append(("op", word))
            elif ":" in word:
                field, _, rest = word.partition(":")
                if field not in FIELDS:
                    raise QuerySyntaxError(
                        f"unknown field {field!r}; use one of {', '.join(sorted(FIELDS))}"
                    )
                if rest:
                    tokens.append(("field", field))
                    tokens.append(("word", rest))
                elif pos < len(text) and text[pos] == '"':
                    tokens.append(("field", field))
                else:
                    raise QuerySyntaxError(f"nothing after {field}:")
            else:
                tokens.append(("word", word))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def expr(self) -> Node:
        node = self.and_expr()
        while (tok := self._peek()) and tok == ("op", "OR"):
            self.pos += 1
            node = BinOp("OR", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.unary()
        while (tok := self._peek()) and tok[0] in ("op", "word", "phrase", "field", "("):
            if tok == ("op", "OR"):
                break
            if tok[0] == "op":
                self.pos += 1
                node = BinOp(tok[1], node, self.unary())
            else:  # adjacent terms: implicit AND
                node = BinOp("AND", node, self.unary())
        return node

    def unary(self) -> Node:
        tok = self._peek()
        if tok is None:
            raise QuerySyntaxError("query ends where a term was expected")
        self.pos += 1
        if tok[0] == "(":
            node = self.expr()
            if self._peek() != (")", ")"):
                raise QuerySyntaxError("missing closing parenthesis")
            self.pos += 1
            return node
        field = "all"
        if tok[0] == "field":
            field = tok[1]
            tok = self._peek()
            if tok is None or tok[0] not in ("word", "phrase"):
                raise QuerySyntaxError(f"nothing after {field}:")
            self.pos += 1
        if tok[0] == "word":
            return Term(field, tok[1])
        if tok[0] == "phrase":
            words = " ".join(tok[1].split())
            if not words:
                raise QuerySyntaxError("empty quoted phrase")
            return Term(field, words, phrase=" " in words)
        raise QuerySyntaxError(f"unexpected {tok[1]!r}")


def batch(expressions: Sequence[str], max_chars: int) -> list[list[int]]:
    """Group expressions (by index) so that each group OR-ed together stays within
    ``max_chars``; an expression longer than that alone is a group of its own."""
    groups: list[list[int]] = []
    current: list[int] = []
    length = 0
    for i, expr in enumerate(expressions):
        cost = len(expr) + 2 + (4 if current else 0)  # "(...)" and " OR "
        if current and length + cost > max_chars:
            groups.append(current)
            current, length = [], 0
            cost = len(expr) + 2
        current.append(i)
        length += cost
    if current:
        groups.append(current)
    return groups


def combine(expressions: Sequence[str]) -> str:
    if len(expressions) == 1:
        return expressions[0]
    return " OR ".join(f"({e})" for e in expressions)


# --- local matching ---------------------------------------------------------------


def _contains(text: str, term: str) -> bool:
    """Whether the words of ``term`` occur in a row in ``text``, compared by their
    stems; a final "*" makes the last one a prefix of a word ("decod*")."""
    wanted = tokens(term)
    if not wanted:
        return False
    words = tokens(text)
    have = [stem(w) for w in words]
    *head, last = wanted
    head = [stem(w) for w in head]
    prefix = term.endswith("*")
    last_stem = stem(last)
    n = len(wanted)
    for i in range(len(words) - n + 1):
        end = i + n - 1
        if have[i:end] == head and (
            words[end].startswith(last) if prefix else have[end] == last_stem
        ):
            return True
    return False


def _text_term(get: Callable[[Entry], str]) -> Callable[[Entry, Term], bool]:
    def check(entry: Entry, term: Term) -> bool:
        return _contains(get(entry), term.text)

    return check


def _author_term(entry: Entry, term: Term) -> bool:
    text = term.text.rstrip("*")
    if " " not in text:
        # arXiv's "Surname_I" / "del_maestro" form: words joined by "_", a final
        # single letter is the first initial.
        *surname, last = text.split("_")
        text = (
            f"{' '.join(surname)}, {last}"
            if surname and len(last) == 1
            else (f"{text.replace('_', ' ')},")
        )
    return any(same_person_name(text, author) for author in entry.authors)


def _category_term(entry: Entry, term: Term) -> bool:
    wanted = term.text.rstrip("*")
    if term.text.endswith("*") or "." not in wanted:
        return any(c == wanted or c.startswith(wanted + ".") for c in entry.categories)
    return wanted in entry.categories


def _all_text(e: Entry) -> str:
    return " \n ".join([e.title, e.summary, " ; ".join(e.authors), e.comment or ""])


_CHECKS: dict[str, Callable[[Entry, Term], bool]] = {
    "ti": _text_term(lambda e: e.title),
    "abs": _text_term(lambda e: e.summary),
    "co": _text_term(lambda e: e.comment or ""),
    "jr": _text_term(lambda e: e.journal_ref or ""),
    "all": _text_term(_all_text),
    "au": _author_term,
    "cat": _category_term,
    "id": lambda e, t: bool(e.arxiv_id) and (t.text.split("v")[0] == e.arxiv_id),
    "rn": lambda e, t: True,  # report numbers are not kept; trust arXiv's match
}


def matches(node: Node, entry: Entry) -> bool:
    """Whether an entry satisfies an expression, evaluated locally."""
    if isinstance(node, Term):
        return _CHECKS[node.field](entry, node)
    if node.op == "AND":
        return matches(node.left, entry) and matches(node.right, entry)
    if node.op == "OR":
        return matches(node.left, entry) or matches(node.right, entry)
    return matches(node.left, entry) and not matches(node.right, entry)
