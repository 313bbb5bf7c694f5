"""The digest in the reader's language: golden files in English and Simplified Chinese
(Markdown, e-mail text, e-mail HTML, subjects), a Chinese digest with no English left
but what was published, and catalogues that cannot fall behind the sources (the real
``pybabel extract`` finds no message the template and each catalogue lack).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import unicodedata
from dataclasses import replace
from pathlib import Path

import lxml.html
import pytest
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

from tests import test_crossdomain, test_digest, test_reading_cli
from tests.conftest import LISTING_MORNING, REPO, Clock, write_config
from tests.support.server import FixtureServer
from tests.test_digest_render import cross_digest, main_digest, markdown_html
from tracker import reasons
from tracker.app.core import make_tracker
from tracker.config import load_settings
from tracker.digest.catalogs import language, languages, locale_dir, names, translations
from tracker.digest.email import subject
from tracker.digest.language import ENGLISH
from tracker.digest.picks import why_lines
from tracker.digest.render import render, width_of, wrap
from tracker.digest.select import build_digest
from tracker.digest.view import DigestView, Presentation, build_view
from tracker.digest.wording import announce_label, details_text, failing_text
from tracker.models import (
    Detail,
    Digest,
    DigestEntry,
    DigestSection,
    FollowKind,
    RankReason,
    Reason,
    RisingPhrase,
)

GOLDEN = Path(__file__).parent / "golden"
KINDS = ("markdown", "text", "html")
SUFFIX = {"markdown": ".md", "text": ".txt", "html": ".html"}
DAY = dt.date(2024, 11, 28)
POT = REPO / "tracker" / "locale" / "tracker.pot"
# The extraction command of the README ("Digest languages"), output aside.
EXTRACT = [
    "extract",
    "-F",
    "pyproject.toml",
    "-k",
    "N_",
    "--add-comments=Translators:",
    "--add-location=file",
    "--sort-by-file",
    "--project=tracker",
    "--copyright-holder=the tracker authors",
]


# As ``[digest]`` shows a ranked digest: two entries per section, ten one-line ones.
RANKED = Presentation(section_items=2, more_lines=10)


def zh(digest: Digest) -> DigestView:
    return build_view(digest, RANKED if digest.rising else Presentation(), language("zh"))


def _ranked(entry: DigestEntry, score: float, note: RankReason | None = None) -> DigestEntry:
    return replace(entry, score=score, note=note)


def _another(entry: DigestEntry, n: int, title: str) -> DigestEntry:
    """Another paper like ``entry``'s (a digest of the same reader needs more of them)."""
    arxiv_id = f"2411.9010{n}"
    url, pdf = f"https://arxiv.org/abs/{arxiv_id}", f"https://arxiv.org/pdf/{arxiv_id}v1"
    item = replace(entry.item, id=100 + n, key=f"arxiv:{arxiv_id}", title=title)
    item = replace(item, arxiv_id=arxiv_id, url=url, pdf_url=pdf, summary=f"We study {title}.")
    return replace(entry, item=item)


