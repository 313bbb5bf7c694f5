"""What the config file's tables share: their base model (``Table``) and the value
types (pydantic annotated types): positive numbers, http(s) URLs, names checked
against the field mapping, a value or a list.

Each check raises ``problem(...)`` with the message the user reads after the key;
``WithJsonSchema`` and ``json_schema_extra`` say the same to an editor through the
published JSON Schema. The field mapping, when a check needs it, comes in the
validation context (``{"field_map": FieldMap | None}``): without it, names are not
checked.

Pure: no I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from tracker.config.problems import did_you_mean
from tracker.config.settings import WEEKDAYS
from tracker.fields.mapping import FieldMap

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Table(BaseModel):
    """A table of the file: no unknown keys, no conversions between types (a string
    is not a number), surrounding white space ignored."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, str_strip_whitespace=True)


def problem(message: str) -> PydanticCustomError:
    """A validation error whose message the user reads as it is."""
    return PydanticCustomError("tracker", "{problem}", {"problem": message})


def field_map(info: ValidationInfo) -> FieldMap | None:
    """The field mapping of the validation context, if there is one."""
    context = info.context if isinstance(info.context, dict) else {}
    found = context.get("field_map")
    return found if isinstance(found, FieldMap) else None


def one_of(values: Sequence[str], wording: Callable[[str], str]) -> Callable[[str], str]:
    """A check that the value is one of ``values``; ``wording`` says what was expected."""

    def check(value: str) -> str:
        if value not in values:
            raise problem(wording(value))
        return value

    return check


def enum(values: Sequence[str]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(values)})


Positive = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
AtLeastZero = Annotated[int, Field(ge=0)]


# "mon", "Monday", "THU": the first three letters, in any case (JSON Schema's patterns
# have no flag for case)
_WEEKDAY_PATTERN = "^(" + "|".join("".join(f"[{c.upper()}{c}]" for c in d) for d in WEEKDAYS) + ")"


def _weekday(value: str) -> str:
    if value[:3].lower() not in WEEKDAYS:
        raise problem(f'expected a weekday such as "mon", got {value!r}')
    return value


def weekday_number(value: str) -> int:
    """A checked weekday's number (Monday is 0)."""
    return WEEKDAYS.index(value[:3].lower())


Weekday = Annotated[
    str,
    AfterValidator(_weekday),
    WithJsonSchema({"type": "string", "pattern": _WEEKDAY_PATTERN}),
]


def check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise problem(f"expected an http(s) URL, got {value!r}")
    return value


HttpUrl = Annotated[
    str,
    AfterValidator(check_http_url),
    WithJsonSchema({"type": "string", "format": "uri", "pattern": "^https?://"}),
]


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _category(value: str, info: ValidationInfo) -> str:
    fields = field_map(info)
    if fields is not None and not fields.knows(value):
        known = [*fields.category_field, *fields.aliases]
        raise problem(f"unknown arXiv category {value!r}{did_you_mean(value, known)}")
    return value


def _field_name(value: str, info: ValidationInfo) -> str:
    fields = field_map(info)
    if fields is not None and value not in fields.fields:
        raise problem(f"unknown field {value!r}{did_you_mean(value, fields.fields)}")
    return value


def _field_or_group(value: str, info: ValidationInfo) -> str:
    fields = field_map(info)
    if fields is not None:
        known = [*fields.fields, *dict.fromkeys(fields.group_of(f) for f in fields.fields)]
        if value not in known:
            raise problem(f"unknown field or group {value!r}{did_you_mean(value, known)}")
    return value


Category = Annotated[str, AfterValidator(_category)]
FieldName = Annotated[str, AfterValidator(_field_name)]
FieldOrGroup = Annotated[str, AfterValidator(_field_or_group)]
# a value or a list of them: orcid = "0000-..." or orcid = ["0000-...", "0000-..."]
OneOrMany = BeforeValidator(_one_or_many, json_schema_input_type=str | list[str])
