"""Backfill: records per second from OAI-PMH pages on a local HTTP server to committed
rows, against a bare ``lxml.etree.iterparse`` over the same pages (the floor: reading
the XML and nothing else), and how much memory the harvest holds at a tenth of the
records and at the end (it must stay flat).

Records are synthetic but shaped like arXiv's (metadataPrefix=arXiv): 12-word titles,
150-word abstracts, 1-8 authors, 1-3 categories, some DOIs, journal refs and deleted
records; 1,000 records per page as arXiv serves them, written to a temporary folder
first and served from there. The harvest runs in a fresh process (so its peak RSS is
its own) into a fresh SQLite database, with ``min_interval`` 0.
"""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import os
import random
import resource
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from lxml import etree

from bench.common import LocalServer, QuietHandler, median, settings, timed
from bench.corpus import CATEGORIES, Vocabulary

PER_PAGE = 1_000
OAI = "http://www.openarchives.org/OAI/2.0/"
RECORD = f"{{{OAI}}}record"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<OAI-PMH xmlns="{OAI}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    "<responseDate>2024-06-01T00:00:00Z</responseDate>\n"
    '<request verb="ListRecords" metadataPrefix="arXiv" set="cs">'
    "http://export.arxiv.org/oai2</request>\n<ListRecords>\n"
)


def arxiv_id(n: int) -> str:
    return f"{20 + n // 10_000_000:02d}{1 + (n // 100_000) % 12:02d}.{n % 100_000:05d}"


def _record(n: int, vocab: Vocabulary, rng: random.Random) -> str:
    paper = arxiv_id(n)
    stamp = dt.date(2024, 1, 1) + dt.timedelta(days=n % 150)
    header = (
        f"<identifier>oai:arXiv.org:{paper}</identifier>\n"
        f" <datestamp>{stamp}</datestamp>\n <setSpec>cs</setSpec>\n"
    )
    if rng.random() < 0.001:
        return f'<record>\n<header status="deleted">\n {header}</header>\n</record>\n'
    authors = "".join(
        f"<author><keyname>{vocab.text(1).capitalize()}</keyname>"
        f"<forenames>{vocab.text(1).capitalize()} {vocab.text(1)[0].upper()}.</forenames>"
        "</author>"
        for _ in range(rng.randint(1, 8))
    )
    cats = " ".join(rng.sample(CATEGORIES, rng.randint(1, 3)))
    created = stamp - dt.timedelta(days=rng.randint(0, 400))
    extra = ""
    if rng.random() < 0.6:
        extra += f"<comments>{rng.randint(4, 60)} pages, {rng.randint(1, 12)} figures</comments>"
    if rng.random() < 0.2:
        extra += f"<journal-ref>J. Synth. Res. {rng.randint(1, 99)} ({created.year})</journal-ref>"
        extra += f"<doi>10.{rng.randint(1000, 9999)}/synth.{n}</doi>"
    # arXiv wraps titles and abstracts at about 80 columns
    abstract = vocab.text(150).capitalize() + "."
    wrapped = "\n".join(abstract[i : i + 78] for i in range(0, len(abstract), 78))
    return (
        f"<record>\n<header>\n {header}</header>\n<metadata>\n"
        '<arXiv xmlns="http://arxiv.org/OAI/arXiv/" '
        'xsi:schemaLocation="http://arxiv.org/OAI/arXiv/ http://arxiv.org/OAI/arXiv.xsd">\n'
        f"<id>{paper}</id><created>{created}</created><updated>{stamp}</updated>"
        f"<authors>{authors}</authors>"
        f"<title>{escape(vocab.text(12).capitalize())}</title>"
        f"<categories>{cats}</categories>{extra}"
        "<license>http://arxiv.org/licenses/nonexclusive-distrib/1.0/</license>"
        f"<abstract>  {escape(wrapped)}\n</abstract>\n</arXiv>\n</metadata>\n</record>\n"
    )


