"""The web page's security: sign-in, sessions, permissions between readers, CSRF,
hostile fetched content, headers, redirects, the proxy header, the bind rule, and the
pure decisions behind them."""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from tests.support.server import Paper
from tests.support.webapp import (
    HOSTILE_AUTHOR,
    HOSTILE_TITLE,
    PASSWORDS,
    SCHOLAR,
    Installation,
    build,
    csrf_token,
    live_markup,
    sign_in,
    token,
)
from tracker.cli import main
from tracker.config import WebSettings, exposure_problem, is_loopback, load_settings
from tracker.errors import ConfigError
from tracker.models import FollowKind, SearchFilters
from tracker.web.security import (
    HEADERS,
    LoginThrottle,
    client_address,
    local_target,
    networks,
    safe_url,
)
from tracker.web.server import SECRET_ENV, load_secret

PAGES = [
    "/digest",
    "/digest/2024-11-28",
    "/search?q=quantum",
    "/saved",
    "/follows",
    "/scholars",
    f"/scholars/{SCHOLAR}",
    "/item/1",
    "/export/item/1.bib",
    "/saved/export.bib",
    "/saved/export.json",
    "/status",
]


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path, papers: list[Paper]
) -> Iterator[Installation]:
    installation = build(tmp_path_factory.mktemp("websec"), fixtures_dir, papers)
    try:
        yield installation
    finally:
        installation.close()


def client(site: Installation, name: str | None = None) -> FlaskClient:
    c = site.app().test_client()
    if name:
        sign_in(c, name)
    return c


def text(reply: object) -> str:
    return reply.get_data(as_text=True)  # type: ignore[attr-defined,no-any-return]


@contextlib.contextmanager
def web(site: Installation, **changes: object) -> Iterator[None]:
    """The installation with other [web] settings for the length of a test."""
    before = site.tracker.settings
    site.tracker.settings = replace(before, web=replace(before.web, **changes))  # type: ignore[arg-type]
    try:
        yield
    finally:
        site.tracker.settings = before


# --- signing in ------------------------------------------------------------------------------


def test_every_page_needs_a_signed_in_reader(site: Installation) -> None:
    anonymous = client(site)
    for path in PAGES:
        reply = anonymous.get(path)
        assert reply.status_code == 302, path
        assert reply.headers["Location"].startswith("/login?next=")
    for path, method in [("/item/1/save", "post"), ("/follows/add", "post")]:
        assert getattr(anonymous, method)(path).status_code in (302, 400)
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/static/style.css").status_code == 200
    assert anonymous.get("/healthz").status_code == 200


def test_sign_in_goes_back_where_the_reader_was_going(site: Installation) -> None:
    c = client(site)
    page = text(c.get("/login?next=/saved"))
    reply = c.post(
        "/login",
        data={
            "reader": "ada",
            "password": PASSWORDS["ada"],
            "next": "/saved",
            "csrf_token": csrf_token(page),
        },
    )
    assert reply.headers["Location"] == "/saved"
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert c.get("/saved").status_code == 200
    c.post("/logout", data={"csrf_token": token(c)})
    assert c.get("/saved").status_code == 302


def test_wrong_passwords_are_refused_then_throttled(site: Installation) -> None:
    c = client(site)
    page = text(c.get("/login"))
    for _ in range(site.settings.web.login_attempts):
        reply = c.post(
            "/login",
            data={"reader": "bob", "password": "wrong-password", "csrf_token": csrf_token(page)},
        )
        assert reply.status_code == 401
        assert "Wrong reader name or password." in text(reply)
    # now even the right password waits: the guesser cannot tell
    reply = c.post(
        "/login",
        data={"reader": "bob", "password": PASSWORDS["bob"], "csrf_token": csrf_token(page)},
    )
    assert reply.status_code == 429 and int(reply.headers["Retry-After"]) > 0
    # another address is not held back by this one
    other = site.app().test_client()
    other.environ_base["REMOTE_ADDR"] = "127.0.0.2"
    sign_in(other, "bob")
    # nor is another reader from the first address
    sign_in(c, "ada")
    page = text(c.get("/login"))
    assert (
        c.post(
            "/login",
            data={"reader": "nobody", "password": "x" * 12, "csrf_token": csrf_token(page)},
        ).status_code
        == 401
    )


