"""The one exception tree of tracker.

Third-party errors are caught at the seam that raised them and re-raised as one of
these with ``raise ... from e``, carrying the URL, source or key involved.
Operational failures (network, bad input, bad config) are wrapped; programming
errors are not.

    TrackerError
    ├── ConfigError              bad configuration (carries every problem found)
    ├── UsageError               bad command-line input (unknown reader, bad date, ...)
    │   └── SearchQueryError     a search query or filter that cannot be turned into a search
    ├── NotFoundError            an item, source, reader or follow that does not exist
    ├── StorageError             the database failed or is in an unexpected state
    ├── DeliveryError            a digest could not be written or sent (retryable or not)
    ├── ModelError               the field model cannot be trained, saved or loaded
    └── SourceError              fetching or parsing one source failed
        ├── FetchError           the transfer failed (dead host, timeout, reset)
        │   ├── HTTPStatusError  a non-success status (carries retry_after when sent)
        │   ├── RateLimitedError our own pacing gate would hold a request too long
        │   └── BodyTooLargeError  the body exceeded the configured size cap
        └── ParseError           the body is not a feed we can read
            └── UpstreamError    the upstream answered with an error document

This module imports nothing of ours.
"""

from __future__ import annotations


class TrackerError(Exception):
    """Root of every error tracker raises on purpose."""


class ConfigError(TrackerError):
    """The configuration is invalid; ``problems`` lists each mistake found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class UsageError(TrackerError):
    """A command was given input it cannot act on."""


class NotFoundError(TrackerError):
    """The thing asked for does not exist."""


class StorageError(TrackerError):
    """The database failed or holds something unexpected."""


class SearchQueryError(UsageError):
    """The search text or a filter cannot be turned into a query."""


class DeliveryError(TrackerError):
    """A digest could not be delivered; ``retryable`` says whether trying again can help
    (a connection refused or a 4xx reply) or not (a 5xx reply: a refused recipient)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        self.retryable = retryable
        super().__init__(message)


class ModelError(TrackerError):
    """The field classifier cannot be trained (too few papers), saved or loaded."""


class SourceError(TrackerError):
    """Fetching or reading one source failed; other sources are unaffected."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(f"{message} ({url})" if url else message)


class FetchError(SourceError):
    """The transfer itself failed: connection refused, timeout, reset, too many redirects."""

    retryable: bool = True
    retry_after: float | None = None  # seconds the server (or our backoff) asks to wait


class HTTPStatusError(FetchError):
    """The server answered with a status we do not accept."""

    def __init__(
        self,
        status: int,
        *,
        url: str | None = None,
        retry_after: float | None = None,
        body: bytes = b"",
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        self.body = body  # the first bytes of the error body, for error documents
        self.retryable = status in (408, 425, 429, 500, 502, 503, 504)
        hint = f", retry after {retry_after:.0f}s" if retry_after is not None else ""
        super().__init__(f"HTTP {status}{hint}", url=url)


class RateLimitedError(FetchError):
    """A request would wait at a pacing gate longer than allowed (a long Retry-After, or
    other requests queued ahead); the source backs off instead of stalling the cycle."""

    retryable = False


class BodyTooLargeError(FetchError):
    """The body (after decompression) exceeded the configured cap."""

    retryable = False


class ParseError(SourceError):
    """The body could not be read as the format expected."""


class UpstreamError(ParseError):
    """The upstream answered with an error document (arXiv API error entry, listing error feed)."""
