"""The tables of what readers get and how: [digest], [email] and [web] (pydantic
models, as ``tables``).

Pure: no I/O here.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema

from tracker.config.settings import DigestSettings, EmailSettings, WebSettings
from tracker.config.values import (
    EMAIL,
    AtLeastZero,
    FieldOrGroup,
    Positive,
    PositiveFloat,
    Table,
    Weekday,
    enum,
    one_of,
    problem,
    weekday_number,
)

SECURITY = ("starttls", "tls", "none")
AUTH_MODES = ("password", "proxy", "none")
_HEADER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


# --- [digest] --------------------------------------------------------------------


class DigestTable(Table):
    """What a digest shows."""

    abstract_sentences: Positive = Field(2, description="Sentences of each abstract shown.")
    abstract_max_chars: Positive = Field(400, description="Characters of each abstract shown.")
    cross_domain_items: AtLeastZero = Field(
        5, description="Cross-domain items with a full entry; the rest get one line each."
    )
    cross_domain_fields: list[FieldOrGroup] = Field(
        default_factory=list,
        description="Fields or groups counted as neighbouring for full entries (empty: all).",
    )
    top_picks: AtLeastZero = Field(
        10,
        description="The items your relevance model likes best, first, each with why "
        "(0: none). A reader's top_picks overrides it.",
    )
    section_items: Positive = Field(
        20, description="Entries shown per section; the rest as a count and the command."
    )
    cross_domain_more: AtLeastZero = Field(
        10, description='Lines of "More from other fields" shown.'
    )
    discover: bool = Field(
        True,
        description="Cross-domain picks from the whole day of arXiv (one listing request a "
        "day); false: only from what follows bring. A reader's discover overrides it.",
    )
    rising_phrases: Positive = Field(
        8, description='Phrases of the weekly "Rising across fields" section.'
    )
    rising_weeks: Positive = Field(
        8, description="Earlier weeks a phrase's share of papers is compared with."
    )
    rising_day: Weekday = Field(
        "mon", description='The weekday whose digest has the rising section ("mon").'
    )

    def settings(self) -> DigestSettings:
        return DigestSettings(
            abstract_sentences=self.abstract_sentences,
            abstract_max_chars=self.abstract_max_chars,
            cross_domain_items=self.cross_domain_items,
            cross_domain_fields=tuple(self.cross_domain_fields),
            top_picks=self.top_picks,
            section_items=self.section_items,
            cross_domain_more=self.cross_domain_more,
            discover=self.discover,
            rising_phrases=self.rising_phrases,
            rising_weeks=self.rising_weeks,
            rising_day=weekday_number(self.rising_day),
        )


# --- [email] -------------------------------------------------------------------------------


def _host(value: str) -> str:
    if not value:
        raise problem("expected the SMTP server's host name")
    return value


def _sender(value: str) -> str:
    if not EMAIL.search(value.split("<")[-1].rstrip(">")):
        raise problem(f"expected a From: address, got {value!r}")
    return value


def _unsubscribe(value: str) -> str:
    if value and not value.startswith(("mailto:", "https://", "http://")):
        raise problem("expected a mailto: or http(s): address")
    return value


def security_wording(value: str) -> str:
    return f'expected "starttls", "tls" or "none", got {value!r}'


class EmailTable(Table):
    """SMTP delivery (needed when a reader has "email" in channels). The password is
    never in the file: it is read from the variable named by password_env."""

    host: Annotated[str, AfterValidator(_host)] = Field(
        "",
        validate_default=True,
        description="The SMTP server (TRACKER_SMTP_HOST overrides it).",
    )
    security: Annotated[str, AfterValidator(one_of(SECURITY, security_wording)), enum(SECURITY)] = (
        Field(
            "starttls",
            description='"starttls", "tls" (implicit TLS, port 465) or "none" (a local relay).',
        )
    )
    port: Positive | SkipJsonSchema[None] = Field(
        None, description="The server's port; default 465 with tls, else 587."
    )
    username: str = Field("", description="The SMTP user name, if the server wants one.")
    password_env: str = Field(
        "TRACKER_SMTP_PASSWORD", description="The environment variable holding the password."
    )
    sender: Annotated[str, AfterValidator(_sender)] = Field(
        "",
        alias="from",
        validate_default=True,
        description='The From: address, e.g. "tracker <tracker@example.org>".',
    )
    timeout: PositiveFloat = Field(30.0, description="Seconds for each step with the server.")
    ca_file: str = Field("", description="Extra CA certificates to trust (a private mail server).")
    unsubscribe: Annotated[str, AfterValidator(_unsubscribe)] = Field(
        "", description="A mailto: or https: address for the List-Unsubscribe header."
    )
    retry_minutes: PositiveFloat = Field(5.0, description="First wait after a failed send.")
    retry_max_hours: PositiveFloat = Field(6.0, description="Longest wait between sends.")

    def settings(self, base_dir: Path) -> EmailSettings:
        return EmailSettings(
            host=self.host,
            sender=self.sender,
            port=self.port or (465 if self.security == "tls" else 587),
            security=self.security,
            username=self.username or None,
            password_env=self.password_env,
            timeout=self.timeout,
            ca_file=base_dir / self.ca_file if self.ca_file else None,
            unsubscribe=self.unsubscribe or None,
            retry_minutes=self.retry_minutes,
            retry_max_hours=self.retry_max_hours,
        )


# --- [web] ---------------------------------------------------------------------------------


def _listen(value: str) -> str:
    if not value:
        raise problem("expected an address to listen on, e.g. 127.0.0.1")
    return value


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise problem(f"expected a port from 1 to 65535, got {value}")
    return value


def _header(value: str) -> str:
    if not _HEADER.match(value):
        raise problem(f"expected an HTTP header name, got {value!r}")
    return value


def _network(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise problem(
            f"expected an IP address or network such as 10.0.0.0/8, got {value!r}"
        ) from None
    return value


class WebTable(Table):
    """``tracker web``: where it listens, who may sign in and how."""

    host: Annotated[str, AfterValidator(_listen)] = Field(
        "127.0.0.1", description="Address to listen on; anything but loopback needs auth."
    )
    port: Annotated[int, AfterValidator(_port)] = Field(
        8080, description="Port to listen on.", json_schema_extra={"minimum": 1, "maximum": 65535}
    )
    auth: Annotated[
        str,
        AfterValidator(
            one_of(AUTH_MODES, lambda v: f"expected one of {', '.join(AUTH_MODES)}, got {v!r}")
        ),
        enum(AUTH_MODES),
    ] = Field(
        "password",
        description='"password", "proxy" (a trusted proxy names the reader) or "none" (one '
        "reader, loopback only).",
    )
    admins: list[str] = Field(default_factory=list, description="Readers who see the status page.")
    proxy_header: Annotated[str, AfterValidator(_header)] = Field(
        "X-Forwarded-User", description='auth = "proxy": the header that names the reader.'
    )
    trusted_proxies: list[Annotated[str, AfterValidator(_network)]] = Field(
        default_factory=list,
        validate_default=True,
        description='auth = "proxy": addresses or networks whose header is believed.',
    )
    session_days: PositiveFloat = Field(14.0, description="Days a sign-in lasts.")
    secure_cookies: bool = Field(False, description="Send the session cookie over HTTPS only.")
    login_attempts: Positive = Field(5, description="Failed sign-ins allowed in the window.")
    login_window_minutes: PositiveFloat = Field(15.0, description="The window, in minutes.")
    threads: Positive = Field(8, description="Requests served at once.")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_for_proxy_auth(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("auth") == "proxy" and not value:
            raise problem(
                'auth = "proxy" needs the addresses of the proxies whose header is believed'
            )
        return value

    def settings(self) -> WebSettings:
        return WebSettings(
            host=self.host,
            port=self.port,
            auth=self.auth,
            admins=tuple(self.admins),
            proxy_header=self.proxy_header,
            trusted_proxies=tuple(self.trusted_proxies),
            session_days=self.session_days,
            secure_cookies=self.secure_cookies,
            login_attempts=self.login_attempts,
            login_window_minutes=self.login_window_minutes,
            threads=self.threads,
        )