def ranked_digest() -> Digest:
    """A digest as a reader's ranking makes it: top picks with every kind of reason
    (taken out of their sections), a field cut to its best entries, cross-domain picks
    (one from the whole day's listing), a one-line section and the weekly rising
    phrases."""
    base = main_digest()
    scholars, systems, hardware, cross, other, revised = base.sections
    serverless, speculative, cluster = systems.entries
    top = (
        _ranked(
            speculative,
            4.2,
            RankReason("scholar", "FlashAttention-3", "Tri Dao", ("io-aware", "gpu")),
        ),
        _ranked(
            _another(serverless, 1, "Tail latency of cold starts"),
            3.9,
            RankReason("follow", "Medusa", "query all:speculative decoding", ("draft model",)),
        ),
        _ranked(
            hardware.entries[0],
            3.1,
            RankReason("follow", "CXL pools", "category cs.AR", ("cxl", "cache")),
        ),
        _ranked(
            _another(serverless, 2, "Serverless GPUs"),
            2.8,
            RankReason("saved", "Serverless in the wild"),
        ),
        _ranked(other.entries[0], 2.5, RankReason("words", terms=("lab", "retreat"))),
    )
    cut = (
        _ranked(serverless, 1.2),
        _ranked(cluster, 0.9),
        _ranked(_another(serverless, 3, "Function placement"), 0.4),
    )
    day_pick = replace(
        revised.entries[0], reasons=(Reason(FollowKind.DISCOVERY, "arXiv"),), announce_type="new"
    )
    picks = (
        _ranked(cross.entries[0], 1.9, RankReason("library", "MapReduce", "", ("cluster",))),
        _ranked(day_pick, 1.4, RankReason("up", "Raft", "", ("consensus", "log"))),
    )
    more = _another(cross.entries[0], 4, "Draft models, revisited")
    return replace(
        base,
        sections=(
            DigestSection("Top picks", "top", top),
            scholars,
            replace(systems, entries=cut),
            replace(cross, entries=picks),
            DigestSection("More from other fields", "cross-more", (_ranked(more, 0.3),)),
        ),
        rising=(
            RisingPhrase(
                "state space",
                4,
                0.021,
                0.003,
                (("arXiv:2411.17700", "Mamba for genomes"), ("https://lab.example/x", "Notes")),
            ),
            RisingPhrase("kv cache", 1, 0.004, 0.0, (("lab post", "A cache for keys"),)),
        ),
    )


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("TRACKER_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), name


# --- golden files ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["digest_2024-11-28", "digest_cross_domain", "digest_ranked"])
def test_chinese_digest_matches_golden_files(kind: str, name: str) -> None:
    digest = {
        "digest_2024-11-28": main_digest,
        "digest_cross_domain": cross_digest,
        "digest_ranked": ranked_digest,
    }[name]()
    golden(f"zh/{name}{SUFFIX[kind]}", render(zh(digest), kind))


@pytest.mark.parametrize("kind", KINDS)
def test_ranked_digest_matches_golden_files(kind: str) -> None:
    """Top picks, a cut section, cross-domain picks and rising phrases, in English."""
    golden(f"digest_ranked{SUFFIX[kind]}", render(build_view(ranked_digest(), RANKED), kind))


def test_pick_reasons_in_chinese_name_the_evidence() -> None:
    view = zh(ranked_digest())
    top, _, systems, cross, more = view.sections
    assert [top.title, cross.title, more.title] == [
        "精选推荐",
        "跨领域：Computer Science > Machine Learning",
        "其他领域的更多内容",
    ]
    assert [e.pick_reason for e in top.entries] == [
        "与你关注的 Tri Dao 所写的“FlashAttention-3”相近（共同词语：io-aware、gpu）",
        "与你关注的检索式 speculative decoding 中的“Medusa”相近（共同词语：draft model）",
        "与你关注的分类 cs.AR 中的“CXL pools”相近（共同词语：cxl、cache）",
        "与你收藏的“Serverless in the wild”相近",
        "你常读的词语：lab、retreat",
    ]
    assert [e.pick_reason for e in cross.entries] == [
        "与你文献库中的“MapReduce”相近（共同词语：cluster）",
        "与你点赞的“Raft”相近（共同词语：consensus、log）",
    ]
    assert cross.entries[1].why == "今日 arXiv"
    assert (systems.shown, systems.hidden) == (2, 1)
    assert [e.pick_reason for e in systems.entries] == [None, None]
    assert [(r.phrase, r.detail) for r in view.rising] == [
        ("state space", "本周 4 篇论文（占 2.1%；此前几周为 0.3%）"),
        ("kv cache", "本周 1 篇论文（占 0.4%；此前几周为 0.0%）"),
    ]
    text = render(view, "text")
    assert "跨领域升温话题\n==============\n" in text
    assert "  例如 Mamba for genomes https://arxiv.org/abs/2411.17700\n" in text
    assert "另有 1 条：tracker digest --reader ada --date 2024-11-28 --section" in text
    english = build_view(ranked_digest(), RANKED)
    assert english.sections[0].entries[1].pick_reason == (
        "close to 'Medusa' from your query speculative decoding (shared: draft model)"
    )


def test_the_command_line_lists_why_in_english_or_the_readers_language() -> None:
    entry = ranked_digest().sections[3].entries[1]
    assert why_lines(entry) == (
        "today's arXiv",
        "close to 'Raft', which you rated up (shared: consensus, log)",
    )
    assert entry.note is not None and why_lines(entry)[1] == entry.note.describe()
    assert why_lines(entry, language("zh")) == (
        "今日 arXiv",
        "与你点赞的“Raft”相近（共同词语：consensus、log）",
    )


def subjects(code: str) -> str:
    """The subjects of a few digests: with scholars, without, empty, first."""
    t = language(code)
    main, cross = main_digest(), cross_digest()
    empty = Digest("ada", DAY, test_digest.SEEN)
    lines = [
        subject(build_view(d, language=t))
        for d in (main, cross, empty, replace(empty, first=True, day=DAY.replace(day=1)))
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("code", ["en", "zh"])
def test_subjects_match_golden_files(code: str) -> None:
    golden(f"{code}/subjects.txt", subjects(code))


def test_english_is_unchanged_by_translation() -> None:
    """The English digest reads as before: the golden files of the English renderers
    (tests of the view and renderers) still match, and the days are written as
    strftime wrote them."""
    assert subjects("en").splitlines()[:3] == [
        "Digest for ada, Thu 28 Nov 2024: 8 new (1 from scholars you follow)",
        "Digest for ada, Thu 28 Nov 2024: 7 new",
        "Digest for ada, Thu 28 Nov 2024: nothing new",
    ]
    view = build_view(main_digest())
    assert (view.language, view.tag, view.header.day_label) == (
        "en",
        "en",
        "Thursday 28 November 2024",
    )


@given(st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)))
def test_english_days_are_written_as_before(day: dt.date) -> None:
    assert ENGLISH.day(day) == f"{day:%A %d %B %Y}"
    assert ENGLISH.short_day(day) == f"{day:%a %d %b %Y}"


