"""The whole recorded feed corpus through ``parse_feed``.

Every file under fixtures/feeds-realworld and fixtures/feeds-feedparser-tests (expected
outputs ``*.serde.json`` and notes ``*.md`` aside) must either parse or raise
``ParseError``; nothing else may escape. For files that feedparser reads with entries,
we must keep every entry except those that carry nothing at all: no title, link, id,
date, or summary/content with any text in it.

Slow (a few thousand files): marked ``corpus``; deselect with ``-m "not corpus"``.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedparser
import pytest

from tracker.errors import ParseError
from tracker.sources.feeds import parse_feed

FOLDERS = ("feeds-realworld", "feeds-feedparser-tests")


def corpus_files(root: Path) -> list[Path]:
    return [
        path
        for folder in FOLDERS
        for path in sorted((root / folder).rglob("*"))
        if path.is_file() and not path.name.endswith((".serde.json", ".md"))
    ]


def _text(value: object) -> str:
    """Visible text of a value, read independently of tracker's own html_to_text."""
    if not isinstance(value, str):
        return ""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", " ", value))).strip()


def carries_nothing(raw: Any) -> bool:
    texts = [raw.get("title"), raw.get("summary")]
    texts += [c.get("value") for c in raw.get("content") or []]
    dates = ("published_parsed", "updated_parsed", "created_parsed")
    return not (
        any(_text(t) for t in texts)
        or raw.get("link")
        or raw.get("id")
        or any(raw.get(d) for d in dates)
    )


@pytest.mark.corpus
def test_every_corpus_file_parses_or_raises_parse_error(
    corpus_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Keep what feedparser returned inside parse_feed instead of parsing every file twice.
    seen: list[Any] = []
    real_parse: Callable[..., Any] = feedparser.parse

    def spy(*args: Any, **kwargs: Any) -> Any:
        result = real_parse(*args, **kwargs)
        seen.append(result)
        return result

    monkeypatch.setattr(feedparser, "parse", spy)

    files = corpus_files(corpus_dir)
    assert len(files) > 2000
    started = time.monotonic()
    counts = {"files": 0, "parsed": 0, "entries": 0, "parse_errors": 0, "compared": 0}
    escaped: list[str] = []
    miscounted: list[str] = []
    parse_errors: list[str] = []
    for path in files:
        rel = str(path.relative_to(corpus_dir))
        counts["files"] += 1
        seen.clear()
        try:
            parsed = parse_feed(path.read_bytes(), url=f"http://example.org/{rel}")
        except ParseError as e:
            counts["parse_errors"] += 1
            parse_errors.append(f"{rel}: {e}")
            continue
        except Exception as e:  # anything else is a bug in parse_feed
            escaped.append(f"{rel}: {type(e).__name__}: {e}")
            continue
        counts["parsed"] += 1
        counts["entries"] += len(parsed.entries)
        if not seen or not seen[-1].entries:
            continue  # a JSON Feed, or nothing feedparser could read entries from
        raw_entries = seen[-1].entries
        expected = len(raw_entries) - sum(1 for raw in raw_entries if carries_nothing(raw))
        counts["compared"] += 1
        if len(parsed.entries) != expected:
            miscounted.append(f"{rel}: {len(parsed.entries)} entries, expected {expected}")
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(
            f"\nfeed corpus: {counts['files']} files, {counts['parsed']} parsed with "
            f"{counts['entries']} entries, {counts['compared']} compared with feedparser, "
            f"{counts['parse_errors']} ParseErrors, {elapsed:.1f}s"
        )
        for line in parse_errors:
            print(f"  ParseError {line[:160]}")
    assert escaped == []
    assert miscounted == []
    # The corpus is mostly feeds: a parser that rejects many of them has regressed.
    assert counts["parse_errors"] < 0.02 * counts["files"]
