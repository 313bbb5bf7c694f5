"""What every view needs: the facade, the signed-in reader, the web settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from flask import abort, current_app, g

from tracker.app.core import Tracker
from tracker.config import WebSettings
from tracker.models import Item


def of(items: Sequence[Item]) -> dict[int, Sequence[str]]:
    """Items as ``marks`` takes them."""
    return {i.id: i.authors for i in items}


def facade() -> Tracker:
    return cast(Tracker, current_app.extensions["tracker"])


def web_settings() -> WebSettings:
    return facade().settings.web


def reader() -> str:
    """The signed-in reader (views behind ``signed_in`` only)."""
    name = g.get("reader")
    if not name:
        abort(401)
    return cast(str, name)


def is_admin() -> bool:
    name = g.get("reader")
    web = web_settings()
    # with auth = "none" the one reader owns the installation
    return bool(name) and (web.auth == "none" or name in web.admins)


def ratings_enabled() -> bool:
    """Relevance feedback needs the facade's ratings; without them the buttons hide."""
    t = facade()
    return callable(getattr(t, "rate", None)) and callable(getattr(t, "ratings", None))


def marks(authors: Mapping[int, Sequence[str]], saved: set[int] | None = None) -> dict[str, Any]:
    """What a list shows beside each item (id: its authors) for the reader: saved stars
    (unless already known, as from a search), their ratings, and which authors are
    scholars they follow."""
    t = facade()
    name = reader()
    ids = list(authors)
    rated: dict[int, str] = {}
    if ratings_enabled() and ids:
        found = t.ratings(name, ids)  # item id -> +1 or -1
        rated = {item_id: "up" if value > 0 else "down" for item_id, value in found.items()}
    return {
        "saved": t.saved_ids(name, ids) if saved is None else saved,
        "rated": rated,
        "scholars": t.author_scholars(name, authors),
    }
