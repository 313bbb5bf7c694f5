"""What a reader follows, as the file spells it (pydantic models): categories, arXiv
queries, scholars (a name or a table of ids) and feeds (a URL or a table).

Pure: no I/O here.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic.json_schema import SkipJsonSchema

from tracker.config.problems import Expected, Problems
from tracker.config.settings import FeedFollow, Follows, ScholarFollow
from tracker.config.values import (
    Category,
    HttpUrl,
    OneOrMany,
    Table,
    check_http_url,
    problem,
)
from tracker.errors import UsageError
from tracker.fields.mapping import FieldMap
from tracker.ids import canonical_url
from tracker.names import split_name
from tracker.sources import arxiv_query as query

_ORCID = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
_OPENALEX_AUTHOR = re.compile(r"^A\d{4,}$")
_ARXIV_AUTHOR = re.compile(r"^[a-z][a-z0-9_]*_\d+$")


# --- scholars --------------------------------------------------------------------------


def _orcid(value: str) -> str:
    value = value.removeprefix("https://orcid.org/")
    if not _ORCID.match(value):
        raise problem(f"expected an ORCID like 0000-0002-1825-0097, got {value!r}")
    return value


def _openalex(value: str) -> str:
    value = value.removeprefix("https://openalex.org/")
    if not _OPENALEX_AUTHOR.match(value):
        raise problem(f"expected an OpenAlex author id like A5023888391, got {value!r}")
    return value


def _arxiv_author(value: str) -> str:
    if not _ARXIV_AUTHOR.match(value):
        raise problem(f"expected an arXiv author id like dao_t_1, got {value!r}")
    return value


def _person(value: str) -> str:
    name = " ".join(value.split())
    if not split_name(name).surname:
        raise problem(f"{name!r} has no surname")
    return name


Names = Annotated[list[str], OneOrMany]


class ScholarTable(Table):
    """A scholar: a name, and any stable ids and own feeds you know of."""

    name: Annotated[str, AfterValidator(_person)] = Field(
        "", validate_default=True, description='Their name, "Tri Dao".'
    )
    arxiv: Annotated[list[Annotated[str, AfterValidator(_arxiv_author)]], OneOrMany] = Field(
        default_factory=list, description='arXiv author ids ("dao_t_1").'
    )
    orcid: Annotated[list[Annotated[str, AfterValidator(_orcid)]], OneOrMany] = Field(
        default_factory=list, description="ORCID iDs (0000-0002-1825-0097)."
    )
    openalex: Annotated[list[Annotated[str, AfterValidator(_openalex)]], OneOrMany] = Field(
        default_factory=list, description='OpenAlex author ids ("A5023888391").'
    )
    feeds: Annotated[list[HttpUrl], OneOrMany] = Field(
        default_factory=list, description="Their own feeds: a blog, their lab's."
    )
    variants: Names = Field(default_factory=list, description="Other spellings of the name.")
    coauthors: Names = Field(
        default_factory=list, description="People they publish with (evidence for name matches)."
    )
    categories: Annotated[list[Category], OneOrMany] = Field(
        default_factory=list, description="Their usual arXiv categories."
    )

    def settings(self, fields: FieldMap | None) -> ScholarFollow:
        return ScholarFollow(
            name=self.name,
            arxiv=tuple(self.arxiv),
            orcid=tuple(self.orcid),
            openalex=tuple(self.openalex),
            feeds=tuple(canonical_url(u) for u in self.feeds),
            variants=tuple(" ".join(v.split()) for v in self.variants),
            coauthors=tuple(" ".join(v.split()) for v in self.coauthors),
            categories=tuple(fields.canonical(c) if fields else c for c in self.categories),
        )


def _scholar_item(value: Any) -> Any:
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, dict):
        raise problem("expected a name or a table {name = ..., orcid = ..., ...}")
    return value


def check_scholar(table: dict[str, Any], fields: FieldMap) -> ScholarFollow:
    """A scholar given on the command line or the web page, checked like one in the
    config file; raises UsageError saying what is wrong."""
    try:
        scholar = ScholarTable.model_validate(table, context={"field_map": fields})
    except ValidationError as e:
        found = Problems("command line")
        found.add_errors(e, ScholarTable, ("scholar",))
        raise UsageError("; ".join(p.split(": ", 1)[-1] for p in found.lines)) from None
    return scholar.settings(fields)


# --- feeds and follows ---------------------------------------------------------------------


class FeedTable(Table):
    """A feed with the title to show for it."""

    url: HttpUrl = Field(description="The feed's address (RSS, Atom or JSON Feed).")
    title: str | SkipJsonSchema[None] = Field(None, description="The title to show.")


def _feed_item(value: Any) -> Any:
    if isinstance(value, str):
        check_http_url(value)
        return {"url": value}
    if isinstance(value, dict) and isinstance(value.get("url"), str):
        return value
    raise problem("expected a URL or a table {url = ..., title = ...}")


def _query(text: str) -> str:
    try:
        return query.normalise(text)
    except query.QuerySyntaxError as e:
        raise problem(f"{text!r}: {e}") from None


class FollowsTable(Table):
    """What a reader follows."""

    categories: list[Category] = Field(
        default_factory=list, description="arXiv categories (daily listings; cross-lists too)."
    )
    queries: list[Annotated[str, AfterValidator(_query)]] = Field(
        default_factory=list,
        description='arXiv search expressions: plain words, "phrases", ti: au: abs: cat: all:, '
        "AND, OR, ANDNOT, parentheses.",
    )
    scholars: Annotated[
        list[
            Annotated[
                ScholarTable,
                BeforeValidator(_scholar_item, json_schema_input_type=str | ScholarTable),
            ]
        ],
        Expected("a list of names or scholar tables"),
    ] = Field(default_factory=list, description="Scholars by name, or tables with their ids.")
    feeds: Annotated[
        list[
            Annotated[
                FeedTable, BeforeValidator(_feed_item, json_schema_input_type=str | FeedTable)
            ]
        ],
        Expected("a list of URLs or {url = ..., title = ...} tables"),
    ] = Field(default_factory=list, description="Feeds: a URL, or {url = ..., title = ...}.")

    def settings(self, fields: FieldMap | None) -> Follows:
        categories = (fields.canonical(c) if fields else c for c in self.categories)
        return Follows(
            categories=tuple(dict.fromkeys(categories)),
            queries=tuple(self.queries),
            scholars=tuple(s.settings(fields) for s in self.scholars),
            feeds=tuple(FeedFollow(canonical_url(f.url), f.title) for f in self.feeds),
        )