def test_a_new_password_ends_earlier_sign_ins(site: Installation) -> None:
    c = client(site, "bob")
    assert c.get("/saved").status_code == 200
    site.tracker.set_password("bob", "another-password-2")
    try:
        assert c.get("/saved").status_code == 302
        sign_in(c, "bob", "another-password-2")
        assert c.get("/saved").status_code == 200
    finally:
        site.tracker.set_password("bob", PASSWORDS["bob"])


def test_a_forged_session_cookie_is_not_a_sign_in(site: Installation) -> None:
    c = client(site)
    other = site.app()
    other.secret_key = "another secret entirely, at least 32 chars"
    forger = other.test_client()
    sign_in(forger, "ada")
    cookie = forger.get_cookie("tracker_session")
    assert cookie is not None
    c.set_cookie("tracker_session", cookie.value)
    assert c.get("/saved").status_code == 302


def test_passwords_are_stored_as_argon2_hashes(site: Installation) -> None:
    stored = site.tracker.storage.password_hash("ada")
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORDS["ada"] not in stored
    assert site.tracker.check_password("ada", PASSWORDS["ada"])
    assert not site.tracker.check_password("ada", PASSWORDS["bob"])
    assert not site.tracker.check_password("mallory", PASSWORDS["ada"])


def test_passwd_command(site: Installation) -> None:
    runner = CliRunner()
    config = str(site.folder / "tracker.toml")
    try:
        short = runner.invoke(
            main, ["--config", config, "web", "passwd", "bob", "--stdin"], input="short\n"
        )
        assert short.exit_code == 2 and "at least 10 characters" in short.output
        done = runner.invoke(
            main,
            ["--config", config, "web", "passwd", "bob", "--stdin"],
            input="a-new-password-3\n",
        )
        assert done.exit_code == 0, done.output
        assert site.tracker.check_password("bob", "a-new-password-3")
        unknown = runner.invoke(
            main, ["--config", config, "web", "passwd", "eve", "--stdin"], input="x" * 12
        )
        assert unknown.exit_code == 2 and "unknown reader 'eve'" in unknown.output
        removed = runner.invoke(main, ["--config", config, "web", "passwd", "bob", "--remove"])
        assert removed.exit_code == 0 and not site.tracker.check_password("bob", "a-new-password-3")
    finally:
        site.tracker.set_password("bob", PASSWORDS["bob"])


# --- one reader, not another -------------------------------------------------------------


def test_a_reader_cannot_read_or_change_anothers_data(site: Installation) -> None:
    t = site.tracker
    ada, bob = client(site, "ada"), client(site, "bob")
    item = t.search("", SearchFilters(category="cs.DC"))[0].item
    ada.post(f"/item/{item.id}/save", data={"csrf_token": token(ada)})
    assert item.id in {i.id for i in t.saved("ada")}
    # bob sees none of it
    assert f'id="item-{item.id}"' not in text(bob.get("/saved"))
    assert item.arxiv_id not in text(bob.get("/saved/export.bib"))
    assert item.arxiv_id not in text(bob.get("/saved/export.json"))
    # bob's unsave changes only bob's marks
    bob.post(f"/item/{item.id}/save", data={"csrf_token": token(bob), "saved": "0"})
    assert item.id in {i.id for i in t.saved("ada")}
    # there is no way to name another reader: the form field is ignored
    bob.post(
        f"/item/{item.id}/save", data={"csrf_token": token(bob), "reader": "ada", "saved": "0"}
    )
    assert item.id in {i.id for i in t.saved("ada")}
    # ada's follows are not on bob's page, and bob cannot remove them
    assert "cs.AR" not in re.findall(r'class="follow-value">([^<]*)<', text(bob.get("/follows")))
    t.follow("ada", FollowKind.CATEGORY, "cs.PF")
    reply = bob.post(
        "/follows/remove", data={"kind": "category", "value": "cs.PF", "csrf_token": token(bob)}
    )
    assert reply.status_code == 404
    assert any(f.value == "cs.PF" for f in t.follows("ada"))
    # ada's scholars and the status page are not bob's to see
    assert bob.get(f"/scholars/{SCHOLAR}").status_code == 404
    assert (
        bob.post(
            f"/scholars/{SCHOLAR}/reject", data={"item": str(item.id), "csrf_token": token(bob)}
        ).status_code
        == 404
    )
    assert bob.get("/status").status_code == 403
    assert 'href="/status"' not in text(bob.get("/digest"))
    # each sees their own digest only; there is no reader in the address
    assert text(bob.get("/digest")) != text(ada.get("/digest"))


