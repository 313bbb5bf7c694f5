"""Digest: build and render a day with N candidate items (database query, selection,
the digest record, Markdown, the atomic write); against loading the same items from the
database, measured in the same run. Rendering alone is timed too: the view and its
Markdown, and both parts of the e-mail from one view, in English and in Chinese (the
catalogue compiled before the timing: once per process)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from bench.common import median, settings, timed
from bench.corpus import papers
from tracker.app.core import follow_spec, make_tracker
from tracker.digest.catalogs import language
from tracker.digest.render import render_html, render_markdown, render_text
from tracker.digest.view import build_view
from tracker.models import FollowKind

READERS = 3


def run(candidates: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        s = settings(
            folder,
            readers=[
                {
                    "name": f"r{n}",
                    "timezone": "UTC",
                    "digest_time": "07:00",
                    "output_dir": str(folder / "digests"),
                }
                for n in range(READERS)
            ],
        )
        clock_now = dt.datetime(2024, 1, 2, 12, tzinfo=dt.UTC)
        tracker = make_tracker(s, clock=lambda: clock_now, sync_follows=False)
        storage = tracker.storage
        follow_at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        for n in range(READERS):
            for code in ("cs.LG", "cs.DC", "quant-ph"):
                storage.add_follow(f"r{n}", follow_spec(FollowKind.CATEGORY, code), follow_at)
        sources = {src.value: src.id for src in storage.followed_sources()}
        batch = [
            (entry, [sources[c] for c in entry.categories if c in sources])
            for entry in papers(candidates * 4, seed=9)
        ]
        batch = [b for b in batch if b[1]][:candidates]
        report = storage.ingest(
            batch,
            follow_at + dt.timedelta(hours=1),
            merge=lambda a, b: b,
            prepare=lambda e: e,
            tag=s.field_map.tag,
        )
        ids = list(report.item_ids)
        load = [timed(lambda: storage.items(ids)) for _ in range(READERS)]
        builds = [
            timed(lambda n=n: tracker.build_digest(f"r{n}", clock_now.date()))
            for n in range(READERS)
        ]
        digest = tracker.build_digest("r0", clock_now.date()).digest
        render = [timed(lambda: tracker.render(digest)) for _ in range(3)]
        view = tracker.digests.view(digest)
        email = [timed(lambda: (render_text(view), render_html(view))) for _ in range(3)]
        chinese = language("zh")
        presentation = tracker.digests.presentation

        def in_chinese() -> None:
            zh = build_view(digest, presentation, chinese)
            render_markdown(zh), render_text(zh), render_html(zh)

        in_chinese()  # the templates compiled for Chinese once, as in a running process
        zh = [timed(in_chinese) for _ in range(3)]
        tracker.close()
    build = median(builds)
    return {
        "candidates": len(ids),
        "build and write s": round(build, 3),
        "of which rendering s": round(median(render), 3),
        "e-mail parts from the view s": round(median(email), 3),
        "Chinese view, Markdown and e-mail parts s": round(median(zh), 3),
        "loading the items alone s": round(median(load), 3),
        "build / load": round(build / median(load), 1),
    }
