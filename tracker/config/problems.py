"""Problems of a config file as the user reads them: ``<file>: <key.path>: <problem>``.

Validation errors of the file's tables (``tables``, ``reader_tables``) are turned into
these lines here: unknown keys get "did you mean 'X'?", wrong types "expected int, got
a string", out-of-range numbers "expected a positive number, got -1"; our own
validators' messages pass through unchanged. Which key a message is about, and what
else was allowed there, is read from the models themselves.

Pure: no I/O here.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, Union, get_args, get_origin

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError
    from pydantic_core import ErrorDetails

Loc = tuple[str | int, ...]
M = TypeVar("M", bound="BaseModel")


@dataclass(frozen=True)
class Expected:
    """What a key holds, for a type error's message when "expected int" would not say
    it (Annotated metadata on a model's field: ``Expected("a list of rules")``)."""

    what: str


class Problems:
    """Every problem found in one file, each with its key."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.lines: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.lines.append(f"{self.origin}: {key}: {message}")

    def validate(
        self, model: type[M], value: object, where: Loc, context: dict[str, Any] | None = None
    ) -> M | None:
        """``value`` as a ``model``, its problems recorded. With problems, the model
        from the keys without any (defaults for the others), for the checks across
        tables; None when there is no such model (not a table)."""
        from pydantic import ValidationError

        try:
            return model.model_validate(value, context=context)
        except ValidationError as e:
            self.add_errors(e, model, where)
            error = e
        while isinstance(value, dict):
            bad = {_spelled(model, tuple(d["loc"][:1])) for d in error.errors() if d["loc"]}
            kept = {k: v for k, v in value.items() if (k,) not in bad}
            if len(kept) == len(value):
                return None
            try:
                return model.model_validate(kept, context=context)
            except ValidationError as e:
                value, error = kept, e
        return None

    def add_errors(self, error: ValidationError, model: type[BaseModel], where: Loc) -> None:
        """Every error of validating ``model`` at ``where`` (the key of its table)."""
        for details in error.errors(include_url=False):
            # an optional key's None is never what a file meant (TOML has no null)
            if details["type"] != "none_required":
                self.add(*explain(details, model, where))


def did_you_mean(value: str, options: Iterable[str]) -> str:
    """ " (did you mean 'X'?)" for the closest option, ignoring case first."""
    options = list(options)
    by_case = [o for o in options if o.lower() == value.lower()]
    close = by_case or difflib.get_close_matches(value, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def environ_flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def kind(value: object) -> str:
    """A TOML value's kind in words: "a table", "a string", "int"."""
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def key_of(loc: Loc) -> str:
    """``("readers", 0, "follows")`` → ``readers[0].follows``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


_TYPES = {"int_type": "int", "float_type": "float", "string_type": "str", "bool_type": "bool"}
_TABLE_TYPES = ("model_type", "model_attributes_type", "dict_type")


def explain(details: ErrorDetails, model: type[BaseModel], where: Loc) -> tuple[str, str]:
    """One validation error as (key, message)."""
    loc = _spelled(model, _keys(model, tuple(details["loc"])))
    kind_of, value = details["type"], details.get("input")
    ctx = details.get("ctx") or {}
    found = _resolve(model, loc)
    # an item of a list of strings is named by its list: the message quotes the value
    if loc and isinstance(loc[-1], int) and _scalar_list(_resolve(model, loc[:-1])):
        loc = loc[:-1]
    key = key_of((*where, *loc))
    if kind_of == "tracker":
        return key, details["msg"]
    if kind_of == "extra_forbidden":
        parent = _resolve(model, loc[:-1])
        allowed = _fields(parent[0]) if parent else []
        return key, f"unknown key{did_you_mean(str(loc[-1]), allowed)}"
    expected = next((m.what for m in found[1] if isinstance(m, Expected)), None) if found else None
    if kind_of in _TYPES:
        return key, f"expected {expected or _TYPES[kind_of]}, got {kind(value)}"
    if kind_of in ("list_type", "tuple_type"):
        words = expected or ("a list of strings" if _scalar_list(found) else "a list")
        return key, f"expected {words}, got {kind(value)}"
    if kind_of in _TABLE_TYPES:
        return key, f"expected {expected or 'a table'}, got {kind(value)}"
    if kind_of == "greater_than":
        least = ctx.get("gt")
        bound = "a positive number" if least == 0 else f"more than {least}"
        return key, f"expected {bound}, got {value}"
    if kind_of == "greater_than_equal":
        least = ctx.get("ge")
        return key, f"expected {'0 or more' if least == 0 else f'at least {least}'}, got {value}"
    if kind_of == "less_than_equal":
        return key, f"expected at most {ctx.get('le')}, got {value}"
    if kind_of == "missing":
        return key, "missing: this key is required"
    message = details["msg"]
    return key, message[:1].lower() + message[1:]


# --- reading the models: what is at a key ---------------------------------------------


def _is_model(annotation: object) -> bool:
    from pydantic import BaseModel

    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The type inside Annotated[...] and X | None, with the Annotated metadata."""
    metadata: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            metadata.extend(extra)
        elif origin is Union or origin is types.UnionType:
            members = [a for a in get_args(annotation) if a is not type(None)]
            annotation = next(
                (a for a in members if _is_model(a) or get_origin(a) in (list, tuple)),
                members[0],
            )
        else:
            return annotation, metadata


def _field(model: Any, name: str) -> Any:
    for field_name, info in model.model_fields.items():
        if (info.alias or field_name) == name:
            return info
    return None


def _fields(model: Any) -> list[str]:
    if not _is_model(model):
        return []
    return sorted(info.alias or name for name, info in model.model_fields.items())


def _resolve(model: type[BaseModel], loc: Sequence[str | int]) -> tuple[Any, list[Any]] | None:
    """The type at ``loc`` inside ``model`` and its metadata, or None when unknown."""
    current: Any = model
    metadata: list[Any] = []
    for part in loc:
        current, extra = _unwrap(current)
        if isinstance(part, int):
            if get_origin(current) not in (list, tuple):
                return None
            current, metadata = get_args(current)[0], []
        else:
            info = _field(current, part) if _is_model(current) else None
            if info is None:
                return None
            current, metadata = info.annotation, list(info.metadata)
    current, extra = _unwrap(current)
    return current, [*metadata, *extra]


def _keys(model: type[BaseModel], loc: Loc) -> Loc:
    """``loc`` without the members of a union that pydantic names in it
    (``("port", "constrained-int")`` is the key ``port``)."""
    kept: list[str | int] = []
    for part in loc:
        found = _resolve(model, kept)
        if isinstance(part, str) and found is not None and not _is_model(found[0]):
            continue
        kept.append(part)
    return tuple(kept)


def _spelled(model: type[BaseModel], loc: Loc) -> Loc:
    """``loc`` with each key as the file spells it (``sender`` is ``from``)."""
    spelled: list[str | int] = []
    for n, part in enumerate(loc):
        found = _resolve(model, loc[:n])
        info = None
        if found is not None and isinstance(part, str) and _is_model(found[0]):
            info = _field(found[0], part) or found[0].model_fields.get(part)
        spelled.append(info.alias or part if info is not None else part)
    return tuple(spelled)


def _scalar_list(found: tuple[Any, list[Any]] | None) -> bool:
    """Whether ``found`` is a list of plain values (strings), not of tables."""
    if found is None or get_origin(found[0]) not in (list, tuple):
        return False
    item, _ = _unwrap(get_args(found[0])[0])
    return not _is_model(item)
