"""An installation for the web page's tests: two readers, real fetched data, digests.

A real HTTP server on 127.0.0.1 plays arXiv and a lab feed; one fetch cycle stores the
recorded 2024-11-28 listing and builds both readers' digests. Hostile content (markup,
event handlers, ``javascript:`` links) is stored as a feed post and as a paper, as
fetched data could carry it, and lands in ada's digest.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import LISTING_MORNING, Clock, write_config
from tests.support.server import FixtureServer, Paper
from tracker.app.core import Tracker, make_tracker
from tracker.config import Settings, load_settings
from tracker.fetch.merge import merge, normalise_new
from tracker.models import API, Entry, FollowKind
from tracker.web import create_app
from tracker.worker import run_once

PASSWORDS = {"ada": "ada-password-1", "bob": "bob-password-1"}
SECRET = "s" * 64
SCHOLAR = "Guido Burkard"
HOSTILE_TITLE = '<script>alert("title")</script><img src=x onerror=alert(1)>'
HOSTILE_SUMMARY = (
    'Abstract <b onmouseover="alert(2)">bold</b> <a href="javascript:alert(3)">link</a> '
    "<iframe src=//evil.example></iframe> «<script>alert(4)</script>»"
)
HOSTILE_AUTHOR = '<svg onload="alert(5)">'
HOSTILE_URL = "javascript:alert(6)"
ACTIVE_TAGS = {"script", "img", "iframe", "svg", "object", "embed", "frame", "base", "style"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcset", "xlink:href"}

READERS = f"""
[web]
admins = ["ada"]

[[readers]]
name = "ada"
timezone = "Europe/Berlin"
digest_time = "07:30"
rhythm = "both"
weekly_day = "thu"
weekly_picks = 5

[readers.follows]
categories = ["cs.DC", "cs.AR"]
scholars = ["{SCHOLAR}"]
feeds = [{{ url = "FEED", title = "Example Lab" }}]

[[readers]]
name = "bob"
timezone = "UTC"
digest_time = "07:00"

[readers.follows]
categories = ["quant-ph"]
"""


@dataclass
class Installation:
    folder: Path
    server: FixtureServer
    settings: Settings
    tracker: Tracker
    clock: Clock
    hostile_paper: int  # item id of a paper whose every field is hostile
    hostile_post: int

    def app(self) -> Flask:
        app = create_app(self.tracker, secret_key=SECRET)
        app.config["TESTING"] = True
        return app

    def close(self) -> None:
        self.tracker.close()
        self.server.stop()


def lab_feed(server: FixtureServer) -> str:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Example Lab</title>'
        "<link>https://lab.example.org/</link>"
        "<item><title>Lab retreat</title><link>https://lab.example.org/retreat</link>"
        "<guid>retreat</guid><description>We met in the hills.</description>"
        "<pubDate>Wed, 27 Nov 2024 10:00:00 GMT</pubDate></item>"
        "</channel></rss>"
    )
    return server.add("/lab/feed.xml", body, "application/rss+xml")


def build(
    folder: Path, fixtures_dir: Path, papers: list[Paper], database_url: str | None = None
) -> Installation:
    server = FixtureServer(fixtures_dir, papers).start()
    path = write_config(folder, server.url, readers=READERS.replace("FEED", lab_feed(server)))
    settings = load_settings(
        path, environ={"TRACKER_DATABASE_URL": database_url} if database_url else {}
    )
    clock = Clock(LISTING_MORNING)
    tracker = make_tracker(settings, clock=clock)
    feed = next(f for f in tracker.follows("ada") if f.kind is FollowKind.FEED)
    hostile = [
        Entry(
            key="post:hostile",
            title=HOSTILE_TITLE,
            summary=HOSTILE_SUMMARY,
            authors=(HOSTILE_AUTHOR,),
            url=HOSTILE_URL,
            published=dt.datetime(2024, 11, 27, 9, 0, tzinfo=dt.UTC),
        ),
        Entry(
            key="arxiv:2411.99999",
            title=HOSTILE_TITLE + " paper",
            summary=HOSTILE_SUMMARY,
            authors=(HOSTILE_AUTHOR, "Ada Example"),
            url=HOSTILE_URL,
            pdf_url="javascript:alert(7)",
            arxiv_id="2411.99999",
            version=1,
            doi='10.1000/"><script>alert(8)</script>',
            journal_ref="<script>alert(9)</script>",
            comment='<a href="javascript:alert(10)">code</a>',
            categories=("cs.DC",),
            primary_category="cs.DC",
            quality=API,
        ),
    ]
    report = tracker.storage.ingest(
        [(e, [feed.source_id]) for e in hostile],
        LISTING_MORNING - dt.timedelta(hours=1),
        merge=merge,
        prepare=normalise_new,
        tag=tracker.fields.tag,
    )
    fetched, outcomes = run_once(tracker)
    assert fetched.errors == [] and len(outcomes) == 2
    for name, password in PASSWORDS.items():
        tracker.set_password(name, password)
    post_id, paper_id = report.item_ids
    return Installation(folder, server, settings, tracker, clock, paper_id, post_id)


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client: FlaskClient, name: str, password: str | None = None) -> None:
    page = client.get("/login")
    reply = client.post(
        "/login",
        data={
            "reader": name,
            "password": password or PASSWORDS[name],
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)


def token(client: FlaskClient, path: str = "/saved") -> str:
    """A CSRF token of the signed-in session (from any page with a form)."""
    return csrf_token(client.get(path).get_data(as_text=True))


class _Live(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and (values.get("src") or "").startswith("/static/"):
            pass  # our own script, from this site
        elif tag in ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in URL_ATTRIBUTES and value is not None:
                target = "".join(value.split()).lower()
                if not target.startswith(("/", "#", "http://", "https://", "?")):
                    self.found.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.found.append(f"<{tag} style=...>")


def live_markup(html: str) -> list[str]:
    """Markup in a page that could run or load something: any element or attribute
    beyond our own script, links and forms (a browser's reading of the page)."""
    parser = _Live()
    parser.feed(html)
    parser.close()
    return parser.found
