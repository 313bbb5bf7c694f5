"""Serving the web page with waitress, and the secret that signs its cookies.

The secret comes from ``TRACKER_WEB_SECRET`` or, without it, from the file
``<data_dir>/web-secret``, made on first start with random bytes and readable by its
owner only; it is never in the config file or the repository. Listening on anything
but a loopback address without authentication is refused before anything starts.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from tracker.config import Settings, exposure_problem, is_loopback
from tracker.errors import ConfigError, UsageError

log = logging.getLogger(__name__)
SECRET_ENV = "TRACKER_WEB_SECRET"
SECRET_FILE = "web-secret"
MIN_SECRET = 32


def load_secret(data_dir: Path, environ: Mapping[str, str]) -> str:
    """The key that signs session cookies and CSRF tokens."""
    given = environ.get(SECRET_ENV, "").strip()
    if given:
        if len(given) < MIN_SECRET:
            raise ConfigError([f"{SECRET_ENV}: expected at least {MIN_SECRET} characters"])
        return given
    path = data_dir / SECRET_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(value + "\n")
    log.info("made a new secret for the web page's cookies path=%s", path)
    return value


def check_exposure(settings: Settings, host: str) -> None:
    problem = exposure_problem(settings.web, host, len(settings.readers))
    if problem:
        raise UsageError(problem)


def serve(settings: Settings, host: str, port: int, environ: Mapping[str, str]) -> None:
    """Run the web page until interrupted."""
    import waitress

    from tracker.app.core import make_tracker
    from tracker.web.app import create_app

    check_exposure(settings, host)
    secret = load_secret(settings.data_dir, environ)
    tracker = make_tracker(settings)
    try:
        if settings.web.auth == "password" and not tracker.readers_with_password():
            log.warning("no reader has a password yet: set one with tracker web passwd NAME")
        if not is_loopback(host) and not settings.web.secure_cookies:
            log.warning(
                "listening on %s: put it behind HTTPS and set [web] secure_cookies = true", host
            )
        app = create_app(tracker, secret_key=secret)
        waitress.serve(
            app,
            host=host,
            port=port,
            threads=settings.web.threads,
            ident="tracker",
            clear_untrusted_proxy_headers=False,
        )
    finally:
        tracker.close()
