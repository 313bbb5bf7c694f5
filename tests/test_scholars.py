"""Following scholars by identity: ids, feeds, names with evidence, namesakes apart.

The namesake fixture (our own, not recorded): two different people named "Wei Zhang"
(different co-authors and categories) and one person whose name is spelled three ways
(Jürgen / Juergen / J. Schmidhuber). Attribution is measured for precision and recall.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import tracker.reasons
from tests.conftest import LISTING_MORNING, Clock
from tests.support.server import FixtureServer, Paper
from tracker.app.core import make_tracker
from tracker.cli import main
from tracker.config import Settings
from tracker.errors import StorageError
from tracker.fetch.attribution import Profile, assess, candidates, learn
from tracker.models import Detail, Entry
from tracker.sources.openalex import abstract_text, parse_work
from tracker.worker import run_once

DAY = dt.datetime(2024, 11, 27, 12, tzinfo=dt.UTC)


def paper(n: int, authors: list[str], categories: list[str], days_ago: int = 0) -> Paper:
    when = DAY - dt.timedelta(days=days_ago, minutes=n)
    return Paper(
        f"2411.9{n:04d}",
        1,
        f"Study number {n} by {authors[0]}",
        f"We report result {n}. It is new.",
        authors,
        categories,
        when,
        when,
    )


# Wei Zhang A: machine learning with Alice Ng and Bob Ode; Wei Zhang B: genomics with
# Pat Quinn and Quinn Rho. Jürgen Schmidhuber writes his name three ways.
A_OLD = [
    paper(1, ["Wei Zhang", "Alice Ng"], ["cs.LG"], 400),
    paper(2, ["Bob Ode", "Wei Zhang"], ["cs.LG", "stat.ML"], 300),
    paper(3, ["Wei Zhang", "Alice Ng", "Bob Ode"], ["cs.LG"], 200),
]
A_NEW = [
    paper(4, ["Wei Zhang", "Alice Ng", "Carl Dee"], ["cs.LG"]),
    paper(5, ["Dana Eve", "Wei Zhang", "Bob Ode"], ["cs.CL", "cs.LG"]),
]
B_ALL = [
    paper(6, ["Wei Zhang", "Pat Quinn"], ["q-bio.GN"]),
    paper(7, ["Quinn Rho", "Wei Zhang"], ["q-bio.GN", "q-bio.QM"]),
    paper(8, ["Wei Zhang", "Pat Quinn", "Quinn Rho"], ["q-bio.PE"]),
]
J_ALL = [
    paper(9, ["Jürgen Schmidhuber", "Sepp Hochreiter"], ["cs.NE"]),
    paper(10, ["Juergen Schmidhuber", "Sepp Hochreiter"], ["cs.NE", "cs.LG"]),
    paper(11, ["J. Schmidhuber", "Kazuki Irie"], ["cs.LG", "cs.NE"]),
    paper(12, ["Jürgen Schmidhuber", "Kazuki Irie"], ["cs.NE"]),
]


def entry(p: Paper) -> Entry:
    return Entry(
        title=p.title, authors=tuple(p.authors), categories=tuple(p.categories), arxiv_id=p.id
    )


def test_namesakes_are_told_apart_by_co_authors_and_categories() -> None:
    profile = learn(Profile("Wei Zhang"), [entry(p) for p in A_OLD])
    assert set(profile.coauthors) == {"Alice Ng", "Bob Ode"}
    assert profile.categories == {"cs.LG", "stat.ML"}
    attributed = {p.id for p in A_NEW + B_ALL if assess(profile, entry(p))}
    truth = {p.id for p in A_NEW}
    precision = len(attributed & truth) / len(attributed)
    recall = len(attributed & truth) / len(truth)
    assert (precision, recall) == (1.0, 1.0)
    found = assess(profile, entry(A_NEW[1]))
    assert found is not None and found.basis == "name"
    assert "co-author Bob Ode" in found.evidence and "usual category cs.LG" in found.evidence


def test_three_spellings_are_one_person() -> None:
    profile = Profile("Jürgen Schmidhuber", coauthors=("Sepp Hochreiter",))
    profile = learn(profile, [entry(J_ALL[0])])
    assert all(assess(profile, entry(p)) for p in J_ALL)
    # with nothing known of his work, only the spelled-out given name is enough
    bare = Profile("Jürgen Schmidhuber")
    assert assess(bare, entry(J_ALL[1]))  # Juergen = Jürgen
    assert assess(bare, entry(J_ALL[2])) is None  # "J." alone is not evidence


def test_candidates_split_a_name_into_people() -> None:
    found = candidates("Wei Zhang", [entry(p) for p in A_OLD + A_NEW + B_ALL])
    assert [c.papers for c in found] == [5, 3]
    assert "Alice Ng" in found[0].coauthors and found[0].categories[0] == "cs.LG"
    assert "Pat Quinn" in found[1].coauthors and found[1].categories[0].startswith("q-bio")


def test_openalex_works_parse() -> None:
    assert abstract_text({"world": [1], "Hello": [0], "again": [2]}) == "Hello world again"
    work = parse_work(
        {
            "id": "https://openalex.org/W1",
            "display_name": "A  paper",
            "doi": "https://doi.org/10.48550/arXiv.2205.14135",
            "authorships": [
                {
                    "author": {
                        "id": "https://openalex.org/A1",
                        "display_name": "Tri Dao",
                        "orcid": "https://orcid.org/0000-0001-2345-6789",
                    }
                }
            ],
            "publication_date": "2022-05-27",
        }
    )
    assert work is not None
    assert work.entry.arxiv_id == "2205.14135" and work.entry.title == "A paper"
    assert work.author_ids == {"A1"} and work.orcids == {"0000-0001-2345-6789"}
    journal = parse_work(
        {
            "id": "W2",
            "display_name": "Journal paper",
            "doi": "https://doi.org/10.1103/PhysRevLett.1",
            "authorships": [],
        }
    )
    assert journal is not None and journal.entry.doi == "10.1103/physrevlett.1"


# --- end to end ----------------------------------------------------------------------


@pytest.fixture
def namesakes(server: FixtureServer) -> FixtureServer:
    for p in A_OLD + A_NEW + B_ALL + J_ALL:
        server.papers.append(p)
        server.by_id[p.id] = p
    server.openalex_authors["A1000100"] = {
        "name": "Wei Zhang",
        "orcid": "0000-0002-0000-0001",
        "papers": [p.id for p in A_OLD],
        "institution": "Lab A",
    }
    server.openalex_authors["A1000200"] = {
        "name": "Wei Zhang",
        "orcid": None,
        "papers": [p.id for p in B_ALL],
        "institution": "Lab B",
    }
    server.author_feeds["schmidhuber_j_1"] = [J_ALL[0].id, J_ALL[2].id]
    return server


READERS = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "00:00"

[readers.follows]
categories = ["cs.LG", "q-bio.GN", "cs.NE"]
queries = ['ti:"study number"']
scholars = [
    { name = "Wei Zhang", openalex = "A1000100" },
    { name = "Jürgen Schmidhuber", arxiv = "schmidhuber_j_1" },
]

[[readers]]
name = "bob"
timezone = "UTC"
digest_time = "00:00"

[readers.follows]
scholars = ["Wei Zhang"]
"""


