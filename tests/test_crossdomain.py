"""Cross-domain reading: the few items from other fields closest to a reader's
interests, each with a reason; the rest listed compactly; nothing repeated, nothing
lost (golden file ``golden/digest_cross_domain.md``)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path

import pytest

from tests.test_digest import FOLLOWS, SEEN, SYS, paper, post
from tracker import reasons
from tracker.digest.crossdomain import Interest, rank_cross, similarities, with_note
from tracker.digest.language import ENGLISH
from tracker.digest.render import render_markdown
from tracker.digest.select import MORE_CROSS, ReaderView, build_digest
from tracker.digest.view import build_view
from tracker.digest.wording import reason_text
from tracker.models import Detail, DigestEntry, FieldTag, FollowKind, Item, Reason, Sighting

GOLDEN = Path(__file__).parent / "golden" / "digest_cross_domain.md"
DAY = dt.date(2024, 11, 28)
NLP = "Computer Science > Natural Language Processing"
ML = "Computer Science > Machine Learning"
BIO = "Quantitative Biology > Biomolecules"
QUANT = "Physics > Quantum"

SAVED = [
    Interest(
        101,
        "Fast inference from transformers via speculative decoding. A small draft model "
        "proposes tokens that the large language model verifies in parallel.",
        saved=True,
    ),
    Interest(
        102,
        "Accelerating large language model decoding with speculative sampling. Draft "
        "tokens are accepted or rejected so that the output distribution is unchanged.",
        saved=True,
    ),
]
FOLLOWED = [
    Interest(
        103,
        "Scheduling GPU kernels for tail latency. A cluster scheduler for inference "
        "servers batches requests on GPUs.",
        saved=False,
    ),
]


def seen(*sources: int) -> list[Sighting]:
    return [Sighting(0, s, SEEN, "new" if s != 5 else None) for s in sources]


def model_post(n: int, title: str, summary: str, tags: tuple[tuple[str, float], ...]) -> Item:
    item = post(n, title, summary)
    return replace(item, fields=tuple(FieldTag(f, p, "model", "fields-v1: x") for f, p in tags))


def candidates() -> list[tuple[Item, list[Sighting]]]:
    return [
        # in the reader's own field: a main section, never cross-domain
        (paper(1, "Scheduling serverless functions", ("B. Liskov",), ("cs.DC",), (SYS,)), seen(1)),
        (
            paper(
                2,
                "Speculative decoding with draft models for large language model inference",
                ("A. Author",),
                ("cs.CL",),
                (NLP,),
                summary="A draft model proposes tokens and the large language model verifies "
                "them; speculative decoding cuts inference latency by half.",
            ),
            seen(3),
        ),
        (
            paper(
                3,
                "Speculative decoding for protein design",
                ("B. Author",),
                ("q-bio.BM", "cs.LG"),
                (BIO, ML),
                summary="We generate protein sequences with a folding model.",
            ),
            seen(3),
        ),
        (
            paper(
                4,
                "Speculative decoding of quantum error-correcting codes",
                ("C. Author",),
                ("quant-ph",),
                (QUANT,),
                summary="Surface codes are decoded by a neural decoder before syndromes arrive.",
            ),
            seen(3),
        ),
        (
            paper(
                5,
                "Faster speculative sampling in practice",
                ("G. Hopper",),
                ("cs.LG",),
                (ML,),
                summary="Speculative sampling with a draft model keeps the output "
                "distribution of the language model and doubles decoding speed.",
            ),
            seen(3),
        ),
        (
            model_post(
                6,
                "Our GPU inference server now batches requests",
                "Batching on GPUs for the scheduler of our inference servers.",
                ((ML, 0.71),),
            ),
            seen(5),
        ),
        # the model was not sure of any field: not placed in a field section
        (
            model_post(7, "Lab retreat", "Photos from the retreat.", ((QUANT, 0.4),)),
            seen(5),
        ),
    ]


def view(limit: int | None = 3, neighbours: tuple[str, ...] = ()) -> ReaderView:
    return ReaderView(
        name="ada",
        follows=FOLLOWS,
        own_fields=[SYS],
        source_titles={5: "Example Lab blog"},
        aliases={},
        interests=[*SAVED, *FOLLOWED],
        cross_limit=limit,
        cross_fields=neighbours,
    )


def layout(
    limit: int | None = 3, neighbours: tuple[str, ...] = ()
) -> list[tuple[str, str, list[int]]]:
    digest = build_digest(view(limit, neighbours), DAY, SEEN, candidates())
    return [(s.kind, s.title, [e.item.id for e in s.entries]) for s in digest.sections]


def test_cross_domain_is_capped_ranked_and_nothing_is_lost() -> None:
    assert layout() == [
        ("field", SYS, [1]),
        ("cross", NLP, [2]),
        ("cross", ML, [6, 5]),  # 6 is closest to a followed paper, 5 to the saved ones
        ("cross-more", MORE_CROSS, [3, 4]),
        ("other", "Other items", [7]),
    ]


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 4, 5, None])
def test_every_item_once_whatever_the_cap(limit: int | None) -> None:
    found = [n for _, _, ids in layout(limit) for n in ids]
    assert sorted(found) == [1, 2, 3, 4, 5, 6, 7]
    cross = [n for kind, _, ids in layout(limit) if kind == "cross" for n in ids]
    assert len(cross) == (5 if limit is None else min(limit, 5))
    assert 1 not in cross and 7 not in cross  # main-section and unplaced items stay there


def test_reasons_name_the_evidence() -> None:
    digest = build_digest(view(limit=5), DAY, SEEN, candidates())
    why = {e.item.id: e.reasons[0] for s in digest.sections for e in s.entries}
    assert why[2] == Reason(
        FollowKind.QUERY,
        'all:"speculative decoding"',
        (Detail(reasons.SIMILAR_SAVED, (), 2),),
    )
    assert why[5].details == (Detail(reasons.SIMILAR_SAVED, (), 2),)
    assert why[6] == Reason(
        FollowKind.FEED, "Example Lab blog", (Detail(reasons.SIMILAR_FIELDS, (), 1),)
    )
    assert why[3].details == (Detail(reasons.CROSS_LISTED_IN, ("q-bio.BM", "cs.LG")),)
    assert why[4].details == ()
    assert why[1].details == ()  # main sections carry no ranking note
    entries = [e for s in digest.sections for e in s.entries]
    words = {e.item.id: reason_text(e, ENGLISH)[0] for e in entries}
    assert words[5].endswith("(similar to 2 papers you saved)")
    assert words[6] == "feed Example Lab blog (similar to 1 paper in your fields)"
    assert words[3].endswith("(cross-listed in q-bio.BM and cs.LG)")


def test_neighbouring_fields_restrict_the_full_entries() -> None:
    assert layout(neighbours=("Quantitative Biology", QUANT)) == [
        ("field", SYS, [1]),
        ("cross", BIO, [3]),
        ("cross", QUANT, [4]),
        ("cross-more", MORE_CROSS, [2, 5, 6]),
        ("other", "Other items", [7]),
    ]


def test_without_saved_interests_todays_own_papers_count_then_the_newest() -> None:
    plain = replace(view(limit=2), interests=())
    digest = build_digest(plain, DAY, SEEN, candidates())
    cross = [e.item.id for s in digest.sections if s.kind == "cross" for e in s.entries]
    # 6 (a GPU "scheduler") is like today's own paper 1 ("Scheduling ..."): one Porter
    # stem; the rest match nothing and come newest first (lower numbers are newer here)
    assert cross == [6, 2]


def test_similarities() -> None:
    same = "speculative decoding with draft models"
    sims = similarities([same, "protein folding"], [same, "draft models decode"])
    assert sims[0][0] == pytest.approx(1.0)
    assert 0 < sims[0][1] < 1
    assert sims[1] == [0.0, 0.0]
    assert similarities([], ["x"]) == [] and similarities(["x"], []) == [[]]


def test_rank_cross_and_notes() -> None:
    entries = [DigestEntry(item, (Reason(FollowKind.QUERY, "q"),)) for item, _ in candidates()[1:6]]
    chosen, rest = rank_cross(entries, SAVED, limit=2)
    assert [r.entry.item.id for r in chosen] == [2, 5]
    assert chosen[0].score >= chosen[1].score > 0
    assert [e.item.id for e in rest] == [3, 4, 6]
    noted = with_note(chosen[0].entry, chosen[0].note)
    assert chosen[0].note == Detail(reasons.SIMILAR_SAVED, (), 2)
    assert reason_text(noted, ENGLISH) == ("query q (similar to 2 papers you saved)",)
    assert with_note(chosen[0].entry, None) is chosen[0].entry
    cross_listed = DigestEntry(
        entries[0].item, (Reason(FollowKind.CATEGORY, "cs.CL", (Detail(reasons.CROSS_LIST),)),)
    )
    note = Detail(reasons.CROSS_LISTED_IN, ("cs.CL", "cs.LG", "cs.AR"))
    assert reason_text(with_note(cross_listed, note), ENGLISH) == (
        "category cs.CL (cross-list; cross-listed in cs.CL, cs.LG and cs.AR)",
    )


def test_rendered_cross_domain_digest_matches_golden_file() -> None:
    digest = build_digest(view(), DAY, SEEN, candidates())
    text = render_markdown(build_view(digest))
    if os.environ.get("TRACKER_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")
    assert "## More from other fields" in text
    assert "- [Speculative decoding for protein design](https://arxiv.org/abs/2411.90003)" in text
