"""The web page's routes with Flask's test client, on a real installation: fetched
data, digests built by the worker's own code, two readers with passwords; on SQLite
and on PostgreSQL.

Each page is checked against what the facade says (the same digest order as the
Markdown file, the same results as a search, the same BibTeX as an export).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from markupsafe import escape

from tests.support.server import Paper
from tests.support.webapp import SCHOLAR, Installation, build, sign_in, token
from tests.test_storage import BACKENDS, database_url
from tracker.models import FollowKind, SearchFilters


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fixtures_dir: Path,
    papers: list[Paper],
) -> Iterator[Installation]:
    """The same installation on SQLite and on PostgreSQL (when the tests have one)."""
    folder = tmp_path_factory.mktemp("web")
    with database_url(str(request.param), folder / "data") as url:
        installation = build(folder, fixtures_dir, papers, url)
        try:
            yield installation
        finally:
            installation.close()


@pytest.fixture
def ada(site: Installation) -> FlaskClient:
    client = site.app().test_client()
    sign_in(client, "ada")
    return client


@pytest.fixture
def bob(site: Installation) -> FlaskClient:
    client = site.app().test_client()
    sign_in(client, "bob")
    return client


def esc(value: str) -> str:
    return str(escape(value))


def text(reply: object) -> str:
    return reply.get_data(as_text=True)  # type: ignore[attr-defined,no-any-return]


def item_ids(html: str) -> list[int]:
    return [
        int(n)
        for n in re.findall(r'<(?:article|li) class="(?:item|compact)" id="item-(\d+)"', html)
    ]


# --- the digest ---------------------------------------------------------------------------------


def test_digest_page_shows_the_same_items_in_the_same_order_as_the_markdown(
    site: Installation, ada: FlaskClient
) -> None:
    reply = ada.get("/digest")
    assert reply.status_code == 200
    html = text(reply)
    shown = item_ids(html)
    markdown = (site.settings.readers[0].output_dir / "ada" / "2024-11-28.md").read_text()
    view = site.tracker.stored_digest_view("ada", site.clock.now.date())
    assert view is not None and view.summary.total > 20
    assert shown == [e.item_id for e in view.entries]
    # the Markdown file lists the same papers, in the same order
    in_markdown = re.findall(r"arXiv:(\d{4}\.\d{4,5})v\d", markdown)
    papers = [site.tracker.item(str(n)).arxiv_id for n in shown]
    assert [p for p in papers if p] == list(dict.fromkeys(in_markdown))
    for section in view.sections:
        assert esc(section.title) in html
        if section.intro:
            assert esc(section.intro) in html
    for e in view.entries:
        assert esc(e.why) in html and esc(e.abstract) in html
    assert esc(view.summary.text) in html
    assert f"<h1>{view.header.day_label}</h1>" in html
    # the followed scholar is marked and links to their page
    assert 'class="author followed" href="/scholars/Guido%20Burkard"' in html
    assert "Why</span> category cs.DC" in html


def test_an_earlier_day_and_a_day_without_digest(site: Installation, ada: FlaskClient) -> None:
    assert ada.get("/digest/2024-11-28").status_code == 200
    empty = text(ada.get("/digest/2024-11-20"))
    assert "No digest for 2024-11-20." in empty
    assert ada.get("/digest/yesterday").status_code == 400
    # the day list of the page opens a day through ?day=
    assert item_ids(text(ada.get("/digest?day=2024-11-28"))) == item_ids(text(ada.get("/digest")))


def test_each_reader_reads_their_own_digest(site: Installation, bob: FlaskClient) -> None:
    html = text(bob.get("/digest"))
    view = site.tracker.stored_digest_view("bob", site.clock.now.date())
    assert view is not None
    assert item_ids(html) == [e.item_id for e in view.entries]
    assert all("quant-ph" in site.tracker.item(str(n)).categories for n in item_ids(html))


def test_the_weekly_digest_page_shows_the_weekly_view(
    site: Installation, ada: FlaskClient, bob: FlaskClient
) -> None:
    day = site.clock.now.date()  # a Thursday, ada's weekly day
    view = site.tracker.stored_weekly_view("ada", day)
    assert view is not None and view.entries
    html = text(ada.get("/week"))
    assert item_ids(html) == [e.item_id for e in view.entries]
    assert len(item_ids(html)) == 5  # weekly_picks
    for e in view.entries:  # the reasons of the daily digests, details and all
        assert esc(e.why) in html
    assert any("Guido Burkard" in e.why for e in view.entries)
    assert f"<h1>{view.header.day_label}</h1>" in html
    assert '<a href="/week" aria-current="page">Week</a>' in html
    assert item_ids(text(ada.get(f"/week/{day}"))) == item_ids(html)
    assert "No weekly digest for 2024-11-21." in text(ada.get("/week/2024-11-21"))
    assert ada.get("/week/someday").status_code == 400
    # a reader without a weekly digest: no link, and the page says how to get one
    other = text(bob.get("/week"))
    assert 'href="/week"' not in other and "No weekly digest yet." in other
    assert site.tracker.weekly_days("bob") == []


def test_the_rising_phrases_are_shown_with_their_examples(
    site: Installation, ada: FlaskClient
) -> None:
    from flask import render_template

    from tracker.digest.picks import Example, RisingView

    view = site.tracker.stored_weekly_view("ada", site.clock.now.date())
    assert view is not None
    rising = RisingView(
        "diffusion <b>policies</b>",
        "4 papers this week (2.1%; 0.3% in the weeks before)",
        (Example("A paper", "https://arxiv.org/abs/2411.00001"), Example("A post", None)),
    )
    app = site.app()
    with app.test_request_context("/week"):
        from flask import g

        g.reader = "ada"
        html = render_template(
            "digest.html", page="week", endpoint="pages.week", weekly=True,
            view=replace(view, rising=(rising,), sections=()), days=[], wanted=view.header.day,
            older=None, newer=None, note=None, marks={},
        )  # fmt: skip
    assert '<h2>Rising across fields <span class="count">1</span></h2>' in html
    assert "<strong>diffusion &lt;b&gt;policies&lt;/b&gt;</strong>" in html
    link = '<a href="https://arxiv.org/abs/2411.00001" rel="noopener noreferrer">A paper</a>'
    assert link in html
    assert " · A post</li>" in html


# --- search ---------------------------------------------------------------------------------------


def test_search_with_every_filter_counts_highlights_and_pages(
    site: Installation, ada: FlaskClient
) -> None:
    t = site.tracker
    html = text(ada.get("/search?q=quantum"))
    total = t.search_count("quantum", cap=1000)
    assert f"{total} results; page 1 of {-(-total // 20)}." in html
    first = item_ids(html)
    assert first == [h.item.id for h in t.search("quantum", limit=20)]
    assert "<mark>" in html and re.search(r"<mark>[Qq]uantum", html)
    second = item_ids(text(ada.get("/search?q=quantum&page=2")))
    assert second == [h.item.id for h in t.search("quantum", limit=20, offset=20)]
    assert not set(first) & set(second)
    assert 'href="/search?page=2&amp;q=quantum" rel="next"' in html

    cases = {
        "q=cache&category=cs.AR": ("cache", SearchFilters(category="cs.AR")),
        "author=Burkard": ("", SearchFilters(author="Burkard")),
        "q=graph&field=Computer+Science": ("graph", SearchFilters(field="Computer Science")),
        "source=feed": ("", SearchFilters(source="feed")),
        "q=learning&since=2024-11-27&until=2024-11-28": (
            "learning",
            SearchFilters(since=dt.date(2024, 11, 27), until=dt.date(2024, 11, 28)),
        ),
    }
    for query, (words, filters) in cases.items():
        page = text(ada.get(f"/search?{query}"))
        expected = [h.item.id for h in t.search(words, filters, limit=20)]
        assert expected, query
        assert item_ids(page) == expected, query
        count = t.search_count(words, filters)
        assert f"{count} result" in page, query


def test_search_saved_only_is_the_readers_own(
    site: Installation, ada: FlaskClient, bob: FlaskClient
) -> None:
    paper = site.tracker.search("cache", SearchFilters(category="cs.AR"))[0].item
    ada.post(f"/item/{paper.id}/save", data={"csrf_token": token(ada), "next": "/search"})
    assert paper.id in item_ids(text(ada.get("/search?saved=1")))
    assert paper.id not in item_ids(text(bob.get("/search?saved=1")))
    assert "★ Saved" in text(ada.get("/search?q=cache&category=cs.AR"))


def test_search_explains_bad_input(ada: FlaskClient) -> None:
    reply = ada.get("/search?since=last+week")
    assert reply.status_code == 400
    assert "since: expected a date YYYY-MM-DD" in text(reply)
    assert "No results." in text(ada.get("/search?q=zzqqxxnothing"))
    assert "Words must all match" in text(ada.get("/search"))  # the empty form explains


# --- one item ----------------------------------------------------------------------------------


def test_item_page_has_everything_about_a_paper(site: Installation, ada: FlaskClient) -> None:
    t = site.tracker
    paper = next(h.item for h in t.search("", SearchFilters(author=SCHOLAR)))
    html = text(ada.get(f"/item/{paper.id}"))
    assert esc(paper.summary[:80]) in html
    assert f'href="https://arxiv.org/abs/{paper.arxiv_id}"' in html
    assert f'href="https://arxiv.org/pdf/{paper.arxiv_id}v{paper.version}"' in html
    assert f'href="https://arxiv.org/html/{paper.arxiv_id}v{paper.version}"' in html
    assert '<a class="author followed" href="/scholars/Guido%20Burkard">Guido Burkard</a>' in html
    other = next(a for a in paper.authors if a != SCHOLAR)
    assert f'href="/search?author={other.replace(" ", "+")}"' in html or "author=" in html
    for tag in paper.fields:
        assert esc(tag.field) in html
        assert f"from category {tag.basis}" in html
    assert f"v{paper.version}" in html and "Versions" in html
    bibtex = t.export([paper], "bibtex")
    assert bibtex.split("\n", 1)[0] in html
    # the same item by its arXiv id
    assert item_ids(text(ada.get(f"/item/{paper.arxiv_id}"))) == item_ids(html)
    download = ada.get(f"/export/item/{paper.id}.bib")
    assert download.mimetype == "application/x-bibtex" and text(download) == bibtex
    assert ada.get("/item/999999").status_code == 404
    assert ada.get("/item/2499.00001").status_code == 404


# --- saving and exports --------------------------------------------------------------------------


def test_save_unsave_saved_page_and_exports(site: Installation, ada: FlaskClient) -> None:
    t = site.tracker
    paper = t.search("", SearchFilters(category="cs.DC"), limit=3)[2].item
    reply = ada.post(
        f"/item/{paper.id}/save",
        data={"csrf_token": token(ada), "next": "/digest?x=1"},
    )
    assert reply.status_code == 303
    assert reply.headers["Location"] == f"/digest?x=1#item-{paper.id}"
    assert paper.id in {i.id for i in t.saved("ada")}
    saved = text(ada.get("/saved"))
    assert paper.id in item_ids(saved)
    assert 'href="/saved/export.bib"' in saved and 'href="/saved/export.json"' in saved

    bib = ada.get("/saved/export.bib")
    assert bib.mimetype == "application/x-bibtex"
    assert "attachment" in bib.headers["Content-Disposition"]
    assert text(bib) == t.export(t.saved("ada"), "bibtex")
    exported = json.loads(text(ada.get("/saved/export.json")))
    assert paper.arxiv_id in {e["arxiv_id"] for e in exported}
    assert ada.get("/saved/export.pdf").status_code == 404

    # the page's script asks for JSON instead of a redirect
    reply = ada.post(
        f"/item/{paper.id}/save",
        data={"csrf_token": token(ada), "saved": "0"},
        headers={"X-Requested-With": "fetch"},
    )
    assert reply.get_json() == {"item": paper.id, "saved": False}
    assert paper.id not in {i.id for i in t.saved("ada")}


# --- follows and scholars -------------------------------------------------------------------


def test_follow_and_unfollow_each_kind(site: Installation, bob: FlaskClient) -> None:
    t = site.tracker
    page = text(bob.get("/follows"))
    assert "quant-ph" in page and "config file" in page
    cases = [
        ({"kind": "category", "value": "math.CO"}, FollowKind.CATEGORY, "math.CO"),
        (
            {"kind": "query", "value": '"error correction"'},
            FollowKind.QUERY,
            'all:"error correction"',
        ),
        (
            {"kind": "feed", "value": "https://lab.example.org/other.xml", "title": "Other lab"},
            FollowKind.FEED,
            "https://lab.example.org/other.xml",
        ),
        (
            {"kind": "scholar", "value": "Ada Lovelace", "orcid": "0000-0002-1825-0097"},
            FollowKind.SCHOLAR,
            "Ada Lovelace",
        ),
    ]
    for form, kind, stored in cases:
        reply = bob.post("/follows/add", data=dict(form, csrf_token=token(bob)))
        assert reply.status_code == 303, text(reply)
        assert any(f.kind is kind and f.value == stored for f in t.follows("bob"))
        assert "Now following" in text(bob.get(reply.headers["Location"]))
        reply = bob.post(
            "/follows/remove", data={"kind": kind.value, "value": stored, "csrf_token": token(bob)}
        )
        assert reply.status_code == 303
        assert not any(f.kind is kind and f.value == stored for f in t.follows("bob"))
    # what the config file says stays until the file changes
    refused = bob.post(
        "/follows/remove", data={"kind": "category", "value": "quant-ph", "csrf_token": token(bob)}
    )
    assert refused.status_code == 400 and "config file" in text(refused)


def test_bad_follows_are_explained(bob: FlaskClient) -> None:
    for form, message in [
        ({"kind": "category", "value": "cs.XYZ"}, "unknown arXiv category"),
        ({"kind": "query", "value": "(unclosed"}, "not a valid arXiv query"),
        ({"kind": "feed", "value": "ftp://x.example/feed"}, "http(s) URL"),
        ({"kind": "scholar", "value": "Dao", "orcid": "123"}, "ORCID"),
    ]:
        reply = bob.post("/follows/add", data=dict(form, csrf_token=token(bob)))
        assert reply.status_code == 400
        assert message in text(reply).replace("&#39;", "'")
    assert bob.post("/follows/add", data={"kind": "x", "csrf_token": token(bob)}).status_code == 400


def test_scholar_candidates_are_picked_with_their_evidence(
    site: Installation, bob: FlaskClient
) -> None:
    page = text(bob.get(f"/follows/candidates?name={SCHOLAR}"))
    assert "On arXiv as" in page
    form = page.split('<li class="candidate">')[1]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    assert fields["value"] == SCHOLAR and fields["coauthors"]
    reply = bob.post("/follows/add", data=fields)
    assert reply.status_code == 303
    assert SCHOLAR in {f.value for f in site.tracker.follows("bob") if f.kind is FollowKind.SCHOLAR}
    bob.post(
        "/follows/remove",
        data={"kind": "scholar", "value": SCHOLAR, "csrf_token": token(bob)},
    )


def test_scholar_pages_and_rejecting_a_paper(site: Installation, ada: FlaskClient) -> None:
    listing = text(ada.get("/scholars"))
    assert SCHOLAR in listing and "by name" in listing
    page = text(ada.get(f"/scholars/{SCHOLAR}"))
    rows = site.tracker.scholar_items(SCHOLAR, 100)
    assert item_ids(page) == [item.id for item, _, _, _ in rows]
    victim = rows[-1][0]
    reply = ada.post(
        f"/scholars/{SCHOLAR}/reject", data={"item": str(victim.id), "csrf_token": token(ada)}
    )
    assert reply.status_code == 303
    after = text(ada.get(f"/scholars/{SCHOLAR}"))
    assert "rejected: not theirs" in after
    assert any(
        item.id == victim.id and rejected
        for item, _, _, rejected in site.tracker.scholar_items(SCHOLAR, 100)
    )


# --- status -------------------------------------------------------------------------------------


def test_status_shows_sources_to_admins(site: Installation, ada: FlaskClient) -> None:
    html = text(ada.get("/status"))
    for s in site.tracker.status():
        assert esc(s.source.title or s.source.value) in html
    assert "Readers" in html and "bob" in html
    assert 'href="/status"' in text(ada.get("/digest"))


def test_nav_and_misc_routes(site: Installation, ada: FlaskClient) -> None:
    assert ada.get("/").headers["Location"] == "/digest"
    assert ada.get("/healthz").get_json() == {"ok": True}
    assert ada.get("/static/style.css").status_code == 200
    assert ada.get("/static/app.js").mimetype == "text/javascript"
    assert ada.get("/nowhere").status_code == 404


# --- relevance feedback ----------------------------------------------------------------------


def test_rating_from_every_list_is_the_readers_own(
    site: Installation, ada: FlaskClient, bob: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = site.tracker
    item = t.search("quantum", limit=1)[0].item
    if not callable(getattr(t, "rate", None)):
        # without the facade's ratings the buttons hide and the route does not exist
        assert 'class="toggle up' not in text(ada.get("/digest"))
        assert ada.post(f"/item/{item.id}/rate", data={"csrf_token": token(ada)}).status_code == 404
        stored: dict[tuple[str, int], int] = {}

        def rate(reader: str, ref: str, rating: str) -> None:
            key = (reader, t.item(ref).id)
            if rating == "none":
                stored.pop(key, None)
            else:
                stored[key] = 1 if rating == "up" else -1

        def ratings(reader: str, ids: list[int]) -> dict[int, int]:
            return {i: stored[(reader, i)] for i in ids if (reader, i) in stored}

        monkeypatch.setattr(t, "rate", rate, raising=False)
        monkeypatch.setattr(t, "ratings", ratings, raising=False)
    ada.post(f"/item/{item.id}/save", data={"csrf_token": token(ada)})
    for path in ["/digest", "/search?q=quantum", "/saved", f"/item/{item.id}"]:
        assert 'class="toggle up' in text(ada.get(path)), path
    reply = ada.post(
        f"/item/{item.id}/rate",
        data={"rating": "up", "csrf_token": token(ada)},
        headers={"X-Requested-With": "fetch"},
    )
    assert reply.get_json() == {"item": item.id, "rating": "up"}
    assert t.ratings("ada", [item.id]) == {item.id: 1}  # type: ignore[attr-defined]
    assert t.ratings("bob", [item.id]) == {}  # type: ignore[attr-defined]
    assert 'class="toggle up on"' in text(ada.get(f"/item/{item.id}"))
    assert 'class="toggle up on"' not in text(bob.get(f"/item/{item.id}"))
    assert (
        ada.post(
            f"/item/{item.id}/rate", data={"rating": "sideways", "csrf_token": token(ada)}
        ).status_code
        == 400
    )
    ada.post(f"/item/{item.id}/rate", data={"rating": "none", "csrf_token": token(ada)})
    assert t.ratings("ada", [item.id]) == {}  # type: ignore[attr-defined]


def test_code_links_on_the_item_page_and_the_with_code_search(
    site: Installation, ada: FlaskClient
) -> None:
    t = site.tracker
    with_code = [h.item for h in t.search("", SearchFilters(has_code=True), limit=20)]
    assert with_code and all(i.has_code for i in with_code)
    assert item_ids(text(ada.get("/search?code=1"))) == [i.id for i in with_code]
    paper = with_code[0]
    html = text(ada.get(f"/item/{paper.id}"))
    repo = next(link.url for link in paper.code if link.kind.value == "code")
    assert f'Code: <a href="{esc(repo)}" rel="noopener noreferrer">' in html
    plain = next(h.item for h in t.search("quantum", limit=50) if not h.item.code)
    assert "Code:" not in text(ada.get(f"/item/{plain.id}"))
