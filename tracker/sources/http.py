"""The HTTP seam: one ``httpx.Client`` passed in, every request through ``Fetcher.get``.

What every fetch gets here: a User-Agent (with the operator's contact address only
for the hosts that ask for one), connect/read timeouts plus an overall
deadline, a cap on the decompressed body (inflated here in bounded pieces, so a gzip
bomb, even a nested one, stops at the cap with little memory spent), redirects
followed by hand (each hop checked: http(s) only, a limit, loops caught), conditional
GET from stored validators, and the arXiv pacing gate for arXiv hosts. httpx errors
are turned into ``FetchError`` subclasses carrying the URL.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import ssl
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import httpx

from tracker.errors import BodyTooLargeError, FetchError, HTTPStatusError, RateLimitedError
from tracker.models import CacheValidators, Response
from tracker.sources.addresses import (
    AddressGuard,
    GuardedTransport,
    RefusedAddress,
    deadline,
    deadline_passed,
)
from tracker.sources.pacing import PacingGate, closed

log = logging.getLogger(__name__)
GateLookup = Callable[[str], PacingGate | None]

_REDIRECTS = (301, 302, 303, 307, 308)
ERROR_BODY_BYTES = 64 * 1024
MAX_GATE_WAIT = 120.0  # longest wait at the pacing gate; beyond it the source backs off
_PIECE = 64 * 1024  # most bytes one decompression step may produce
_CODINGS = {"gzip": 47, "x-gzip": 47, "deflate": zlib.MAX_WBITS}  # zlib wbits (47: gzip/zlib)


def _decoded(response: httpx.Response) -> Iterator[bytes]:
    """The body, decoded in pieces of at most ``_PIECE`` bytes however much it inflates.
    httpx's own decoders inflate each network read whole (64 KB of zeros become 64 MB,
    and "gzip, gzip" multiplies that again) before a cap can look at it."""
    if response.is_stream_consumed:  # read and decoded already (httpx.MockTransport)
        return iter([response.content])
    chunks: Iterator[bytes] = response.iter_raw()
    codings = response.headers.get("Content-Encoding", "").lower().split(",")
    for coding in reversed([c.strip() for c in codings]):
        if coding in _CODINGS:  # others (identity, or a bogus value) pass as httpx does
            chunks = _inflate(chunks, _CODINGS[coding])
    return chunks


def _inflate(chunks: Iterable[bytes], wbits: int) -> Iterator[bytes]:
    inflater = zlib.decompressobj(wbits)
    first = True
    try:
        for data in chunks:
            while True:
                try:
                    piece = inflater.decompress(data, _PIECE)
                except zlib.error:
                    if not (first and wbits == zlib.MAX_WBITS):
                        raise
                    inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some send
                    first = False
                    continue
                first = False
                if piece:
                    yield piece
                data = inflater.unconsumed_tail
                if not data and len(piece) < _PIECE:
                    break
        tail = inflater.flush()
        if tail:
            yield tail
    except zlib.error as e:
        raise httpx.DecodingError(str(e)) from e


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date
    (RFC 9110 section 10.2.3). None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(base: float, attempt: int, rng: random.Random) -> float:
    """Exponential backoff with jitter: ``base`` doubled per attempt, times 0.5 to 1.5."""
    return base * 2.0**attempt * rng.uniform(0.5, 1.5)


def with_retries(
    get: Callable[[], Response],
    *,
    retries: int,
    back_off: Callable[[int, float | None, str], None],
    explain: Callable[[HTTPStatusError], Exception | None],
) -> Response:
    """``get()``, retried up to ``retries`` times on retryable failures; ``back_off``
    (attempt, the server's Retry-After, why) waits or raises, and ``explain`` turns an
    error answer that says what is wrong into the error to raise at once."""
    for attempt in range(retries + 1):
        try:
            return get()
        except HTTPStatusError as e:
            error = explain(e)
            if error is not None:
                raise error from e
            if not e.retryable or attempt == retries:
                raise
            back_off(attempt, e.retry_after, str(e))
        except FetchError as e:
            if not e.retryable or attempt == retries:
                raise
            back_off(attempt, e.retry_after, str(e))
    raise AssertionError("unreachable")


class Fetcher:
    """GETs with caps, deadlines, redirects and pacing; returns ``Response`` records.

    Every request carries ``user_agent``; a request to a host for which ``wants_contact``
    is true (arXiv, OpenAlex: their terms ask for a contact address) carries
    ``contact_user_agent`` instead. Decided on every hop: a redirect away from such a
    host does not take the address along."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        user_agent: str,
        contact_user_agent: str | None = None,
        wants_contact: Callable[[str], bool] = lambda url: False,
        max_body_bytes: int,
        deadline: float,
        max_redirects: int = 5,
        gate_for: GateLookup = lambda url: None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        guard: AddressGuard | None = None,
        max_gate_wait: float = MAX_GATE_WAIT,
    ) -> None:
        self.max_gate_wait = max_gate_wait
        self.guard = guard or AddressGuard()
        self.client = client
        self.user_agent = user_agent
        self.contact_user_agent = contact_user_agent
        self.wants_contact = wants_contact
        self.max_body_bytes = max_body_bytes
        self.deadline = deadline
        self.max_redirects = max_redirects
        self.gate_for = gate_for
        self._clock = clock
        self._now = now

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        validators: CacheValidators | None = None,
        accept: str = "*/*",
    ) -> Response:
        headers = {
            "User-Agent": self.user_agent,
            "Accept": accept,
            "Accept-Encoding": "gzip, deflate",  # what ``_decoded`` inflates in bounded pieces
        }
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        started = self._clock()
        visited: list[str] = []
        current = url
        current_params = params
        for _ in range(self.max_redirects + 1):
            try:
                scheme = urlsplit(current).scheme.lower()
            except ValueError as e:  # e.g. "Invalid IPv6 URL"
                raise FetchError(f"invalid URL: {e}", url=current) from e
            if scheme not in ("http", "https"):
                raise FetchError(f"refusing to fetch a {scheme or 'relative'} URL", url=current)
            headers["User-Agent"] = self._user_agent(current)
            try:
                request = self.client.build_request(
                    "GET", current, params=current_params, headers=headers
                )
            except (httpx.InvalidURL, ValueError) as e:
                raise FetchError(f"invalid URL: {e}", url=current) from e
            full = str(request.url)
            if full in visited:
                raise FetchError("redirect loop", url=full)
            visited.append(full)
            if self.guard.block_private:
                self._check_public(request.url.host, request.url.port or _port(full), full)
            gate = self.gate_for(full)
            if gate is None:
                response = self._send(request, started)
            else:
                response = self._paced(gate, request, started, full)
            if response.status in _REDIRECTS and response.location:
                try:
                    current = urljoin(full, response.location)
                except ValueError as e:
                    raise FetchError(f"invalid redirect location: {e}", url=full) from e
                current_params = None
                continue
            return response.finish(full, self._now())
        raise FetchError(f"more than {self.max_redirects} redirects", url=url)

    def _user_agent(self, url: str) -> str:
        if self.contact_user_agent and self.wants_contact(url):
            return self.contact_user_agent
        return self.user_agent

    def _paced(self, gate: PacingGate, request: httpx.Request, started: float, url: str) -> _Raw:
        """One request through the gate. A long Retry-After closes it: waiting would
        stall the whole cycle, so a request that would wait longer than
        ``max_gate_wait`` (before it is queued, or while it is: a Retry-After can arrive
        meanwhile) fails at once and its source backs off until the gate opens."""
        waiting = gate.wait_left()
        if waiting > self.max_gate_wait:
            raise _with_url(closed(waiting), url)
        try:
            with gate.slot(max_wait=self.max_gate_wait):
                response = self._send(request, started)
                if response.status in (429, 503):
                    retry = parse_retry_after(response.headers_retry_after, self._now())
                    if retry is not None:
                        gate.defer(retry)
                return response
        except RateLimitedError as e:
            if e.url is not None:
                raise
            raise _with_url(e, url) from e

    def _check_public(self, host: str, port: int, url: str) -> None:
        """Refuse hosts that are or resolve to private, loopback, link-local or reserved
        addresses (a deployment where users add feeds must not let them probe the
        internal network), before anything is sent. Checked on every hop, redirects
        included; the transport of ``make_client`` checks again the address it
        connects to (``addresses.py``: a name may resolve differently by then)."""
        try:
            self.guard.addresses(host, port)
        except RefusedAddress as e:
            raise _refused(e, url) from e
        except OSError as e:
            raise FetchError(f"cannot resolve {host}: {e}", url=url) from e

    def _send(self, request: httpx.Request, started: float) -> _Raw:
        # every read and write of the transport ends with the deadline (addresses.py),
        # the status line and headers included
        with deadline(self.deadline - (self._clock() - started)):
            return self._exchange(request, started)

    def _timed_out(self, otherwise: str) -> str:
        if deadline_passed():
            return f"transfer exceeded the {self.deadline:g}s deadline"
        return otherwise

    def _exchange(self, request: httpx.Request, started: float) -> _Raw:
        url = str(request.url)
        try:
            response = self.client.send(request, stream=True, follow_redirects=False)
        except httpx.TimeoutException as e:
            raise FetchError(self._timed_out("timed out"), url=url) from e
        except httpx.HTTPError as e:
            if isinstance(e.__cause__, RefusedAddress):  # checked at connect time
                raise _refused(e.__cause__, url) from e
            raise FetchError(f"connection failed: {type(e).__name__}: {e}", url=url) from e
        except httpx.InvalidURL as e:
            # httpx resolves a redirect's Location even when not following it, and a
            # Location such as "javascript:x" or "mailto:a@b" fails there.
            raise FetchError(f"invalid redirect location: {e}", url=url) from e
        try:
            status = response.status_code
            if status in _REDIRECTS or status == 304:
                return _Raw(status, b"", response.headers)
            if status >= 400:
                # Keep only the start of an error body: enough for an error document.
                head = b""
                for chunk in _decoded(response):
                    head += chunk
                    if len(head) >= ERROR_BODY_BYTES or self._clock() - started > self.deadline:
                        break
                return _Raw(status, head[:ERROR_BODY_BYTES], response.headers)
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > self.max_body_bytes:
                raise BodyTooLargeError(
                    f"body of {int(length)} bytes exceeds the cap of {self.max_body_bytes}",
                    url=url,
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in _decoded(response):
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise BodyTooLargeError(
                        f"body exceeds the cap of {self.max_body_bytes} bytes", url=url
                    )
                if self._clock() - started > self.deadline:
                    raise FetchError(f"transfer exceeded the {self.deadline:g}s deadline", url=url)
                chunks.append(chunk)
            return _Raw(status, b"".join(chunks), response.headers)
        except httpx.TimeoutException as e:
            raise FetchError(self._timed_out("timed out while reading"), url=url) from e
        except httpx.DecodingError as e:
            raise FetchError(f"undecodable body: {e}", url=url) from e
        except httpx.HTTPError as e:
            raise FetchError(f"transfer failed: {type(e).__name__}: {e}", url=url) from e
        finally:
            response.close()


def _refused(error: RefusedAddress, url: str) -> FetchError:
    refused = FetchError(str(error), url=url)
    refused.retryable = False  # the address will not become public by trying again
    return refused


def _port(url: str) -> int:
    return 443 if url.lower().startswith("https:") else 80


def _with_url(error: RateLimitedError, url: str) -> RateLimitedError:
    """The gate's refusal, naming the request it refused."""
    named = RateLimitedError(str(error), url=url)
    named.retry_after = error.retry_after
    return named


class _Raw:
    """A response read within the limits, before status handling."""

    def __init__(self, status: int, body: bytes, headers: httpx.Headers) -> None:
        self.status = status
        self.body = body
        self.headers = headers

    @property
    def location(self) -> str | None:
        value: str | None = self.headers.get("Location")
        return value

    @property
    def headers_retry_after(self) -> str | None:
        value: str | None = self.headers.get("Retry-After")
        return value

    def finish(self, url: str, now: dt.datetime) -> Response:
        if self.status >= 400 or (self.status >= 300 and self.status != 304):
            retry = parse_retry_after(self.headers_retry_after, now)
            raise HTTPStatusError(self.status, url=url, retry_after=retry, body=self.body)
        return Response(
            url=url,
            status=self.status,
            body=self.body,
            content_type=self.headers.get("Content-Type"),
            etag=self.headers.get("ETag"),
            last_modified=self.headers.get("Last-Modified"),
        )


def make_client(
    timeout: float,
    *,
    trust_env: bool = True,
    guard: AddressGuard | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.Client:
    """The production client: timeouts on every phase; connections only to addresses
    that ``guard`` allows, checked as they are made; proxies from the environment
    unless ``trust_env`` is off (tests, which must only ever reach loopback)."""
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=8)
    transport = GuardedTransport(
        guard or AddressGuard(),
        limits=limits,
        ssl_context=ssl_context or httpx.create_ssl_context(trust_env=trust_env),
    )
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        limits=limits,
        follow_redirects=False,
        trust_env=trust_env,
        transport=transport,
    )
