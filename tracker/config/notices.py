"""Warnings about valid settings that are probably not what the user meant, for
``tracker config check``: things that work, but not as well as they should.

Problems that make settings unusable are ``ConfigError``s (``load``); these never
stop a command. Pure: no I/O here.
"""

from __future__ import annotations

from tracker.config.settings import Settings

# Domains reserved for documentation and tests (RFC 2606, RFC 6761): mail never arrives.
RESERVED_DOMAINS = frozenset({"example.com", "example.net", "example.org"})
RESERVED_SUFFIXES = (".example", ".invalid", ".test", ".localhost")


def reserved_address(address: str) -> bool:
    """Whether an e-mail address is at a domain that can receive no mail."""
    domain = address.rsplit("@", 1)[-1].strip().lower().rstrip(".")
    return domain in RESERVED_DOMAINS or domain.endswith(
        tuple(f".{d}" for d in RESERVED_DOMAINS) + RESERVED_SUFFIXES
    )


def notices(settings: Settings) -> list[str]:
    """One line per setting that is valid but likely a mistake, with file and key."""
    where = f"{settings.path}: " if settings.path else ""
    found: list[str] = []
    contact = settings.arxiv.contact_email
    if reserved_address(contact):
        found.append(
            f"{where}arxiv.contact_email: {contact!r} is an example address; put your own "
            "(or set TRACKER_ARXIV_CONTACT): arXiv and OpenAlex use it to reach you about "
            "your requests"
        )
    mailto = settings.openalex.mailto
    if mailto != contact and reserved_address(mailto):
        found.append(f"{where}openalex.mailto: {mailto!r} is an example address; put your own")
    return found