def test_chinese_days_are_cldr_dates() -> None:
    t = language("zh")
    assert t.day(DAY) == "2024年11月28日星期四"
    assert t.short_day(DAY) == "2024年11月28日周四"
    assert t.tag == "zh-Hans"


# --- no English left ------------------------------------------------------------------

# Names of things, written so in Chinese text too.
NAMES = {"arXiv", "PDF", "ORCID", "OpenAlex"}


def kept_as_is(digest: Digest, view: DigestView) -> list[str]:
    """What a digest shows as it is in every language: the reader, titles, abstracts,
    authors, categories, field names, identifiers, links, the values of reasons
    (categories, queries, names, feed titles), failing sources' names and errors."""
    values = [view.header.reader]
    for section in digest.sections:
        values += [section.title, section.title.upper()]
    for entry in view.entries:
        values += [entry.title, entry.abstract, *entry.authors, *entry.categories]
        values += [*entry.fields, entry.arxiv_ref or "", entry.link or "", entry.pdf_url or ""]
        values.append("; ".join(entry.fields))
        values += [link.url for link in entry.links]  # code and project links
    for s in digest.sections:
        for e in s.entries:
            for r in e.reasons:
                values += [r.value, r.value.replace("all:", "")]
                values += [v for d in r.details for v in d.values]
            if e.note is not None:  # the nearest paper, its scholar or follow, the words
                follow = e.note.detail.partition(" ")[2]
                values += [e.note.title, e.note.detail, follow, follow.replace("all:", "")]
                values += e.note.terms
    for r in digest.rising:
        values += [r.phrase, *(title for _, title in r.examples)]
    values += [x.link or "" for r in view.rising for x in r.examples]
    values += [f.partition(" ")[2] for f in digest.sources_failing]
    values += [s.more_hint or "" for s in view.sections]
    return sorted({" ".join(v.split()) for v in values if v.strip()}, key=len, reverse=True)


def shown_text(out: str, kind: str) -> str:
    """What a reader sees of an output, as one line."""
    if kind == "html":
        text = lxml.html.document_fromstring(out).text_content()
    elif kind == "markdown":
        text = markdown_html(out).text_content()
    else:
        text = out
    return " ".join(text.split())


