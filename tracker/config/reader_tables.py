"""``[[readers]]`` as the file spells it (pydantic models): a reader's delivery, what
they follow (categories, queries, scholars, feeds) and their mute and must rules.

Names are checked against the field mapping of the validation context (see
``values``); ``settings()`` turns a checked reader into ``ReaderSettings``. That
reader names are unique, and what needs other tables, is checked in ``load``.

Pure: no I/O here.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from tracker.config.problems import Expected, Problems
from tracker.config.settings import (
    ALL_DAYS,
    CHANNELS,
    WEEKDAYS,
    FeedFollow,
    Follows,
    ReaderSettings,
    ScholarFollow,
)
from tracker.config.tables import EMAIL, Table
from tracker.config.values import (
    Category,
    FieldName,
    HttpUrl,
    OneOrMany,
    check_http_url,
    enum,
    field_map,
    one_of,
    problem,
)
from tracker.digest.rules import check_rule
from tracker.errors import UsageError
from tracker.fields.mapping import FieldMap
from tracker.ids import canonical_url
from tracker.models import FollowKind, Rule, RuleAction
from tracker.names import split_name
from tracker.sources import arxiv_query as query

READER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
DAY_WORDS = ("every day", "daily", "weekdays", "arxiv")
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


# --- mute and must rules -------------------------------------------------------------------


def _rule_category(value: str, info: ValidationInfo) -> str:
    fields = field_map(info)
    if value and fields is not None and not fields.knows_prefix(value):
        raise problem(f"unknown arXiv category or archive {value!r}")
    return value


def _rule_problem(rule: Rule) -> Rule:
    why = check_rule(rule)
    if why:
        raise problem(why)
    return rule


class MuteRule(Table):
    """Hide what matches one of text (the search syntax), author, category or feed."""

    text: str = Field("", description="Words in the search syntax.")
    author: str = Field("", description="An author's name.")
    category: Annotated[str, AfterValidator(_rule_category)] = Field(
        "", description="An arXiv category or archive (its primary category)."
    )
    feed: str = Field("", description="A feed's URL.")
    search: bool = Field(False, description="Hide it from `tracker search` too.")

    @model_validator(mode="after")
    def _complete(self) -> MuteRule:
        _rule_problem(self.rule())
        return self

    def rule(self) -> Rule:
        return Rule(
            RuleAction.MUTE,
            text=self.text or None,
            author=self.author or None,
            category=self.category or None,
            feed=self.feed or None,
            search=self.search,
        )


FOLLOW_KINDS = [k.value for k in FollowKind]


def _follow(value: str) -> str:
    named = value.split(maxsplit=1)
    if len(named) != 2 or named[0] not in FOLLOW_KINDS:
        raise problem(f"expected '<kind> <value>' with a kind of {FOLLOW_KINDS}")
    return value


class MustRule(Table):
    """Keep a follow's items only when they also match a text."""

    follow: Annotated[str, AfterValidator(_follow)] = Field(
        "", validate_default=True, description='A follow as "<kind> <value>": "query diffusion".'
    )
    text: str = Field("", description="Words in the search syntax its items must match.")

    @model_validator(mode="after")
    def _complete(self) -> MustRule:
        _rule_problem(self.rule())
        return self

    def rule(self) -> Rule:
        kind, value = self.follow.split(maxsplit=1)
        return Rule(RuleAction.MUST, text=self.text or None, follow=(FollowKind(kind), value))


def _mute_item(value: Any) -> Any:
    if isinstance(value, str):
        return {"text": value}
    if not isinstance(value, dict):
        raise problem("expected a text or a table")
    return value


def _must_item(value: Any) -> Any:
    if not isinstance(value, dict):
        raise problem("expected a table {follow, text}")
    return value


# --- a reader ------------------------------------------------------------------------------


def _reader_name(value: str) -> str:
    if not READER_NAME.match(value):
        raise problem("expected a name of letters, digits, '.', '_' or '-'")
    return value


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise problem(f"unknown time zone {value!r} (e.g. 'Europe/Berlin')") from None
    return value


def _clock(value: str) -> str:
    if not CLOCK.match(value):
        raise problem(f"expected HH:MM (24-hour), got {value!r}")
    return value


def _channels(value: list[str]) -> list[str]:
    if not value:
        raise problem("expected at least one channel")
    return value


