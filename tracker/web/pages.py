"""Reading pages: the digest of a day, the weekly digest, search, one item."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from tracker.errors import NotFoundError, SearchQueryError, UsageError
from tracker.models import SearchFilters, SourceKind
from tracker.web.context import facade, marks, of, reader

bp = Blueprint("pages", __name__)
PAGE_SIZE = 20
MAX_PAGE = 50  # deeper than 1,000 results, narrow the search instead
COUNT_CAP = 1000  # results counted exactly up to this many
SEARCH_KEYS = ("q", "author", "field", "category", "source", "since", "until", "saved", "code")


@bp.route("/")
def home() -> Any:
    return redirect(url_for("pages.digest"))


def _date(value: str, label: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as e:
        raise UsageError(f"{label}: expected a date YYYY-MM-DD, got {value!r}") from e


@bp.route("/digest")
@bp.route("/digest/<day>")
def digest(day: str | None = None) -> Any:
    """A reader's digest of a day, from the view model every digest output renders
    (the same sections, items and order as the Markdown file and the e-mail). Only
    digests the worker built are shown: reading the page never builds one."""
    return _digest_page(day, weekly=False)


@bp.route("/week")
@bp.route("/week/<day>")
def week(day: str | None = None) -> Any:
    """A reader's weekly digest (``rhythm = "both"``): the week's top picks and the
    phrases rising across fields, as the weekly Markdown file and e-mail show them."""
    return _digest_page(day, weekly=True)


def _digest_page(day: str | None, *, weekly: bool) -> Any:
    t = facade()
    name = reader()
    day = day or request.args.get("day") or None  # the day list sends ?day=
    today = t.reader_today(name, t.clock())
    wanted = _date(day, "day") if day else today
    assert wanted is not None
    days = t.weekly_days(name) if weekly else t.digest_days(name)
    built = {d for d, _ in days}
    if day is None and wanted not in built and days:
        wanted = days[0][0]  # today's is not built yet: the latest, and when the next comes
    stored_view = t.stored_weekly_view if weekly else t.stored_digest_view
    view = stored_view(name, wanted) if wanted in built else None
    note = None
    if view is None or (view.header.day != today and day is None):
        upcoming, _ = t.weekly_status(name) if weekly else t.reader_status(name)
        if upcoming is not None:
            settings = t.settings.reader(name)
            local = upcoming.astimezone(settings.tz)
            what = "weekly digest" if weekly else "digest"
            note = f"The next {what} comes {local:%A %d %B at %H:%M} ({settings.timezone})."
    listed = sorted(built)
    shown = view.header.day if view else wanted
    older = [d for d in listed if d < shown]
    newer = [d for d in listed if d > shown]
    entries = {e.item_id: e.authors for e in view.entries} if view else {}
    return render_template(
        "digest.html",
        page="week" if weekly else "digest",
        endpoint="pages.week" if weekly else "pages.digest",
        weekly=weekly,
        view=view,
        wanted=wanted,
        days=days,
        older=older[-1] if older else None,
        newer=newer[0] if newer else None,
        note=note,
        marks=marks(entries),
    )


def _filters(args: Any, name: str) -> tuple[str, SearchFilters]:
    return args.get("q", "").strip(), SearchFilters(
        author=args.get("author", "").strip() or None,
        field=args.get("field", "").strip() or None,
        category=args.get("category", "").strip() or None,
        source=args.get("source", "").strip() or None,
        since=_date(args.get("since", "").strip(), "since"),
        until=_date(args.get("until", "").strip(), "until"),
        saved_by=name if args.get("saved") else None,
        has_code=bool(args.get("code")),
    )


@bp.route("/search")
def search() -> Any:
    t = facade()
    name = reader()
    args = request.args
    try:
        page = max(1, min(MAX_PAGE, int(args.get("page", "1"))))
    except ValueError:
        page = 1
    error = None
    hits: list[Any] = []
    total = 0
    searched = any(args.get(k) for k in SEARCH_KEYS)
    if searched:
        try:
            text, filters = _filters(args, name)
            hits = t.search(
                text, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, reader=name
            )
            total = t.search_count(text, filters, cap=COUNT_CAP)
        except (UsageError, SearchQueryError) as e:
            error = str(e).removeprefix("--")  # the messages name the command's options
    fmap = t.settings.field_map
    groups: dict[str, list[str]] = {}
    for f in fmap.fields:
        groups.setdefault(fmap.group_of(f), []).append(f)
    query = {k: v for k, v in args.items() if k != "page" and v}
    last_page = min(MAX_PAGE, max(1, -(-min(total, COUNT_CAP) // PAGE_SIZE)))
    return render_template(
        "search.html",
        page="search",
        args=args,
        hits=hits,
        total=total,
        capped=total > COUNT_CAP,
        cap=COUNT_CAP,
        error=error,
        searched=searched,
        current=page,
        last_page=last_page,
        page_size=PAGE_SIZE,
        query=query,
        groups=list(groups.items()),
        source_kinds=[k.value for k in SourceKind],
        marks=marks(of([h.item for h in hits]), saved={h.item.id for h in hits if h.saved}),
    ), 400 if error else 200


def _item_or_404(ref: str) -> Any:
    try:
        return facade().item(ref)
    except NotFoundError:
        abort(404)


@bp.route("/item/<path:ref>")
def item(ref: str) -> Any:
    t = facade()
    found = _item_or_404(ref)
    versions = t.item_versions(found)
    html = None
    if found.arxiv_id:
        version = f"v{found.version}" if found.version else ""
        html = f"https://arxiv.org/html/{found.arxiv_id}{version}"
    return render_template(
        "item.html",
        page="item",
        item=found,
        versions=versions,
        html_url=html,
        code=t.code_links(found),
        bibtex=t.export([found], "bibtex"),
        marks=marks(of([found])),
    )


@bp.route("/export/item/<int:item_id>.bib")
def item_bibtex(item_id: int) -> Response:
    found = _item_or_404(str(item_id))
    return Response(
        facade().export([found], "bibtex"),
        mimetype="application/x-bibtex",
        headers={"Content-Disposition": f'attachment; filename="item-{found.id}.bib"'},
    )