# --- CSRF ----------------------------------------------------------------------------------------


def test_state_changes_without_a_valid_csrf_token_are_refused(site: Installation) -> None:
    t = site.tracker
    ada, bob = client(site, "ada"), client(site, "bob")
    item = t.search("graph", limit=1)[0].item
    forms = [
        (f"/item/{item.id}/save", {}),
        ("/follows/add", {"kind": "category", "value": "math.AG"}),
        ("/follows/remove", {"kind": "scholar", "value": SCHOLAR}),
        (f"/scholars/{SCHOLAR}/reject", {"item": str(item.id)}),
        ("/logout", {}),
    ]
    saved, follows = t.saved("ada"), t.follows("ada")
    for path, data in forms:
        for bad in (None, "forged-token", token(bob)):  # none, made up, another session's
            body = dict(data, **({"csrf_token": bad} if bad else {}))
            reply = ada.post(path, data=body)
            assert reply.status_code == 400, (path, bad)
            assert "CSRF" in text(reply)
    assert t.saved("ada") == saved and t.follows("ada") == follows
    assert ada.get("/saved").status_code == 200  # still signed in: logout was refused too
    # a sign-in from another site's form is refused as well
    assert (
        client(site)
        .post("/login", data={"reader": "ada", "password": PASSWORDS["ada"]})
        .status_code
        == 400
    )


# --- hostile content -------------------------------------------------------------------------


def test_hostile_content_is_never_live_in_any_page(site: Installation) -> None:
    ada = client(site, "ada")
    for item_id in (site.hostile_paper, site.hostile_post):
        ada.post(f"/item/{item_id}/save", data={"csrf_token": token(ada)})
    pages = [
        "/digest",
        "/search?q=alert",
        "/search?q=script",
        f"/search?author={HOSTILE_AUTHOR}",
        f"/item/{site.hostile_paper}",
        f"/item/{site.hostile_post}",
        "/saved",
        "/follows",
        "/status",
        f"/search?q={HOSTILE_TITLE}",
        f"/digest/{HOSTILE_TITLE}",
        "/login?next=javascript:alert(1)",
    ]
    for path in pages:
        html = text(ada.get(path))
        assert live_markup(html) == [], path
    digest = text(ada.get("/digest"))
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in digest
    item = text(ada.get(f"/item/{site.hostile_paper}"))
    assert "&lt;svg onload=&#34;alert(5)&#34;&gt;" in item
    assert "&lt;script&gt;alert(9)&lt;/script&gt;" in item  # the journal reference, as text
    post = text(ada.get(f"/item/{site.hostile_post}"))
    if site.tracker.item(str(site.hostile_post)).url:
        assert "javascript:alert(6)" in post  # named as text, never linked
    # a snippet's marks cannot be used to smuggle markup in
    assert "«&lt;script&gt;alert(4)&lt;/script&gt;»" in item  # «» in text stays text
    # exports are data, never pages
    exported = ada.get("/saved/export.json")
    assert exported.mimetype == "application/json"
    assert exported.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in exported.headers["Content-Disposition"]


# --- headers and redirects --------------------------------------------------------------------


