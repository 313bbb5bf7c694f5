"""The installation's state, for admins: every source, the failing ones first, with
their last error and next check; and each reader's latest deliveries."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from tracker.web.auth import admin_only
from tracker.web.context import facade

bp = Blueprint("admin", __name__)


@bp.route("/status")
@admin_only
def status() -> Any:
    t = facade()
    limit = t.settings.fetch.failing_after
    rows = sorted(
        t.status(),
        key=lambda s: (
            -(s.source.error_count >= limit),
            -s.source.error_count,
            s.source.next_check,
        ),
    )
    failing = [s for s in rows if s.source.error_count >= limit]
    readers = []
    for r in t.settings.readers:
        upcoming, deliveries = t.reader_status(r.name)
        readers.append((r, upcoming, deliveries))
    return render_template(
        "status.html",
        page="status",
        rows=rows,
        failing=failing,
        failing_after=limit,
        readers=readers,
        now=t.clock(),
    )
