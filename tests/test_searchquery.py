"""Tests for tracker.storage.search_syntax: grammar tables, real FTS5 runs, Hypothesis fuzzing.

PostgreSQL is not available here, so ``tsquery()`` output is checked by a small parser
that follows PostgreSQL's tsquery syntax and precedence (``!`` > ``<->`` > ``&`` > ``|``)
and evaluates the result against a model of the documents.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tracker.errors import SearchQueryError
from tracker.storage.search_syntax import (
    MAX_LENGTH,
    MAX_TERMS,
    And,
    Node,
    Not,
    Or,
    Phrase,
    SearchQuery,
    Term,
    parse_search,
    tokenize,
)
from tracker.storage.snippets import snippet

TOKENIZE = "porter unicode61 remove_diacritics 2"

ROWS: dict[int, tuple[str, str, str]] = {
    1: (
        "Fast Inference from Transformers via Speculative Decoding",
        "Yaniv Leviathan, Matan Kalman, Yossi Matias",
        "Inference from large autoregressive models is slow; we accelerate it.",
    ),
    2: (
        "Modern C++ templates for numerical code",
        "Bjarne Example",
        "We discuss e-mail workflows and x86-64 assembly.",
    ),
    3: (
        "Schrödinger bridges for naïve generative models",
        "Anna Müller",
        "An O(n log n) algorithm for 深度学习 models.",
    ),
    4: (
        "Greedy decoding strategies",
        "Ada Lovelace",
        "We compare beam search with speculative sampling.",
    ),
    5: (
        "Hobbes revisited",
        "Tom Hobbes",
        "The Leviathan as a model of the state; '; DROP TABLE items; --",
    ),
}


def _connect(tokenizer: str = TOKENIZE) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    columns = f"title, authors, summary, tokenize = '{tokenizer}'"
    db.execute(f"CREATE VIRTUAL TABLE items_fts USING fts5({columns})")
    return db


def _items_db() -> sqlite3.Connection:
    db = _connect()
    db.executemany(
        "INSERT INTO items_fts(rowid, title, authors, summary) VALUES (?, ?, ?, ?)",
        [(rowid, *row) for rowid, row in ROWS.items()],
    )
    return db


ITEMS = _items_db()


def match(expression: str, db: sqlite3.Connection = ITEMS) -> set[int]:
    rows = db.execute("SELECT rowid FROM items_fts WHERE items_fts MATCH ?", (expression,))
    return {rowid for (rowid,) in rows}


# --- grammar tables ------------------------------------------------------------------------

FTS5_CASES = [
    # bare words, AND, OR, lowercase keywords
    ("speculative decoding", '"speculative" AND "decoding"'),
    ("a AND b", '"a" AND "b"'),
    ("a OR b", '"a" OR "b"'),
    ("a or b and c not d", '"a" AND "or" AND "b" AND "and" AND "c" AND "not" AND "d"'),
    ("a OR b c", '("a" OR "b") AND "c"'),
    ("a b OR c", '"a" AND ("b" OR "c")'),
    ("a OR b OR c d", '("a" OR "b" OR "c") AND "d"'),
    ("(a b) OR (c d)", '("a" AND "b") OR ("c" AND "d")'),
    ("a AND b OR c", '"a" AND ("b" OR "c")'),
    ("a OR OR b", '"a" OR "b"'),
    ("a OR ... b", '"a" OR "b"'),
    ('a OR "" b', '"a" OR "b"'),
    ("a a b", '"a" AND "b"'),
    # phrases, unbalanced quotes
    ('"quoted phrase"', '"quoted phrase"'),
    ('"single"', '"single"'),
    ('"unclosed phrase', '"unclosed phrase"'),
    ('a "b', '"a" AND "b"'),
    ('"decod*"', '"decod"'),
    # prefixes
    ("decod*", '"decod"*'),
    ("dec*", '"dec"*'),
    ("de*", '"de"'),
    ("d*", '"d"'),
    ("decod**", '"decod"'),
    ("e-mai*", '"e mai"*'),
    # exclusions
    ("-x y", '"y" NOT "x"'),
    ('-"a phrase" y', '"y" NOT "a phrase"'),
    ("NOT word y", '"y" NOT "word"'),
    ("x -a -b", '"x" NOT ("a" OR "b")'),
    ("x y -a", '("x" AND "y") NOT "a"'),
    ("-(a b) c", '"c" NOT ("a" AND "b")'),
    ("(a -c) OR b", '("a" NOT "c") OR "b"'),
    ("NOT NOT a", '"a"'),
    ("-(-a) b", '"a" AND "b"'),
    ("-NOT x", '"x" NOT "not"'),
    ("a NOT", '"a"'),
    ("x - y", '"x" AND "y"'),
    ("--y", '"y"'),
    # column filters
    ("title:word", '{title} : "word"'),
    ('title:"a phrase"', '{title} : "a phrase"'),
    ("author:Leviathan", '{authors} : "leviathan"'),
    ("authors:Leviathan", '{authors} : "leviathan"'),
    ("abstract:x", '{summary} : "x"'),
    ("summary:x", '{summary} : "x"'),
    ("Title:Word", '{title} : "word"'),
    ("title:decod*", '{title} : "decod"*'),
    ("-title:x y", '"y" NOT {title} : "x"'),
    ("title:(a OR b) c", '({title} : "a" OR {title} : "b") AND "c"'),
    ("title:NOT", '{title} : "not"'),
    ("title: foo", '"title" AND "foo"'),
    ("http://example.org", '"http example org"'),
    ("C:foo", '"c foo"'),
    # parentheses
    ("(a OR b) c", '("a" OR "b") AND "c"'),
    ("((a))", '"a"'),
    ("(a OR b c", '("a" OR "b") AND "c"'),
    ("a OR b)", '"a" OR "b"'),
    (")a(", '"a"'),
    ('("(" a)', '"a"'),
    ("OR a OR", '"a"'),
    # everything else is text
    ("C++", '"c"'),
    ("C++ templates", '"c" AND "templates"'),
    ("e-mail", '"e mail"'),
    ("x86-64", '"x86 64"'),
    ("O(n log n)", '"o" AND "n" AND "log"'),
    ("naïve", '"naïve"'),
    ("nai\u0308ve", '"naïve"'),
    ("Schrödinger", '"schrödinger"'),
    ("深度学习 模型", '"深度学习" AND "模型"'),
    ("😀 smile", '"smile"'),
    ("'; DROP TABLE items; --", '"drop" AND "table" AND "items"'),
    ('^ : * " ( ) { } + - NEAR', '"near"'),
    ("NEAR(a b)", '"near" AND "a" AND "b"'),
    ("{title}: x", '"title" AND "x"'),
    ("a^b", '"a b"'),
    ("\x00a\udcff", '"a"'),
]

TSQUERY_CASES = [
    ("speculative decoding", "'speculative' & 'decoding'"),
    ("a OR b", "'a' | 'b'"),
    ("a OR b c", "('a' | 'b') & 'c'"),
    ("(a b) OR c", "('a' & 'b') | 'c'"),
    ('"quoted phrase"', "'quoted' <-> 'phrase'"),
    ('a "b c"', "'a' & ('b' <-> 'c')"),
    ("decod*", "'decod':*"),
    ("d*", "'d'"),
    ("e-mai*", "'e' <-> 'mai':*"),
    ("-x y", "!'x' & 'y'"),
    ('-"a phrase" y', "!('a' <-> 'phrase') & 'y'"),
    ("NOT word y", "!'word' & 'y'"),
    ("-(a OR b) c", "!('a' | 'b') & 'c'"),
    ("(a -c) OR b", "('a' & !'c') | 'b'"),
    ("title:word", "'word':A"),
    ('title:"a phrase"', "'a':A <-> 'phrase':A"),
    ("author:Leviathan", "'leviathan':B"),
    ("abstract:x summary:y", "'x':C & 'y':C"),
    ("title:decod*", "'decod':*A"),
    ("author:(a OR b*)", "'a':B | 'b':B"),
    ("author:(a OR bbb*)", "'a':B | 'bbb':*B"),
    ("C++", "'c'"),
    ("e-mail", "'e' <-> 'mail'"),
    ("x86-64", "'x86' <-> '64'"),
    ("O(n log n)", "'o' & 'n' & 'log'"),
    ("Schrödinger", "'schrödinger'"),
    ("'; DROP TABLE items; --", "'drop' & 'table' & 'items'"),
    ("don't", "'don' <-> 't'"),
]

REJECTED = [
    ("", "no words to search for"),
    ("   \t\n", "no words to search for"),
    ("...", "no words to search for"),
    ('"', "no words to search for"),
    ('""', "no words to search for"),
    ("()", "no words to search for"),
    ("😀", "no words to search for"),
    ("OR AND NOT", "no words to search for"),
    ("-x", "needs at least one word to search for"),
    ("NOT x", "needs at least one word to search for"),
    ('-x -"a b"', "needs at least one word to search for"),
    ("-(-a -b) c", "needs at least one word to search for"),
    ("a OR -b", "each side of OR"),
    ("-a OR b", "each side of OR"),
    ("a OR (NOT b)", "each side of OR"),
    ("x -a OR b", "each side of OR"),
    ("a OR NOT b", "each side of OR"),
    ("x" * (MAX_LENGTH + 1), "too long"),
    (" ".join(f"w{i}" for i in range(MAX_TERMS + 1)), "too many terms"),
    ("(" * 17 + "a" + ")" * 17, "nest too deeply"),
]


@pytest.mark.parametrize(("text", "expected"), FTS5_CASES)
def test_fts5_expression(text: str, expected: str) -> None:
    assert parse_search(text).fts5() == expected


@pytest.mark.parametrize(("text", "expected"), FTS5_CASES)
def test_every_table_expression_runs_on_fts5(text: str, expected: str) -> None:
    match(expected)


@pytest.mark.parametrize(("text", "expected"), TSQUERY_CASES)
def test_tsquery_expression(text: str, expected: str) -> None:
    assert parse_search(text).tsquery() == expected
    check_tsquery(expected)


@pytest.mark.parametrize(("text", "message"), REJECTED)
def test_rejected(text: str, message: str) -> None:
    with pytest.raises(SearchQueryError, match=message):
        parse_search(text)


def test_limits_are_inclusive() -> None:
    assert parse_search("x" * MAX_LENGTH).words() == ("x" * MAX_LENGTH,)
    terms = " ".join(f"w{i}" for i in range(MAX_TERMS))
    assert len(parse_search(terms).words()) == MAX_TERMS
    assert parse_search("(" * 16 + "a" + ")" * 16).fts5() == '"a"'
    assert parse_search("(" * 400 + "a").fts5() == '"a"'  # unbalanced: punctuation


def test_ast() -> None:
    assert parse_search('title:"a b" OR c* -d').node == And(
        (Or((Phrase(("a", "b"), "title"), Term("c"))), Not(Term("d")))
    )
    assert parse_search("(a b) OR cde*").node == Or(
        (And((Term("a"), Term("b"))), Term("cde", prefix=True))
    )
    assert parse_search("author:levi* x").node == And(
        (Term("levi", prefix=True, column="authors"), Term("x"))
    )


def test_words_are_positive_lowercased_and_unique() -> None:
    query = parse_search('Speculative "Speculative Decoding" -greedy NOT "beam search" dec*')
    assert query.words() == ("speculative", "decoding", "dec")
    assert query.highlights() == ("speculative", "decoding", "dec*")
    assert parse_search("speculative-dec*").highlights() == ("speculative", "dec*")


def test_tokenize() -> None:
    assert tokenize("C++ e-mail x86-64 Naïve 深度学习😀") == (
        "c",
        "e",
        "mail",
        "x86",
        "64",
        "naïve",
        "深度学习",
    )


def test_hand_built_query_of_only_exclusions_is_an_error() -> None:
    with pytest.raises(SearchQueryError):
        SearchQuery(Not(Term("x"))).fts5()
    with pytest.raises(SearchQueryError):
        SearchQuery(And((Not(Term("x")),))).fts5()


# --- real FTS5 runs ------------------------------------------------------------------------

SEARCHES = [
    ("speculative decoding", {1, 4}),
    ('"speculative decoding"', {1}),
    ("author:Leviathan", {1}),
    ("authors:leviathan", {1}),
    ("Leviathan", {1, 5}),
    ("-author:Leviathan Leviathan", {5}),
    ("title:decoding", {1, 4}),
    ("abstract:speculative", {4}),
    ("title:speculative", {1}),
    ('title:"speculative decoding"', {1}),
    ('title:"decoding strategies" OR author:hobbes', {4, 5}),
    ("decod*", {1, 4}),
    ("title:decod*", {1, 4}),
    ("author:decod*", set()),
    ('-"speculative decoding" decoding', {4}),
    ("decoding -greedy", {1}),
    ("decoding NOT title:greedy", {1}),
    ("decoding OR Hobbes", {1, 4, 5}),
    ("hobbes OR transformers inference", {1}),
    ("speculative decoding OR sampling", {1, 4}),
    ("(hobbes state) OR (transformers inference)", {1, 5}),
    ("(greedy OR fast) decoding", {1, 4}),
    ("(decoding -greedy) OR hobbes", {1, 5}),
    ("-(greedy OR fast) decoding", set()),
    ("models -(naïve bridges)", {1, 5}),
    ("C++", {2}),
    ("C++ templates", {2}),
    ("e-mail", {2}),
    ("x86-64", {2}),
    ("naïve", {3}),
    ("naive", {3}),
    ("Schrodinger", {3}),
    ("Schrödinger", {3}),
    ("author:Müller", {3}),
    ("O(n log n)", {3}),
    ("深度学习", {3}),
    ("'; DROP TABLE items; --", {5}),
    ('"the state', {5}),
    ("NEAR(leviathan state)", set()),
    ("near", set()),
    ("models", {1, 3, 5}),
]


@pytest.mark.parametrize(("text", "rows"), SEARCHES)
def test_search_finds_expected_rows(text: str, rows: set[int]) -> None:
    assert match(parse_search(text).fts5()) == rows


def test_table_survives_injection_attempts() -> None:
    match(parse_search("'; DROP TABLE items_fts; --").fts5())
    assert ITEMS.execute("SELECT count(*) FROM items_fts").fetchone() == (len(ROWS),)


# --- a checker and evaluator for tsquery text -----------------------------------------------

_TS_TOKEN = re.compile(
    r"\s*(?:(?P<lex>'(?:[^'\\]|''|\\.)*')(?::(?P<flags>\*?[ABC]?))?|(?P<op><->|[&|!()]))"
)

TsNode = tuple[Any, ...]  # ("lex", word, flags) | ("!", node) | (op, left, right)


def _ts_tokens(text: str) -> Iterator[tuple[str, str, str]]:
    pos = 0
    while pos < len(text.rstrip()):
        m = _TS_TOKEN.match(text, pos)
        assert m is not None and m.end() > pos, f"bad tsquery at {pos}: {text!r}"
        if m.group("lex") is not None:
            assert m.group("flags") != "", f"empty weight suffix in {text!r}"
            yield "lex", m.group("lex")[1:-1].replace("''", "'"), m.group("flags") or ""
        else:
            yield "op", m.group("op"), ""
        pos = m.end()


def check_tsquery(text: str) -> TsNode:
    """Parse with PostgreSQL's tsquery precedence; fail on anything malformed."""
    toks = list(_ts_tokens(text))
    pos = 0

    def peek() -> str | None:
        return toks[pos][1] if pos < len(toks) and toks[pos][0] == "op" else None

    def binary(op: str, operand: Callable[[], TsNode]) -> TsNode:
        nonlocal pos
        node = operand()
        while peek() == op:
            pos += 1
            node = (op, node, operand())
        return node

    def unary() -> TsNode:
        nonlocal pos
        assert pos < len(toks), f"operand missing in {text!r}"
        kind, value, flags = toks[pos]
        pos += 1
        if kind == "lex":
            assert value, f"empty lexeme in {text!r}"
            return ("lex", value, flags)
        if value == "!":
            return ("!", unary())
        assert value == "(", f"unexpected {value!r} in {text!r}"
        node = binary("|", lambda: binary("&", lambda: binary("<->", unary)))
        assert peek() == ")", f"unbalanced parentheses in {text!r}"
        pos += 1
        return node

    tree = binary("|", lambda: binary("&", lambda: binary("<->", unary)))
    assert pos == len(toks), f"trailing tokens in {text!r}"
    return tree


