"""The web page's exposure rules, shared by the config check and ``tracker web`` (no I/O here).

The rule that keeps a careless setting from exposing the database: without
authentication (``auth = "none"``) the page may only listen on a loopback address, and
then only for a single reader.
"""

from __future__ import annotations

import ipaddress

from tracker.config.settings import WebSettings


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