def english_left(view: DigestView, digest: Digest, kind: str) -> list[str]:
    text = shown_text(render(view, kind), kind)
    for value in kept_as_is(digest, view):
        text = text.replace(value, " ")
    return [w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", text) if w not in NAMES]


def cut(digest: Digest) -> DigestView:
    """A view whose first section was cut (3 entries, 1 shown), as ranking cuts them."""
    view = zh(digest)
    first = view.sections[0]
    section = replace(first, entries=first.entries[:1], total=3, more_hint="tracker digest --all")
    return replace(view, sections=(section, *view.sections[1:]))


@pytest.mark.parametrize("kind", KINDS)
def test_a_chinese_digest_has_no_english_but_what_was_published(kind: str) -> None:
    main = main_digest()
    empty = Digest("ada", DAY, test_digest.SEEN)
    ranked = ranked_digest()
    cases = [(main, zh(main)), (cross_digest(), zh(cross_digest())), (main, cut(main))]
    cases += [(ranked, zh(ranked))]
    cases += [(empty, zh(empty)), (replace(empty, first=True), zh(replace(empty, first=True)))]
    for digest, view in cases:
        assert english_left(view, digest, kind) == [], render(view, kind)
    # the same check finds the English of an English digest
    assert "Why" in english_left(build_view(main), main, kind)
    for code in ("zh",):
        for line in subjects(code).splitlines():
            assert [w for w in re.findall(r"[A-Za-z]{2,}", line) if w != "ada"] == [], line


def test_chinese_markdown_reads_as_markdown() -> None:
    """Labels stay emphasised and headings stay headings after full-width punctuation
    (CommonMark's flanking rules)."""
    view = zh(main_digest())
    doc = markdown_html(render(view, "markdown"))
    assert [h.text_content() for h in doc.iter("h2")] == [s.title for s in view.sections]
    labels = [em.text_content() for em in doc.iter("em")]
    assert labels.count("入选理由：") == len(list(view.entries))
    assert "来自你所在领域之外、与你的关注相符的内容。" in labels
    assert [b.text_content() for b in doc.iter("strong")][-1] == "无法读取的来源："


def test_every_kind_of_detail_announcement_and_source_is_worded() -> None:
    t = language("zh")
    details = (
        Detail(reasons.NAME_MATCH),
        Detail(reasons.COAUTHOR, ("A. Gu",)),
        Detail(reasons.ARXIV_AUTHOR, ("dao_t_1",)),
        Detail(reasons.ORCID, ("0000-0002-1825-0097",)),
        Detail(reasons.OPENALEX, ("A5023888391",)),
        Detail(reasons.OWN_FEED, ("https://tridao.me/feed.xml",)),
        Detail(reasons.SIMILAR_SAVED, (), 3),
        Detail(reasons.SIMILAR_FIELDS, (), 1),
        Detail(reasons.CROSS_LISTED_IN, ("cs.AR", "cs.LG", "cs.DC")),
        Detail(reasons.CROSS_LIST),
        Detail(reasons.NAME_MATCH),
    )
    assert details_text(details, t) == (
        "姓名匹配：合作者 A. Gu；arXiv 作者 dao_t_1；ORCID 0000-0002-1825-0097；"
        "OpenAlex A5023888391；本人订阅源 https://tridao.me/feed.xml；与你收藏的 3 篇论文相似；"
        "与你领域内的 1 篇论文相似；同时列于 cs.AR、cs.LG 和 cs.DC；交叉列表；姓名匹配"
    )
    assert details_text(details, ENGLISH) == (
        "name match: co-author A. Gu; arXiv author dao_t_1; ORCID 0000-0002-1825-0097; "
        "OpenAlex A5023888391; their feed https://tridao.me/feed.xml; similar to 3 papers "
        "you saved; similar to 1 paper in your fields; cross-listed in cs.AR, cs.LG and "
        "cs.DC; cross-list; name match"
    )
    assert [announce_label(a, t) for a in ("cross", "replace", "replace-cross")] == [
        "交叉列表",
        "更新版本",
        "更新版本（交叉列表）",
    ]
    assert announce_label("replace", ENGLISH) == "replace"
    failing = [
        "feed Lab blog: HTTP 503",
        "arxiv_listing cs.LG: timed out",
        "arxiv_query ti:x: HTTP 500",
        "arxiv_author dao_t_1: HTTP 404",
        "openalex A5023888391: HTTP 429",
    ]
    assert [failing_text(f, t) for f in failing] == [
        "订阅源 Lab blog: HTTP 503",
        "arXiv 分类列表 cs.LG: timed out",
        "arXiv 检索 ti:x: HTTP 500",
        "arXiv 作者 dao_t_1: HTTP 404",
        "OpenAlex A5023888391: HTTP 429",
    ]
    assert [failing_text(f, ENGLISH) for f in failing] == failing
    assert failing_text("ünïcode ✓", t) == "ünïcode ✓"  # not a kind: as recorded


# --- reasons as data ------------------------------------------------------------------

VALUE = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs")) | st.just(" "), min_size=1
).filter(lambda v: v == " ".join(v.split()) and "; " not in v and not v.endswith(";"))
CODE = st.from_regex(r"[a-z]{2,5}(-[a-z]{2})?\.[A-Z]{2}", fullmatch=True)
DETAIL = st.one_of(
    st.sampled_from([Detail(reasons.CROSS_LIST), Detail(reasons.NAME_MATCH)]),
    st.builds(
        lambda code, value: Detail(code, (value,)),
        st.sampled_from(
            [
                reasons.COAUTHOR,
                reasons.USUAL_CATEGORY,
                reasons.FULL_NAME,
                reasons.ARXIV_AUTHOR,
                reasons.ORCID,
                reasons.OPENALEX,
                reasons.OWN_FEED,
            ]
        ),
        VALUE,
    ),
    st.builds(
        lambda code, n: Detail(code, (), n),
        st.sampled_from([reasons.SIMILAR_SAVED, reasons.SIMILAR_FIELDS]),
        st.integers(1, 500),
    ),
    st.builds(
        lambda codes: Detail(reasons.CROSS_LISTED_IN, tuple(codes)),
        st.lists(CODE, min_size=1, max_size=3),
    ),
)


