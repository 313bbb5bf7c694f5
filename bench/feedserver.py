"""A loopback HTTP server for benchmarks: fixed documents with ETag/304, optional latency."""

from __future__ import annotations

import hashlib
import random
import time

from bench.common import LocalServer, QuietHandler


class FeedServer(LocalServer):
    def __init__(
        self, documents: dict[str, bytes], latency: float = 0.0, latency_max: float | None = None
    ) -> None:
        """Each answer waits ``latency`` seconds, or between ``latency`` and
        ``latency_max`` (uniformly, seeded) when that is given."""
        self.documents = documents
        self.latency = latency
        self.latency_max = latency_max
        self._random = random.Random(20241128)
        self.statuses: list[int] = []
        etags = {p: '"' + hashlib.sha1(b).hexdigest() + '"' for p, b in documents.items()}
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if server.latency_max is not None:
                    time.sleep(server._random.uniform(server.latency, server.latency_max))
                elif server.latency:
                    time.sleep(server.latency)
                body = server.documents.get(self.path)
                if body is None:
                    status, body, headers = 404, b"", {}
                elif self.headers.get("If-None-Match") == etags[self.path]:
                    status, body, headers = 304, b"", {"ETag": etags[self.path]}
                else:
                    status, headers = (
                        200,
                        {"ETag": etags[self.path], "Content-Type": "application/rss+xml"},
                    )
                server.statuses.append(status)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)
