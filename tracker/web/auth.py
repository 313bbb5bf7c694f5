"""Who is reading: sign-in with a password (sessions in signed cookies), a trusted
reverse proxy's header, or nobody to ask (one reader on a loopback address).

A session holds the reader's name and a fingerprint of their password hash, so a new
password ends every earlier sign-in. Failed sign-ins are throttled per address and
reader. Every view but sign-in, the assets and the health check needs a reader.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from tracker.web.context import facade, is_admin, web_settings
from tracker.web.security import LoginThrottle, client_address, is_trusted, local_target, networks

F = TypeVar("F", bound=Callable[..., Any])
bp = Blueprint("auth", __name__)
OPEN_ENDPOINTS = {"auth.login", "static", "auth.health"}


def _throttle() -> LoginThrottle:
    return cast(LoginThrottle, current_app.extensions["tracker_throttle"])


def _client() -> str:
    web = web_settings()
    return client_address(
        request.remote_addr, request.headers.get("X-Forwarded-For"), networks(web.trusted_proxies)
    )


def load_reader() -> None:
    """Before every request: find the reader, or none."""
    g.reader = None
    web = web_settings()
    t = facade()
    if web.auth == "none":
        g.reader = t.settings.readers[0].name
    elif web.auth == "proxy":
        if is_trusted(request.remote_addr, networks(web.trusted_proxies)):
            named = request.headers.get(web.proxy_header, "").strip()
            if any(r.name == named for r in t.settings.readers):
                g.reader = named
    else:
        signed = session.get("reader")
        stamp = session.get("stamp")
        if isinstance(signed, str) and stamp and t.password_stamp(signed) == stamp:
            if any(r.name == signed for r in t.settings.readers):
                g.reader = signed
        elif signed:
            session.clear()  # the password changed or was removed: sign in again


def require_reader() -> Response | None:
    """Views need a reader; the sign-in page, assets and health check do not."""
    if request.endpoint in OPEN_ENDPOINTS or g.reader:
        return None
    if web_settings().auth == "password":
        target = request.full_path if request.query_string else request.path
        return cast(Response, redirect(url_for("auth.login", next=target)))
    abort(403)


def admin_only(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_admin():
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapper)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    web = web_settings()
    target = local_target(request.values.get("next"), url_for("pages.home"))
    if web.auth != "password":
        return redirect(target) if g.reader else abort(403)
    t = facade()
    error = None
    status = 200
    name = request.form.get("reader", "").strip()
    if request.method == "POST":
        password = request.form.get("password", "")
        address = _client()
        wait = _throttle().retry_after(address, name, time.monotonic())
        if wait > 0:
            error = f"Too many failed sign-ins. Try again in {int(wait) // 60 + 1} minutes."
            status = 429
        elif name and password and t.check_password(name, password):
            _throttle().succeeded(address, name)
            session.clear()
            session.permanent = True
            session["reader"] = name
            session["stamp"] = t.password_stamp(name)
            return redirect(target)
        else:
            _throttle().failed(address, name, time.monotonic())
            error = "Wrong reader name or password."
            status = 401
    nobody = not t.readers_with_password()
    response = current_app.make_response(
        (
            render_template(
                "login.html", error=error, name=name, next=target, nobody=nobody, page="login"
            ),
            status,
        )
    )
    if status == 429:
        response.headers["Retry-After"] = str(int(web.login_window_minutes * 60))
    return response


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    session.clear()
    if web_settings().auth == "password":
        return redirect(url_for("auth.login"))
    return redirect(url_for("pages.home"))


@bp.route("/healthz")
def health() -> Any:
    return {"ok": True}