def test_security_headers_on_every_response(site: Installation) -> None:
    ada = client(site, "ada")
    replies = [ada.get(p) for p in [*PAGES, "/static/style.css", "/nowhere", "/login"]]
    replies.append(client(site).get("/digest"))
    for reply in replies:
        for name, value in HEADERS.items():
            assert reply.headers[name] == value
        csp = reply.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert reply.headers["X-Frame-Options"] == "DENY"
    assert ada.get("/digest").headers["Cache-Control"] == "no-store"
    assert re.match(r"app;dur=\d+\.\d", ada.get("/digest").headers["Server-Timing"])
    # no inline script or style anywhere a page could need 'unsafe-inline' for
    for path in PAGES[:8]:
        html = text(ada.get(path))
        assert not re.search(r"<script(?! src=)|<style|\sstyle=", html), path


def test_forms_send_the_browser_back_to_this_site_only(site: Installation) -> None:
    ada = client(site, "ada")
    for target in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
    ]:
        reply = ada.post("/item/1/save", data={"csrf_token": token(ada), "next": target})
        assert reply.headers["Location"].startswith("/saved#item-1"), target
        login = client(site)
        page = text(login.get("/login"))
        reply = login.post(
            "/login",
            data={
                "reader": "ada",
                "password": PASSWORDS["ada"],
                "next": target,
                "csrf_token": csrf_token(page),
            },
        )
        assert reply.headers["Location"] == "/", target


def test_forms_larger_than_the_limit_are_refused(site: Installation) -> None:
    ada = client(site, "ada")
    reply = ada.post("/follows/add", data={"csrf_token": token(ada), "value": "x" * 100_000})
    assert reply.status_code == 413


# --- a trusted proxy, or no sign-in at all ----------------------------------------------------


def test_a_trusted_proxy_names_the_reader(site: Installation) -> None:
    with web(site, auth="proxy", trusted_proxies=("10.0.0.0/8",)):
        app = site.app()
        proxied = app.test_client()
        proxied.environ_base["REMOTE_ADDR"] = "10.1.2.3"
        reply = proxied.get("/saved", headers={"X-Forwarded-User": "bob"})
        assert reply.status_code == 200 and "Sign out" not in text(reply)
        assert proxied.get("/saved", headers={"X-Forwarded-User": "eve"}).status_code == 403
        assert proxied.get("/saved").status_code == 403
        # the same header from anywhere else is not believed
        direct = app.test_client()
        direct.environ_base["REMOTE_ADDR"] = "192.0.2.7"
        reply = direct.get("/saved", headers={"X-Forwarded-User": "ada"})
        assert reply.status_code == 403
        assert "Sign in through the proxy" in text(reply)


def test_without_authentication_the_one_reader_reads(site: Installation) -> None:
    with web(site, auth="none"):
        c = client(site)
        reply = c.get("/saved")
        assert reply.status_code == 200 and "Sign out" not in text(reply)
        assert c.get("/status").status_code == 200  # their own installation
        assert c.get("/login").status_code == 302


def test_without_authentication_only_one_reader_on_loopback(site: Installation) -> None:
    one = WebSettings(auth="none")
    assert exposure_problem(one, "127.0.0.1", 1) is None
    assert exposure_problem(one, "::1", 1) is None
    assert exposure_problem(one, "localhost", 1) is None
    assert "refusing to listen on 0.0.0.0" in (exposure_problem(one, "0.0.0.0", 1) or "")
    assert "refusing" in (exposure_problem(one, "192.168.1.5", 1) or "")
    assert "for one reader" in (exposure_problem(one, "127.0.0.1", 2) or "")
    assert exposure_problem(WebSettings(), "0.0.0.0", 2) is None  # passwords
    assert is_loopback("127.8.9.1") and not is_loopback("example.org")
    # the command refuses before it listens
    config = site.folder / "none.toml"
    config.write_text(
        (site.folder / "tracker.toml").read_text().replace("[web]", '[web]\nauth = "none"'),
        encoding="utf-8",
    )
    reply = CliRunner().invoke(main, ["--config", str(config), "web", "--host", "0.0.0.0"])
    assert reply.exit_code == 2
    assert 'auth = "none" is for one reader' in reply.output or "refusing" in reply.output


