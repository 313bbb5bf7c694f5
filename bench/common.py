"""Helpers shared by the benchmarks: settings for a temporary installation, timing."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tracker.config import Settings, settings_from_dict

REPO = Path(__file__).resolve().parents[1]


def settings(
    folder: Path,
    base_url: str = "http://127.0.0.1:9",
    readers: list[dict[str, Any]] | None = None,
    database_url: str | None = None,
    **fetch: Any,
) -> Settings:
    data: dict[str, Any] = {
        "tracker": {
            "data_dir": str(folder / "data"),
            "fields_file": str(REPO / "tracker" / "fields" / "fields.toml"),
            **({"database_url": database_url} if database_url else {}),
        },
        "arxiv": {
            "contact_email": "bench@example.org",
            "api_url": f"{base_url}/api/query",
            "listing_url": f"{base_url}/rss/",
            "oai_url": f"{base_url}/oai2",
            "author_url": f"{base_url}/a/",
            "min_interval": 0.0,
        },
        "fetch": {"use_env_proxy": False, **fetch},
        "readers": readers or [{"name": "bench", "timezone": "UTC", "digest_time": "07:00"}],
    }
    return settings_from_dict(data, origin="bench", base_dir=folder, environ={})


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values)


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no log line per request."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return


class LocalServer:
    """A threaded HTTP server on 127.0.0.1, serving ``handler`` until ``close``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