def _days(value: Any) -> Any:
    if value in DAY_WORDS:
        return value
    if (
        isinstance(value, list)
        and value
        and all(isinstance(d, str) and d[:3].lower() in WEEKDAYS for d in value)
    ):
        return value
    raise problem(
        f'expected "every day", "weekdays", "arxiv" or a list like ["mon", "thu"], got {value!r}'
    )


def weekdays(days: str | list[str]) -> tuple[frozenset[int], bool]:
    """The local weekdays of a checked ``days`` value, and whether only arXiv's days."""
    if days == "weekdays":
        return frozenset(range(5)), False
    if isinstance(days, str):
        return ALL_DAYS, days == "arxiv"
    return frozenset(WEEKDAYS.index(d[:3].lower()) for d in days), False


_DAYS_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "string", "enum": list(DAY_WORDS)},
            {"type": "array", "items": {"type": "string"}, "minItems": 1},
        ]
    }
)


class ReaderTable(Table):
    """One person: when and how their digest arrives, and what they follow."""

    name: Annotated[str, AfterValidator(_reader_name)] = Field(
        "",
        validate_default=True,
        description="A short name (letters, digits, '.', '_', '-') for folders and --reader.",
        json_schema_extra={"pattern": READER_NAME.pattern},
    )
    timezone: Annotated[str, AfterValidator(_timezone)] = Field(
        "UTC", description="IANA time zone; the digest day and time are local to it."
    )
    digest_time: Annotated[str, AfterValidator(_clock)] = Field(
        "07:00",
        description="Local time of the daily digest (24-hour HH:MM).",
        json_schema_extra={"pattern": CLOCK.pattern},
    )
    output_dir: str = Field(
        "digests", description="Folder for digest files (TRACKER_DIGESTS_DIR overrides it)."
    )
    fields: list[FieldName] = Field(
        default_factory=list,
        description="Your own fields. Empty: the fields of the categories you follow.",
    )
    follows: FollowsTable = Field(default_factory=FollowsTable, description="What you follow.")
    channels: Annotated[
        list[
            Annotated[
                str,
                AfterValidator(
                    one_of(CHANNELS, lambda v: f"expected some of {list(CHANNELS)}, got {v!r}")
                ),
                enum(CHANNELS),
            ]
        ],
        AfterValidator(_channels),
    ] = Field(
        default_factory=lambda: ["markdown"],
        description='How the digest arrives: "markdown" (the file), "email", or both.',
        json_schema_extra={"minItems": 1, "default": ["markdown"]},
    )
    email: str = Field(
        "", validate_default=True, description='The reader\'s address (for "email" channels).'
    )
    days: Annotated[str | list[str], PlainValidator(_days), _DAYS_SCHEMA] = Field(
        "every day",
        description='Days with a digest: "every day", "weekdays", "arxiv" (after a new arXiv '
        'listing) or a list such as ["mon", "thu"].',
    )
    when_empty: Annotated[
        str,
        AfterValidator(one_of(("note", "skip"), lambda v: f'expected "note" or "skip", got {v!r}')),
        enum(("note", "skip")),
    ] = Field("note", description='A day with nothing new: "note" or "skip".')
    mute: Annotated[
        list[
            Annotated[MuteRule, BeforeValidator(_mute_item, json_schema_input_type=str | MuteRule)]
        ],
        Expected("a list of rules"),
    ] = Field(default_factory=list, description="What to hide: a text, or a table.")
    must: Annotated[
        list[Annotated[MustRule, BeforeValidator(_must_item)]], Expected("a list of rules")
    ] = Field(default_factory=list, description="What a follow's items must also match.")

    @field_validator("email")
    @classmethod
    def _address_for_email(cls, value: str, info: ValidationInfo) -> str:
        if "email" in info.data.get("channels", ()) and not EMAIL.match(value):
            raise problem(f"expected the reader's e-mail address, got {value or None!r}")
        return value

    def settings(self, output_dir: Path, fields: FieldMap | None) -> ReaderSettings:
        match = CLOCK.match(self.digest_time)
        assert match is not None  # checked
        days, arxiv_days = weekdays(self.days)
        return ReaderSettings(
            name=self.name,
            timezone=self.timezone,
            digest_time=dt.time(int(match.group(1)), int(match.group(2))),
            output_dir=output_dir,
            follows=self.follows.settings(fields),
            fields=tuple(self.fields),
            email=self.email or None,
            channels=tuple(dict.fromkeys(self.channels)),
            days=days,
            arxiv_days=arxiv_days,
            when_empty=self.when_empty,
            rules=(*(r.rule() for r in self.mute), *(r.rule() for r in self.must)),
        )