Doc = dict[str, tuple[str, ...]]  # column → its words
_WEIGHT_COLUMN = {"A": "title", "B": "authors", "C": "summary"}


def _word_matches(word: str, token: str, prefix: bool) -> bool:
    return token.startswith(word) if prefix else token == word


def _sequence_in(words: list[tuple[str, bool]], doc: Doc, columns: list[str]) -> bool:
    for column in columns:
        tokens = doc[column]
        for start in range(len(tokens) - len(words) + 1):
            pairs = zip(words, tokens[start:], strict=False)
            if all(_word_matches(w, t, p) for (w, p), t in pairs):
                return True
    return False


def eval_node(node: Node, doc: Doc) -> bool:
    """The meaning of the AST: the reference both renderings must agree with."""
    if isinstance(node, Term | Phrase):
        words = [(w, node.prefix and i == len(node.words) - 1) for i, w in enumerate(node.words)]
        return _sequence_in(words, doc, [node.column] if node.column else list(doc))
    if isinstance(node, Not):
        return not eval_node(node.child, doc)
    results = (eval_node(child, doc) for child in node.children)
    return all(results) if isinstance(node, And) else any(results)


def eval_ts(tree: TsNode, doc: Doc) -> bool:
    op = tree[0]
    if op == "!":
        return not eval_ts(tree[1], doc)
    if op in ("&", "|"):
        left, right = eval_ts(tree[1], doc), eval_ts(tree[2], doc)
        return (left and right) if op == "&" else (left or right)
    lexemes = _phrase_lexemes(tree)
    weights = {flags.strip("*") for _, flags in lexemes}
    assert len(weights) == 1, "a phrase mixes weights"
    weight = weights.pop()
    columns = [_WEIGHT_COLUMN[weight]] if weight else list(doc)
    words = [(word, "*" in flags) for word, flags in lexemes]
    return _sequence_in(words, doc, columns)


