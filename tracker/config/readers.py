"""``[[readers]]``: readers, their delivery settings and what they follow (scholars
included), and the ``[email]`` table."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tracker.config.checker import (
    _Checker,
    _did_you_mean,
    _url,
)
from tracker.config.settings import (
    _EMAIL,
    _READER_NAME,
    _TIME,
    ALL_DAYS,
    CHANNELS,
    WEEKDAYS,
    EmailSettings,
    FeedFollow,
    Follows,
    ReaderSettings,
    ScholarFollow,
)
from tracker.digest.rules import check_rule
from tracker.fields.mapping import FieldMap
from tracker.ids import canonical_url
from tracker.models import FollowKind, Rule, RuleAction
from tracker.names import split_name
from tracker.sources import arxiv_query as query


def _readers(
    c: _Checker,
    data: Mapping[str, Any],
    base_dir: Path,
    field_map: FieldMap | None,
    digests_dir: Path | None,
) -> list[ReaderSettings]:
    raw = data.get("readers", [])
    if not isinstance(raw, list) or not raw:
        c.problem("readers", "expected at least one [[readers]] table")
        return []
    readers: list[ReaderSettings] = []
    seen: set[str] = set()
    for i, r in enumerate(raw):
        where = f"readers[{i}]"
        if not isinstance(r, dict):
            c.problem(where, "expected a table")
            continue
        c.unknown_keys(
            r,
            where,
            {
                "name",
                "timezone",
                "digest_time",
                "output_dir",
                "fields",
                "follows",
                "email",
                "channels",
                "days",
                "when_empty",
                "mute",
                "must",
                "top_picks",
                "discover",
                "rising",
            },
        )
        name = c.get(r, where, "name", str, "")
        if not _READER_NAME.match(name):
            c.problem(f"{where}.name", "expected a name of letters, digits, '.', '_' or '-'")
        elif name in seen:
            c.problem(f"{where}.name", f"reader {name!r} is configured twice")
        seen.add(name)
        tz = c.get(r, where, "timezone", str, "UTC")
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            c.problem(f"{where}.timezone", f"unknown time zone {tz!r} (e.g. 'Europe/Berlin')")
            tz = "UTC"
        when = c.get(r, where, "digest_time", str, "07:00")
        m = _TIME.match(when)
        if not m:
            c.problem(f"{where}.digest_time", f"expected HH:MM (24-hour), got {when!r}")
        digest_time = dt.time(int(m.group(1)), int(m.group(2))) if m else dt.time(7)
        fields = c.str_list(r, where, "fields")
        if field_map is not None:
            for f in fields:
                if f not in field_map.fields:
                    hint = _did_you_mean(f, field_map.fields)
                    c.problem(f"{where}.fields", f"unknown field {f!r}{hint}")
        readers.append(
            ReaderSettings(
                name=name,
                timezone=tz,
                digest_time=digest_time,
                output_dir=digests_dir or base_dir / c.get(r, where, "output_dir", str, "digests"),
                follows=_follows(c, r, f"{where}.follows", field_map),
                fields=tuple(fields),
                rules=_rules(c, r, where, field_map),
                **_delivery(c, r, where),
            )
        )
    return readers


_ORCID = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
_OPENALEX_AUTHOR = re.compile(r"^A\d{4,}$")
_ARXIV_AUTHOR = re.compile(r"^[a-z][a-z0-9_]*_\d+$")


def check_scholar(table: Mapping[str, Any], field_map: FieldMap) -> ScholarFollow:
    """A scholar given on the command line, checked like one in the config file."""
    from tracker.errors import UsageError

    c = _Checker("command line")
    scholar = _scholar(c, "scholar", dict(table), field_map)
    if c.problems or scholar is None:
        raise UsageError("; ".join(p.split(": ", 1)[-1] for p in c.problems) or "bad scholar")
    return scholar


def _scholar(
    c: _Checker, where: str, item: object, field_map: FieldMap | None
) -> ScholarFollow | None:
    """A scholar as a name or a table {name, arxiv, orcid, openalex, feeds, ...}."""
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict):
        c.problem(where, "expected a name or a table {name = ..., orcid = ..., ...}")
        return None
    c.unknown_keys(
        item,
        where,
        {"name", "arxiv", "orcid", "openalex", "feeds", "variants", "coauthors", "categories"},
    )
    name = " ".join(c.get(item, where, "name", str, "").split())
    if not split_name(name).surname:
        c.problem(f"{where}.name", f"{name!r} has no surname")
        return None

    def strings(key: str) -> list[str]:
        value = item.get(key, [])
        return [value] if isinstance(value, str) else c.str_list(item, where, key)

    orcid = [o.removeprefix("https://orcid.org/") for o in strings("orcid")]
    openalex = [o.removeprefix("https://openalex.org/") for o in strings("openalex")]
    for o in orcid:
        if not _ORCID.match(o):
            c.problem(f"{where}.orcid", f"expected an ORCID like 0000-0002-1825-0097, got {o!r}")
    for o in openalex:
        if not _OPENALEX_AUTHOR.match(o):
            c.problem(
                f"{where}.openalex", f"expected an OpenAlex author id like A5023888391, got {o!r}"
            )
    for a in strings("arxiv"):
        if not _ARXIV_AUTHOR.match(a):
            c.problem(f"{where}.arxiv", f"expected an arXiv author id like dao_t_1, got {a!r}")
    feeds = [canonical_url(_url(c, f"{where}.feeds", u)) for u in strings("feeds")]
    categories = strings("categories")
    if field_map is not None:
        for code in categories:
            if not field_map.knows(code):
                c.problem(f"{where}.categories", f"unknown arXiv category {code!r}")
    return ScholarFollow(
        name=name,
        arxiv=tuple(strings("arxiv")),
        orcid=tuple(orcid),
        openalex=tuple(openalex),
        feeds=tuple(feeds),
        variants=tuple(" ".join(v.split()) for v in strings("variants")),
        coauthors=tuple(" ".join(v.split()) for v in strings("coauthors")),
        categories=tuple(field_map.canonical(x) for x in categories)
        if field_map
        else tuple(categories),
    )


def _delivery(c: _Checker, r: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A reader's channels, e-mail address, delivery days and empty-day policy."""
    channels = c.str_list(r, where, "channels") if "channels" in r else ["markdown"]
    for ch in channels:
        if ch not in CHANNELS:
            c.problem(f"{where}.channels", f"expected some of {list(CHANNELS)}, got {ch!r}")
    if not channels:
        c.problem(f"{where}.channels", "expected at least one channel")
    email = c.get(r, where, "email", str, "") or None
    if "email" in channels and not (email and _EMAIL.match(email)):
        c.problem(f"{where}.email", f"expected the reader's e-mail address, got {email!r}")
    raw_days = r.get("days", "every day")
    arxiv_days = raw_days == "arxiv"
    if raw_days in ("every day", "daily", "arxiv"):
        days = ALL_DAYS
    elif raw_days == "weekdays":
        days = frozenset(range(5))
    elif (
        isinstance(raw_days, list)
        and all(isinstance(d, str) and d[:3].lower() in WEEKDAYS for d in raw_days)
        and raw_days
    ):
        days = frozenset(WEEKDAYS.index(d[:3].lower()) for d in raw_days)
    else:
        c.problem(
            f"{where}.days",
            'expected "every day", "weekdays", "arxiv" or a list like ["mon", "thu"], '
            f"got {raw_days!r}",
        )
        days = ALL_DAYS
    when_empty = c.get(r, where, "when_empty", str, "note")
    if when_empty not in ("note", "skip"):
        c.problem(f"{where}.when_empty", f'expected "note" or "skip", got {when_empty!r}')
    top_picks = c.get(r, where, "top_picks", int, -1) if "top_picks" in r else None
    if top_picks is not None and top_picks < 0:
        c.problem(f"{where}.top_picks", f"expected 0 or more, got {top_picks}")
        top_picks = None
    return dict(
        email=email,
        channels=tuple(dict.fromkeys(channels)),
        days=days,
        arxiv_days=arxiv_days,
        when_empty=when_empty,
        top_picks=top_picks,
        discover=c.get(r, where, "discover", bool, True) if "discover" in r else None,
        rising=c.get(r, where, "rising", bool, False),
    )


