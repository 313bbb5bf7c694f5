"""A real SMTP server on 127.0.0.1 for the e-mail tests (aiosmtpd).

It keeps every accepted message, can require STARTTLS (or speak implicit TLS) with a
test CA from trustme, can require a login, and can be told how to misbehave on the
next attempts: answer 4xx or 5xx, or drop the connection in the middle of DATA.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the server accepted, and what it should do next."""

    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    faults: deque[str] = field(default_factory=deque)  # "451", "550-rcpt", "drop", "hold"
    attempts: int = 0
    in_data: threading.Event = field(default_factory=threading.Event)
    in_rcpt: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    accepted: threading.Event = field(default_factory=threading.Event)

    def by_id(self) -> dict[str, list[EmailMessage]]:
        found: dict[str, list[EmailMessage]] = {}
        for m in self.messages:
            found.setdefault(str(m["Message-ID"]), []).append(m)
        return found


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.box.faults and self.box.faults[0] == "550-rcpt":
            self.box.faults.popleft()
            return "550 5.1.1 no such user here"
        if self.box.faults and self.box.faults[0] == "hold-rcpt":
            self.box.faults.popleft()
            self.box.in_rcpt.set()
            import asyncio

            while not self.box.release.is_set():
                await asyncio.sleep(0.01)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.box.attempts += 1
        fault = self.box.faults.popleft() if self.box.faults else None
        if fault == "451":
            return "451 4.3.0 try again later"
        if fault == "552":
            return "552 5.3.4 message too big"
        if fault == "drop":
            assert server.transport is not None
            server.transport.abort()  # the connection breaks before the server answers
            return "421 closing"
        data = envelope.original_content or envelope.content
        assert isinstance(data, bytes)
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        if fault == "hold":
            # The server has the whole message and keeps it, but holds back its "250"
            # until the test says so: the client cannot know it was accepted.
            self.box.raw.append(data)
            self.box.messages.append(message)
            self.box.accepted.set()
            self.box.in_data.set()
            import asyncio

            while not self.box.release.is_set():
                await asyncio.sleep(0.01)
            return "250 2.0.0 accepted"
        self.box.raw.append(data)
        self.box.messages.append(message)
        self.box.accepted.set()
        return "250 2.0.0 accepted"


class SmtpServer:
    def __init__(
        self,
        port: int | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.box = Mailbox()
        kwargs: dict[str, Any] = {}
        if tls is not None and not implicit_tls:
            kwargs.update(tls_context=tls, require_starttls=True)
        if login is not None:
            user, password = login

            def check(
                server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
            ) -> AuthResult:
                ok = isinstance(data, LoginPassword) and (
                    data.login.decode(),
                    data.password.decode(),
                ) == (user, password)
                return AuthResult(success=ok, handled=False)

            # with implicit TLS aiosmtpd does not see the session as TLS, so it would
            # hide AUTH if told to require TLS for it (the transport is TLS anyway)
            kwargs.update(
                authenticator=check,
                auth_required=True,
                auth_require_tls=tls is not None and not implicit_tls,
            )
        if implicit_tls:
            kwargs["ssl_context"] = tls
        self.controller = Controller(
            _Handler(self.box), hostname="127.0.0.1", port=self.port, **kwargs
        )

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.box.release.set()
        self.controller.stop()