def _phrase_lexemes(tree: TsNode) -> list[tuple[str, str]]:
    if tree[0] == "lex":
        return [(str(tree[1]), str(tree[2]))]
    assert tree[0] == "<->", f"<-> over a non-lexeme: {tree}"
    return _phrase_lexemes(tree[1]) + _phrase_lexemes(tree[2])


# --- Hypothesis ----------------------------------------------------------------------------

SYNTAX = '"*():-^{}+'
PIECES = st.sampled_from(
    [
        "OR", "AND", "NOT", "or", "-", "title:", "author:", "authors:", "abstract:",
        "summary:", "http:", "C:", "(", ")", '"', "*", "NEAR", "{title}", ":", "^", "+",
        "dec", "decod*", "x", "leviathan", "e-mail", "C++", "naïve", "深度", "😀", "''",
        "\\", "\x00", "OR(", "-(", '-"', ")(",
    ]
)  # fmt: skip
GRAMMARISH = st.lists(
    st.one_of(PIECES, st.text(alphabet=SYNTAX + " ab", max_size=4)), max_size=25
).map("".join) | st.lists(PIECES, max_size=25).map(" ".join)


def _assert_well_formed(query: SearchQuery) -> None:
    expression = query.fts5()
    match(expression)  # must not raise
    outside = re.sub(r'"(?:[^"]|"")*"', " ", expression)
    assert re.fullmatch(r"(?:\s|[()*:]|\{(?:title|authors|summary)\}|AND|OR|NOT)*", outside)
    check_tsquery(query.tsquery())
    assert all(words for words in query.words())