def _email(
    c: _Checker,
    data: Mapping[str, Any],
    base_dir: Path,
    readers: list[ReaderSettings],
    environ: Mapping[str, str],
) -> EmailSettings | None:
    allowed = {
        "host",
        "port",
        "security",
        "username",
        "password_env",
        "from",
        "timeout",
        "ca_file",
        "unsubscribe",
        "retry_minutes",
        "retry_max_hours",
    }
    t = c.table(data, "email", allowed)
    wanted = [r.name for r in readers if "email" in r.channels]
    if not t:
        if wanted:
            c.problem("email", f"readers {wanted} get e-mail, but there is no [email] table")
        return None
    # TRACKER_SMTP_HOST, _PORT, _SECURITY and _USERNAME choose the server without
    # editing the file (docker-compose points them at its mail catcher); without an
    # [email] table they change nothing
    host = environ.get("TRACKER_SMTP_HOST") or c.get(t, "email", "host", str, "")
    sender = c.get(t, "email", "from", str, "")
    if not host:
        c.problem("email.host", "expected the SMTP server's host name")
    if not _EMAIL.search(sender.split("<")[-1].rstrip(">")):
        c.problem("email.from", f"expected a From: address, got {sender!r}")
    security = environ.get("TRACKER_SMTP_SECURITY") or c.get(
        t, "email", "security", str, "starttls"
    )
    if security not in ("starttls", "tls", "none"):
        where = (
            "TRACKER_SMTP_SECURITY" if environ.get("TRACKER_SMTP_SECURITY") else "email.security"
        )
        c.problem(where, f'expected "starttls", "tls" or "none", got {security!r}')
    port = c.positive(t, "email", "port", int, 465 if security == "tls" else 587)
    if environ.get("TRACKER_SMTP_PORT"):
        try:
            port = int(environ["TRACKER_SMTP_PORT"])
        except ValueError:
            port = 0
        if not 0 < port < 65536:
            c.problem(
                "TRACKER_SMTP_PORT",
                f"expected a port number, got {environ['TRACKER_SMTP_PORT']!r}",
            )
    ca_file = c.get(t, "email", "ca_file", str, "")
    if ca_file and not (base_dir / ca_file).is_file():
        c.problem("email.ca_file", f"no such file {base_dir / ca_file}")
    unsubscribe = c.get(t, "email", "unsubscribe", str, "") or None
    if unsubscribe and not unsubscribe.startswith(("mailto:", "https://", "http://")):
        c.problem("email.unsubscribe", "expected a mailto: or http(s): address")
    return EmailSettings(
        host=host,
        sender=sender,
        port=port,
        security=security,
        username=environ.get("TRACKER_SMTP_USERNAME")
        or c.get(t, "email", "username", str, "")
        or None,
        password_env=c.get(t, "email", "password_env", str, "TRACKER_SMTP_PASSWORD"),
        timeout=c.positive(t, "email", "timeout", float, 30.0),
        ca_file=base_dir / ca_file if ca_file else None,
        unsubscribe=unsubscribe,
        retry_minutes=c.positive(t, "email", "retry_minutes", float, 5.0),
        retry_max_hours=c.positive(t, "email", "retry_max_hours", float, 6.0),
    )