def test_config_check_explains_web_mistakes(tmp_path: Path, site: Installation) -> None:
    base = (site.folder / "tracker.toml").read_text()
    bad = base.replace(
        '[web]\nadmins = ["ada"]',
        '[web]\nadmins = ["adda"]\nport = 70000\nauth = "magic"\nproxy_header = "X Forwarded"\n'
        'trusted_proxies = ["not-an-address"]\nsession_days = 0\nsecure_cookies = "yes"\n'
        'hots = "x"',
    )
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(path)
    problems = "\n".join(e.value.problems)
    for fragment in [
        "web.admins: unknown reader 'adda' (did you mean 'ada'?)",
        "web.port: expected a port from 1 to 65535, got 70000",
        "web.auth: expected one of password, proxy, none, got 'magic'",
        "web.proxy_header: expected an HTTP header name",
        "web.trusted_proxies: expected an IP address or network",
        "web.session_days: expected a positive number",
        "web.secure_cookies: expected bool",
        "web.hots: unknown key (did you mean 'host'?)",
    ]:
        assert fragment in problems
    proxy = base.replace('[web]\nadmins = ["ada"]', '[web]\nauth = "proxy"')
    path.write_text(proxy, encoding="utf-8")
    with pytest.raises(ConfigError, match="needs the addresses of the proxies"):
        load_settings(path)
    none = base.replace('[web]\nadmins = ["ada"]', '[web]\nauth = "none"\nhost = "0.0.0.0"')
    path.write_text(none, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"web\.host: refusing to listen on 0\.0\.0\.0"):
        load_settings(path)


# --- the pure parts -----------------------------------------------------------------------------


def test_local_target() -> None:
    assert local_target("/saved?x=1#a") == "/saved?x=1#a"
    for bad in [
        None,
        "",
        "saved",
        "//evil.example",
        "/\\evil",
        "https://evil.example/",
        "/x\nLocation: y",
        "javascript:alert(1)",
    ]:
        assert local_target(bad, "/home") == "/home"


def test_safe_url() -> None:
    assert safe_url("https://arxiv.org/abs/1") == "https://arxiv.org/abs/1"
    assert safe_url(" http://x.example/a ") == "http://x.example/a"
    for bad in [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:x",
        "data:text/html,x",
        "vbscript:x",
        "https:/nohost",
        "//x.example",
        "http://x.example/a b",
        "java\nscript:x",
        None,
        "",
    ]:
        assert safe_url(bad) is None, bad


def test_client_address_behind_trusted_proxies() -> None:
    trusted = networks(["10.0.0.0/8", "127.0.0.1"])
    assert client_address("192.0.2.1", "203.0.113.9", trusted) == "192.0.2.1"
    assert client_address("10.0.0.5", "203.0.113.9", trusted) == "203.0.113.9"
    assert (
        client_address("10.0.0.5", "198.51.100.1, 203.0.113.9, 10.0.0.7", trusted) == "203.0.113.9"
    )
    assert client_address("10.0.0.5", "garbage", trusted) == "garbage"
    assert client_address(None, None, trusted) == "unknown"


def test_login_throttle_window() -> None:
    throttle = LoginThrottle(attempts=3, window=60)
    for n in range(3):
        assert throttle.retry_after("a", "ada", 100 + n) == 0
        throttle.failed("a", "ada", 100 + n)
    assert throttle.retry_after("a", "ada", 103) == pytest.approx(57)
    assert throttle.retry_after("a", "ADA", 103) > 0  # names are not case-sensitive here
    assert throttle.retry_after("b", "ada", 103) == 0
    assert throttle.retry_after("a", "bob", 103) == 0
    assert throttle.retry_after("a", "ada", 161) == 0  # the window moved on
    for n in range(9):  # a sweep over many names from one address
        throttle.failed("c", f"user{n}", 200)
    assert throttle.retry_after("c", "someone-else", 201) > 0


def test_the_cookie_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = load_secret(tmp_path / "data", {})
    path = tmp_path / "data" / "web-secret"
    assert len(first) >= 64 and path.read_text().strip() == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_secret(tmp_path / "data", {}) == first
    given = "e" * 40
    assert load_secret(tmp_path / "other", {SECRET_ENV: given}) == given
    assert not (tmp_path / "other").exists()
    with pytest.raises(ConfigError, match="at least 32"):
        load_secret(tmp_path / "other", {SECRET_ENV: "short"})
