"""Search filters as a user typed them, checked before a search runs: none empty,
categories and fields known to the field mapping (with the closest known value when
not), dates in order. Messages name the command-line option at fault.

Pure: no I/O here (the field mapping is part of the settings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from tracker.config import Settings, did_you_mean
from tracker.digest.rules import RuleSet
from tracker.errors import UsageError
from tracker.models import Rule, RuleAction, SearchFilters, SearchHit


def check_filters(settings: Settings, filters: SearchFilters) -> SearchFilters:
    """The filters, normalised (a category alias to its code, spaces around ">" in a
    field); a UsageError for the first one that cannot be searched."""
    for option, value in (
        ("--author", filters.author),
        ("--field", filters.field),
        ("--category", filters.category),
        ("--source", filters.source),
    ):
        if value is not None and not value.strip():
            raise UsageError(f"{option}: empty; give a value or leave the option out")
    fmap = settings.field_map
    if filters.category:
        code = filters.category.strip()
        if not (fmap.knows(code) or code in fmap.archive_group):
            known = [*fmap.category_field, *fmap.aliases, *fmap.archive_group]
            raise UsageError(
                f"--category: unknown arXiv category or archive {code!r}"
                f"{did_you_mean(code, known)} (see {settings.fields_file})"
            )
        filters = replace(filters, category=fmap.canonical(code))
    if filters.field:
        name = " > ".join(part.strip() for part in filters.field.split(">"))
        groups = dict.fromkeys(
            [*(fmap.group_of(f) for f in fmap.fields), *fmap.archive_group.values()]
        )
        known = [*fmap.fields, *groups, *(f"{g} > Other" for g in groups)]
        if name not in known:
            raise UsageError(
                f"--field: unknown field or group {name!r}{did_you_mean(name, known)} "
                "(tracker fields lists them)"
            )
        filters = replace(filters, field=name)
    if filters.since and filters.until and filters.since > filters.until:
        raise UsageError(f"--since {filters.since} is after --until {filters.until}")
    return filters


def muted_in_search(rules: Sequence[Rule], hits: Sequence[SearchHit]) -> list[SearchHit]:
    """The hits that none of the reader's mute rules marked ``search`` removes (rules by
    text, author and category; a feed rule concerns the digest only)."""
    muting = RuleSet.of([r for r in rules if r.search and r.action is RuleAction.MUTE])
    if not muting:
        return list(hits)
    return [h for h in hits if muting.apply(h.item, (), {})[1] is None]