def _follows(
    c: _Checker, reader: Mapping[str, Any], where: str, field_map: FieldMap | None
) -> Follows:
    t = c.table(reader, where, {"categories", "queries", "scholars", "feeds"})
    categories: list[str] = []
    for code in c.str_list(t, where, "categories"):
        if field_map is not None and not field_map.knows(code):
            known = list(field_map.category_field) + list(field_map.aliases)
            hint = _did_you_mean(code, known)
            c.problem(f"{where}.categories", f"unknown arXiv category {code!r}{hint}")
            continue
        code = field_map.canonical(code) if field_map else code
        if code not in categories:
            categories.append(code)
    queries: list[str] = []
    for text in c.str_list(t, where, "queries"):
        try:
            queries.append(query.normalise(text))
        except query.QuerySyntaxError as e:
            c.problem(f"{where}.queries", f"{text!r}: {e}")
    scholars: list[ScholarFollow] = []
    raw_scholars = t.get("scholars", [])
    if not isinstance(raw_scholars, list):
        c.problem(f"{where}.scholars", "expected a list of names or scholar tables")
        raw_scholars = []
    for j, item in enumerate(raw_scholars):
        scholar = _scholar(c, f"{where}.scholars[{j}]", item, field_map)
        if scholar is not None:
            scholars.append(scholar)
    feeds: list[FeedFollow] = []
    raw_feeds = t.get("feeds", [])
    if not isinstance(raw_feeds, list):
        c.problem(f"{where}.feeds", "expected a list of URLs or {url = ..., title = ...} tables")
        raw_feeds = []
    for j, item in enumerate(raw_feeds):
        if isinstance(item, str):
            feeds.append(FeedFollow(canonical_url(_url(c, f"{where}.feeds[{j}]", item))))
        elif isinstance(item, dict) and isinstance(item.get("url"), str):
            c.unknown_keys(item, f"{where}.feeds[{j}]", {"url", "title"})
            title = item.get("title")
            feeds.append(
                FeedFollow(
                    canonical_url(_url(c, f"{where}.feeds[{j}].url", item["url"])),
                    title if isinstance(title, str) else None,
                )
            )
        else:
            c.problem(f"{where}.feeds[{j}]", "expected a URL or a table {url = ..., title = ...}")
    return Follows(tuple(categories), tuple(queries), tuple(scholars), tuple(feeds))


