"""How the digest shows what the reader's ranking decided: top picks and their
reasons, sections cut with the command for the rest, the whole day's picks and the
weekly rising phrases, in every renderer."""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import replace

import pytest

from tests.test_digest_render import KINDS, main_digest
from tracker.digest.picks import more_command, pick_text
from tracker.digest.render import render
from tracker.digest.view import ENGLISH, Presentation, build_view
from tracker.models import (
    DigestEntry,
    DigestSection,
    FollowKind,
    RankReason,
    Reason,
    RisingPhrase,
)

DAY = dt.date(2024, 11, 28)


@pytest.mark.parametrize(
    ("note", "text"),
    [
        (
            RankReason("saved", "FlashAttention", "", ("attention", "io-aware")),
            "close to your saved 'FlashAttention' (shared: attention, io-aware)",
        ),
        (RankReason("up", "Medusa", ""), "close to 'Medusa', which you rated up"),
        (
            RankReason("library", "MapReduce", "", ("cluster",)),
            "close to 'MapReduce' in your library (shared: cluster)",
        ),
        (
            RankReason("scholar", "Mamba", "Tri Dao", ("state space",)),
            "close to 'Mamba' by Tri Dao, whom you follow (shared: state space)",
        ),
        (
            RankReason("follow", "RIS", "category cs.IT", ("ris",)),
            "close to 'RIS' from your category cs.IT (shared: ris)",
        ),
        (
            RankReason("words", terms=("kv cache", "serving")),
            "words you read about: kv cache, serving",
        ),
    ],
)
def test_pick_reasons_name_the_evidence(note: RankReason, text: str) -> None:
    assert pick_text(note, ENGLISH) == text
    assert note.describe() == text


def test_more_command_is_one_shell_word_per_argument() -> None:
    assert more_command("ada", DAY, "Computer Science > Systems") == (
        "tracker digest --reader ada --date 2024-11-28 --section 'Computer Science > Systems' --all"
    )


def ranked_digest() -> tuple[DigestSection, ...]:
    digest = main_digest()
    top = replace(
        digest.sections[1],
        title="Top picks",
        kind="top",
        entries=tuple(
            replace(e, score=3.0 - n, note=RankReason("saved", "FlashAttention", "", ("gpu",)))
            for n, e in enumerate(digest.sections[1].entries[:1])
        ),
    )
    pick = replace(
        digest.sections[1].entries[-1],
        reasons=(Reason(FollowKind.DISCOVERY, "arXiv"),),
        note=RankReason("library", "MapReduce", "", ("cluster", "shuffle")),
        score=1.5,
    )
    cross = DigestSection("Quantitative Biology > Genomics", "cross", (pick,))
    long = replace(digest.sections[1], entries=digest.sections[1].entries * 3)
    return (top, long, cross)


@pytest.mark.parametrize("kind", KINDS)
def test_top_picks_cut_sections_and_rising_phrases_in_every_renderer(kind: str) -> None:
    digest = replace(
        main_digest(),
        sections=ranked_digest(),
        rising=(
            RisingPhrase(
                "state space",
                4,
                0.021,
                0.003,
                (("arXiv:2411.17700", "Mamba for genomes"), ("https://lab.example/x", "Notes")),
            ),
        ),
    )
    view = build_view(digest, Presentation(section_items=2, more_lines=10))
    [top, long, cross] = view.sections
    assert (top.title, top.hidden) == ("Top picks", 0)
    assert top.entries[0].pick_reason == "close to your saved 'FlashAttention' (shared: gpu)"
    assert top.entries[0].score == 3.0
    assert (long.shown, long.total) == (2, len(digest.sections[1].entries))
    assert long.more_hint == more_command("ada", digest.day, digest.sections[1].title)
    assert cross.entries[0].reasons == ("today's arXiv",)
    out = render(view, kind)
    flat = html.unescape(" ".join(re.sub(r"<[^>]+>", " ", out).split())).replace("*", "")
    assert "Top pick: close to your saved 'FlashAttention' (shared: gpu)" in flat
    assert "Picked: close to 'MapReduce' in your library (shared: cluster, shuffle)" in flat
    hidden = long.total - long.shown
    assert f"{hidden} more: tracker digest --reader ada --date" in flat
    assert "RISING ACROSS FIELDS" in out if kind == "text" else "Rising across fields" in out
    assert "state space" in flat and "4 papers this week (2.1%; 0.3% in the weeks before)" in flat
    assert "Mamba for genomes" in flat
    if kind != "text":
        assert "https://arxiv.org/abs/2411.17700" in out


def test_a_digest_entry_keeps_score_and_note_through_storage_shapes() -> None:
    entry = main_digest().sections[1].entries[0]
    ranked = replace(entry, score=1.0, note=RankReason("up", "X"))
    assert isinstance(ranked, DigestEntry)
    assert RankReason.from_json(ranked.note.as_json()) == ranked.note  # type: ignore[union-attr]
    assert RisingPhrase.from_json(["a b", 3, 0.1, 0.0, [["arXiv:1", "t"]]]) == RisingPhrase(
        "a b", 3, 0.1, 0.0, (("arXiv:1", "t"),)
    )
    assert RankReason.from_json("nonsense") is None
