"""The Flask application: built around one ``Tracker`` by ``create_app``.

Wires the views (``auth``, ``pages``, ``library``, ``follows``, ``admin``), CSRF
protection on every POST (Flask-WTF), security headers on every response, the
Jinja2 filters, and error pages. Holds no state of its own beyond the sign-in
throttle; everything else is the facade's.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from flask import Flask, Response, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf

from tracker.app.core import Tracker
from tracker.errors import NotFoundError, SearchQueryError, UsageError
from tracker.web import admin, auth, follows, library, pages
from tracker.web.context import is_admin, ratings_enabled
from tracker.web.filters import FILTERS
from tracker.web.security import HEADERS, LoginThrottle

MAX_FORM_BYTES = 64 * 1024


def create_app(tracker: Tracker, *, secret_key: str) -> Flask:
    web = tracker.settings.web
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME="tracker_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=web.secure_cookies,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=web.session_days),
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as the session it belongs to
        WTF_CSRF_HEADERS=["X-CSRF-Token"],
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.extensions["tracker"] = tracker
    app.extensions["tracker_throttle"] = LoginThrottle(
        web.login_attempts, web.login_window_minutes * 60
    )
    CSRFProtect(app)
    app.jinja_env.autoescape = True  # every template, whatever its name
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    for blueprint in (auth.bp, pages.bp, library.bp, follows.bp, admin.bp):
        app.register_blueprint(blueprint)

    @app.before_request
    def _start() -> Response | None:
        g.started = time.perf_counter()
        auth.load_reader()
        return auth.require_reader()

    weekly_readers = {r.name for r in tracker.settings.readers if r.rhythm == "both"}

    def _weekly(name: str | None) -> bool:
        return name in weekly_readers

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "reader": g.get("reader"),
            "admin": is_admin(),
            "ratings": ratings_enabled(),
            "auth_mode": web.auth,
            "readers_count": len(tracker.settings.readers),
            "weekly_reader": _weekly(g.get("reader")),
            # the site's root, for links built in loops (url_for costs ~50 µs a call)
            "base": request.script_root,
            # the session's CSRF token, once per page rather than once per form
            "csrf": generate_csrf() if g.get("reader") or request.endpoint == "auth.login" else "",
            # where a form on this page sends the browser back to
            "here": request.full_path.rstrip("?") if request.query_string else request.path,
        }

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.endpoint != "static":
            # pages hold a reader's own data: never kept by a shared cache
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers["Vary"] = "Cookie"
        started = g.get("started")
        if started is not None:
            elapsed = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"
        return response

    def _error(status: int, title: str, message: str) -> tuple[str, int]:
        return render_template("error.html", title=title, message=message, page=""), status

    @app.errorhandler(NotFoundError)
    def _not_found(e: NotFoundError) -> tuple[str, int]:
        return _error(404, "Not found", str(e))

    @app.errorhandler(404)
    def _no_page(e: Exception) -> tuple[str, int]:
        return _error(404, "Not found", "There is no such page.")

    @app.errorhandler(UsageError)
    @app.errorhandler(SearchQueryError)
    def _bad_input(e: Exception) -> tuple[str, int]:
        return _error(400, "That did not work", str(e))

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError) -> tuple[str, int]:
        return _error(
            400,
            "Please try again",
            "The form was too old or did not come from this page (CSRF check: "
            f"{e.description}). Reload the page and send it again.",
        )

    @app.errorhandler(403)
    def _forbidden(e: Exception) -> tuple[str, int]:
        message = (
            "Sign in through the proxy in front of this page."
            if web.auth == "proxy" and not g.get("reader")
            else "This page is not yours to see."
        )
        return _error(403, "Not allowed", message)

    @app.errorhandler(413)
    def _too_large(e: Exception) -> tuple[str, int]:
        return _error(413, "Too large", "That form was larger than this page accepts.")

    return app
