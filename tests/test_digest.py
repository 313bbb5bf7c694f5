"""Digest selection (sections, reasons, namesakes) and Markdown rendering (golden file)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import yaml

from tracker import reasons
from tracker.digest.language import ENGLISH
from tracker.digest.render import escape_markdown as escape
from tracker.digest.render import render_markdown as render_view
from tracker.digest.select import ReaderView, build_digest, reasons_for
from tracker.digest.view import build_view, first_sentences
from tracker.digest.wording import reason_text
from tracker.models import (
    Detail,
    Digest,
    FieldTag,
    Follow,
    FollowKind,
    Item,
    ItemKind,
    Reason,
    Sighting,
)


def render_markdown(digest: Digest) -> str:
    return render_view(build_view(digest))


GOLDEN = Path(__file__).parent / "golden" / "digest_2024-11-28.md"
UTC = dt.UTC
SEEN = dt.datetime(2024, 11, 28, 5, 30, tzinfo=UTC)

# sources: 1 = listing cs.DC, 2 = listing cs.AR, 3 = query, 4 = au:dao_t, 5 = lab feed
FOLLOWS = [
    Follow("ada", FollowKind.CATEGORY, "cs.DC", 1),
    Follow("ada", FollowKind.CATEGORY, "cs.AR", 2),
    Follow("ada", FollowKind.QUERY, 'all:"speculative decoding"', 3),
    Follow("ada", FollowKind.SCHOLAR, "Tri Dao", 4),
    Follow("ada", FollowKind.FEED, "https://lab.example.org/feed.xml", 5),
]
VIEW = ReaderView(
    name="ada",
    follows=FOLLOWS,
    own_fields=["Computer Science > Systems", "Computer Science > Hardware"],
    source_titles={5: "Example Lab blog"},
    aliases={"cs.SY": "eess.SY"},
    # paper 1 is Tri Dao's (the au:Dao_T search also found Thanh Dao's paper 6: no
    # attribution for it, so it is not presented as his)
    attributions={1: [("Tri Dao", "name", "full name Tri Dao; usual category cs.LG")]},
)


def paper(
    n: int,
    title: str,
    authors: tuple[str, ...],
    cats: tuple[str, ...],
    fields: tuple[str, ...],
    summary: str = "",
    version: int = 1,
) -> Item:
    arxiv_id = f"2411.{90000 + n}"
    return Item(
        id=n,
        key=f"arxiv:{arxiv_id}",
        kind=ItemKind.PAPER,
        title=title,
        summary=summary or f"We study {title.lower()}. It works well. A third sentence.",
        authors=authors,
        url=f"https://arxiv.org/abs/{arxiv_id}",
        arxiv_id=arxiv_id,
        version=version,
        pdf_url=f"https://arxiv.org/pdf/{arxiv_id}v{version}",
        doi=None,
        journal_ref=None,
        comment=None,
        primary_category=cats[0],
        categories=cats,
        published=dt.datetime(2024, 11, 27, 12, tzinfo=UTC) - dt.timedelta(minutes=n),
        updated=None,
        first_seen=SEEN,
        quality=3,
        fields=tuple(FieldTag(f, 1.0, "category", c) for f, c in zip(fields, cats, strict=False)),
    )


def post(n: int, title: str, summary: str, fields: tuple[str, ...] = ()) -> Item:
    return Item(
        id=n,
        key=f"post:{n}",
        kind=ItemKind.POST,
        title=title,
        summary=summary,
        authors=("Lab Member",),
        url=f"https://lab.example.org/posts/{n}",
        arxiv_id=None,
        version=None,
        pdf_url=None,
        doi=None,
        journal_ref=None,
        comment=None,
        primary_category=None,
        categories=(),
        published=dt.datetime(2024, 11, 27, 9, tzinfo=UTC),
        updated=None,
        first_seen=SEEN,
        quality=2,
        fields=tuple(FieldTag(f, 0.6, "keyword", "gpu") for f in fields),
    )


SYS = "Computer Science > Systems"
HW = "Computer Science > Hardware"
ML = "Computer Science > Machine Learning"
QUANT = "Physics > Quantum"


def candidates() -> list[tuple[Item, list[Sighting]]]:
    def seen(*sources: int, announce: str | None = "new") -> list[Sighting]:
        return [Sighting(0, s, SEEN, announce) for s in sources]

    return [
        (
            paper(
                1,
                "FlashAttention-4: IO-aware attention on [new] GPUs",
                ("Tri Dao", "A. Gu"),
                ("cs.LG", "cs.DC"),
                (ML, SYS),
            ),
            seen(1, 4),
        ),
        (
            paper(
                2,
                "A cache-coherent *interconnect* for chiplets",
                ("Ada Lovelace",),
                ("cs.AR",),
                (HW,),
            ),
            seen(2),
        ),
        (
            paper(
                3, "Scheduling serverless functions", ("B. Liskov", "C. Hoare"), ("cs.DC",), (SYS,)
            ),
            seen(1),
        ),
        (
            paper(
                4,
                "Speculative decoding with quantum annealers",
                ("E. Noether",),
                ("quant-ph", "cs.DC"),
                (QUANT, SYS),
            ),
            seen(3),
        ),
        (
            paper(5, "Faster speculative decoding in practice", ("G. Hopper",), ("cs.LG",), (ML,)),
            seen(3),
        ),
        # a namesake: the au:Dao_T search found Thanh Dao; nothing else matches -> left out
        (
            paper(
                6,
                "Rice genomics at scale",
                ("Thanh Dao",),
                ("q-bio.GN",),
                ("Quantitative Biology > Genomics",),
            ),
            seen(4),
        ),
        (
            paper(
                7, "Revisited: a consensus protocol", ("L. Lamport",), ("cs.DC",), (SYS,), version=3
            ),
            seen(1, announce="replace"),
        ),
        (
            post(8, "Our GPU cluster is live", "<p>It has 64 GPUs.</p> We are hiring.", (SYS,)),
            seen(5, announce=None),
        ),
        (post(9, "Lab retreat photos", "Photos from the retreat."), seen(5, announce=None)),
    ]


def test_sections_and_reasons() -> None:
    digest = build_digest(VIEW, dt.date(2024, 11, 28), SEEN, candidates())
    layout = [(s.kind, s.title, [e.item.id for e in s.entries]) for s in digest.sections]
    assert layout == [
        ("scholars", "Followed scholars", [1]),
        ("field", SYS, [3, 4, 8]),
        ("field", HW, [2]),
        ("cross", ML, [5]),
        ("other", "Other items", [9]),
        ("revised", "New versions", [7]),
    ]
    first = digest.sections[0].entries[0]
    assert first.followed_authors == ("Tri Dao",)
    assert first.reasons == (
        Reason(
            FollowKind.SCHOLAR,
            "Tri Dao",
            (
                Detail(reasons.NAME_MATCH),
                Detail(reasons.FULL_NAME, ("Tri Dao",)),
                Detail(reasons.USUAL_CATEGORY, ("cs.LG",)),
            ),
        ),
        Reason(FollowKind.CATEGORY, "cs.DC", (Detail(reasons.CROSS_LIST),)),
    )
    assert reason_text(first, ENGLISH) == (
        "scholar Tri Dao (name match: full name Tri Dao; usual category cs.LG)",
        "category cs.DC (cross-list)",
    )
    assert digest.item_count == 8  # the namesake's paper is not there


def test_reasons_for_each_kind_of_follow() -> None:
    by_id = {item.id: (item, s) for item, s in candidates()}
    assert reasons_for(*by_id[4], VIEW) == [
        Reason(FollowKind.QUERY, 'all:"speculative decoding"'),
        Reason(FollowKind.CATEGORY, "cs.DC", (Detail(reasons.CROSS_LIST),)),
    ]
    assert reasons_for(*by_id[8], VIEW) == [Reason(FollowKind.FEED, "Example Lab blog")]
    assert reasons_for(*by_id[6], VIEW) == []


def test_without_own_fields_nothing_is_called_cross_domain() -> None:
    view = ReaderView("ada", FOLLOWS, [], {}, {})
    digest = build_digest(view, dt.date(2024, 11, 28), SEEN, candidates())
    assert not [s for s in digest.sections if s.kind == "cross"]


def test_empty_digest() -> None:
    digest = build_digest(VIEW, dt.date(2024, 11, 30), SEEN, [])
    text = render_markdown(digest)
    assert "Nothing new since your last digest." in text


def test_rendered_digest_matches_golden_file() -> None:
    digest = build_digest(
        VIEW,
        dt.date(2024, 11, 28),
        SEEN,
        candidates(),
        failing_sources=("feed https://dead.example.org/feed: HTTP 404",),
    )
    text = render_markdown(digest)
    if os.environ.get("TRACKER_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")
    # the same digest renders to the same bytes
    assert render_markdown(digest) == text
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["reader"] == "ada"
    assert front["date"] == "2024-11-28"
    assert front["items"] == 8
    assert [s["items"] for s in front["sections"]] == [1, 3, 1, 1, 1, 1]


def test_markdown_escaping_keeps_text_as_written() -> None:
    # ">" only matters at the start of a line (a quote); "<" opens HTML and autolinks
    assert escape("A [new] *bold* <b>claim</b>") == r"A \[new\] \*bold\* \<b>claim\</b>"
    assert escape("# not a heading") == r"\# not a heading"
    assert escape("> not a quote") == r"\> not a quote"
    # a backslash before a digit is not an escape: it is the list mark that is escaped
    assert escape("1. not a list") == r"1\. not a list"
    assert escape("2) nor this") == r"2\) nor this"
    assert escape("") == ""
    assert escape("AT&T &amp; co") == r"AT&T \&amp; co"  # an entity stays as written
    assert escape("a\n## b\t c") == "a ## b c"  # one line, whatever it was given


def test_first_sentences() -> None:
    text = "We show X. Smith et al. found Y in Fig. 2. This is the third. And a fourth."
    assert first_sentences(text, 2, 400) == "We show X. Smith et al. found Y in Fig. 2. …"
    assert first_sentences("One sentence only.", 2, 400) == "One sentence only."
    long = "word " * 200
    cut = first_sentences(long, 2, 50)
    assert len(cut) <= 52 and cut.endswith(" …")


GOLDEN_HTML = GOLDEN.with_suffix(".html")
GOLDEN_TEXT = GOLDEN.with_suffix(".txt")


def test_email_parts_match_golden_files() -> None:
    from tracker.digest.email import compose, subject
    from tracker.digest.render import render_html, render_text

    digest = build_digest(
        VIEW,
        dt.date(2024, 11, 28),
        SEEN,
        candidates(),
        failing_sources=("feed https://dead.example.org/feed: HTTP 404",),
    )
    view = build_view(digest)
    html, text = render_html(view), render_text(view)
    if os.environ.get("TRACKER_UPDATE_GOLDEN"):
        GOLDEN_HTML.write_text(html, encoding="utf-8")
        GOLDEN_TEXT.write_text(text, encoding="utf-8")
    assert html == GOLDEN_HTML.read_text(encoding="utf-8")
    assert text == GOLDEN_TEXT.read_text(encoding="utf-8")
    assert subject(view) == "Digest for ada, Thu 28 Nov 2024: 8 new (1 from scholars you follow)"
    message = compose(
        view,
        sender="t <t@lab.example.org>",
        to="ada@example.org",
        now=SEEN,
        unsubscribe="mailto:t@lab.example.org",
    )
    assert message["Message-ID"] == "<digest.ada.2024-11-28@lab.example.org>"
    assert message.get_body(("plain",)).get_content() == text  # type: ignore[union-attr]
    # markup from titles and summaries shows as text, never as HTML
    assert "&lt;p&gt;It has 64 GPUs.&lt;/p&gt;" in html
    assert "[new]" in text and "*interconnect*" in text