@settings(max_examples=500)
@given(st.text(max_size=120))
@example('"*():-^{}')
@example("-" * 40)
@example('title:"' + "(" * 30)
def test_any_text_parses_or_is_rejected_cleanly(text: str) -> None:
    try:
        query = parse_search(text)
    except SearchQueryError as error:
        assert str(error)
        return
    _assert_well_formed(query)


@settings(max_examples=500)
@given(GRAMMARISH)
def test_grammar_like_text_parses_or_is_rejected_cleanly(text: str) -> None:
    try:
        query = parse_search(text)
    except SearchQueryError:
        return
    _assert_well_formed(query)


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(SYNTAX), max_size=60))
def test_words_come_from_the_text(text: str) -> None:
    try:
        query = parse_search(text)
    except SearchQueryError:
        return
    assert set(query.words()) <= set(tokenize(text))


# Letters unicode61 and Python classify alike: ASCII, Latin, Greek, Cyrillic, CJK, emoji,
# typographic punctuation. (Lone combining marks and characters newer than SQLite's tables
# are classified differently; they only change how a word splits, never the safety.)
AGREEING = (
    "abcXYZ019 \t-_.,;:'\"()*+/\\@#%&äöüßéèñçÅØæœıİ αβγΣςω жЖя 深度学习の한국 ’–—…«»·"
    "\u00a0\u2009²½Ⅻ😀✓"
)


