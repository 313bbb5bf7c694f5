"""Crashes anywhere: the worker is killed (SIGKILL) at random moments of its fetch,
store and digest stages, many times over, while the feeds keep growing and the days go
by; then it runs once more without being disturbed.

Afterwards the database must be exactly what one undisturbed run over the same served
data gives (no item lost, none doubled, every sighting there), pass SQLite's integrity
check, every digest be delivered and whole on disk (no half-written file, no stray
temporary file), and every item be in exactly one of the reader's digests.

The runs come from ``tests/support/crash_worker.py``: forks of a pre-imported process running
the real ``tracker run --once``, with their clock set by the test.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import signal
import sqlite3
from pathlib import Path

from tests.conftest import write_config
from tests.support.forker import Forker
from tests.support.server import FixtureServer, Paper, Reply
from tracker.config import load_settings
from tracker.storage import open_storage

ROUNDS = 50
STEP = dt.timedelta(days=1)  # a digest falls due in every round
CALM = 6  # every sixth round runs undisturbed: it shows how long a round takes
START = dt.datetime(2024, 11, 28, 6, 0, tzinfo=dt.UTC)
CATEGORIES = ("cs.DC", "cs.AR")
CORPUS = [
    f"/feeds/feeds-realworld/feedjira-2009-blogs/{name}.xml"
    for name in (
        "RubyPond",
        "ThePerfectWeaponHome",
        "ErrtheBlogHome",
        "NimbleMethod",
        "DABlogHome",
        "FiveYearsToolate",
        "SoylentFoo",
        "InformationArbitrage",
        "BambooBlogHome",
        "TheMerbist",
        "LoudThinking",
        "GilesBowkett",
    )
]
LABS = [f"/lab/{n}.xml" for n in range(6)]  # grow by two posts a round
SLOW = LABS[:2]  # answered late, so that kills land while they are fetched


def lab_feed(lab: int, posts: int) -> bytes:
    items = "".join(
        f"<item><title>Lab {lab} post {n}</title>"
        f"<link>https://lab{lab}.example.org/posts/{n}</link>"
        f"<guid>https://lab{lab}.example.org/posts/{n}</guid>"
        f"<description>What lab {lab} did, part {n}.</description></item>"
        for n in range(posts, 0, -1)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Lab {lab}</title>'
        f"<link>https://lab{lab}.example.org/</link>{items}</channel></rss>"
    ).encode()


def config(folder: Path, server: FixtureServer) -> Path:
    folder.mkdir()
    feeds = server.url.replace("127.0.0.1", "localhost")  # not behind arXiv's gate
    urls = [feeds + path for path in CORPUS + LABS]
    readers = f"""
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "00:00"

[readers.follows]
categories = {list(CATEGORIES)!r}
feeds = {urls!r}
"""
    # every entry written out (sections not cut): each file is checked item by item
    uncut = "[digest]\nsection_items = 100000\ncross_domain_more = 100000\n"
    return write_config(folder, server.url, readers=readers.replace("'", '"'), extra=uncut)


def serve_labs(server: FixtureServer, posts: int, rng: random.Random) -> None:
    for n, path in enumerate(LABS):
        body = lab_feed(n, posts)
        server.add(path, body, "application/rss+xml")
        server.unscript(path)
        if path in SLOW:
            delay = rng.uniform(0.1, 0.6)
            server.script(path, [Reply(200, body, {"Content-Type": "text/xml"}, delay=delay)])


def database(config: Path) -> sqlite3.Connection:
    url = load_settings(config).database_url
    return sqlite3.connect(f"file:{url.removeprefix('sqlite:///')}?mode=ro", uri=True)


def sightings(db: sqlite3.Connection) -> set[tuple[str, str]]:
    rows = db.execute(
        "SELECT s.value, i.key FROM sightings g JOIN items i ON i.id = g.item_id "
        "JOIN sources s ON s.id = g.source_id"
    )
    return set(rows)


def check_files(config: Path) -> dict[str, int]:
    """Every digest file there is whole, as a reader (or a sync tool) would read it at
    any moment: front matter, the item count the database recorded, and every item the
    database says the digest holds. Returns the recorded digests' item counts by day."""
    db = database(config)
    try:
        counts: dict[str, int] = dict(db.execute("SELECT day, item_count FROM digests"))
        links: dict[str, list[str]] = {}
        for day, url in db.execute(
            "SELECT d.day, i.url FROM digest_items x JOIN digests d ON d.id = x.digest_id "
            "JOIN items i ON i.id = x.item_id"
        ):
            links.setdefault(day, []).append(url)
    finally:
        db.close()
    folder = load_settings(config).readers[0].output_dir / "ada"
    for f in folder.glob("*.md"):
        text = f.read_text(encoding="utf-8")
        assert text.startswith("---\n") and text.endswith("\n"), f.name
        assert re.search(rf"^items: {counts[f.stem]}$", text, flags=re.MULTILINE), f.name
        for link in links.get(f.stem, []):
            assert link is None or f"]({link})" in text, (f.name, link)
    return counts


