"""Golden tests for tracker.sources.arxiv_xml against recorded arXiv responses.

The daily listing is checked item by item against the JSONL that was extracted from it
independently (arxiv-metadata/arxiv_rss_all_archives_2024-11-28_items.jsonl); API pages
are checked against a plain lxml reading of each recorded file plus the URL it came from.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from tests.support import data
from tracker.errors import ParseError, UpstreamError
from tracker.models import API, LISTING
from tracker.names import tex_to_unicode
from tracker.sources.arxiv_xml import ApiPage, Listing, parse_api, parse_listing, split_creators

LISTING_FILE = "arxiv-rss/new-format-2024/rss_all_archives_2024-11-28.xml"
LISTING_ITEMS = "arxiv-metadata/arxiv_rss_all_archives_2024-11-28_items.jsonl"
ERROR_LISTING = "arxiv-rss/new-format-2024/rss_error_bad_archive_astroph.xml"
EMPTY_LISTING = "arxiv-rss/new-format-2024/rss_test_archive_empty_2024-11-28.xml"
RECORDED = "arxiv-api/arxivpy-recorded"
OLD_FORMAT = "arxiv-api/arxivpy-2016"
ERROR_ENTRY = f"{RECORDED}/id_abc_s0_m100_b79c8dcf6bc3.xml"
PAPER_1605 = f"{RECORDED}/id_1605.08386_s0_m100_199195aa31ad.xml"
ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"


def ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def expected_authors(raw: str) -> list[str]:
    """The listing's author string as a list: split on commas (and "and") outside
    parentheses, affiliations in parentheses dropped, TeX accents as Unicode."""
    names: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in tex_to_unicode(ws(raw)):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            names.append("".join(current))
            current = []
        elif depth == 0:
            current.append(ch)
    names.append("".join(current))
    result: list[str] = []
    for name in (ws(n) for n in names):
        name = name.removeprefix("and ")
        result.extend(part.strip() for part in name.split(" and ") if part.strip())
    return result


# --- the daily listing ------------------------------------------------------------------


@pytest.fixture(scope="module")
def listing(fixtures_dir: Path) -> Listing:
    return parse_listing(data.read(fixtures_dir, LISTING_FILE))


@pytest.fixture(scope="module")
def listing_rows(fixtures_dir: Path) -> list[dict[str, Any]]:
    lines = data.read(fixtures_dir, LISTING_ITEMS).decode("utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_listing_day_and_count(listing: Listing, listing_rows: list[dict[str, Any]]) -> None:
    assert listing.day is not None and listing.day.isoformat() == "2024-11-28"
    assert len(listing.entries) == len(listing_rows) == 1504


def test_listing_matches_the_extracted_items(
    listing: Listing, listing_rows: list[dict[str, Any]]
) -> None:
    problems: list[str] = []
    for entry, row in zip(listing.entries, listing_rows, strict=True):
        expected = {
            "id": row["id"],
            "version": int(str(row["version"]).lstrip("v")),
            "announce_type": row["announce_type"],
            "title": ws(row["title"]),
            "primary": row["primary_category"],
            "categories": list(dict.fromkeys([row["primary_category"], *row["categories"]])),
            "authors": expected_authors(row["authors"]),
            "abstract": ws(row["abstract"]),
        }
        actual = {
            "id": entry.arxiv_id,
            "version": entry.version,
            "announce_type": entry.announce_type,
            "title": entry.title,
            "primary": entry.primary_category,
            "categories": list(entry.categories),
            "authors": list(entry.authors),
            "abstract": entry.summary,
        }
        problems += [
            f"{row['id']} {key}: {actual[key]!r} != {expected[key]!r}"
            for key in expected
            if actual[key] != expected[key]
        ]
    assert problems == []


def test_listing_entries_are_complete(listing: Listing) -> None:
    for entry in listing.entries:
        assert entry.quality == LISTING
        assert entry.guid == f"oai:arXiv.org:{entry.arxiv_id}v{entry.version}"
        assert entry.categories and entry.categories[0] == entry.primary_category
        assert entry.authors
        assert not any("\\" in a or "{" in a or "(" in a for a in entry.authors), entry.authors
        assert entry.announce_type in ("new", "cross", "replace", "replace-cross")
        # only a first announcement carries the paper's date (a new paper, or a new one
        # cross-listed here); every entry carries its version's: the listing's day
        first = entry.announce_type == "new" or (
            entry.announce_type == "cross" and entry.version == 1
        )
        assert (entry.published is not None) == first, entry
        assert entry.updated is not None and entry.updated.date().isoformat() == "2024-11-28"
        if entry.published is not None:
            assert entry.published == entry.updated
    kinds = {e.announce_type for e in listing.entries}
    assert {"new", "cross", "replace"} <= kinds


def test_listing_first_item_exactly(listing: Listing) -> None:
    first = listing.entries[0]
    assert first.arxiv_id == "2411.17700"
    assert first.version == 1
    assert first.title.startswith("Exploring the Impact of Generative AI on Cross-Border")
    assert first.authors == ("Jun Cui",)
    assert first.categories == ("cs.CY",)
    assert first.summary.startswith("This study investigates the influence of generative")
    assert "Announce Type" not in first.summary
    assert first.published is not None
    assert first.published.isoformat() == "2024-11-28T05:00:00+00:00"


def test_listing_tex_accents_become_unicode(listing: Listing) -> None:
    authors = {a for e in listing.entries for a in e.authors}
    assert "Przemysław Olbratowski" in authors  # Przemys{\l}aw
    assert "Jarosław Żygierewicz" in authors  # Jaros{\l}aw \.Zygierewicz
    assert "Benjamin Rémy" in authors  # Benjamin R\'emy (LEMTA)


def test_listing_error_feed_raises(fixtures_dir: Path) -> None:
    with pytest.raises(UpstreamError, match="Bad archive 'astroph'"):
        parse_listing((fixtures_dir / ERROR_LISTING).read_bytes())


def test_empty_listing(fixtures_dir: Path) -> None:
    empty = parse_listing((fixtures_dir / EMPTY_LISTING).read_bytes())
    assert empty.entries == ()
    assert empty.day is not None and empty.day.isoformat() == "2024-11-28"


@pytest.mark.parametrize(
    "body",
    [b"", b"   \n", b"<rss version='2.0'/>", b"<html><body>hi</body></html>", b"\x00\x01garbage"],
    ids=["empty", "blank", "no-channel", "html", "binary"],
)
def test_listing_that_is_not_one_raises(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_listing(body)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jun Cui", ("Jun Cui",)),
        ("A One, B Two and C Three", ("A One", "B Two", "C Three")),
        ("A One, B Two, and C Three", ("A One", "B Two", "C Three")),
        ("A One (Univ. X, Lab Y), B Two (Z)", ("A One", "B Two")),
        ('Kurt G\\"odel, Paul Erd{\\H o}s', ("Kurt Gödel", "Paul Erdős")),
        ("  ", ()),
    ],
)
def test_split_creators(text: str, expected: tuple[str, ...]) -> None:
    assert split_creators(text) == expected


# --- the API ------------------------------------------------------------------------------


def api_files(fixtures_dir: Path) -> list[Path]:
    files = sorted((fixtures_dir / RECORDED).glob("*.xml")) + sorted(
        (fixtures_dir / OLD_FORMAT).glob("*.xml")
    )
    return [f for f in files if f.name != Path(ERROR_ENTRY).name]


def oracle(body: bytes) -> tuple[int, int, list[tuple[str, int]]]:
    """Totals and (id, version) pairs read plainly with lxml and a regex."""
    root = etree.fromstring(body)
    total = int(root.findtext(f"{OPENSEARCH}totalResults") or 0)
    start = int(root.findtext(f"{OPENSEARCH}startIndex") or 0)
    ids = []
    for entry in root.iterfind(f"{ATOM}entry"):
        m = re.fullmatch(r"https?://arxiv\.org/abs/(.+)v(\d+)", entry.findtext(f"{ATOM}id") or "")
        assert m, entry.findtext(f"{ATOM}id")
        ids.append((m.group(1), int(m.group(2))))
    return total, start, ids


def test_there_are_recorded_api_files(fixtures_dir: Path) -> None:
    assert len(api_files(fixtures_dir)) == 21


def test_every_recorded_api_page(fixtures_dir: Path) -> None:
    for path in api_files(fixtures_dir):
        body = path.read_bytes()
        page = parse_api(body)
        total, start, ids = oracle(body)
        assert (page.total, page.start) == (total, start), path.name
        assert [(e.arxiv_id, e.version) for e in page.entries] == ids, path.name
        for entry in page.entries:
            assert entry.quality == API
            assert entry.title and entry.title == ws(entry.title), path.name
            assert entry.summary and "\n" not in entry.summary
            assert entry.authors
            assert entry.primary_category and entry.categories[0] == entry.primary_category
            assert len(set(entry.categories)) == len(entry.categories)
            assert entry.published is not None and entry.updated is not None
            assert entry.published <= entry.updated
            assert entry.published.utcoffset() is not None


def test_recorded_pages_match_the_requests_that_fetched_them(fixtures_dir: Path) -> None:
    for wrapper in sorted((fixtures_dir / RECORDED).glob("*.json")):
        recorded = json.loads(wrapper.read_text(encoding="utf-8"))
        query = parse_qs(urlsplit(recorded["url"]).query)
        # The wrapper's body is text decoded with a guessed charset (some names are
        # mojibake there); the .xml beside it holds the bytes as served.
        body = wrapper.with_suffix(".xml").read_bytes()
        if recorded["status_code"] == 400:
            with pytest.raises(UpstreamError):
                parse_api(body)
            continue
        page = parse_api(body)
        assert page.total == parse_api(recorded["body"].encode("utf-8")).total, wrapper.name
        assert page.start == int(query.get("start", ["0"])[0])
        assert len(page.entries) <= int(query.get("max_results", ["10"])[0])
        if "id_list" in query and query["id_list"][0]:
            wanted = query["id_list"][0].split(",")
            assert [e.arxiv_id for e in page.entries] == [re.sub(r"v\d+$", "", w) for w in wanted][
                : len(page.entries)
            ]


def test_recorded_pages_overlap_consistently(fixtures_dir: Path) -> None:
    def ids(name: str) -> list[str]:
        [path] = (fixtures_dir / RECORDED).glob(f"q_testing_{name}_*.xml")
        return [e.arxiv_id or "" for e in parse_api(path.read_bytes()).entries]

    assert ids("s0_m15")[10:] == ids("s10_m10")[:5]
    assert ids("s5_m15")[5:] == ids("s10_m10")
    assert ids("s9_m15")[1:11] == ids("s10_m10")


@pytest.mark.parametrize("name", ["id_0000.0000", "id_0808.05394"])
def test_unknown_ids_give_an_empty_page(fixtures_dir: Path, name: str) -> None:
    [path] = (fixtures_dir / RECORDED).glob(f"{name}_*.xml")
    assert parse_api(path.read_bytes()) == ApiPage(0, 0, ())


def test_paper_1605_08386_exactly(fixtures_dir: Path) -> None:
    [entry] = parse_api((fixtures_dir / PAPER_1605).read_bytes()).entries
    assert entry.arxiv_id == "1605.08386"
    assert entry.version == 1
    assert entry.title == "Heat-bath random walks with Markov bases"
    assert entry.authors == ("Caprice Stanley", "Tobias Windisch")
    assert entry.categories == ("math.CO", "math.ST")
    assert entry.primary_category == "math.CO"
    assert entry.comment == "20 pages, 3 figures"
    assert entry.journal_ref is None and entry.doi is None
    assert entry.published is not None
    assert entry.published.isoformat() == "2016-05-26T17:59:46+00:00"
    assert entry.updated == entry.published
    assert entry.guid == "http://arxiv.org/abs/1605.08386v1"
    assert entry.summary.startswith("Graphs on lattice points are studied whose edges")
    assert entry.summary.endswith("is an expander in fixed dimension.")


def test_old_style_ids_and_old_format(fixtures_dir: Path) -> None:
    page = parse_api((fixtures_dir / OLD_FORMAT / "q_au_del_maestro.xml").read_bytes())
    assert page.total == 31
    assert len(page.entries) == 10
    assert ("cond-mat/0412498", 1) in [(e.arxiv_id, e.version) for e in page.entries]
    first = page.entries[0]
    assert first.title == "A Luttinger Liquid Core Inside Helium-4 Filled Nanopores"
    assert first.summary.startswith("As helium-4 is cooled below 2.17 K it undergoes")
    [versioned] = parse_api(
        (fixtures_dir / OLD_FORMAT / "id_list_1111.2011v2.xml").read_bytes()
    ).entries
    assert (versioned.arxiv_id, versioned.version) == ("1111.2011", 2)
    [old] = parse_api(
        next((fixtures_dir / RECORDED).glob("id_quant-ph_0201082v1_*.xml")).read_bytes()
    ).entries
    assert (old.arxiv_id, old.version) == ("quant-ph/0201082", 1)


def test_error_entry_raises_upstream_error(fixtures_dir: Path) -> None:
    with pytest.raises(UpstreamError, match="incorrect id format for abc"):
        parse_api((fixtures_dir / ERROR_ENTRY).read_bytes())


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_truncated_api_document_raises(fixtures_dir: Path, fraction: float) -> None:
    body = (fixtures_dir / RECORDED / "q_testing_s0_m15_80c242b59d59.xml").read_bytes()
    with pytest.raises(ParseError) as info:
        parse_api(body[: int(len(body) * fraction)])
    assert not isinstance(info.value, UpstreamError)


@pytest.mark.parametrize("fraction", [0.3, 0.999])
def test_truncated_listing_raises(fixtures_dir: Path, fraction: float) -> None:
    body = data.read(fixtures_dir, LISTING_FILE)
    with pytest.raises(ParseError):
        parse_listing(body[: int(len(body) * fraction)])


@pytest.mark.parametrize(
    "body",
    [b"", b"<feed", b"<rss version='2.0'><channel/></rss>", b'{"items": []}'],
    ids=["empty", "cut", "rss", "json"],
)
def test_api_answer_that_is_not_a_feed_raises(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_api(body)


# --- hostile XML ----------------------------------------------------------------------------

_FEED_OPEN = (
    b'<feed xmlns="http://www.w3.org/2005/Atom" '
    b'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
    b"<opensearch:totalResults>1</opensearch:totalResults>"
)


def hostile_api(dtd: bytes, title: bytes) -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE feed [' + dtd + b"]>" + _FEED_OPEN + b"<entry>"
        b"<id>http://arxiv.org/abs/1605.08386v1</id><title>T " + title + b"</title>"
        b"<summary>s</summary></entry></feed>"
    )


def billion_laughs() -> bytes:
    lines = [b'<!ENTITY lol0 "lol">']
    lines += [b"<!ENTITY lol%d '%s'>" % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10)]
    return b"".join(lines)


@pytest.mark.parametrize(
    ("dtd", "title"),
    [
        (billion_laughs(), b"&lol9;"),
        (b'<!ENTITY a "' + b"A" * 50_000 + b'">', b"&a;" * 50_000),  # quadratic blowup
    ],
    ids=["billion-laughs", "quadratic"],
)
def test_entity_expansion_is_refused_or_not_expanded(dtd: bytes, title: bytes) -> None:
    started = time.monotonic()
    try:
        page = parse_api(hostile_api(dtd, title))
    except ParseError:
        pass
    else:
        assert all(len(e.title) < 1_000_000 for e in page.entries)
    assert time.monotonic() - started < 1.0


def test_billion_laughs_in_a_listing(fixtures_dir: Path) -> None:
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [' + billion_laughs() + b"]>"
        b'<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
        b"<guid>oai:arXiv.org:2411.17700v1</guid></item></channel></rss>"
    )
    started = time.monotonic()
    try:
        result = parse_listing(body)
    except ParseError:
        pass
    else:
        assert all(len(e.title) < 1_000_000 for e in result.entries)
    assert time.monotonic() - started < 1.0


def test_external_entities_are_not_read() -> None:
    body = hostile_api(b'<!ENTITY xxe SYSTEM "file:///etc/passwd">', b"&xxe;")
    try:
        page = parse_api(body)
    except ParseError:
        return
    assert all("root:" not in e.title for e in page.entries)


def test_external_dtd_is_not_fetched() -> None:
    # A closed port: a fetch would fail or hang; the parser must not even try.
    body = hostile_api(b'<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;', b"x")
    started = time.monotonic()
    with contextlib.suppress(ParseError):
        parse_api(body)
    assert time.monotonic() - started < 1.0
