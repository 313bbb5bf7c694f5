"""Code and project links found in abstracts and comments, as arXiv authors write them
(the texts are from arXiv's daily cs listing of 2025-07-22; arXiv metadata is CC0)."""

from __future__ import annotations

import pytest

from tracker.codelinks import CodeLink, LinkKind, find_links, has_code

CODE, MODEL, DATA, DEMO, PROJECT = (
    LinkKind.CODE,
    LinkKind.MODEL,
    LinkKind.DATASET,
    LinkKind.DEMO,
    LinkKind.PROJECT,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Code is available at https://github.com/Afleve/AFGCD.",
            [(CODE, "https://github.com/Afleve/AFGCD")],
        ),
        (
            "see https://github.com/61s61min/MS2Fusion.git.",
            [(CODE, "https://github.com/61s61min/MS2Fusion")],
        ),
        (
            r"\href{https://github.com/Nicolas-Poggi/Project_THz_Classification/tree/main}{GitHub}",
            [(CODE, "https://github.com/Nicolas-Poggi/Project_THz_Classification")],
        ),
        (
            "Code: GitHub:https://github.com/zju-real/lapo; Project:https://zju-real.github.io/lapo",
            [
                (CODE, "https://github.com/zju-real/lapo"),
                (PROJECT, "https://zju-real.github.io/lapo"),
            ],
        ),
        (
            "(benchmark at https://github.com/navid-aub/SHIELD-Benchmark)",
            [(CODE, "https://github.com/navid-aub/SHIELD-Benchmark")],
        ),
        (
            "models https://huggingface.co/ICTNLP/FastLongSpeech. and data "
            "https://huggingface.co/datasets/ICTNLP/LongSpeech-Eval",
            [
                (MODEL, "https://huggingface.co/ICTNLP/FastLongSpeech"),
                (DATA, "https://huggingface.co/datasets/ICTNLP/LongSpeech-Eval"),
            ],
        ),
        (
            "https://huggingface.co/collections/aisingapore/wangchanlion-v3-687a362d8f0ea2fe4077c6b3",
            [
                (
                    MODEL,
                    "https://huggingface.co/collections/aisingapore/wangchanlion-v3-687a362d8f0ea2fe4077c6b3",
                )
            ],
        ),
        (
            "demo at https://promptsuite.streamlit.app/",
            [(DEMO, "https://promptsuite.streamlit.app/")],
        ),
        (
            "anonymous code https://anonymous.4open.science/r/EAMI-B085.",
            [(CODE, "https://anonymous.4open.science/r/EAMI-B085")],
        ),
        (
            "page: eventbasedvision.github.io/eGSMV.",
            [(PROJECT, "https://eventbasedvision.github.io/eGSMV")],
        ),
        (
            "Project page: https://fnzhan.com/projects/Feed-Forward-3D",
            [(PROJECT, "https://fnzhan.com/projects/Feed-Forward-3D")],
        ),
        (
            "https://gitlab.com/group/sub/project/-/tree/main/src",
            [(CODE, "https://gitlab.com/group/sub/project")],
        ),
        # not code: papers, DOIs, licences, a bare host, a link the text does not call a page
        ("Accepted at ICML, https://openreview.net/forum?id=abc and https://doi.org/10.1/x", []),
        ("Licensed CC BY https://creativecommons.org/licenses/by/4.0/", []),
        ("hosted on github.com", []),
        ("the data come from https://www.ncbi.nlm.nih.gov/geo/ as in prior work", []),
        ("https://github.com/topics/llm", []),
    ],
)
def test_links_as_authors_write_them(text: str, expected: list[tuple[LinkKind, str]]) -> None:
    assert [(link.kind, link.url) for link in find_links(text)] == expected


def test_each_link_once_in_first_order_across_abstract_and_comment() -> None:
    links = find_links(
        "Code: https://github.com/renqibing/RogueAgent.",
        "Repository https://github.com/renqibing/RogueAgent and https://d223302.github.io/STITCH/",
    )
    assert [link.url for link in links] == [
        "https://github.com/renqibing/RogueAgent",
        "https://d223302.github.io/STITCH/",
    ]
    assert has_code(links) and not has_code(links[1:])
    assert links[1].label == "project page"


def test_hostile_text_stays_bounded() -> None:
    text = " ".join(f"https://github.com/o/r{n}" for n in range(100))
    assert len(find_links(text)) == 8
    assert find_links("javascript:alert(1) https://github.com/o/r<script>") == (
        CodeLink(CODE, "https://github.com/o/r"),
    )