def test_killed_at_random_points_many_times(
    server: FixtureServer, papers: list[Paper], tmp_path: Path, forker: Forker
) -> None:
    rng = random.Random(20241128)
    crashed = config(tmp_path / "crashed", server)
    reference = config(tmp_path / "reference", server)
    now = START
    outcomes: list[int] = []
    fetching, digesting = 1.0, 0.1  # seconds each stage of an undisturbed round takes
    for n in range(ROUNDS):
        serve_labs(server, 2 * (n + 1), rng)
        if n % CALM == CALM - 1:
            run = forker.run(crashed, now)
            assert run.fetched is not None
            fetching, digesting = run.fetched, run.took - run.fetched
        elif n % 2:  # killed while fetching and storing
            run = forker.run(crashed, now, kill_after=rng.uniform(0.0, fetching))
        else:  # killed while the digest is built, recorded, written and marked sent
            run = forker.run(crashed, now, kill_after_fetch=rng.uniform(0.0, digesting))
        outcomes.append(run.code)
        if (crashed.parent / "data").exists():
            check_files(crashed)
        now += STEP
    killed = outcomes.count(-signal.SIGKILL)
    assert killed >= ROUNDS // 2, f"only {killed} of {ROUNDS} rounds were killed while running"
    assert set(outcomes) <= {0, -signal.SIGKILL}, outcomes

    # one undisturbed run after the next digest time; the reference run starts afresh
    final = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0, 30), dt.UTC)
    assert forker.run(crashed, final).code == 0
    assert forker.run(reference, final).code == 0

    db, ref = database(crashed), database(reference)
    try:
        # nothing lost, nothing doubled: the same items and sightings as one clean run
        keys = [k for (k,) in db.execute("SELECT key FROM items")]
        assert len(keys) == len(set(keys))
        assert set(keys) == {k for (k,) in ref.execute("SELECT key FROM items")}
        assert sightings(db) == sightings(ref)
        # ... and what was served: every listing paper of the followed categories,
        # every post of every lab
        listed = {
            p.id
            for p in papers
            if any(c == w or c.startswith(w + ".") for c in p.categories for w in CATEGORIES)
        }
        stored_papers = {a for (a,) in db.execute("SELECT arxiv_id FROM items") if a}
        assert listed <= stored_papers
        links = {u for (u,) in db.execute("SELECT url FROM items WHERE kind = 'post'")}
        for lab in range(len(LABS)):
            for post in range(1, 2 * ROUNDS + 1):
                assert f"https://lab{lab}.example.org/posts/{post}" in links
        corpus = {v for (v,) in ref.execute("SELECT value FROM sources") if "/feeds/" in v}
        assert len(corpus) == len(CORPUS)

        # every item in exactly one digest of the reader
        in_digests = [i for (i,) in db.execute("SELECT item_id FROM digest_items")]
        assert len(in_digests) == len(set(in_digests))
        assert set(in_digests) == {i for (i,) in db.execute("SELECT id FROM items")}
        states = {s for (s,) in db.execute("SELECT state FROM deliveries")}
        assert states == {"sent"}
    finally:
        db.close()
        ref.close()

    settings = load_settings(crashed)
    storage = open_storage(settings.database_url)
    try:
        assert storage.check_integrity() == []
        [cutoff] = [storage.last_digest("ada")[1]]  # type: ignore[index]
        assert storage.digest_candidates("ada", cutoff, dt.timedelta(days=1)) == []
    finally:
        storage.close()

    # the files: one per digest, each whole, no temporary file left
    counts = check_files(crashed)
    folder = settings.readers[0].output_dir / "ada"
    assert sorted(f.stem for f in folder.glob("*.md")) == sorted(counts)
    assert [f for f in folder.iterdir() if f.suffix != ".md"] == []
    assert len(counts) >= ROUNDS // CALM  # at least the undisturbed rounds wrote theirs
    assert sum(counts.values()) == len(in_digests)
