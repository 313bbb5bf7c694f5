"""``[web]``: the web page's address, how readers sign in, who is an admin (no I/O here).

The rule that keeps a careless setting from exposing the database: without
authentication (``auth = "none"``) the page may only listen on a loopback address, and
then only for a single reader.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tracker.config.checker import _Checker, _did_you_mean
from tracker.config.settings import ReaderSettings, WebSettings

AUTH_MODES = ("password", "proxy", "none")
_HEADER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
KEYS = {
    "host",
    "port",
    "auth",
    "admins",
    "proxy_header",
    "trusted_proxies",
    "session_days",
    "secure_cookies",
    "login_attempts",
    "login_window_minutes",
    "threads",
}


def is_loopback(host: str) -> bool:
    """Whether a listening address is reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def proxy_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An address or a network (``10.0.0.0/8``); raises ValueError otherwise."""
    return ipaddress.ip_network(value.strip(), strict=False)


def exposure_problem(web: WebSettings, host: str, readers: int) -> str | None:
    """Why listening on ``host`` with these settings would be unsafe, if it would."""
    if web.auth == "none":
        if not is_loopback(host):
            return (
                f"refusing to listen on {host} without authentication: set [web] auth = "
                '"password" (tracker web passwd READER) or "proxy", or listen on 127.0.0.1'
            )
        if readers != 1:
            return 'auth = "none" is for one reader; with several, use "password" or "proxy"'
    return None


def _web(c: _Checker, data: Mapping[str, Any], readers: Sequence[ReaderSettings]) -> WebSettings:
    t = c.table(data, "web", KEYS)
    default = WebSettings()
    host = c.get(t, "web", "host", str, default.host).strip()
    if not host:
        c.problem("web.host", "expected an address to listen on, e.g. 127.0.0.1")
        host = default.host
    port = c.get(t, "web", "port", int, default.port)
    if not 1 <= port <= 65535:
        c.problem("web.port", f"expected a port from 1 to 65535, got {port}")
        port = default.port
    auth = c.get(t, "web", "auth", str, default.auth)
    if auth not in AUTH_MODES:
        c.problem("web.auth", f"expected one of {', '.join(AUTH_MODES)}, got {auth!r}")
        auth = default.auth
    names = [r.name for r in readers]
    admins = c.str_list(t, "web", "admins")
    for admin in admins:
        if admin not in names:
            c.problem("web.admins", f"unknown reader {admin!r}{_did_you_mean(admin, names)}")
    header = c.get(t, "web", "proxy_header", str, default.proxy_header)
    if not _HEADER.match(header):
        c.problem("web.proxy_header", f"expected an HTTP header name, got {header!r}")
    proxies = c.str_list(t, "web", "trusted_proxies")
    for proxy in proxies:
        try:
            proxy_network(proxy)
        except ValueError:
            c.problem(
                "web.trusted_proxies",
                f"expected an IP address or network such as 10.0.0.0/8, got {proxy!r}",
            )
    if auth == "proxy" and not proxies:
        c.problem(
            "web.trusted_proxies",
            'auth = "proxy" needs the addresses of the proxies whose header is believed',
        )
    web = WebSettings(
        host=host,
        port=port,
        auth=auth,
        admins=tuple(admins),
        proxy_header=header,
        trusted_proxies=tuple(proxies),
        session_days=c.positive(t, "web", "session_days", float, default.session_days),
        secure_cookies=c.get(t, "web", "secure_cookies", bool, default.secure_cookies),
        login_attempts=c.positive(t, "web", "login_attempts", int, default.login_attempts),
        login_window_minutes=c.positive(
            t, "web", "login_window_minutes", float, default.login_window_minutes
        ),
        threads=c.positive(t, "web", "threads", int, default.threads),
    )
    problem = exposure_problem(web, host, len(readers))
    if problem and "web" in data:
        c.problem("web.auth" if is_loopback(host) else "web.host", problem)
    return web
