"""What a reader follows (categories, searches, feeds, scholars) and the scholars'
pages: their ids, the papers attributed to them, and rejecting a wrong one.

A reader sees and changes only their own follows. Follows written in the config file
are shown as such: removed here they would come back at the next start.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for

from tracker.config import ScholarFollow, check_scholar
from tracker.errors import NotFoundError, SourceError, UsageError
from tracker.models import FollowKind
from tracker.web.context import facade, marks, of, reader

bp = Blueprint("follows", __name__)
SCHOLAR_LISTS = ("arxiv", "orcid", "openalex", "feeds", "variants", "coauthors", "categories")


def _page(message: str | None = None, error: str | None = None, status: int = 200) -> Any:
    t = facade()
    name = reader()
    summaries = t.follow_summaries(name)  # each follow once, a scholar with all sources
    grouped = {kind: [f for f in summaries if f.kind is kind] for kind in FollowKind}
    categories = sorted(t.settings.field_map.category_field)
    return render_template(
        "follows.html",
        page="follows",
        grouped=grouped,
        kinds=list(FollowKind),
        categories=categories,
        message=message or request.args.get("done"),
        error=error,
        form=request.form,
    ), status


@bp.route("/follows")
def follows() -> Any:
    return _page()


def _lines(value: str) -> list[str]:
    return [v.strip() for v in value.replace(",", "\n").splitlines() if v.strip()]


def _scholar_from_form() -> ScholarFollow:
    table: dict[str, Any] = {"name": request.form.get("value", "")}
    for key in SCHOLAR_LISTS:
        values = _lines(request.form.get(key, ""))
        if values:
            table[key] = values
    return check_scholar(table, facade().settings.field_map)


@bp.route("/follows/add", methods=["POST"])
def add() -> Any:
    t = facade()
    name = reader()
    try:
        kind = FollowKind(request.form.get("kind", ""))
    except ValueError:
        abort(400)
    value = request.form.get("value", "").strip()
    try:
        if not value:
            raise UsageError(f"say which {kind.value} to follow")
        if kind is FollowKind.SCHOLAR:
            added = t.follow_scholar(name, _scholar_from_form())
        else:
            added = t.follow(name, kind, value, request.form.get("title", "").strip() or None)
    except UsageError as e:
        return _page(error=str(e), status=400)
    done = f"Now following {kind.value} {value}." if added else f"Already following {value}."
    return redirect(url_for("follows.follows", done=done), code=303)


@bp.route("/follows/remove", methods=["POST"])
def remove() -> Any:
    t = facade()
    name = reader()
    try:
        kind = FollowKind(request.form.get("kind", ""))
    except ValueError:
        abort(400)
    value = request.form.get("value", "")
    if not any(f.kind is kind and f.value == value for f in t.follows(name)):
        abort(404)  # only one's own follows, and only those that exist
    try:
        t.unfollow(name, kind, value)
    except UsageError as e:
        return _page(error=str(e), status=400)
    return redirect(url_for("follows.follows", done=f"Stopped following {value}."), code=303)


@bp.route("/follows/candidates")
def candidates() -> Any:
    """Who a name may stand for (an arXiv search and OpenAlex's authors), to pick from."""
    name = " ".join(request.args.get("name", "").split())
    if not name:
        return redirect(url_for("follows.follows"))
    error = None
    found: list[Any] = []
    authors: list[Any] = []
    try:
        found, authors = facade().scholar_candidates(name)
    except SourceError as e:
        error = f"arXiv could not be asked just now ({e}). Try again in a while."
    return render_template(
        "candidates.html",
        page="follows",
        name=name,
        found=found,
        authors=authors,
        error=error,
    )


@bp.route("/scholars")
def scholars() -> Any:
    return render_template(
        "scholars.html", page="scholars", rows=facade().reader_scholars(reader())
    )


def _followed_scholar(name: str) -> None:
    if not any(s.name == name for s in facade().reader_scholars(reader())):
        abort(404)  # a reader sees the scholars they follow


@bp.route("/scholars/<name>")
def scholar(name: str) -> Any:
    _followed_scholar(name)
    t = facade()
    rows = t.scholar_items(name, 100)
    summary = next(s for s in t.reader_scholars(reader()) if s.name == name)
    return render_template(
        "scholar.html",
        page="scholars",
        scholar=summary,
        rows=rows,
        marks=marks(of([item for item, _, _, _ in rows])),
    )


@bp.route("/scholars/<name>/reject", methods=["POST"])
def reject(name: str) -> Any:
    _followed_scholar(name)
    try:
        facade().reject(name, request.form.get("item", ""))
    except NotFoundError:
        abort(404)
    return redirect(url_for("follows.scholar", name=name), code=303)
