"""Security decisions of the web page, kept pure so they can be tested on their own:
the response headers, where a form may send the browser back to, the client's
address behind trusted proxies, and the sign-in throttle.

No I/O and no clock here: times are passed in.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_UNSAFE_CHARACTERS = re.compile(r"[\s\x00-\x1f\x7f]")  # spaces and controls hide a scheme

# Everything is served from this origin: no inline script or style, no frames, no
# plugins, forms post here only. Feed text is escaped, so it can never add markup.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin: links out to arXiv or a blog do not tell them this page's address,
    # while our own form posts keep the Referer that CSRF checks over HTTPS look at
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def local_target(target: str | None, default: str = "/") -> str:
    """A path on this site to go back to after a form; anything else (another host,
    ``//host``, a scheme, backslashes browsers read as slashes) gives ``default``."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def safe_url(url: str | None) -> str | None:
    """A link from fetched data that may be shown as a link: http(s) only, so a
    ``javascript:`` or ``data:`` address from a feed is never clickable."""
    if not url:
        return None
    url = url.strip()
    if _UNSAFE_CHARACTERS.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)


def _in(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def is_trusted(address: str | None, trusted: Sequence[Network]) -> bool:
    return bool(address) and _in(address or "", trusted)


def client_address(
    remote: str | None, forwarded_for: str | None, trusted: Sequence[Network]
) -> str:
    """Who is asking: the peer, or, when the peer is a trusted proxy, the nearest
    address in X-Forwarded-For that is not one of the trusted proxies."""
    peer = remote or "unknown"
    if not forwarded_for or not is_trusted(peer, trusted):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _in(hop, trusted):
            return hop
    return peer


class LoginThrottle:
    """Failed sign-ins per (address, reader) and per address, in a sliding window.

    ``retry_after`` says how many seconds a key must wait (0: it may try). Kept in
    memory: it protects one process; with several web processes each counts its own.
    """

    def __init__(self, attempts: int, window: float) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, address: str, reader: str) -> list[tuple[tuple[str, str], int]]:
        # one reader from one address; and any readers from one address (a sweep)
        return [((address, reader.lower()), self.attempts), ((address, ""), 3 * self.attempts)]

    def retry_after(self, address: str, reader: str, now: float) -> float:
        with self._lock:
            wait = 0.0
            for key, limit in self._keys(address, reader):
                times = self._failures.get(key)
                if not times:
                    continue
                while times and times[0] <= now - self.window:
                    times.popleft()
                if len(times) >= limit:
                    wait = max(wait, times[0] + self.window - now)
            return wait

    def failed(self, address: str, reader: str, now: float) -> None:
        with self._lock:
            for key, _ in self._keys(address, reader):
                self._failures.setdefault(key, deque()).append(now)
            if len(self._failures) > 10_000:  # forget the oldest keys, memory stays bounded
                for key in list(self._failures)[:1000]:
                    del self._failures[key]

    def succeeded(self, address: str, reader: str) -> None:
        with self._lock:
            self._failures.pop((address, reader.lower()), None)