def write_pages(folder: Path, total: int, seed: int = 5) -> list[Path]:
    """Pages of ``PER_PAGE`` records; each ends with the token of the next (empty last)."""
    vocab, rng = Vocabulary(seed=seed), random.Random(seed)
    pages = -(-total // PER_PAGE)
    paths = []
    for page in range(pages):
        start = page * PER_PAGE
        path = folder / f"page{page:05d}.xml"
        with path.open("w", encoding="utf-8") as out:
            out.write(HEAD)
            for n in range(start, min(total, start + PER_PAGE)):
                out.write(_record(n, vocab, rng))
            token = str(page + 1) if page + 1 < pages else ""
            out.write(
                f'<resumptionToken cursor="{start}" completeListSize="{total}">{token}'
                "</resumptionToken>\n</ListRecords>\n</OAI-PMH>\n"
            )
        paths.append(path)
    return paths


class PageServer(LocalServer):
    """/oai2: the first page for a request without a token, page n for token n."""

    def __init__(self, pages: list[Path]) -> None:
        server = self
        self.pages = pages

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                params = parse_qs(urlsplit(self.path).query)
                index = int(params.get("resumptionToken", ["0"])[0])
                body = server.pages[index].read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def harvest(
    url: str, folder: str, tenth_pages: int, database_url: str | None = None
) -> dict[str, Any]:
    """In a fresh process: the whole backfill into a fresh database, with its RSS sampled
    every 10 ms (the peak after ``tenth_pages`` pages, and at the end)."""
    from tracker.app.core import make_tracker  # imported here: this runs in the child

    peak, at_tenth, done = [_rss()], [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], _rss())

    pages = [0]

    def progress(message: str) -> None:
        pages[0] += 1
        peak[0] = max(peak[0], _rss())
        if pages[0] == tenth_pages:
            at_tenth[0] = peak[0]

    config = settings(Path(folder), url, database_url=database_url)
    tracker = make_tracker(config, sync_follows=False)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    report = tracker.backfill("cs", since=dt.date(2024, 1, 1), progress=progress)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    items = tracker.storage.count_items()
    tracker.close()
    return {
        "seconds": seconds,
        "records": report.counts.records,
        "new": report.counts.new,
        "deleted": report.counts.deleted,
        "items": items,
        "rss_tenth": at_tenth[0],
        "rss_end": peak[0],
        "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def _bare(pages: list[Path]) -> int:
    count = 0
    for path in pages:
        for _, el in etree.iterparse(io.BytesIO(path.read_bytes()), events=("end",), tag=RECORD):
            count += 1
            el.clear(keep_tail=False)
            while el.getprevious() is not None:
                del el.getparent()[0]
    return count


def _parse_only(pages: list[Path]) -> int:
    from tracker.sources.oai import OaiPage

    return sum(sum(1 for _ in OaiPage(path.read_bytes(), str(path))) for path in pages)


def _postgresql_database(name: str) -> str:
    """A fresh database on the server named by TRACKER_TEST_POSTGRESQL."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    server = os.environ.get("TRACKER_TEST_POSTGRESQL")
    if not server:
        raise SystemExit("set TRACKER_TEST_POSTGRESQL to a PostgreSQL server (bash .ci/postgres)")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def run(total: int, backend: str = "sqlite") -> dict[str, Any]:
    mb = 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "pages").mkdir()
        started = time.perf_counter()
        pages = write_pages(folder / "pages", total)
        generated = time.perf_counter() - started
        size = sum(p.stat().st_size for p in pages)
        # the floor, on the same files (in the page cache by now): the median of three
        bare_times = [timed(lambda: _bare(pages)) for _ in range(3)]
        parse_time = timed(lambda: _parse_only(pages))
        server = PageServer(pages)
        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                db = folder / "db"
                tenth = max(1, len(pages) // 10)
                database_url = None
                if backend == "postgresql":
                    database_url = _postgresql_database(f"tracker_bench_backfill_{total}")
                result = pool.submit(harvest, server.url, str(db), tenth, database_url).result()
        finally:
            server.close()
    bare_rate = total / median(bare_times)
    rate = result["records"] / result["seconds"]
    return {
        "backend": backend,
        "records": total,
        "pages": len(pages),
        "page MB (mean)": round(size / len(pages) / mb, 2),
        "generated in s": round(generated, 1),
        "backfill records/s": round(rate),
        "backfill s": round(result["seconds"], 1),
        "stored items": result["items"],
        "deleted upstream": result["deleted"],
        "bare iterparse records/s": round(bare_rate),
        "OaiPage parse records/s (no storage)": round(total / parse_time),
        "backfill / bare": round(rate / bare_rate, 3),
        "peak RSS MB after N/10 records": round(result["rss_tenth"] / mb, 1),
        "peak RSS MB after N records": round(result["rss_end"] / mb, 1),
        "peak RSS N / N/10": round(result["rss_end"] / max(1, result["rss_tenth"]), 2),
        "max RSS MB (ru_maxrss)": round(result["maxrss"] / mb, 1),
    }
