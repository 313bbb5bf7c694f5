"""BibTeX and JSON export."""

from __future__ import annotations

import datetime as dt
import json

from tracker.library.bibtex import bib_author, cite_key, latex_escape, to_bibtex, to_json
from tracker.models import Item, ItemKind


def item(
    n: int,
    title: str,
    authors: tuple[str, ...],
    arxiv_id: str | None = "2205.14135",
    **extra: object,
) -> Item:
    values: dict[str, object] = dict(
        id=n,
        key=f"arxiv:{arxiv_id}" if arxiv_id else f"post:{n}",
        kind=ItemKind.PAPER if arxiv_id else ItemKind.POST,
        title=title,
        summary="",
        authors=authors,
        url=f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else "https://blog.example.org/p",
        arxiv_id=arxiv_id,
        version=2,
        pdf_url=None,
        doi=None,
        journal_ref=None,
        comment=None,
        primary_category="cs.LG" if arxiv_id else None,
        categories=(),
        published=dt.datetime(2022, 5, 27, tzinfo=dt.UTC),
        updated=None,
        first_seen=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        quality=4,
    )
    values.update(extra)
    return Item(**values)  # type: ignore[arg-type]


FLASH = item(
    1,
    "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness",
    ("Tri Dao", "Daniel Y. Fu", "Christopher Ré"),
    doi="10.48550/arXiv.2205.14135",
)


def test_arxiv_paper_entry() -> None:
    text = to_bibtex([FLASH])
    assert text == (
        "@misc{dao2022flashattention,\n"
        "  title         = {{FlashAttention}: Fast and Memory-Efficient Exact Attention with "
        "{IO}-Awareness},\n"
        "  author        = {Dao, Tri and Fu, Daniel Y. and Ré, Christopher},\n"
        "  year          = {2022},\n"
        "  eprint        = {2205.14135},\n"
        "  archivePrefix = {arXiv},\n"
        "  primaryClass  = {cs.LG},\n"
        "  doi           = {10.48550/arXiv.2205.14135},\n"
        "  url           = {https://arxiv.org/abs/2205.14135}\n"
        "}\n"
    )


def test_keys_are_unique_within_an_export() -> None:
    twin = item(2, "FlashAttention revisited", ("Tri Dao",), arxiv_id="2307.08691")
    text = to_bibtex([FLASH, twin, item(3, "FlashAttention 3", ("T. Dao",), "2407.08608")])
    assert "@misc{dao2022flashattention," in text
    assert "@misc{dao2022flashattentiona," in text
    assert "@misc{dao2022flashattentionb," in text


def test_escaping_keeps_math_and_protects_specials() -> None:
    assert latex_escape("50% of C++ & R_t #1") == r"50\% of C++ \& R\_t \#1"
    assert latex_escape("Bounds for $O(n_k^2)$ and 5$") == r"Bounds for $O(n_k^2)$ and 5\$"
    assert latex_escape("a ~ b {c}") == r"a \textasciitilde{} b \{c\}"


def test_author_forms() -> None:
    assert bib_author("Adrian Del Maestro") == "Del Maestro, Adrian"
    assert bib_author("Ludwig van Beethoven") == "van Beethoven, Ludwig"
    assert bib_author("Dao, Tri") == "Dao, Tri"
    assert bib_author("Plato") == "Plato"


def test_posts_and_odd_items() -> None:
    post = item(4, "Why we moved to Rust", ("Émilie Dupont",), arxiv_id=None)
    text = to_bibtex([post])
    assert text.startswith("@misc{dupont2022why,")
    assert "  url    = {https://blog.example.org/p}\n" in text
    assert "eprint" not in text
    nobody = item(5, "The", (), arxiv_id=None)
    assert cite_key(nobody) == "anon2022"


def test_json_export_round_trips() -> None:
    data = json.loads(to_json([FLASH]))
    assert data[0]["arxiv_id"] == "2205.14135"
    assert data[0]["authors"] == ["Tri Dao", "Daniel Y. Fu", "Christopher Ré"]
    assert data[0]["published"] == "2022-05-27T00:00:00+00:00"
