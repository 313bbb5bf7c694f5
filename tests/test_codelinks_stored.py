"""Code and project links once stored: found at ingest from the abstract and comments,
filled for older rows by the features2_1 migration (or read lazily), shown in the
digest's every renderer, exported to BibTeX (``note``) and JSON (``code``), and the
``has_code`` search filter on both backends."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.test_bibtex import item as bib_item
from tests.test_storage import (
    BACKENDS,
    T0,
    database_url,
    ingest,
    load_field_map,
    paper,
    schema_differences,
)
from tracker.digest.render import render
from tracker.digest.view import build_view
from tracker.fields.mapping import FieldMap
from tracker.library.bibtex import bib_url, to_bibtex, to_json
from tracker.models import (
    CodeLink,
    Digest,
    DigestEntry,
    DigestSection,
    FollowKind,
    LinkKind,
    Reason,
    SearchFilters,
)
from tracker.storage import Storage, open_storage, schema


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    with database_url(str(request.param), tmp_path) as url:
        st = open_storage(url)
        try:
            yield st
        finally:
            st.close()


@pytest.fixture(scope="module")
def field_map() -> FieldMap:
    return load_field_map()


GH = "https://github.com/ada/quokka"
ABSTRACT = "We schedule quokkas. Code is available at github.com/ada/quokka.git."
COMMENT = "12 pages. Models: https://huggingface.co/ada/quokka-7b (project page: https://ada.example.org/quokka)"


def _store(storage: Storage, field_map: FieldMap) -> dict[str, int]:
    report = ingest(
        storage,
        field_map,
        [
            (paper("2411.00001", "Quokka scheduling", summary=ABSTRACT, comment=COMMENT), []),
            (paper("2411.00002", "Quokka models only", comment="https://huggingface.co/a/b"), []),
            (paper("2411.00003", "Quokka without code"), []),
        ],
    )
    return dict(zip(("code", "model", "none"), report.item_ids, strict=True))


def test_links_are_stored_at_ingest_and_come_back_with_the_item(
    storage: Storage, field_map: FieldMap
) -> None:
    ids = _store(storage, field_map)
    found = storage.item(ids["code"])
    assert found.code == (
        CodeLink(LinkKind.CODE, GH),
        CodeLink(LinkKind.MODEL, "https://huggingface.co/ada/quokka-7b"),
        CodeLink(LinkKind.PROJECT, "https://ada.example.org/quokka"),
    )
    assert found.has_code
    assert storage.item(ids["model"]).code == (
        CodeLink(LinkKind.MODEL, "https://huggingface.co/a/b"),
    )
    assert not storage.item(ids["model"]).has_code
    assert storage.item(ids["none"]).code == ()


def test_has_code_filter_on_both_backends(storage: Storage, field_map: FieldMap) -> None:
    ids = _store(storage, field_map)
    with_code = SearchFilters(has_code=True)
    # filters alone, words with the filter, and the count
    assert [h.item.id for h in storage.search("", with_code)] == [ids["code"]]
    assert [h.item.id for h in storage.search("quokka", with_code)] == [ids["code"]]
    assert [h.item.id for h in storage.search("quokka*", with_code)] == [ids["code"]]
    assert storage.search_count("quokka", with_code) == 1
    assert len(storage.search("quokka")) == 3


def test_an_updated_abstract_updates_the_links(storage: Storage, field_map: FieldMap) -> None:
    ids = _store(storage, field_map)
    newer = paper("2411.00003", "Quokka without code", version=2, summary=f"Now: {GH}2")
    ingest(storage, field_map, [(newer, [])], now=T0 + dt.timedelta(days=1))
    assert storage.item(ids["none"]).code == (CodeLink(LinkKind.CODE, GH + "2"),)
    assert storage.item(ids["none"]).has_code


def test_the_migration_fills_links_of_rows_stored_before_it(
    storage: Storage, field_map: FieldMap
) -> None:
    from alembic import command
    from alembic.config import Config

    ids = _store(storage, field_map)
    cfg = Config()
    cfg.set_main_option("script_location", "tracker.storage:migrations")
    with storage.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "reading_1")
    with storage.engine.begin() as conn:
        columns = [c["name"] for c in sa.inspect(conn).get_columns("items")]
        assert "code_links" not in columns
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert schema_differences(storage, schema.metadata) == []
    assert storage.item(ids["code"]).code[0] == CodeLink(LinkKind.CODE, GH)
    assert [h.item.id for h in storage.search("", SearchFilters(has_code=True))] == [ids["code"]]


def test_a_row_without_stored_links_gets_them_when_read(
    storage: Storage, field_map: FieldMap
) -> None:
    ids = _store(storage, field_map)
    with storage.engine.begin() as conn:
        conn.execute(sa.update(schema.items).values(code_links=None))
    assert storage.item(ids["code"]).code[0] == CodeLink(LinkKind.CODE, GH)


# --- exports --------------------------------------------------------------------------------


LINKS = (
    CodeLink(LinkKind.CODE, GH),
    CodeLink(LinkKind.CODE, "https://gitlab.com/b/c"),
    CodeLink(LinkKind.PROJECT, "https://ada.example.org/q?a=1%2C2#x"),
)


def test_bibtex_keeps_the_abs_page_as_url_and_puts_code_in_the_note() -> None:
    paper_item = bib_item(1, "Quokka scheduling", ("Ada Lovelace",), code=LINKS)
    bib = to_bibtex([paper_item])
    assert "url           = {https://arxiv.org/abs/2205.14135}" in bib
    note = next(line for line in bib.splitlines() if line.strip().startswith("note"))
    assert note.endswith(
        r"{Code: \url{https://github.com/ada/quokka}, \url{https://gitlab.com/b/c}. "
        r"Project page: \url{https://ada.example.org/q?a=1\%2C2\#x}},"
    )
    published = replace(paper_item, journal_ref="J. Quokka 3 (2025)")
    assert "{J. Quokka 3 (2025). Code: \\url{" in to_bibtex([published])
    assert "note" not in to_bibtex([replace(paper_item, code=())])


def test_bib_url_takes_only_http_and_keeps_braces_out() -> None:
    assert bib_url("javascript:alert(1)") == ""
    assert bib_url("https://a.example/x{y} z\\") == "https://a.example/x%7By%7D%20z%5C"


def test_json_export_has_a_code_list() -> None:
    exported = json.loads(to_json([bib_item(1, "Q", ("A B",), code=LINKS)]))
    assert exported[0]["code"][:2] == [
        {"kind": "code", "url": GH},
        {"kind": "code", "url": "https://gitlab.com/b/c"},
    ]
    assert json.loads(to_json([bib_item(2, "Q", ("A B",))]))[0]["code"] == []


# --- the digest -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["markdown", "html", "text"])
def test_every_renderer_shows_the_code_links(kind: str) -> None:
    hostile = CodeLink(LinkKind.DEMO, "javascript:alert(1)")
    entry_item = bib_item(1, "Quokka scheduling", ("Ada Lovelace",), code=(*LINKS, hostile))
    digest = Digest(
        "ada",
        dt.date(2024, 11, 28),
        T0,
        (
            DigestSection(
                "Computer Science > Systems",
                "field",
                (DigestEntry(entry_item, (Reason(FollowKind.CATEGORY, "cs.DC"),)),),
            ),
        ),
    )
    view = build_view(digest)
    [entry] = list(view.entries)
    assert [(link.label, link.url) for link in entry.links] == [
        ("code", GH),
        ("code", "https://gitlab.com/b/c"),
        ("project page", "https://ada.example.org/q?a=1%2C2#x"),
    ]
    out = render(view, kind)
    assert GH in out and "https://gitlab.com/b/c" in out
    assert "javascript" not in out
    if kind == "markdown":
        assert f"[code]({GH})" in out
    elif kind == "html":
        assert f'<a href="{GH}"' in out
    else:
        assert f"code: {GH}" in out