@given(st.text(alphabet=AGREEING, max_size=40))
def test_tokenize_splits_like_unicode61(text: str) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")

    def sqlite_tokens(value: str) -> list[str]:
        db.execute("DELETE FROM t")
        db.execute("INSERT INTO t(x) VALUES (?)", (value,))
        return [term for (term,) in db.execute("SELECT term FROM v ORDER BY offset")]

    assert sqlite_tokens(" ".join(tokenize(text))) == sqlite_tokens(text)


VOCAB = ["ab", "abc", "b", "bc", "c"]
WORDS = st.sampled_from(VOCAB)
DOCS = st.lists(
    st.tuples(*[st.lists(WORDS, max_size=5).map(" ".join) for _ in range(3)]),
    min_size=1,
    max_size=6,
)
QUERY_PIECES = st.sampled_from(
    [*VOCAB, "ab*", "bc*", "OR", "AND", "NOT", "-", "(", ")", '"', "title:", "author:",
     "abstract:", '"ab b"', '"b c"', '"c ab*"', "b-c", "ab-bc*"]
)  # fmt: skip
QUERIES = st.lists(QUERY_PIECES, min_size=1, max_size=12).map(
    lambda parts: re.sub(r"(?<=[-:]) ", "", " ".join(parts))
)


@settings(max_examples=300)
@given(DOCS, QUERIES)
def test_fts5_and_tsquery_mean_what_the_ast_means(
    docs: list[tuple[str, str, str]], text: str
) -> None:
    try:
        query = parse_search(text)
    except SearchQueryError:
        return
    db = _connect("unicode61 remove_diacritics 2")  # no stemming: exact model
    db.executemany("INSERT INTO items_fts(title, authors, summary) VALUES (?, ?, ?)", docs)
    models = [
        dict(zip(("title", "authors", "summary"), map(tokenize, d), strict=True)) for d in docs
    ]
    expected = {i + 1 for i, doc in enumerate(models) if eval_node(query.node, doc)}
    assert match(query.fts5(), db) == expected, query.fts5()
    tree = check_tsquery(query.tsquery())
    assert {i + 1 for i, doc in enumerate(models) if eval_ts(tree, doc)} == expected


