"""E-mail digests against a real SMTP server on 127.0.0.1 (aiosmtpd).

Messages are received and parsed back; both parts are checked item by item. Failures
(connection refused, 4xx, 5xx, a connection dropped in the middle of DATA) lose
nothing, and every retry sends the same Message-ID.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import ssl
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner

from tests.conftest import LISTING_MORNING, Clock, write_config
from tests.support.server import FixtureServer, Paper
from tests.support.smtp import SmtpServer, free_port
from tracker.app.core import Tracker, make_tracker
from tracker.cli import main
from tracker.config import Settings, load_settings
from tracker.worker import run_once

SENDER = "tracker <tracker@lab.example.org>"


def readers(extra: str = "") -> str:
    return f"""
[[readers]]
name = "ada"
timezone = "Europe/Berlin"
digest_time = "07:30"
email = "ada@example.org"
channels = ["markdown", "email"]
{extra}

[readers.follows]
categories = ["cs.DC", "cs.AR"]
"""


def email_table(port: int, security: str = "none", more: str = "") -> str:
    return f"""
[email]
host = "127.0.0.1"
port = {port}
security = "{security}"
from = "{SENDER}"
unsubscribe = "mailto:tracker@lab.example.org?subject=unsubscribe"
retry_minutes = 1
timeout = 5
{more}
"""


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def make(
    server: FixtureServer,
    tmp_path: Path,
    port: int,
    *,
    reader_extra: str = "",
    security: str = "none",
    more: str = "",
    clock: Clock | None = None,
    environ: dict[str, str] | None = None,
) -> tuple[Tracker, Clock]:
    config = write_config(
        tmp_path, server.url, readers=readers(reader_extra), extra=email_table(port, security, more)
    )
    clock = clock or Clock(LISTING_MORNING)
    return make_tracker(load_settings(config), clock=clock, environ=environ or {}), clock


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_the_digest_arrives_with_both_parts_item_by_item(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path, papers: list[Paper]
) -> None:
    t, _ = make(server, tmp_path, smtp.port)
    _, [outcome] = run_once(t)
    [message] = smtp.box.messages
    assert message["To"] == "ada <ada@example.org>"
    assert message["From"] == SENDER
    assert message["Message-ID"] == "<digest.ada.2024-11-28@lab.example.org>"
    assert message["List-Unsubscribe"] == "<mailto:tracker@lab.example.org?subject=unsubscribe>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "en"
    n = outcome.digest.item_count
    assert message["Subject"] == f"Digest for ada, Thu 28 Nov 2024: {n} new"
    text, html = parts(message)
    followed = [p for p in papers if {"cs.DC", "cs.AR"} & set(p.categories)]
    assert n == len(followed)
    for p in followed:
        assert f"arXiv:{p.id}v{p.version}" in text
        assert f"arXiv:{p.id}v{p.version}" in html
        assert f'href="https://arxiv.org/abs/{p.id}"' in html
        assert f"https://arxiv.org/pdf/{p.id}v{p.version}" in text
    # the Markdown file is there too, and both deliveries are recorded as done
    assert outcome.path.is_file()
    assert {(d.channel, d.state) for d in t.storage.deliveries("ada")} == {
        ("markdown", "sent"),
        ("email", "sent"),
    }
    # nothing is sent twice: a second run the same morning does nothing
    run_once(t)
    assert len(smtp.box.messages) == 1
    t.close()


def test_a_reader_whose_language_is_chinese_gets_everything_in_chinese(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    """The subject, both parts and the Markdown file, from the reader's language."""
    t, _ = make(server, tmp_path, smtp.port, reader_extra='language = "zh"')
    _, [outcome] = run_once(t)
    [message] = smtp.box.messages
    n = outcome.digest.item_count
    assert message["Subject"] == f"ada 的学术速递（2024年11月28日周四）：{n} 条新内容"
    assert message["Content-Language"] == "zh-Hans"
    text, html = parts(message)
    assert text.startswith(f"ada 的学术速递 · 2024年11月28日星期四\n{n} 条新内容：")
    assert "入选理由： 分类 cs.DC" in text
    assert '<html lang="zh-Hans">' in html and "<em>入选理由：</em>" in html
    markdown = outcome.path.read_text(encoding="utf-8")
    assert "# ada · 2024年11月28日星期四" in markdown and "*入选理由：* 分类 cs.DC" in markdown
    assert "Why" not in text + html + markdown
    t.close()


