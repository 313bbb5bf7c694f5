"""The calendar rhythm: a weekly digest per reader, beside the daily one (``rhythm =
"both"``) or instead of it (``"weekly"``), on the reader's ``weekly_day`` at their
digest time in their time zone (across daylight-saving changes), built once, never
skipped when the worker was down that day, delivered as a Markdown file and an e-mail
with a Message-ID of its own that a resend keeps (against the recorded arXiv listing
served on 127.0.0.1, a real SMTP server, real SQLite)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import LISTING_MORNING, Clock, write_config
from tests.support.server import FixtureServer
from tests.support.smtp import SmtpServer
from tests.test_rules import paper
from tracker.app.core import Tracker, make_tracker
from tracker.config import load_settings
from tracker.digest.week import weekly_digest
from tracker.errors import ConfigError
from tracker.models import DigestEntry, FollowKind, Reason
from tracker.storage import schema

UTC = dt.UTC


def config(tmp_path: Path, server: FixtureServer, smtp: SmtpServer | None, reader: str) -> Path:
    email = (
        f"""
[email]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from = "tracker <tracker@lab.example.org>"
timeout = 5
retry_minutes = 0.001
"""
        if smtp
        else ""
    )
    readers = f"""
[[readers]]
name = "ada"
{reader}

[readers.follows]
categories = ["cs.DC", "cs.AR"]
"""
    return write_config(tmp_path, server.url, readers=readers, extra=email)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


BOTH = """timezone = "UTC"
digest_time = "07:00"
email = "ada@example.org"
channels = ["markdown", "email"]
rhythm = "both"
weekly_day = "thu"
weekly_picks = 3
"""


def test_both_rhythms_a_weekly_digest_beside_the_daily_one_exactly_once(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    clock = Clock(LISTING_MORNING)  # Thursday 2024-11-28 08:00 UTC
    t = make_tracker(load_settings(config(tmp_path, server, smtp, BOTH)), clock=clock)
    try:
        t.fetch()
        [daily] = t.deliver_due()
        day = LISTING_MORNING.date()
        folder = t.settings.readers[0].output_dir / "ada"
        weekly_md = (folder / f"{day}-weekly.md").read_text(encoding="utf-8")
        assert (folder / f"{day}.md").exists()
        assert "# ada · Week to Thursday 28 November 2024" in weekly_md
        assert "## Top picks of the week" in weekly_md
        assert "weekly: true" in weekly_md.split("---")[1]
        weekly = t.digests.weekly.build("ada", day)
        assert not weekly.created and weekly.digest.weekly
        picks = [e.item.id for s in weekly.digest.sections for e in s.entries]
        assert len(picks) == 3
        assert set(picks) <= {e.item.id for s in daily.digest.sections for e in s.entries}

        ids = smtp.box.by_id()
        assert sorted(ids) == [
            "<digest.ada.2024-11-28@lab.example.org>",
            "<digest.ada.weekly.2024-11-28@lab.example.org>",
        ]
        [mail] = ids["<digest.ada.weekly.2024-11-28@lab.example.org>"]
        assert mail["Subject"] == "Weekly digest for ada, Thu 28 Nov 2024: 3 top picks"
        assert "Weekly digest for ada" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]

        # nothing is built or sent twice
        clock.advance(hours=1)
        assert t.deliver_due() == []
        assert len(smtp.box.messages) == 2
        states = [(d.channel, d.state) for d in t.storage.weekly_deliveries("ada")]
        assert states == [("markdown", "sent"), ("email", "sent")]

        # the server accepted the message and the process died before recording it: the
        # next check sends it again, under the same Message-ID
        with t.storage.engine.begin() as conn:
            conn.execute(
                sa.update(schema.weekly_deliveries)
                .where(schema.weekly_deliveries.c.channel == "email")
                .values(state="pending", sent_at=None)
            )
        t.deliver_due()
        again = smtp.box.by_id()["<digest.ada.weekly.2024-11-28@lab.example.org>"]
        assert (
            len(again) == 2
            and again[0].get_body(("plain",)).get_content()
            == again[1].get_body(("plain",)).get_content()
        )  # type: ignore[union-attr]

        # a week later: only the dailies since this weekly digest
        clock.advance(days=7)
        t.deliver_due()
        later = t.digests.weekly.build("ada", day + dt.timedelta(days=7))
        assert later.digest.weekly
        assert not {e.item.id for s in later.digest.sections for e in s.entries} & set(picks)
    finally:
        t.close()


def test_a_weekly_digest_recorded_before_a_crash_is_delivered_on_restart(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    path = config(tmp_path, server, smtp, BOTH)
    clock = Clock(LISTING_MORNING)
    t = make_tracker(load_settings(path), clock=clock)
    try:
        t.fetch()
        t.digests.build("ada", LISTING_MORNING.date(), deliver=False)
        t.digests.weekly.build("ada", LISTING_MORNING.date())  # recorded, not delivered
        assert [d.state for d in t.storage.weekly_deliveries("ada")] == ["pending", "pending"]
    finally:
        t.close()
    restarted = make_tracker(load_settings(path), clock=clock)
    try:
        restarted.deliver_due()
        assert [d.state for d in restarted.storage.weekly_deliveries("ada")] == ["sent", "sent"]
        assert len(smtp.box.by_id()["<digest.ada.weekly.2024-11-28@lab.example.org>"]) == 1
    finally:
        restarted.close()


def _days_built(t: Tracker, kind: str) -> list[dt.date]:
    if kind == "weekly":
        return [d.day for d in t.storage.weekly_deliveries("ada")]
    return [day for day, _ in reversed(t.storage.digest_days("ada"))]


@pytest.mark.parametrize(
    ("rhythm", "kind"), [("weekly", "daily-table"), ("both", "weekly")], ids=["weekly", "both"]
)
def test_the_weekly_day_in_the_readers_time_zone_across_dst_and_a_missed_day(
    server: FixtureServer, tmp_path: Path, rhythm: str, kind: str
) -> None:
    """Berlin, Sundays at 07:00: 06:00 UTC in winter (from 27 October 2024), 05:00 UTC in
    summer (from 30 March 2025); a Sunday the worker missed is built on Monday, once."""
    reader = f"""timezone = "Europe/Berlin"