def test_follow_by_id_attributes_across_sources_and_keeps_namesakes_apart(
    namesakes: FixtureServer, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    clock = Clock(LISTING_MORNING)
    t = make_tracker(settings_for(namesakes.url, readers=READERS), clock=clock)
    run_once(t)
    theirs = {
        name: {item.arxiv_id for item, _, _, rejected in t.scholar_items(name) if not rejected}
        for name in ("Wei Zhang", "Jürgen Schmidhuber")
    }
    a_ids = {p.id for p in A_OLD + A_NEW}
    b_ids = {p.id for p in B_ALL}
    # ada follows Wei Zhang A by OpenAlex id: A's old papers by id, A's new ones by name
    # with evidence; B's papers (same name, other people and fields) are not his
    # (bob follows "Wei Zhang" by name only; a scholar is one person installation-wide,
    # and what is known of A's work keeps B's papers out of bob's name search too)
    zhang = theirs["Wei Zhang"]
    assert a_ids <= zhang, a_ids - zhang
    assert not b_ids & zhang, "B's papers attributed to A"
    assert {p.id for p in J_ALL} <= theirs["Jürgen Schmidhuber"]
    digest = t.build_digest("ada", clock.now.date()).digest
    scholars = next(s for s in digest.sections if s.kind == "scholars")
    in_section = {e.item.arxiv_id for e in scholars.entries}
    assert {p.id for p in A_NEW} <= in_section and not (in_section & b_ids)
    reasons = {e.item.arxiv_id: e.reasons for e in scholars.entries}
    openalex = Detail(tracker.reasons.OPENALEX, ("A1000100",))
    assert any(openalex in r.details for r in reasons[A_OLD[0].id])
    name_match = Detail(tracker.reasons.NAME_MATCH)
    assert any(name_match in r.details for r in reasons[A_NEW[1].id])
    t.close()


# Hinrich Schütze and Jan Möller, each spelled with and without the umlaut.
UMLAUTS = [
    paper(20, ["Hinrich Schütze", "Ana Lee"], ["cs.CL"]),
    paper(21, ["Hinrich Schuetze", "Bo Kim"], ["cs.CL"]),
    paper(22, ["Jan Möller", "Ana Lee"], ["math.AG"]),
    paper(23, ["Jan Moeller", "Bo Kim"], ["math.AG"]),
]


@pytest.mark.parametrize(
    ("followed", "theirs"), [("Hinrich Schuetze", (20, 21)), ("Jan Möller", (22, 23))]
)
def test_both_spellings_of_an_umlaut_come_together(
    server: FixtureServer,
    settings_for: Callable[..., Settings],
    followed: str,
    theirs: tuple[int, ...],
) -> None:
    for p in UMLAUTS:
        server.papers.append(p)
        server.by_id[p.id] = p
    readers = f"""
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "00:00"

[readers.follows]
scholars = ["{followed}"]
"""
    t = make_tracker(settings_for(server.url, readers=readers), clock=Clock(LISTING_MORNING))
    try:
        run_once(t)
        found = {item.arxiv_id for item, *_ in t.scholar_items(followed)}
        assert found == {f"2411.9{n:04d}" for n in theirs}
        # the scholar is found under the other spelling too (scholar show, reject)
        other = {"Hinrich Schuetze": "Hinrich Schütze", "Jan Möller": "Jan Moeller"}[followed]
        assert {item.arxiv_id for item, *_ in t.scholar_items(other)} == found
    finally:
        t.close()


def test_rejections_persist_and_never_come_back(
    namesakes: FixtureServer, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for(namesakes.url, readers=READERS)
    clock = Clock(LISTING_MORNING)
    t = make_tracker(settings, clock=clock)
    run_once(t)
    assert A_NEW[0].id in {i.arxiv_id for i, *_ in t.scholar_items("Wei Zhang")}
    t.reject("Wei Zhang", A_NEW[0].id)
    t.close()
    again = make_tracker(settings, clock=clock)
    clock.advance(days=1)
    again.fetch(everything=True)  # sees the paper again
    rows = {i.arxiv_id: rejected for i, _, _, rejected in again.scholar_items("Wei Zhang")}
    assert rows[A_NEW[0].id] is True
    digest = again.build_digest("ada", clock.now.date()).digest
    assert A_NEW[0].id not in {
        e.item.arxiv_id for s in digest.sections if s.kind == "scholars" for e in s.entries
    }
    again.close()


def test_scholar_commands(
    namesakes: FixtureServer, tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for(namesakes.url, readers=READERS)
    config = str(settings.path)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, ["--config", config, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("fetch")
    listed = run("scholars")
    assert "Wei Zhang  (followed by ada, bob)" in listed
    assert "openalex      A1000100" in listed and "arxiv_author  schmidhuber_j_1" in listed
    shown = run("scholar", "show", "Jürgen Schmidhuber")
    assert "arXiv author schmidhuber_j_1" in shown
    proposed = run("follow", "scholar", "Wei Zhang", "--candidates", "--reader", "ada")
    assert "[1] on arXiv as Wei Zhang:" in proposed and "OpenAlex A1000100 Wei Zhang" in proposed
    followed = run(
        "follow", "scholar", "Quinn Rho", "--orcid", "0000-0002-0000-0009", "--reader", "bob"
    )
    assert "now following scholar Quinn Rho" in followed
    bad = runner.invoke(
        main, ["--config", config, "follow", "scholar", "X Y", "--orcid", "12", "--reader", "bob"]
    )
    assert bad.exit_code == 2 and "expected an ORCID" in bad.output


CONTAINED = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "00:00"

[readers.follows]
categories = ["cs.LG"]
scholars = [
    { name = "Wei Zhang", openalex = "A1000100" },
    { name = "Quinn Rho", orcid = "0000-0002-0000-0009" },
    { name = "Jürgen Schmidhuber", arxiv = "schmidhuber_j_1" },
]
"""


def test_a_storage_error_in_one_openalex_source_is_contained(
    namesakes: FixtureServer, settings_for: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like every other source kind: the OpenAlex batch whose works cannot be stored
    fails and backs off; the other OpenAlex batch and every later source of the cycle
    are still fetched and recorded."""
    clock = Clock(LISTING_MORNING)
    t = make_tracker(settings_for(namesakes.url, readers=CONTAINED), clock=clock)
    ingest = t.storage.ingest
    calls: list[int] = []

    def failing_first(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # the first write of the cycle: OpenAlex A1000100's works
            raise StorageError("database is locked")
        return ingest(*args, **kwargs)

    monkeypatch.setattr(t.storage, "ingest", failing_first)
    try:
        report, _ = run_once(t)
        states = {(s.source.kind.value, s.source.value): s.source for s in t.status()}
        failed = states[("openalex", "A1000100")]
        assert failed.error_count == 1 and "database is locked" in (failed.last_error or "")
        assert failed.next_check > clock.now and failed.last_success is None
        assert [e for e in report.errors if "A1000100" in e] and len(report.errors) == 1
        for key in [
            ("openalex", "orcid:0000-0002-0000-0009"),
            ("arxiv_author", "schmidhuber_j_1"),
            ("arxiv_listing", "cs.LG"),
        ]:
            assert states[key].last_success == clock.now and states[key].error_count == 0, key
        theirs = {i.arxiv_id for i, *_ in t.scholar_items("Jürgen Schmidhuber")}
        assert {J_ALL[0].id, J_ALL[2].id} <= theirs
    finally:
        t.close()
