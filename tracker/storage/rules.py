"""Readers' mute and must rules: those of the config file (kept in step with it) and
those added with ``tracker mute`` / ``tracker must``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Row, delete, select

from tracker.errors import NotFoundError
from tracker.models import FollowKind, Rule, RuleAction
from tracker.storage import schema
from tracker.storage.base import StorageBase

r = schema.rules


def _rule(row: Row[tuple[object, ...]]) -> Rule:
    m = row._mapping
    follow = (FollowKind(m["follow_kind"]), m["follow_value"]) if m["follow_kind"] else None
    return Rule(
        RuleAction(m["action"]),
        text=m["text"],
        author=m["author"],
        category=m["category"],
        feed=m["feed"],
        follow=follow,
        search=bool(m["in_search"]),
        origin=m["origin"],
        id=m["id"],
    )


def _values(reader: str, rule: Rule, origin: str, now: dt.datetime) -> dict[str, object]:
    return {
        "reader": reader,
        "action": rule.action.value,
        "text": rule.text,
        "author": rule.author,
        "category": rule.category,
        "feed": rule.feed,
        "follow_kind": rule.follow[0].value if rule.follow else None,
        "follow_value": rule.follow[1] if rule.follow else None,
        "in_search": rule.search,
        "origin": origin,
        "created_at": now,
    }


def _same(a: Rule, b: Rule) -> bool:
    keys = ("action", "text", "author", "category", "feed", "follow", "search")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


class RulesMixin(StorageBase):
    def rules(self, reader: str | None = None) -> list[Rule]:
        query = select(r).order_by(r.c.reader, r.c.id)
        if reader is not None:
            query = query.where(r.c.reader == reader)
        with self._read() as conn:
            return [_rule(row) for row in conn.execute(query)]

    def add_rule(self, reader: str, rule: Rule, now: dt.datetime, origin: str = "cli") -> Rule:
        """Store a rule (the same rule twice is one); returns it with its id."""
        with self._write() as conn:
            for row in conn.execute(select(r).where(r.c.reader == reader)):
                if _same(_rule(row), rule):
                    return _rule(row)
            done = conn.execute(r.insert().values(**_values(reader, rule, origin, now)))
            new_id = done.inserted_primary_key[0] if done.inserted_primary_key else None
        found = [x for x in self.rules(reader) if x.id == new_id]
        return found[0]

    def remove_rule(self, reader: str, rule_id: int) -> Rule:
        """Remove one of a reader's rules added with the CLI."""
        with self._write() as conn:
            row = conn.execute(select(r).where(r.c.reader == reader, r.c.id == rule_id)).first()
            if row is None:
                raise NotFoundError(f"{reader} has no rule {rule_id} (see tracker rules)")
            rule = _rule(row)
            if rule.origin == "config":
                raise NotFoundError(f"rule {rule_id} comes from the config file: remove it there")
            conn.execute(delete(r).where(r.c.id == rule_id))
        return rule

    def sync_rules(self, reader: str, rules: Sequence[Rule], now: dt.datetime) -> None:
        """Make the reader's config-origin rules exactly ``rules``."""
        with self._write() as conn:
            rows = conn.execute(select(r).where(r.c.reader == reader, r.c.origin == "config")).all()
            current = [_rule(row) for row in rows]
            stale = [c.id for c in current if not any(_same(c, w) for w in rules)]
            if stale:
                conn.execute(delete(r).where(r.c.id.in_(stale)))
            for wanted in rules:
                if not any(_same(c, wanted) for c in current):
                    conn.execute(r.insert().values(**_values(reader, wanted, "config", now)))

    def forget_rules(self, keep: Sequence[str]) -> None:
        """Drop the rules of readers no longer configured."""
        with self._write() as conn:
            conn.execute(delete(r).where(r.c.reader.not_in(list(keep))))
