"""Which addresses a fetch may connect to, checked where the connection is made.

A deployment where users add feeds must not let them reach the internal network
(``[fetch] block_private_addresses``): private, loopback, link-local, shared, reserved
and multicast addresses are refused. Checking a host name and then letting httpx
resolve it again would leave a gap: a name can answer a public address to the check
and a private one to the connection a moment later (DNS rebinding). So the check is
made in the network backend that httpx's transport connects through:
``GuardedBackend.connect_tcp`` resolves the host once, refuses it when any of its
addresses is not public (blocking on), and connects to an address it checked. TLS
(SNI, certificate) and the Host header still use the name. Every hop of a redirect
connects through the same backend. Through a proxy the proxy connects, and only the
``Fetcher``'s check of the name before the request applies.

The same backend holds every read and write of a fetch to the fetch's deadline
(``deadline``): httpx's timeouts apply per read, so a server that trickles its status
line and headers a byte at a time, each within the read timeout, would otherwise hold
the fetch (and a thread of the cycle) for as long as it liked. Each read and write gets
at most what is left of the deadline, and none starts once it has passed.

The resolver and the address rule are seams (``AddressGuard``), so tests decide what a
name resolves to without any DNS. Only the transport is built here; what a fetch
does with it is ``http.py``'s.
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address of a host name, in the resolver's order (an IP literal is itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    """True for a globally routable unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone: "fe80::1%eth0"
    return ip.is_global and not ip.is_multicast


class RefusedAddress(httpcore.ConnectError):
    """A host resolves to an address that blocking forbids. An httpcore error, so that
    httpcore closes the connection attempt and httpx raises ``ConnectError`` from it."""


@dataclass(frozen=True)
class AddressGuard:
    """How host names become addresses, and which addresses are allowed."""

    block_private: bool = False
    resolve: Resolver = resolve
    allowed: Callable[[str], bool] = is_public

    def addresses(self, host: str, port: int) -> list[str]:
        """The host's addresses (resolved once); raises ``RefusedAddress`` when
        blocking is on and any of them is not allowed, ``OSError`` when the name does
        not resolve."""
        found = self.resolve(host, port)
        if self.block_private:
            for address in found:
                if not self.allowed(address):
                    raise RefusedAddress(
                        f"refusing to fetch {host}: {address.split('%', 1)[0]} "
                        "is not a public address"
                    )
        return found


# When the current fetch must end (time.monotonic()); None outside a fetch. A context
# variable: each thread of a fetch cycle has its own.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "fetch_deadline", default=None
)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Hold every read and write of the connections used inside to ``seconds`` from now."""
    token = _DEADLINE.set(time.monotonic() + max(seconds, 0.0))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def deadline_passed() -> bool:
    """Whether the current fetch's deadline has come (a timeout cut by it, say)."""
    end = _DEADLINE.get()
    return end is not None and time.monotonic() >= end - 0.005


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """A step's timeout, cut to what is left of the current fetch's deadline."""
    end = _DEADLINE.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise error("the fetch's deadline passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes end with the current fetch's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's blocking network backend, connecting only to checked addresses."""

    def __init__(self, guard: AddressGuard) -> None:
        self.guard = guard

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self.guard.addresses(host, port)
        except OSError as e:
            raise httpcore.ConnectError(f"cannot resolve {host}: {e}") from e
        failed: Exception | None = None
        for address in addresses:  # in order, as socket.create_connection tries them
            try:
                stream = super().connect_tcp(
                    address,
                    port,
                    _left(timeout, httpcore.ConnectTimeout),
                    local_address,
                    socket_options,
                )
                return DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                failed = e
        if failed is not None:
            raise failed
        raise httpcore.ConnectError(f"{host} has no address")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool with the guarded backend. httpx's own
    constructor is not called: it builds a pool of its own, and a pool's backend
    cannot be changed afterwards; everything else of the transport uses the pool."""

    def __init__(self, guard: AddressGuard, *, limits: httpx.Limits, ssl_context: ssl.SSLContext):
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard),
        )
