"""Reading typed values out of TOML tables, collecting every problem with its key
(no I/O here)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


class _Checker:
    """Reads typed values out of nested tables, collecting every problem."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.origin}: {key}: {message}")

    def table(self, data: Mapping[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        value = data.get(key.rsplit(".", 1)[-1], {})
        if not isinstance(value, dict):
            self.problem(key, f"expected a table, got {_kind(value)}")
            return {}
        self.unknown_keys(value, key, allowed)
        return value

    def unknown_keys(self, table: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        for k in table:
            if k not in allowed:
                hint = _did_you_mean(k, sorted(allowed))
                self.problem(f"{where}.{k}" if where else k, f"unknown key{hint}")

    def get(self, table: Mapping[str, Any], where: str, key: str, kind: type[T], default: T) -> T:
        if key not in table:
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem(f"{where}.{key}", f"expected {kind.__name__}, got {_kind(value)}")
            return default
        return value

    def positive(
        self, table: Mapping[str, Any], where: str, key: str, kind: type[T], default: T
    ) -> T:
        value = self.get(table, where, key, kind, default)
        if isinstance(value, int | float) and value <= 0:
            self.problem(f"{where}.{key}", f"expected a positive number, got {value}")
            return default
        return value

    def str_list(self, table: Mapping[str, Any], where: str, key: str) -> list[str]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(f"{where}.{key}", f"expected a list of strings, got {_kind(value)}")
            return []
        return [v.strip() for v in value]


def did_you_mean(value: str, options: Iterable[str]) -> str:
    """ " (did you mean 'X'?)" for the closest option, ignoring case first."""
    options = list(options)
    by_case = [o for o in options if o.lower() == value.lower()]
    close = by_case or difflib.get_close_matches(value, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


_did_you_mean = did_you_mean


def _kind(value: object) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _url(c: _Checker, where: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        c.problem(where, f"expected an http(s) URL, got {value!r}")
    return value


def environ_flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