# --- snippets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "search", "expected"),
    [
        ("A cat and a dog ate apples.", "a", "«A» cat and «a» dog ate apples."),
        (
            "Modern C++ templates in C, and Clojure",
            "C++",
            "Modern «C++» templates in «C,» and Clojure",
        ),
        ("This is isolated", "is", "This «is» isolated"),
        ("x86 and x87 code", "x86", "«x86» and x87 code"),
        (
            "Speculative decoding with a decoder",
            "decod*",
            "Speculative «decoding» with a «decoder»",
        ),
        ("Decoders decode", "decoding", "«Decoders» «decode»"),
        ("Naïve Schrödinger", "naive schrodinger", "«Naïve» «Schrödinger»"),
        ("an e-mail to Ann", "e", "an «e-mail» to Ann"),
        # Porter stems, as the index: "running" is "run", not the "run" of "runtime"
        ("Runs at runtime", "running", "«Runs» at runtime"),
        ("Generalization generalizes", "generalized", "«Generalization» «generalizes»"),
        ("A transformer transfers", "transf*", "A «transformer» «transfers»"),
        ("A transformer transfers", "transformers", "A «transformer» transfers"),
        ("Speculative decoding", "-speculative decoding", "Speculative «decoding»"),
        # the first marked word follows words that hold its stem but are other words
        (
            "Undecodable codes (unlike the self-decoding kind) decode",
            "decoding",
            "Undecodable codes (unlike the «self-decoding» kind) «decode»",
        ),
        (
            " ".join(["filler"] * 40) + " then decoding",
            "decoding",
            "…" + " ".join(["filler"] * 5) + " then «decoding»",
        ),
    ],
)
def test_snippets_mark_what_the_index_matched(text: str, search: str, expected: str) -> None:
    assert snippet(text, parse_search(search).highlights()) == expected