def _rules(
    c: _Checker, reader: Mapping[str, Any], where: str, field_map: FieldMap | None
) -> tuple[Rule, ...]:
    """``mute`` (a text in the search syntax, or a table with one of text, author,
    category, feed and optionally search = true) and ``must`` (tables with a follow,
    "<kind> <value>" as ``tracker follow`` takes them, and a text)."""
    rules: list[Rule] = []
    for action in (RuleAction.MUTE, RuleAction.MUST):
        raw = reader.get(action.value, [])
        if not isinstance(raw, list):
            c.problem(f"{where}.{action.value}", "expected a list of rules")
            continue
        for i, item in enumerate(raw):
            at = f"{where}.{action.value}[{i}]"
            rule = _rule(c, at, action, item, field_map)
            if rule is not None:
                rules.append(rule)
    return tuple(rules)


def _rule(
    c: _Checker, at: str, action: RuleAction, item: object, field_map: FieldMap | None
) -> Rule | None:
    if isinstance(item, str) and action is RuleAction.MUTE:
        item = {"text": item}
    if not isinstance(item, dict):
        expected = "a text or a table" if action is RuleAction.MUTE else "a table {follow, text}"
        c.problem(at, f"expected {expected}")
        return None
    allowed = {"text", "author", "category", "feed", "search"}
    c.unknown_keys(item, at, allowed if action is RuleAction.MUTE else {"follow", "text"})
    follow = None
    if action is RuleAction.MUST:
        named = c.get(item, at, "follow", str, "").split(maxsplit=1)
        kinds = [k.value for k in FollowKind]
        if len(named) != 2 or named[0] not in kinds:
            c.problem(f"{at}.follow", f"expected '<kind> <value>' with a kind of {kinds}")
            return None
        follow = (FollowKind(named[0]), named[1].strip())
    rule = Rule(
        action,
        text=c.get(item, at, "text", str, "").strip() or None,
        author=c.get(item, at, "author", str, "").strip() or None,
        category=c.get(item, at, "category", str, "").strip() or None,
        feed=c.get(item, at, "feed", str, "").strip() or None,
        follow=follow,
        search=c.get(item, at, "search", bool, False),
    )
    problem = check_rule(rule)
    if problem:
        c.problem(at, problem)
        return None
    if rule.category and field_map is not None and not field_map.knows_prefix(rule.category):
        c.problem(f"{at}.category", f"unknown arXiv category or archive {rule.category!r}")
        return None
    return rule