def test_refused_connection_then_success_sends_once_with_the_same_message_id(
    server: FixtureServer, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens yet
    t, clock = make(server, tmp_path, port)
    run_once(t)
    [email] = [d for d in t.storage.deliveries("ada") if d.channel == "email"]
    assert email.state == "pending" and email.attempts == 1
    assert "could not send" in (email.last_error or "")
    assert email.next_attempt > clock.now
    smtp = SmtpServer(port).start()
    try:
        t.deliver_due()  # not yet: the retry time has not come
        assert smtp.box.messages == []
        clock.advance(minutes=2)
        t.deliver_due()
        [message] = smtp.box.messages
        assert message["Message-ID"] == "<digest.ada.2024-11-28@lab.example.org>"
        [email] = [d for d in t.storage.deliveries("ada") if d.channel == "email"]
        assert email.state == "sent" and email.attempts == 2
    finally:
        smtp.stop()
        t.close()


@pytest.mark.parametrize("fault", ["451", "drop"])
def test_temporary_failures_are_retried_with_backoff(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path, fault: str
) -> None:
    smtp.box.faults.extend([fault, fault])
    t, clock = make(server, tmp_path, smtp.port)
    run_once(t)
    waits = []
    for _ in range(2):
        [email] = [d for d in t.storage.deliveries("ada") if d.channel == "email"]
        assert email.state == "pending"
        waits.append(email.next_attempt - clock.now)
        clock.now = email.next_attempt
        t.deliver_due()
    assert waits[1] > waits[0]  # backoff doubles
    [message] = smtp.box.messages
    assert smtp.box.attempts == 3
    assert message["Message-ID"] == "<digest.ada.2024-11-28@lab.example.org>"
    t.close()


def test_permanent_failure_is_reported_not_retried(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    smtp.box.faults.append("550-rcpt")
    t, clock = make(server, tmp_path, smtp.port)
    run_once(t)
    [email] = [d for d in t.storage.deliveries("ada") if d.channel == "email"]
    assert email.state == "failed" and "550" in (email.last_error or "")
    clock.advance(hours=5)
    t.deliver_due()
    assert smtp.box.messages == []
    shown = CliRunner().invoke(
        main, ["--config", str(tmp_path / "tracker.toml"), "readers"], catch_exceptions=False
    )
    assert "email: failed" in shown.output and "550" in shown.output
    # the reader can send it again by hand once the problem is fixed
    resent = CliRunner().invoke(
        main,
        ["--config", str(tmp_path / "tracker.toml"), "digest", "--send", "--date", "2024-11-28"],
        catch_exceptions=False,
    )
    assert resent.exit_code == 0, resent.output
    [message] = smtp.box.messages
    assert message["Message-ID"] == "<digest.ada.2024-11-28@lab.example.org>"
    t.close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_login_with_the_password_from_the_environment_only(
    server: FixtureServer,
    tmp_path: Path,
    ca: trustme.CA,
    security: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    secret = "s3cret-Pa55word"
    smtp = SmtpServer(
        tls=_server_tls(ca), implicit_tls=security == "tls", login=("tracker", secret)
    ).start()
    more = 'username = "tracker"\nca_file = "ca.pem"\npassword_env = "SMTP_SECRET"'
    try:
        caplog.set_level(logging.DEBUG)
        t, _ = make(
            server,
            tmp_path,
            smtp.port,
            security=security,
            more=more,
            environ={"SMTP_SECRET": secret},
        )
        run_once(t)
        [message] = smtp.box.messages
        assert message["To"] == "ada <ada@example.org>"
        t.close()
        # a wrong password is a clear, permanent error that does not show the password
        again = tmp_path / "again"
        again.mkdir()
        (again / "ca.pem").write_bytes((tmp_path / "ca.pem").read_bytes())
        t, _ = make(
            server, again, smtp.port, security=security, more=more, environ={"SMTP_SECRET": "wrong"}
        )
        run_once(t)
        [email] = [d for d in t.storage.deliveries("ada") if d.channel == "email"]
        assert email.state == "failed" and "rejected the login" in (email.last_error or "")
        t.close()
    finally:
        smtp.stop()
    assert secret not in caplog.text
    for db in tmp_path.rglob("*.db*"):
        assert secret.encode() not in db.read_bytes()


def test_a_missing_password_variable_is_reported(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    t, _ = make(server, tmp_path, smtp.port, more='username = "tracker"')
    run_once(t)
    [email] = [d for d in t.storage.deliveries("ada") if d.channel == "email"]
    assert email.state == "failed"
    assert "set the environment variable TRACKER_SMTP_PASSWORD" in (email.last_error or "")
    t.close()


@pytest.mark.parametrize(("policy", "mails"), [("note", 2), ("skip", 1)])
def test_days_with_nothing_new(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path, policy: str, mails: int
) -> None:
    t, clock = make(server, tmp_path, smtp.port, reader_extra=f'when_empty = "{policy}"')
    run_once(t)
    clock.advance(days=1)  # Friday: the recorded listing is unchanged, nothing new
    _, [outcome] = run_once(t)
    assert outcome.digest.item_count == 0
    assert len(smtp.box.messages) == mails
    if policy == "note":
        assert smtp.box.messages[1]["Subject"] == "Digest for ada, Fri 29 Nov 2024: nothing new"
        assert "Nothing new since your last digest." in parts(smtp.box.messages[1])[0]
    else:
        assert not outcome.path.exists()
        states = {(d.day.isoformat(), d.channel, d.state) for d in t.storage.deliveries("ada")}
        assert ("2024-11-29", "email", "skipped") in states
    t.close()


def test_weekday_readers_get_the_weekend_on_monday(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    t, clock = make(
        server,
        tmp_path,
        smtp.port,
        reader_extra='days = "weekdays"',
        clock=Clock(dt.datetime(2024, 11, 30, 8, tzinfo=dt.UTC)),
    )  # Saturday
    _, outcomes = run_once(t)
    assert [o.day for o in outcomes] == [dt.date(2024, 11, 29)]  # Friday's, still owed
    clock.advance(days=1)  # Sunday
    assert run_once(t)[1] == []
    clock.advance(days=1)  # Monday
    assert [o.day for o in run_once(t)[1]] == [dt.date(2024, 12, 2)]
    assert len(smtp.box.messages) == 2
    t.close()


def test_preview_writes_html_and_text(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    t, _ = make(server, tmp_path, smtp.port)
    t.fetch()
    paths = t.preview_digest("ada", dt.date(2024, 11, 28), tmp_path / "preview")
    assert [p.suffix for p in paths] == [".html", ".txt"]
    assert paths[0].read_text().startswith("<!DOCTYPE html>")
    assert "Digest for ada, Thursday 28 November 2024" in paths[1].read_text()
    t.close()


def test_readers_command_shows_the_next_delivery(
    server: FixtureServer,
    smtp: SmtpServer,
    tmp_path: Path,
    settings_for: Callable[..., Settings],
) -> None:
    config = write_config(
        tmp_path, server.url, readers=readers('days = ["mon", "thu"]'), extra=email_table(smtp.port)
    )
    result = CliRunner().invoke(main, ["--config", str(config), "readers", "--json"])
    [row] = json.loads(result.output)
    assert row["days"] == ["mon", "thu"] and row["channels"] == ["markdown", "email"]
    assert re.match(r"\d{4}-\d\d-\d\dT", row["next_digest"])
    assert dt.datetime.fromisoformat(row["next_digest"]).weekday() in (0, 3)


UNSAFE_TAGS = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "img",
    "link",
    "form",
    "input",
    "frame",
    "frameset",
    "applet",
    "svg",
    "math",
    "base",
    "audio",
    "video",
    "source",
}


@pytest.mark.corpus
def test_html_digest_is_safe_for_feedparsers_sanitising_cases(
    server: FixtureServer,
    smtp: SmtpServer,
    tmp_path: Path,
    corpus_dir: Path,
    settings_for: Callable[..., Settings],
) -> None:
    """All of feedparser's sanitising cases (scripts, event handlers, javascript: links,
    remote images, CSS expressions ...) followed as feeds: the HTML digest has no
    script, no event handler, no remote resource and only http(s) links."""
    import lxml.html

    from tracker.app.core import follow_spec
    from tracker.models import FollowKind

    cases = sorted(
        (corpus_dir / "feeds-feedparser-tests/feedparser-tests/wellformed/sanitize").glob("*.xml")
    )
    assert len(cases) > 500
    hosts = FixtureServer(corpus_dir, papers=[]).start()
    try:
        t, _ = make(server, tmp_path, smtp.port)
        specs = [
            follow_spec(FollowKind.FEED, f"{hosts.url}/feeds/{c.relative_to(corpus_dir)}")
            for c in cases
        ]
        t.storage.sync_follows("ada", specs, LISTING_MORNING, origin="cli")
        run_once(t)
        t.close()
    finally:
        hosts.stop()
    [message] = smtp.box.messages
    _, html = parts(message)
    # the posts with any text left are there (shown, or counted in a cut section)
    hidden = sum(int(n) for n in re.findall(r"(\d+) more", html))
    assert html.count("<h3") + hidden > 150
    doc = lxml.html.document_fromstring(html)
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag not in UNSAFE_TAGS, el.tag
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (el.tag, name)
            assert name not in ("src", "srcset", "background", "action", "formaction")
            if name == "href":
                assert value.startswith(("https://", "http://")), value
            if name == "style":
                assert "url(" not in value and "expression" not in value
    lowered = html.lower()
    assert "javascript:" not in lowered and "<script" not in lowered


def test_a_send_typed_while_a_worker_leads_is_left_to_the_worker(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    """Only the scheduler leader delivers: `tracker digest --send` typed while a worker
    leads makes the e-mail due and lets the worker send it, so the two never race to
    send the same digest."""
    worker, clock = make(server, tmp_path, smtp.port)
    worker.fetch()
    assert worker.leadership.try_lead()  # the running worker leads the schedule
    try:
        typed = CliRunner().invoke(
            main,
            [
                "--config",
                str(tmp_path / "tracker.toml"),
                "digest",
                "--send",
                "--date",
                "2024-11-28",
            ],
            catch_exceptions=False,
        )
        assert typed.exit_code == 0, typed.output
        assert "email: pending" in typed.output
        assert "a running worker leads the schedule" in typed.output
        assert smtp.box.messages == []  # nothing sent from the command line
        # the worker's next digest check delivers what is due (the command line made it
        # due by the wall clock; the worker's clock is a test clock)
        clock.now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
        worker.digests.deliver()
        [message] = smtp.box.messages
        assert message["Message-ID"] == "<digest.ada.2024-11-28@lab.example.org>"
        assert {(d.channel, d.state) for d in worker.storage.deliveries("ada")} == {
            ("markdown", "sent"),
            ("email", "sent"),
        }
    finally:
        worker.leadership.release()
    # with no worker leading, the command line sends itself (again, same Message-ID)
    again = CliRunner().invoke(
        main,
        ["--config", str(tmp_path / "tracker.toml"), "digest", "--send", "--date", "2024-11-28"],
        catch_exceptions=False,
    )
    assert again.exit_code == 0 and "email: sent" in again.output, again.output
    assert [m["Message-ID"] for m in smtp.box.messages] == [
        "<digest.ada.2024-11-28@lab.example.org>"
    ] * 2
    worker.close()
