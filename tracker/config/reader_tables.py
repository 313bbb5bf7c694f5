"""``[[readers]]`` as the file spells it (pydantic models): a reader's delivery and
their mute and must rules; what they follow is in ``follow_tables``.

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
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from tracker.config.follow_tables import FollowsTable
from tracker.config.problems import Expected
from tracker.config.settings import (
    ALL_DAYS,
    CHANNELS,
    WEEKDAYS,
    ReaderSettings,
)
from tracker.config.values import (
    EMAIL,
    AtLeastZero,
    FieldName,
    Table,
    Weekday,
    enum,
    field_map,
    one_of,
    problem,
    weekday_number,
)
from tracker.digest.rules import check_rule
from tracker.fields.mapping import FieldMap
from tracker.models import FollowKind, Rule, RuleAction

READER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
DAY_WORDS = ("every day", "daily", "weekdays", "arxiv")
RHYTHMS = ("daily", "weekly", "both")


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


def _at_least_one(value: int) -> int:
    if value < 1:
        raise problem(f"expected 1 or more, got {value}")
    return value


def _language(code: str) -> str:
    """A language with a catalogue of the digest's texts, or English."""
    from tracker.digest.catalogs import languages, names

    if code in languages():
        return code
    near = [x for x in languages() if x == code.replace("-", "_").split("_")[0].lower()]
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise problem(f"no digest translation for {code!r}{hint} (available: {names()})")


def _languages_schema() -> WithJsonSchema:
    from tracker.digest.catalogs import languages

    return enum(languages())


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
    # weekly_day and weekly_picks come before rhythm, and rhythm before days: their
    # checks read the keys above them (None: the key is not in the file)
    weekly_day: Weekday | SkipJsonSchema[None] = Field(
        None,
        description='The weekday of the weekly digest ("mon"), in the reader\'s time zone.',
        json_schema_extra={"default": "mon"},
    )
    weekly_picks: (
        Annotated[int, AfterValidator(_at_least_one), Field(json_schema_extra={"minimum": 1})]
        | SkipJsonSchema[None]
    ) = Field(
        None,
        description="Entries of the weekly digest's top picks (1 or more).",
        json_schema_extra={"default": 10},
    )
    rhythm: Annotated[
        str,
        AfterValidator(one_of(RHYTHMS, lambda v: f"expected one of {list(RHYTHMS)}, got {v!r}")),
        enum(RHYTHMS),
    ] = Field(
        "daily",
        validate_default=True,
        description='"daily" digests; "weekly": one digest a week, on weekly_day; "both": '
        "the daily ones and a weekly one (the week's top picks and rising phrases).",
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
    language: Annotated[str, AfterValidator(_language), _languages_schema()] = Field(
        "en",
        description='The language of the digest\'s fixed texts: "en" (English) or one with a '
        'catalogue ("zh": Simplified Chinese).',
    )
    mute: Annotated[
        list[
            Annotated[MuteRule, BeforeValidator(_mute_item, json_schema_input_type=str | MuteRule)]
        ],
        Expected("a list of rules"),
    ] = Field(default_factory=list, description="What to hide: a text, or a table.")
    must: Annotated[
        list[Annotated[MustRule, BeforeValidator(_must_item)]], Expected("a list of rules")
    ] = Field(default_factory=list, description="What a follow's items must also match.")
    top_picks: AtLeastZero | SkipJsonSchema[None] = Field(
        None, description="Your number of top picks; default: [digest] top_picks."
    )
    discover: bool | SkipJsonSchema[None] = Field(
        None,
        description="Cross-domain picks from the whole day of arXiv; default: [digest] discover.",
    )
    rising: bool = Field(
        False, description='A weekly "Rising across fields" section (see [digest] rising_day).'
    )

    @field_validator("rhythm")
    @classmethod
    def _weekly_keys_for_weekly(cls, value: str, info: ValidationInfo) -> str:
        given = [k for k in ("weekly_day", "weekly_picks") if info.data.get(k) is not None]
        if value == "daily" and given:
            raise problem('weekly_day is used only with rhythm "weekly" or "both"')
        return value

    @field_validator("days")
    @classmethod
    def _no_days_for_weekly(cls, value: str | list[str], info: ValidationInfo) -> Any:
        # validated only when given: a weekly rhythm's one day is weekly_day
        if info.data.get("rhythm") == "weekly":
            raise problem('a weekly rhythm delivers on weekly_day: leave "days" out')
        return value

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
        weekly_day = weekday_number(self.weekly_day or "mon")
        if self.rhythm == "weekly":
            days, arxiv_days = frozenset({weekly_day}), False
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
            language=self.language,
            rules=(*(r.rule() for r in self.mute), *(r.rule() for r in self.must)),
            top_picks=self.top_picks,
            discover=self.discover,
            rising=self.rising,
            rhythm=self.rhythm,
            weekly_day=weekly_day,
            weekly_picks=self.weekly_picks or 10,
        )
