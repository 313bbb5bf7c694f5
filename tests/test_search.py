"""Tests for ``Storage.search`` on a database filled from real data.

The database holds the recorded arXiv listing of 2024-11-28 (1,504 papers, in the
listing sources "cs" and "math" where their categories say so) plus a few hand-made
posts from two feeds whose words appear nowhere else, so each expectation is exact.
Filter results are checked against the same filter computed in Python over every item.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import tracker.storage.search as search_module
from tests.support import data
from tests.test_storage import (
    BACKENDS,
    category,
    database_url,
    feed,
    follow,
    ingest,
    load_field_map,
    post,
)
from tracker import ids
from tracker.errors import SearchQueryError
from tracker.models import NO_FILTERS, Entry, Item, SearchFilters, SearchHit, SourceKind
from tracker.sources.arxiv_xml import parse_listing
from tracker.storage import Storage, open_storage
from tracker.storage.search_syntax import MAX_LENGTH, tokenize
from tracker.storage.tags import archive_token, category_token, field_token, month_token

LISTING_FILE = "arxiv-rss/new-format-2024/rss_all_archives_2024-11-28.xml"
UTC = dt.UTC
LISTING_AT = dt.datetime(2024, 11, 28, 8, 0, tzinfo=UTC)
POSTS_AT = dt.datetime(2024, 11, 28, 9, 0, tzinfo=UTC)
LATE_AT = dt.datetime(2024, 12, 1, 9, 0, tzinfo=UTC)
BLOG = "https://blog.example.org/feed"
NEWS = "https://news.example.com/rss"
EVERYTHING = 100_000


def day(d: int, month: int = 11) -> dt.datetime:
    return dt.datetime(2024, month, d, 12, 0, tzinfo=UTC)


# Hand-made posts: name -> (feed, entry). Published dates are distinct and before the
# listing; "cpp" has none, so its first_seen (LATE_AT) stands in.
POSTS: dict[str, tuple[str, Entry]] = {
    "title": (
        BLOG,
        Entry(
            title="Zyxquokka burrows in the wild",
            summary="Field notes from a long week.",
            authors=("Grace Hopper",),
            published=day(20),
        ),
    ),
    "hopper": (
        NEWS,
        Entry(
            title="Hopper GPUs for sparse kernels",
            summary="Benchmarks on new accelerators.",
            authors=("Linus Example",),
            published=day(23),
        ),
    ),
    "prefix": (
        NEWS,
        Entry(title="Zyxfoo considered", summary="A short note.", published=day(24)),
    ),
    "abstract": (
        NEWS,
        Entry(
            title="Notes from the outback",
            summary="We observed one zyxquokka near the river, and then nothing else at all.",
            authors=("Ada Lovelace",),
            published=day(25),
        ),
    ),
    "phrase": (
        BLOG,
        Entry(title="Quantum error correction at scale", published=day(26)),
    ),
    "words": (
        NEWS,
        Entry(title="Correction: an error in our quantum story", published=day(27)),
    ),
    "cpp": (
        BLOG,
        Entry(
            title="Modern C++ templates",
            summary="We discuss e-mail workflows and zyxfoobar tooling.",
            authors=("Bjarne Example",),
        ),
    ),
}


@dataclass(frozen=True)
class Filled:
    storage: Storage
    items: dict[int, Item]  # every stored item by id
    sources: dict[int, frozenset[int]]  # item id -> ids of the sources that delivered it
    source_ids: dict[str, int]  # "cs", "math", BLOG, NEWS -> source id
    post: dict[str, int]  # name in POSTS -> item id
    saved: frozenset[int]  # what "ada" saved

    def ids(self, keep: Callable[[Item], bool]) -> set[int]:
        return {n for n, item in self.items.items() if keep(item)}

    def search_ids(self, text: str = "", filters: SearchFilters = NO_FILTERS) -> set[int]:
        hits = self.storage.search(text, filters, limit=EVERYTHING)
        found = [h.item.id for h in hits]
        assert len(found) == len(set(found)), "an item was returned twice"
        return set(found)


@pytest.fixture(scope="module", params=BACKENDS)
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path
) -> Iterator[Filled]:
    with database_url(str(request.param), tmp_path_factory.mktemp("search")) as url:
        yield from _fill(url, fixtures_dir)


def _fill(url: str, fixtures_dir: Path) -> Iterator[Filled]:
    field_map = load_field_map()
    storage = open_storage(url)
    source_ids = {
        "cs": follow(storage, "ada", category("cs"), LISTING_AT),
        "math": follow(storage, "ada", category("math"), LISTING_AT),
        BLOG: follow(storage, "ada", feed(BLOG, "Example Lab Blog"), LISTING_AT),
        NEWS: follow(storage, "ada", feed(NEWS, "Daily Science News"), LISTING_AT),
    }
    listing = parse_listing(data.read(fixtures_dir, LISTING_FILE))
    assert len(listing.entries) > 1000

    def listing_sources(entry: Entry) -> list[int]:
        archives = {c.split(".", 1)[0] for c in entry.categories}
        return [source_ids[a] for a in ("cs", "math") if a in archives]

    batch = [(entry, listing_sources(entry)) for entry in _keyed(listing.entries)]
    report = ingest(storage, field_map, batch, LISTING_AT)
    assert report.new_items == len(listing.entries)
    sources = {n: frozenset(sids) for n, (_, sids) in zip(report.item_ids, batch, strict=True)}

    post_ids: dict[str, int] = {}
    for name, (url, entry) in POSTS.items():
        keyed = post(url, name, entry.title, **_post_fields(entry))
        at = LATE_AT if entry.published is None else POSTS_AT
        [item_id] = ingest(storage, field_map, [(keyed, [source_ids[url]])], at).item_ids
        post_ids[name] = item_id
        sources[item_id] = frozenset([source_ids[url]])

    saved = [post_ids["cpp"], storage.item("2411.17700").id]
    for n, item_id in enumerate(saved):
        storage.save("ada", item_id, LATE_AT + dt.timedelta(minutes=n))
    items = {item.id: item for item in storage.items(sorted(sources))}
    assert len(items) == len(sources)
    try:
        yield Filled(storage, items, sources, source_ids, post_ids, frozenset(saved))
    finally:
        storage.close()


def _keyed(entries: Sequence[Entry]) -> list[Entry]:
    return [replace(e, key=ids.item_key(e, "")) for e in entries]


def _post_fields(entry: Entry) -> dict[str, object]:
    return dict(summary=entry.summary, authors=entry.authors, published=entry.published)


def _when(item: Item) -> dt.datetime:
    return item.published or item.first_seen


# --- text --------------------------------------------------------------------------------------


def test_title_match_ranks_above_abstract_match(filled: Filled) -> None:
    hits = filled.storage.search("zyxquokka")
    # The abstract-only post was stored later, so only the ranking puts the title first.
    assert filled.post["abstract"] > filled.post["title"]
    assert [h.item.id for h in hits] == [filled.post["title"], filled.post["abstract"]]
    assert hits[0].score > hits[1].score > 0


def test_ranking_on_real_data_prefers_titles(filled: Filled) -> None:
    hits = filled.storage.search("graph", limit=10)
    assert len(hits) == 10
    assert all("graph" in h.item.title.lower() for h in hits)
    scores = [h.score for h in filled.storage.search("graph", limit=EVERYTHING)]
    assert scores == sorted(scores, reverse=True)


def test_phrase_versus_words(filled: Filled) -> None:
    phrase = filled.search_ids('"quantum error correction"')
    words = filled.search_ids("quantum error correction")
    assert filled.post["phrase"] in phrase
    assert filled.post["words"] not in phrase
    assert {filled.post["phrase"], filled.post["words"]} <= words
    assert phrase < words
    real_phrase, real_words = (
        filled.search_ids('"neural network"'),
        filled.search_ids("neural network"),
    )
    assert real_phrase and real_phrase < real_words


def test_prefix(filled: Filled) -> None:
    assert filled.search_ids("zyxfoo") == {filled.post["prefix"]}
    assert filled.search_ids("zyxfoo*") == {filled.post["prefix"], filled.post["cpp"]}
    assert filled.search_ids("zyxfoob*") == {filled.post["cpp"]}
    assert filled.search_ids("decod*") >= filled.search_ids("decoder")


def test_author_prefix_and_filter(filled: Filled) -> None:
    p = filled.post
    assert filled.search_ids("hopper") == {p["title"], p["hopper"]}
    assert filled.search_ids("author:hopper") == {p["title"]}
    assert filled.search_ids("", SearchFilters(author="Grace Hopper")) == {p["title"]}
    assert filled.search_ids("", SearchFilters(author="hopper grace")) == set()  # a phrase
    assert filled.search_ids("gpus", SearchFilters(author="Hopper")) == set()
    with_text = filled.search_ids("zyxquokka", SearchFilters(author="Ada Lovelace"))
    assert with_text == {p["abstract"]}
    assert filled.search_ids("", SearchFilters(author='Grace "Hopper')) == {p["title"]}

    real = filled.search_ids("", SearchFilters(author="Florian Ginzel"))
    assert real == filled.ids(lambda i: "Florian Ginzel" in i.authors)
    assert len(real) == 4
    with pytest.raises(SearchQueryError, match="author"):
        filled.storage.search("", SearchFilters(author='"'))


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filters",
    [
        SearchFilters(author=""),
        SearchFilters(category=""),
        SearchFilters(field=" "),
        SearchFilters(source=""),
        SearchFilters(source="", since=dt.date(2024, 11, 1)),
        SearchFilters(category="cs.LG", field=""),
    ],
)
@pytest.mark.parametrize("text", ["", "graph"])
def test_an_empty_filter_is_explained_not_run(
    filled: Filled, text: str, filters: SearchFilters
) -> None:
    with pytest.raises(SearchQueryError, match="filter is empty") as raised:
        filled.storage.search(text, filters)
    assert "SELECT" not in str(raised.value)


@pytest.mark.parametrize(
    "field",
    ["Computer Science > Systems", "Mathematics > Algebraic Geometry and Number Theory", "Physics"],
)
def test_field_filter(filled: Filled, field: str) -> None:
    def has_field(item: Item) -> bool:
        return any(t.field == field or t.field.startswith(f"{field} > ") for t in item.fields)

    expected = filled.ids(has_field)
    assert expected
    assert filled.search_ids("", SearchFilters(field=field)) == expected
    assert filled.search_ids("the", SearchFilters(field=field)) == expected & filled.search_ids(
        "the"
    )


def test_field_filter_by_group_spans_fields(filled: Filled) -> None:
    group = filled.search_ids("", SearchFilters(field="Computer Science"))
    systems = filled.search_ids("", SearchFilters(field="Computer Science > Systems"))
    learning = filled.search_ids("", SearchFilters(field="Computer Science > Machine Learning"))
    assert systems | learning <= group
    assert systems and learning and systems != learning
    assert filled.search_ids("", SearchFilters(field="Computer")) == set()
    assert filled.search_ids("", SearchFilters(field="Computer Science > Sys")) == set()


@pytest.mark.parametrize("code", ["cs.DC", "cs", "math.AG", "hep-th", "astro-ph"])
def test_category_filter(filled: Filled, code: str) -> None:
    def in_category(item: Item) -> bool:
        return any(c == code or c.startswith(f"{code}.") for c in item.categories)

    expected = filled.ids(in_category)
    assert expected
    assert filled.search_ids("", SearchFilters(category=code)) == expected


def test_category_filter_matches_whole_codes(filled: Filled) -> None:
    assert filled.search_ids("", SearchFilters(category="cs.D")) == set()
    assert filled.search_ids("", SearchFilters(category="c")) == set()
    assert filled.search_ids("", SearchFilters(category="cs.%")) == set()
    cs = filled.search_ids("", SearchFilters(category="cs"))
    assert filled.search_ids("", SearchFilters(category="cs.DC")) < cs


def test_source_filter(filled: Filled) -> None:
    def from_sources(*names: str) -> set[int]:
        wanted = {filled.source_ids[n] for n in names}
        return {n for n, sids in filled.sources.items() if sids & wanted}

    feeds = from_sources(BLOG, NEWS)
    assert feeds == set(filled.post.values())
    assert filled.search_ids("", SearchFilters(source=SourceKind.FEED.value)) == feeds
    listings = from_sources("cs", "math")
    assert filled.search_ids("", SearchFilters(source="arxiv_listing")) == listings
    assert filled.search_ids("", SearchFilters(source="arxiv_query")) == set()
    assert filled.search_ids("", SearchFilters(source="blog.example")) == from_sources(BLOG)
    assert filled.search_ids("", SearchFilters(source="Daily Science")) == from_sources(NEWS)
    assert filled.search_ids("", SearchFilters(source="math")) == from_sources("math")
    assert filled.search_ids("", SearchFilters(source="%")) == set()
    assert filled.search_ids("", SearchFilters(source="_")) == set()
    assert filled.search_ids("zyxquokka", SearchFilters(source="news.example")) == {
        filled.post["abstract"]
    }


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (dt.date(2024, 11, 29), None),
        (None, dt.date(2024, 11, 24)),
        (dt.date(2024, 11, 24), dt.date(2024, 11, 26)),
        (dt.date(2024, 11, 28), dt.date(2024, 11, 28)),
        (dt.date(2024, 12, 1), dt.date(2024, 12, 1)),
        (dt.date(2024, 12, 2), None),
    ],
)
def test_date_filters(filled: Filled, since: dt.date | None, until: dt.date | None) -> None:
    def in_range(item: Item) -> bool:
        when = _when(item).date()
        return (since is None or when >= since) and (until is None or when <= until)

    expected = filled.ids(in_range)
    assert filled.search_ids("", SearchFilters(since=since, until=until)) == expected


@pytest.mark.parametrize("text", ["the", "of -the", "quantum", "zyxquokka"])
@pytest.mark.parametrize(
    ("since", "until"),
    [
        (dt.date(2024, 11, 29), None),
        (dt.date(2024, 10, 1), None),  # most of the stored months, the newest among them
        (dt.date(2000, 1, 1), None),
        (dt.date(2000, 1, 1), dt.date(2030, 1, 1)),
        (None, dt.date(2024, 11, 24)),
        (dt.date(2024, 11, 24), dt.date(2024, 11, 26)),
    ],
)
def test_date_filters_with_words(
    filled: Filled, text: str, since: dt.date | None, until: dt.date | None
) -> None:
    """Words and a date range find the word's matches dated in the range, however wide
    the range is next to the stored dates (a wide one is checked row by row)."""

    def in_range(item: Item) -> bool:
        when = _when(item).date()
        return (since is None or when >= since) and (until is None or when <= until)

    filters = SearchFilters(since=since, until=until)
    expected = filled.search_ids(text) & filled.ids(in_range)
    assert filled.search_ids(text, filters) == expected
    assert filled.storage.search_count(text, filters, cap=EVERYTHING) == len(expected)


def test_date_filters_fall_back_to_first_seen(filled: Filled) -> None:
    late = filled.search_ids("", SearchFilters(since=dt.date(2024, 11, 29)))
    assert late == {filled.post["cpp"]}  # no published date: first seen on 2024-12-01
    listing_day = filled.search_ids(
        "", SearchFilters(since=dt.date(2024, 11, 28), until=dt.date(2024, 11, 28))
    )
    assert filled.ids(lambda i: i.published is None and i.arxiv_id is not None) == set()
    # replacements of older papers are dated by the month of their id, not the listing's day
    by_month = filled.ids(lambda i: bool(i.arxiv_id) and i.published == ids.id_month(i.arxiv_id))
    assert by_month and not by_month & listing_day
    october_2022 = filled.search_ids(
        "", SearchFilters(since=dt.date(2022, 10, 1), until=dt.date(2022, 10, 31))
    )
    assert filled.storage.item("2210.03055").id in october_2022
    early = filled.search_ids("", SearchFilters(until=dt.date(2024, 11, 21)))
    assert early == {filled.post["title"]} | filled.ids(
        lambda i: i.id in by_month and _when(i).date() <= dt.date(2024, 11, 21)
    )


def test_saved_by(filled: Filled) -> None:
    assert filled.search_ids("", SearchFilters(saved_by="ada")) == set(filled.saved)
    assert filled.search_ids("", SearchFilters(saved_by="bob")) == set()
    hits = filled.storage.search("templates", SearchFilters(saved_by="ada"), reader="ada")
    assert [(h.item.id, h.saved) for h in hits] == [(filled.post["cpp"], True)]
    hits = filled.storage.search("zyxquokka", reader="ada")
    assert [h.saved for h in hits] == [False, False]


def test_filters_combine(filled: Filled) -> None:
    filters = SearchFilters(category="cs", field="Computer Science > Systems", source="cs")
    expected = filled.ids(
        lambda i: (
            any(c.startswith("cs.") for c in i.categories)
            and any(t.field == "Computer Science > Systems" for t in i.fields)
        )
    )
    assert expected
    assert filled.search_ids("", filters) == expected


# --- ordering, paging, snippets ----------------------------------------------------------------


def test_filter_only_search_is_newest_first(filled: Filled) -> None:
    hits = filled.storage.search("", SearchFilters(source="feed"), limit=EVERYTHING)
    p = filled.post
    order = ["cpp", "words", "phrase", "abstract", "prefix", "hopper", "title"]
    assert [h.item.id for h in hits] == [p[name] for name in order]
    assert all(h.snippet == "" for h in hits)

    hits = filled.storage.search("", SearchFilters(category="cs"), limit=EVERYTHING)
    # a filter that SQLite's index answers (categories, fields) lists the most recently
    # added first; other filters, and PostgreSQL, the most recently published first
    # (they agree where papers arrive in the order they appear)
    if filled.storage.dialect == "sqlite":
        assert [h.item.id for h in hits] == sorted((h.item.id for h in hits), reverse=True)
    else:
        keys = [(_when(h.item), h.item.id) for h in hits]
        assert keys == sorted(keys, reverse=True)


@pytest.mark.parametrize(
    ("text", "filters", "size"),
    [
        ("graph", NO_FILTERS, 7),
        ("", SearchFilters(category="math"), 7),
        ("the", NO_FILTERS, 101),
    ],
)
def test_limit_and_offset_page_through_results(
    filled: Filled, text: str, filters: SearchFilters, size: int
) -> None:
    everything = [h.item.id for h in filled.storage.search(text, filters, limit=EVERYTHING)]
    assert len(everything) > 4 * size
    pages: list[int] = []
    for offset in range(0, len(everything) + size, size):
        page = filled.storage.search(text, filters, limit=size, offset=offset)
        assert len(page) <= size
        pages.extend(h.item.id for h in page)
    assert pages == everything
    assert (
        filled.storage.search(text, filters, limit=3)
        == filled.storage.search(text, filters, limit=EVERYTHING)[:3]
    )
    assert filled.storage.search(text, filters, offset=len(everything)) == []


def test_snippets_highlight_the_words(filled: Filled) -> None:
    hits = filled.storage.search("abstract:network", limit=30)
    assert len(hits) == 30
    for hit in hits:
        assert "«" in hit.snippet and "»" in hit.snippet, hit.snippet
    [hit] = filled.storage.search("zyxquokka", SearchFilters(source="news.example"))
    assert "«zyxquokka»" in hit.snippet


# --- odd input ----------------------------------------------------------------------------------

ODD_INPUTS = [
    '"neural network"',
    '"unfinished quote',
    "neural AND network",
    "AND",
    "OR OR",
    "NOT",
    "C++",
    "e-mail",
    '"',
    '""',
    "'; DROP TABLE items; --",
    "items_fts MATCH 'x'",
    "{title}: graph",
    "title:",
    "-graph",
    "graph -",
    "a OR -b",
    "((((graph",
    "graph)))",
    "*",
    "gr*",
    "g*",
    "NEAR(graph network)",
    "!@#$%^&*()_+=[]{}|;:,.<>/?~`",
    "…—–«»",
    "\x00graph\x00",
    "\\",
    "x" * 2000,
    "graph " * 400,
    " ".join(f"w{n}" for n in range(100)),
    "(" * 40 + "graph" + ")" * 40,
]


@pytest.mark.parametrize("text", ODD_INPUTS)
def test_odd_input_returns_results_or_a_clear_error(filled: Filled, text: str) -> None:
    before = filled.storage.count_items()
    try:
        hits = filled.storage.search(text)
    except SearchQueryError as e:
        assert str(e).strip()
    else:
        assert all(isinstance(h, SearchHit) for h in hits)
    assert filled.storage.count_items() == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("C++", "cpp"),
        ("e-mail", "cpp"),
        ('"C++ templates"', "cpp"),
        ("e-mail zyxfoobar", "cpp"),
        ("'; zyxquokka --", "title"),
    ],
)
def test_punctuation_is_plain_text(filled: Filled, text: str, expected: str) -> None:
    assert filled.post[expected] in filled.search_ids(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"', "no words"),
        ("!@#$%^&*()", "no words"),
        ("AND", "no words"),
        ("", "at least one filter"),
        ("   ", "at least one filter"),
        ("-graph", "exclusions"),
        ("x" * 2000, "too long"),
        (" ".join(f"w{n}" for n in range(100)), "too many terms"),
        ("(" * 40 + "graph" + ")" * 40, "nest"),
    ],
)
def test_unsearchable_input_is_explained(filled: Filled, text: str, message: str) -> None:
    with pytest.raises(SearchQueryError, match=message):
        filled.storage.search(text)
    assert len(text) <= 2 * MAX_LENGTH


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=80))
@example(text="\ud7ff")
@example(text="ﬁ ǅ Ⅻ ½ ²")
@example(text="a\u0301 ı İ ß")
def test_any_text_searches_or_raises_search_query_error(filled: Filled, text: str) -> None:
    try:
        hits = filled.storage.search(text, limit=5)
    except SearchQueryError:
        return
    assert len(hits) <= 5


GRAMMAR = st.lists(
    st.sampled_from(
        [
            *['"', "(", ")", "-", "*", ":", "OR", "AND", "NOT", "title:", "author:", "abstract:"],
            *["graph", "neural", "network", "zyxquokka", "e-mail", "C++", " ", "'", "{", "}"],
        ]
    ),
    max_size=20,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=GRAMMAR, author=st.none() | st.text(max_size=30) | GRAMMAR)
def test_grammar_like_text_and_authors_never_escape(
    filled: Filled, text: str, author: str | None
) -> None:
    with contextlib.suppress(SearchQueryError):  # anything else fails the test
        filled.storage.search(text, SearchFilters(author=author), limit=5)


def test_filter_tokens_are_never_text(filled: Filled) -> None:
    """The category, field and month tokens written into the index beside the text
    are found by the filters only, never by the words of a search, whatever those are
    (a word that can be no such token is searched without a column filter)."""
    item = filled.items[filled.post["words"]]
    listed = next(i for i in filled.items.values() if i.categories and i.fields)
    tokens = [
        category_token(listed.categories[0]),
        archive_token(listed.categories[0].split(".", 1)[0]),
        field_token(listed.fields[0].field),
        month_token(_when(item).date()),
    ]
    quantum = filled.search_ids("quantum")
    assert quantum
    for token in tokens:
        assert filled.search_ids(token) == set()
        assert filled.search_ids(f"{token[:4]}*") == set()
        assert filled.search_ids(f"quantum -{token}") == quantum
        assert filled.storage.search_count(token) == 0


# --- common terms and the rank window ------------------------------------------------------------


def test_common_term_returns_results(filled: Filled) -> None:
    hits = filled.storage.search("the", limit=20)
    assert len(hits) == 20
    assert len(filled.search_ids("the")) > 1000


@pytest.mark.parametrize("window", [50, 10_000])
def test_broad_queries_put_title_matches_first_then_the_newest(
    filled: Filled, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    """More matches than bm25 is allowed to rank: among the newest BROAD_WINDOW matches,
    title matches first, then the rest, each most recently added first; older matches
    follow, newest first; filters apply before the page is cut."""
    monkeypatch.setattr(search_module, "BROAD_WINDOW", window)
    hits = filled.storage.search("the", limit=EVERYTHING)
    assert len(hits) > search_module.EXACT_LIMIT
    ids = [h.item.id for h in hits]
    newest = sorted(ids, reverse=True)[:window]
    in_title = [i for i in newest if "the" in tokenize(filled.items[i].title)]
    assert in_title and ids[: len(in_title)] == in_title
    rest = ids[len(in_title) :]
    assert rest == sorted(rest, reverse=True)
    assert all(h.score == 2.0 for h in hits[: len(in_title)])
    page = filled.storage.search("the", limit=10, offset=len(in_title) - 5)
    assert [h.item.id for h in page] == ids[len(in_title) - 5 : len(in_title) + 5]
    filtered = filled.storage.search("the", SearchFilters(category="math"), limit=25)
    assert len(filtered) == 25
    assert all(any(c.startswith("math.") for c in h.item.categories) for h in filtered)


@pytest.mark.parametrize(
    ("query", "excluded"),
    [
        ("the -of", ["of"]),
        ("the -(of OR quantum)", ["of", "quantum"]),
        ('the -"of the"', ['"of the"']),
    ],
)
def test_broad_title_matches_honour_exclusions(
    filled: Filled, monkeypatch: pytest.MonkeyPatch, query: str, excluded: list[str]
) -> None:
    """The title-first part of a broad query lists whole-query matches only: a paper
    with the word in its title and the excluded one in its abstract is not listed."""
    out = set().union(*(filled.search_ids(word) for word in excluded))
    expected = filled.search_ids("the") - out
    monkeypatch.setattr(search_module, "BROAD_WINDOW", 10_000)
    monkeypatch.setattr(search_module, "COMMON_TERM", 1)  # the broad path (SQLite)
    monkeypatch.setattr(search_module, "EXACT_LIMIT", 1)  # the broad path (PostgreSQL)
    hits = filled.storage.search(query, limit=EVERYTHING)
    assert {h.score for h in hits} <= {1.0, 2.0}
    assert {h.item.id for h in hits} == expected
    titled = [h for h in hits if h.score == 2.0]
    assert titled and all("the" in tokenize(h.item.title) for h in titled)


@pytest.mark.parametrize(
    ("query", "wanted", "excluded"),
    [
        ("zyxquokka -river", "zyxquokka", ["river"]),
        ("quantum -the", "quantum", ["the"]),
        ("quantum error -the -(of OR scale)", "quantum error", ["the", "of", "scale"]),
        ('quantum -"error correction"', "quantum", ['"error correction"']),
        ("title:quantum -the", "title:quantum", ["the"]),
    ],
)
def test_exclusions_of_common_words(
    filled: Filled, query: str, wanted: str, excluded: list[str]
) -> None:
    """What a query wants, less every paper holding an excluded word or phrase, however
    common the excluded words are next to the wanted ones; the page shows the same
    papers in the same order as the whole query ranked at once."""
    out = set().union(*(filled.search_ids(word) for word in excluded))
    expected = filled.search_ids(wanted) - out
    assert filled.search_ids(query) == expected
    assert filled.storage.search_count(query, cap=EVERYTHING) == len(expected)
    hits = filled.storage.search(query, limit=5)
    assert [h.item.id for h in hits] == [
        h.item.id for h in filled.storage.search(query, limit=EVERYTHING)[:5]
    ]


def test_a_common_word_is_never_weighed_by_bm25(
    filled: Filled, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query with few matches but one very common word is still not ranked by bm25
    (bm25 would scan every row of the common word). PostgreSQL ranks by the number of
    matches alone (ts_rank reads only the matching rows' vectors)."""
    exact = filled.storage.search("quantum the", limit=EVERYTHING)
    assert 0 < len(exact) <= search_module.EXACT_LIMIT
    assert len({h.score for h in exact}) > 2  # real bm25 scores
    if filled.storage.dialect == "sqlite":
        monkeypatch.setattr(search_module, "COMMON_TERM", 50)
    else:  # both ways to the newest matches: in bands through the GIN index (first),
        # then walking the id index (when the words count as common)
        monkeypatch.setattr(search_module, "EXACT_LIMIT", len(exact) - 1)
        broad = filled.storage.search("quantum the", limit=EVERYTHING)
        assert {h.item.id for h in broad} == {h.item.id for h in exact}
        assert {h.score for h in broad} <= {1.0, 2.0}
        monkeypatch.setattr(search_module, "COMMON_TERM", 1)
    broad = filled.storage.search("quantum the", limit=EVERYTHING)
    assert {h.item.id for h in broad} == {h.item.id for h in exact}
    assert {h.score for h in broad} <= {1.0, 2.0}


