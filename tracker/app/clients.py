"""The outside world's clients for one installation: the HTTP client and its address
guard, the fetchers (feeds and API pages; OAI-PMH pages with a larger cap and deadline),
the arXiv pacing gate shared by every worker, OpenAlex's own gate, and the arXiv and
OAI-PMH clients over them.

Part of the composition root (``make_tracker`` in ``app/core.py``): wiring only, no
decisions beyond which gate and User-Agent an address gets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from tracker import USER_AGENT
from tracker.config import Settings, origin
from tracker.sources.addresses import AddressGuard
from tracker.sources.arxiv import ArxivClient
from tracker.sources.http import MAX_GATE_WAIT, Fetcher, make_client
from tracker.sources.oai import OAI_DEADLINE, OAI_GATE_WAIT, OAI_MAX_BODY, OaiClient
from tracker.sources.pacing import PacingGate
from tracker.sources.shared_pacing import SharedPacingGate
from tracker.storage import Storage


@dataclass(frozen=True, slots=True)
class Clients:
    fetcher: Fetcher
    arxiv: ArxivClient
    oai: OaiClient
    closers: list[Callable[[], None]]  # what closing the installation must close


def connect(
    settings: Settings,
    storage: Storage,
    *,
    client: httpx.Client | None,
    clock: Callable[[], dt.datetime],
    gate: PacingGate | None,
) -> Clients:
    """The clients of one installation (tests hand in their own client and gate)."""
    owned_client = client is None
    guard = AddressGuard(block_private=settings.fetch.block_private_addresses)
    http = client or make_client(
        settings.fetch.timeout, trust_env=settings.fetch.use_env_proxy, guard=guard
    )
    closers = [http.close] if owned_client else []
    if gate is None:
        # arXiv's pacing holds across every worker of the installation (shared_pacing.py)
        holder = storage.named_lock("arxiv")
        gate = SharedPacingGate(storage, holder, settings.arxiv.min_interval)
        closers.append(holder.close)
    endpoints = settings.arxiv.origins
    openalex_gate = PacingGate(settings.openalex.min_interval)
    openalex_origin = origin(settings.openalex.url)

    def gate_for(url: str) -> PacingGate | None:
        """arXiv's hosts, and the configured endpoints (a mirror, a test server), share
        the arXiv gate; OpenAlex has its own; a feed served elsewhere has none."""
        where = origin(url)
        host = where[0]
        if where in endpoints or host == "arxiv.org" or host.endswith(".arxiv.org"):
            return gate
        return openalex_gate if where == openalex_origin else None

    def wants_contact(url: str) -> bool:
        """arXiv asks for a contact address in the User-Agent, OpenAlex for one to
        enter its polite pool; other hosts are not given the operator's address."""
        return gate_for(url) is not None

    def fetcher_with(
        max_body_bytes: int, deadline: float, max_gate_wait: float = MAX_GATE_WAIT
    ) -> Fetcher:
        return Fetcher(
            http,
            user_agent=USER_AGENT,
            contact_user_agent=settings.arxiv.user_agent,
            wants_contact=wants_contact,
            max_body_bytes=max_body_bytes,
            deadline=deadline,
            max_redirects=settings.fetch.max_redirects,
            gate_for=gate_for,
            now=clock,
            guard=guard,
            max_gate_wait=max_gate_wait,
        )

    fetcher = fetcher_with(settings.fetch.max_body_bytes, settings.fetch.deadline)
    arxiv = ArxivClient(
        fetcher,
        gate,
        api_url=settings.arxiv.api_url,
        listing_url=settings.arxiv.listing_url,
        page_size=settings.arxiv.page_size,
        max_pages=settings.arxiv.max_pages,
        base_backoff=max(settings.arxiv.min_interval, 0.01),
    )
    # OAI-PMH pages run to tens of MB: the same seam and gate, a larger cap and deadline.
    oai_fetcher = fetcher_with(
        max(settings.fetch.max_body_bytes, OAI_MAX_BODY),
        max(settings.fetch.deadline, OAI_DEADLINE),
        OAI_GATE_WAIT,  # a harvest has nothing else to do: it waits its turn longer
    )
    oai = OaiClient(
        oai_fetcher,
        gate,
        url=settings.arxiv.oai_url,
        base_backoff=max(settings.arxiv.min_interval, 0.01),
    )
    return Clients(fetcher, arxiv, oai, closers)