@given(st.lists(DETAIL, max_size=5))
def test_english_details_read_back_as_the_same_details(details: list[Detail]) -> None:
    """Details worded in English by the view are read back by ``from_text`` as they
    were: a digest stored as text by an earlier version is data again."""
    text = details_text(details, ENGLISH)
    assert reasons.from_text(text) == tuple(details), text


def test_attribution_evidence_becomes_details() -> None:
    assert reasons.from_attribution("name", "co-author A. Gu, B. Liskov; usual category cs.LG") == (
        Detail(reasons.NAME_MATCH),
        Detail(reasons.COAUTHOR, ("A. Gu, B. Liskov",)),
        Detail(reasons.USUAL_CATEGORY, ("cs.LG",)),
    )
    assert reasons.from_attribution("id", "ORCID 0000-0002-1825-0097") == (
        Detail(reasons.ORCID, ("0000-0002-1825-0097",)),
    )
    assert reasons.from_attribution("feed", "their feed Tri's blog") == (
        Detail(reasons.OWN_FEED, ("Tri's blog",)),
    )
    assert reasons.from_attribution("id", "") == ()


# --- the catalogues -------------------------------------------------------------------


def keys(path: Path) -> set[tuple[str | None, str]]:
    with path.open("rb") as f:
        catalog = read_po(f)
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}


def test_the_catalogues_are_in_sync_with_the_sources(tmp_path: Path) -> None:
    """``pybabel extract`` over the sources finds exactly the messages of the template
    and of each catalogue: a new text cannot be forgotten, an old one does not linger."""
    out = tmp_path / "tracker.pot"
    done = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *EXTRACT, "-o", str(out), "tracker"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    extracted = keys(out)
    assert len(extracted) > 50  # the extractor found the view's and the templates' texts
    assert extracted == keys(POT), "run the README's pybabel extract and update commands"
    for code in languages()[1:]:
        po = Path(str(locale_dir())) / code / "LC_MESSAGES" / "tracker.po"
        assert keys(po) == extracted, f"run pybabel update for {code}"


SAME = {
    "PDF",
    "ORCID %(value)s",
    "OpenAlex %(value)s",
    "openalex",
    "DOI %(doi)s",
}  # names of things
_PLACEHOLDER = re.compile(r"%\((\w+)\)(?:\.\d+)?([sdf])")


@pytest.mark.parametrize("code", ["zh"])
def test_every_message_is_translated(code: str) -> None:
    """Every message has a translation that is not marked fuzzy, keeps the message's
    placeholders and (but for names of things) is not the English."""
    po = Path(str(locale_dir())) / code / "LC_MESSAGES" / "tracker.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=code)
    assert catalog.num_plurals == 1  # Chinese has one plural form
    for m in catalog:
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        assert "fuzzy" not in m.flags, m.id
        assert strings and all(strings), m.id
        wanted = set(_PLACEHOLDER.findall(ids[0]))
        for s in strings:
            assert set(_PLACEHOLDER.findall(s)) == wanted, (m.id, s)
            assert s not in ids or ids[0] in SAME, (m.id, s)
        for s in strings:  # and it formats
            s % {name: "x" if kind == "s" else 1 for name, kind in wanted}


def test_languages_are_english_and_every_catalogue() -> None:
    assert languages() == ("en", "zh")
    assert names() == "en (English), zh (中文)"
    assert translations("zh").gettext("Followed scholars") == "关注的学者"
    with pytest.raises(ValueError, match=r"'fr' \(available: en \(English\), zh \(中文\)\)"):
        translations("fr")