# --- result counts (the web page's "N results") ------------------------------------------------

COUNTED = [
    ("graph", NO_FILTERS),
    ("zyxquokka", NO_FILTERS),
    ('"neural network"', NO_FILTERS),
    ("decod*", NO_FILTERS),
    ("cache", SearchFilters(category="cs.AR")),
    ("", SearchFilters(category="math.CO")),
    ("the", SearchFilters(field="Computer Science")),
    ("", SearchFilters(since=dt.date(2024, 11, 21), until=dt.date(2024, 11, 24))),
    ("", SearchFilters(source="news.example.com")),
    ("", SearchFilters(saved_by="ada")),
    ("learning", SearchFilters(author="Zhang")),
    ("nothingmatchesthisword", NO_FILTERS),
]


@pytest.mark.parametrize(("text", "filters"), COUNTED)
def test_search_count_equals_the_results(filled: Filled, text: str, filters: SearchFilters) -> None:
    expected = len(filled.search_ids(text, filters))
    assert filled.storage.search_count(text, filters, cap=EVERYTHING) == expected


def test_search_count_stops_at_its_cap(filled: Filled) -> None:
    assert len(filled.search_ids("the")) > 50
    assert filled.storage.search_count("the", cap=50) == 51  # more than 50
    assert filled.storage.search_count("zyxquokka", cap=50) == 2


def test_search_count_explains_bad_input(filled: Filled) -> None:
    with pytest.raises(SearchQueryError):
        filled.storage.search_count("")
