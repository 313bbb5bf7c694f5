"""A reader's library: saved papers, their export, and the actions on any listed
item (save, unsave, rate).

Actions are POST forms (CSRF-checked) that send the browser back where it was; the
page's script sends the same forms in the background and gets JSON instead.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request

from tracker.errors import NotFoundError
from tracker.web.context import facade, marks, of, ratings_enabled, reader
from tracker.web.security import local_target

bp = Blueprint("library", __name__)
RATINGS = ("up", "down", "none")
EXPORTS = {"bibtex": ("application/x-bibtex", "bib"), "json": ("application/json", "json")}


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _back(item_id: int, state: dict[str, Any]) -> Any:
    if _wants_json():
        return jsonify(dict(state, item=item_id))
    target = local_target(request.form.get("next"), "/saved")
    return redirect(f"{target.split('#', 1)[0]}#item-{item_id}", code=303)


@bp.route("/saved")
def saved() -> Any:
    t = facade()
    items = t.saved(reader())
    return render_template("saved.html", page="saved", items=items, marks=marks(of(items)))


@bp.route("/saved/export.<fmt>")
def export(fmt: str) -> Response:
    if fmt not in ("bib", "json"):
        abort(404)
    kind = "bibtex" if fmt == "bib" else "json"
    t = facade()
    name = reader()
    mimetype, suffix = EXPORTS[kind]
    return Response(
        t.export(t.saved(name), kind),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}-saved.{suffix}"'},
    )


@bp.route("/item/<int:item_id>/save", methods=["POST"])
def save(item_id: int) -> Any:
    t = facade()
    try:
        if request.form.get("saved") == "0":
            t.unsave(reader(), str(item_id))
            state = False
        else:
            t.save(reader(), str(item_id))
            state = True
    except NotFoundError:
        abort(404)
    return _back(item_id, {"saved": state})


@bp.route("/item/<int:item_id>/rate", methods=["POST"])
def rate(item_id: int) -> Any:
    if not ratings_enabled():
        abort(404)
    value = request.form.get("rating", "")
    if value not in RATINGS:
        abort(400)
    t = facade()
    try:
        t.rate(reader(), str(item_id), value)
    except NotFoundError:
        abort(404)
    return _back(item_id, {"rating": value})
