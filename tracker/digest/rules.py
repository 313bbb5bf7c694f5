"""Mute and must rules: a reader's own filters on what reaches their digest.

A **mute** rule removes the items it matches: by text (the search syntax: words,
``"phrases"``, ``prefix*``, ``OR``, ``-word``, ``title:``/``author:``/``abstract:``), by
author (any spelling of the name), by category (papers listed *in* it: their primary
category is the code or lies in the archive, so muting cs.CV removes computer-vision
papers cross-listed into cs.LG but keeps a cs.LG paper that is cross-listed to cs.CV)
or by feed (what that feed brought, unless a follow of the reader's brought it too).
A **must** rule tames a noisy follow: what that follow brings stays only when it
matches the rule's text; an item that another follow brought as well stays.

Text is compared word by word as the search index compares it (``tracker.words``:
unicode61 splitting, folded, Porter stems); a prefix also matches the unstemmed word.

Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tracker.models import FollowKind, Item, Reason, Rule, RuleAction
from tracker.names import same_person_name
from tracker.storage.search_syntax import And, Node, Not, Or, Phrase, Term, parse_search
from tracker.words import stem, stem_all, tokens

COLUMNS = ("title", "authors", "summary")


@dataclass(frozen=True, slots=True)
class _Doc:
    """An item's words per column: (folded words, stems), each column split and
    stemmed when a rule first looks at it (a day holds thousands of items, and most
    rules look at few of them, or at one column)."""

    item: Item
    columns: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)

    def column(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        found = self.columns.get(name)
        if found is None:
            item = self.item
            if name == "authors":
                text = " ".join(item.authors)
            else:
                text = item.title if name == "title" else item.summary
            words = tuple(tokens(text))
            found = self.columns[name] = (words, tuple(map(stem_all, words)))
        return found


def _has(
    words: tuple[str, ...], stems: tuple[str, ...], wanted: Sequence[str], prefix: bool
) -> bool:
    size = len(wanted)
    targets = [stem(w) for w in wanted]
    # the last word must be there somewhere: a look at the whole column first
    if not prefix and targets[-1] not in stems:
        return False
    start_of = " " + wanted[-1]
    if prefix and start_of not in f" {' '.join(stems)}" and start_of not in f" {' '.join(words)}":
        return False
    for start in range(len(stems) - size + 1):
        if stems[start : start + size - 1] != tuple(targets[:-1]):
            continue
        last = start + size - 1
        if prefix:
            if stems[last].startswith(wanted[-1]) or words[last].startswith(wanted[-1]):
                return True
        elif stems[last] == targets[-1]:
            return True
    return False


def _matches(node: Node, doc: _Doc) -> bool:
    if isinstance(node, Term | Phrase):
        wanted = [w for t in node.words for w in tokens(t)]
        if not wanted:
            return False
        columns = [node.column] if node.column else COLUMNS
        return any(_has(*doc.column(c), wanted, node.prefix) for c in columns)
    if isinstance(node, Not):
        return not _matches(node.child, doc)
    if isinstance(node, And):
        return all(_matches(child, doc) for child in node.children)
    assert isinstance(node, Or)
    return any(_matches(child, doc) for child in node.children)


def check_rule(rule: Rule) -> str | None:
    """What is wrong with a rule (for config check and the CLI), or None."""
    given = [v for v in (rule.text, rule.author, rule.category, rule.feed) if v]
    if rule.action is RuleAction.MUST:
        if rule.follow is None or not rule.text or len(given) != 1:
            return "a must rule needs a follow and a text that its items must match"
    elif len(given) != 1:
        return "a mute rule needs exactly one of text, author, category or feed"
    if rule.text:
        try:
            parse_search(rule.text)
        except Exception as e:  # SearchQueryError: its message says what is wrong
            return f"text {rule.text!r}: {e}"
    return None


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A reader's rules, ready to apply to many items."""

    rules: tuple[Rule, ...]
    _nodes: dict[int, Node] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: Sequence[Rule]) -> RuleSet:
        usable = tuple(r for r in rules if check_rule(r) is None)
        nodes = {n: parse_search(r.text).node for n, r in enumerate(usable) if r.text}
        return cls(usable, nodes)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def _item_matches(self, n: int, rule: Rule, item: Item, doc: _Doc | None) -> bool:
        if rule.text is not None:
            return doc is not None and _matches(self._nodes[n], doc)
        if rule.author is not None:
            return any(same_person_name(rule.author, a) for a in item.authors)
        if rule.category is not None:
            primary = (item.primary_category or (item.categories or ("",))[0]).lower()
            code = rule.category.lower()
            return bool(primary) and (primary == code or primary.startswith(code + "."))
        return False

    def apply(
        self, item: Item, reasons: Sequence[Reason], feed_values: dict[str, str]
    ) -> tuple[list[Reason], Rule | None]:
        """The reasons that remain for an item, and the rule that removed it (None when
        it stays). ``feed_values`` maps a feed reason's value (its title) to its URL."""
        doc = _Doc(item) if self._nodes else None  # split when a text rule looks
        for n, rule in enumerate(self.rules):
            muted = rule.action is RuleAction.MUTE and rule.feed is None
            if muted and self._item_matches(n, rule, item, doc):
                return [], rule
        kept = list(reasons)
        last: Rule | None = None
        for n, rule in enumerate(self.rules):
            if rule.feed is not None:
                narrowed = [
                    r
                    for r in kept
                    if not (r.kind is FollowKind.FEED and feed_values.get(r.value) == rule.feed)
                ]
            elif rule.action is RuleAction.MUST and rule.follow is not None:
                if self._item_matches(n, rule, item, doc):
                    continue
                kind, value = rule.follow
                narrowed = [
                    r
                    for r in kept
                    if not (r.kind is kind and value in (r.value, feed_values.get(r.value)))
                ]
            else:
                continue
            if len(narrowed) < len(kept):
                last = rule
            kept = narrowed
        return kept, (last if not kept and reasons else None)