# --- the plain-text part's lines --------------------------------------------------------


def test_chinese_lines_break_between_characters_not_before_punctuation() -> None:
    text = "8 条新内容：1 条来自关注的学者，4 条属于你的领域，1 条来自相邻领域，1 条其他内容。"
    lines = wrap(text, 20)
    assert all(width_of(line) <= 20 for line in lines), lines
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert not any(line[0] in "，。：；）" for line in lines)
    # an English line is wrapped as before
    assert wrap("a b c", 3) == ["a b", "c"]


@given(
    st.lists(
        st.sampled_from(
            ["中", "文", "，", "。", "（", "）", "word", "a", " ", "cs.LG", "：", "12"]
        ),
        max_size=60,
    ).map("".join),
    st.integers(8, 40),
)
def test_wrapped_lines_fit_and_keep_the_text(text: str, width: int) -> None:
    text = re.sub(r" +([，。）：])", r"\1", text)  # Chinese puts no space before these
    lines = wrap(text, width, "- ", "  ")
    words = " ".join(text.split())
    assert "".join(line[2:].replace(" ", "") for line in lines) == words.replace(" ", "")
    for n, line in enumerate(lines):
        # a line is too long only when it is one unbreakable piece
        if width_of(line) > width:
            assert " " not in line[2:].strip()
        if n:  # a closing mark stays with what it closes
            assert line[2:3] not in ("，", "。", "）", "："), lines


def test_every_wide_character_is_seen_as_one() -> None:
    """The quick test for wide characters misses none that Unicode has."""
    from tracker.digest.render import _MAYBE_WIDE

    missed = [
        hex(code)
        for code in range(0x110000)
        if unicodedata.category(chr(code)) != "Cn"  # unassigned: no width to speak of
        and unicodedata.east_asian_width(chr(code)) in ("W", "F")
        and not _MAYBE_WIDE.match(chr(code))
    ]
    assert missed == []
    assert width_of("é … — “x” ü ß") == 13  # narrow, however far from ASCII


def test_cjk_width_and_underline() -> None:
    assert width_of("关注的学者") == 10
    assert width_of("Tri Dao") == 7
    text = render(zh(main_digest()), "text")
    assert "关注的学者\n==========\n" in text


def test_cross_domain_digest_in_chinese_names_the_evidence() -> None:
    digest = build_digest(
        test_crossdomain.view(limit=5), DAY, test_digest.SEEN, test_crossdomain.candidates()
    )
    whys = {e.title: e.why for e in zh(digest).entries}
    assert "同时列于 q-bio.BM 和 cs.LG" in " ".join(whys.values())


# --- end to end ---------------------------------------------------------------------------


def test_a_ranked_digest_reaches_a_chinese_reader_in_chinese(
    server: FixtureServer, tmp_path: Path
) -> None:
    """The whole day's listing fetched from the local arXiv server, a Zotero library
    imported, the digest ranked and written: picks, their reasons, cut sections and the
    rising phrases in Chinese, nothing in English but what was published."""
    readers = test_reading_cli.READERS.replace(
        "[readers.follows]", 'language = "zh"\nrising = true\n[readers.follows]'
    )
    extra = '[digest]\nsection_items = 3\nrising_day = "thu"\n'
    config = write_config(tmp_path, server.url, readers=readers, extra=extra, discover=True)
    t = make_tracker(load_settings(config), clock=Clock(LISTING_MORNING))
    t.fetch()
    t.import_library("ada", test_reading_cli.LIBRARY_FILES / "zotero.bib")
    outcome = t.build_digest("ada")
    text = outcome.path.read_text(encoding="utf-8")
    assert text.index("## 精选推荐") < text.index("## Computer Science > Systems")
    assert re.search(r"\*精选理由：\* 与你文献库中的“.+”相近（共同词语：", text)
    assert re.search(r"\*推荐理由：\* 与.+“.+”相近", text)
    assert "今日 arXiv" in text
    assert re.search(
        r"\*另有 \d+ 条：tracker digest --reader ada --date 2024-11-28 --section", text
    )
    assert re.search(
        r"## 跨领域升温话题\n\n\*在与你相邻的领域中.+\n\n- \*\*.+\*\* · 本周 \d+ 篇论文（占 ", text
    )
    view = t.digest_view("ada")
    for kind in KINDS:
        assert english_left(view, outcome.digest, kind) == [], render(view, kind)
    t.close()