digest_time = "07:00"
rhythm = "{rhythm}"
weekly_day = "sunday"
"""
    clock = Clock(dt.datetime(2024, 10, 27, 5, 59, tzinfo=UTC))  # 06:59 CET
    t = make_tracker(load_settings(config(tmp_path, server, None, reader)), clock=clock)
    try:
        t.deliver_due()
        assert dt.date(2024, 10, 27) not in _days_built(t, kind)
        clock.now = dt.datetime(2024, 10, 27, 6, 0, tzinfo=UTC)  # 07:00 CET
        t.deliver_due()
        assert _days_built(t, kind)[-1] == dt.date(2024, 10, 27)
        # every hour of the week after: the next one is the next Sunday
        for _ in range(7 * 24 - 1):
            clock.advance(hours=1)
            t.deliver_due()
        assert dt.date(2024, 11, 3) not in _days_built(t, kind)
        clock.advance(hours=1)  # Sunday 3 November 07:00 CET
        t.deliver_due()
        assert _days_built(t, kind)[-1] == dt.date(2024, 11, 3)

        # the worker is down on Sunday 10 November: Monday's first check builds it, once
        clock.now = dt.datetime(2024, 11, 11, 9, 0, tzinfo=UTC)
        t.deliver_due()
        t.deliver_due()
        # (the first check built the latest Sunday before the first one looked at)
        weekly_days = [d for d in _days_built(t, kind) if d.weekday() == 6]
        assert weekly_days[-3:] == [
            dt.date(2024, 10, 27),
            dt.date(2024, 11, 3),
            dt.date(2024, 11, 10),
        ]
        assert weekly_days[:-3] in ([], [dt.date(2024, 10, 20)])

        # spring: 07:00 CEST is 05:00 UTC
        clock.now = dt.datetime(2025, 3, 30, 4, 59, tzinfo=UTC)
        t.deliver_due()
        assert dt.date(2025, 3, 30) not in _days_built(t, kind)
        clock.now = dt.datetime(2025, 3, 30, 5, 0, tzinfo=UTC)
        t.deliver_due()
        assert _days_built(t, kind)[-1] == dt.date(2025, 3, 30)
        if rhythm == "weekly":  # the only digests are the Sundays'
            assert all(d.weekday() == 6 for d in _days_built(t, kind))
        else:  # daily digests every day beside
            assert len(t.storage.digest_days("ada", 400)) > 7
    finally:
        t.close()


def _entry(ident: int, score: float | None) -> DigestEntry:
    return DigestEntry(
        paper(f"P{ident}", ident=ident), (Reason(FollowKind.CATEGORY, "cs.LG"),), score=score
    )


def test_weekly_picks_by_score_or_by_section_each_item_once() -> None:
    when = dt.datetime(2026, 12, 3, tzinfo=UTC)
    scored = [
        ("field", _entry(1, 0.2)),
        ("top", _entry(2, 0.9)),
        ("revised", _entry(3, 5.0)),  # new versions are not picks
        ("cross-more", _entry(4, 4.0)),
        ("field", _entry(5, 0.5)),
        ("top", _entry(2, 0.9)),  # seen again
    ]
    digest = weekly_digest("ada", when.date(), when, scored, 2)
    assert [e.item.id for e in digest.sections[0].entries] == [2, 5]
    unscored = [
        ("other", _entry(1, None)),
        ("field", _entry(2, None)),
        ("scholars", _entry(3, None)),
    ]
    digest = weekly_digest("ada", when.date(), when, unscored, 5)
    assert [e.item.id for e in digest.sections[0].entries] == [3, 2, 1]
    assert weekly_digest("ada", when.date(), when, [], 5).sections == ()


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        ('rhythm = "monthly"', "readers[0].rhythm: expected one of ['daily', 'weekly', 'both']"),
        ('rhythm = "both"\nweekly_day = "someday"', "readers[0].weekly_day: expected a weekday"),
        ('rhythm = "both"\nweekly_picks = 0', "readers[0].weekly_picks: expected 1 or more"),
        ('rhythm = "weekly"\ndays = "weekdays"', "readers[0].days: a weekly rhythm delivers"),
        ('weekly_day = "fri"', 'weekly_day is used only with rhythm "weekly" or "both"'),
    ],
)
def test_config_check_explains_rhythm_mistakes(
    server: FixtureServer, tmp_path: Path, lines: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config(tmp_path, server, None, lines), environ={})
    assert fragment in str(caught.value)


def test_digest_weekly_and_readers_from_the_command_line(
    server: FixtureServer, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from tracker.cli import main

    path = config(tmp_path, server, None, BOTH.replace('["markdown", "email"]', '["markdown"]'))

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, ["--config", str(path), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("fetch")
    run("digest", "--date", "2024-11-28")  # the daily digest the weekly one is made of
    out = run("digest", "--weekly", "--date", "2024-11-28")
    assert "built the weekly digest of ada for 2024-11-28 (3 items)" in out
    assert "markdown: sent" in out and "2024-11-28-weekly.md" in out
    assert "found the weekly digest of ada for 2024-11-28 (3 items)" in run(
        "digest", "--weekly", "--date", "2024-11-28"
    )
    listed = run("readers")
    assert "next weekly digest Thu" in listed and "2024-11-28 weekly markdown: sent" in listed
    row = json.loads(run("readers", "--json"))[0]
    assert row["rhythm"] == "both" and row["latest_weekly"] == [
        {"day": "2024-11-28", "channel": "markdown", "state": "sent"}
    ]
