"""``tracker backfill`` against a real OAI-PMH server on 127.0.0.1.

``OaiServer`` serves ListRecords pages of synthetic arXiv-format records (generated
per request, so 20,000 records cost no memory up front), chained by resumption
tokens, followed by pages built from the recorded arXiv OAI responses when
``../shared/fixtures`` is there. Faults are queued per page (a status with headers,
a dropped connection, a page cut short) or kept up until healed. Every request is
logged with its arrival time and query.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import threading
import time
import tracemalloc
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner, Result
from lxml import etree

from tests.conftest import write_config
from tests.support.server import FixtureServer, Paper, atom_feed, local_http_server
from tracker.app.core import make_tracker
from tracker.cli import main
from tracker.config import Settings, load_settings
from tracker.errors import SourceError
from tracker.fetch.merge import merge, normalise_new
from tracker.models import API, LISTING, VenueKind
from tracker.sources.oai import OaiPage
from tracker.storage import Storage, open_storage

OAI = "http://www.openarchives.org/OAI/2.0/"
READERS = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "00:00"
"""
WORDS = (
    "we study sparse attention quantum error correction for large language models and "
    "show that distributed training converges faster on graph data with fewer samples"
).split()
ARGS = ("--set", "cs", "--from", "2024-01-01")


def arxiv_id(n: int) -> str:
    return f"2401.{n:05d}"


def record_xml(n: int, *, deleted: bool = False, words: int = 60) -> str:
    """One synthetic record in arXiv's OAI format (metadataPrefix=arXiv)."""
    status = ' status="deleted"' if deleted else ""
    header = (
        f"<header{status}>"
        f"<identifier>oai:arXiv.org:{arxiv_id(n)}</identifier>"
        f"<datestamp>2024-01-{1 + n % 28:02d}</datestamp><setSpec>cs</setSpec></header>"
    )
    if deleted:
        return f"<record>{header}</record>"
    abstract = " ".join(WORDS[(n * 7 + i) % len(WORDS)] for i in range(words))
    return (
        f"<record>{header}<metadata>"
        '<arXiv xmlns="http://arxiv.org/OAI/arXiv/">'
        f"<id>{arxiv_id(n)}</id><created>2024-01-02</created><updated>2024-01-05</updated>"
        "<authors><author><keyname>Doe</keyname><forenames>Jane</forenames></author>"
        "<author><keyname>Bal\\'azs</keyname><forenames>Csaba</forenames>"
        "<suffix>Jr</suffix></author></authors>"
        f"<title>Synthetic   paper\n  number {n}</title>"
        "<categories>cs.LG stat.ML</categories><comments>12 pages</comments>"
        f"<journal-ref>J. Synth. {n}</journal-ref><doi>10.1234/s.{n} 10.9999/other</doi>"
        "<license>http://creativecommons.org/licenses/by/4.0/</license>"
        f"<abstract>  {escape(abstract)}\n  </abstract></arXiv></metadata></record>"
    )


def envelope(records: str, token: str | None, size: int | None = None, cursor: int = 0) -> bytes:
    tok = ""
    if token is not None:
        attrs = f'completeListSize="{size}" cursor="{cursor}"'
        tok = f"<resumptionToken {attrs}>{token}</resumptionToken>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<OAI-PMH xmlns="{OAI}"><responseDate>2024-02-01T00:00:00Z</responseDate>'
        '<request verb="ListRecords">http://127.0.0.1/oai2</request>'
        f"<ListRecords>{records}{tok}</ListRecords></OAI-PMH>"
    ).encode()


def error_doc(code: str, message: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="{OAI}">'
        "<responseDate>2024-02-01T00:00:00Z</responseDate><request>http://127.0.0.1/oai2</request>"
        f'<error code="{code}">{escape(message)}</error></OAI-PMH>'
    ).encode()


@dataclass
class Fault:
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"server error"
    drop: bool = False  # close the connection without an answer
    truncate: bool = False  # the real page cut in half (the HTTP transfer itself is fine)


@dataclass(frozen=True)
class Logged:
    at: float  # time.monotonic() at arrival
    wall: float  # time.time() at arrival
    params: dict[str, str]
    headers: dict[str, str]


class OaiServer:
    def __init__(
        self,
        total: int,
        page_size: int = 500,
        *,
        deleted: frozenset[int] = frozenset(),
        extra_pages: tuple[bytes, ...] = (),
        words: int = 60,
    ) -> None:
        self.total, self.page_size, self.deleted = total, page_size, deleted
        self.extra_pages, self.words = extra_pages, words
        self.epoch = 1  # tokens of an older epoch are refused (they "expired")
        self.faults: dict[int, deque[Fault]] = {}  # page index -> served once each, first
        self.broken: dict[int, Fault] = {}  # page index -> served until healed
        self.error_sets: dict[str, bytes] = {}  # set name -> error document
        self.papers: dict[str, Paper] = {}  # served by /api/query?id_list=
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        self.httpd = local_http_server(self._handle)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    @property
    def synthetic_pages(self) -> int:
        return -(-self.total // self.page_size)

    @property
    def pages(self) -> int:
        return self.synthetic_pages + len(self.extra_pages)

    def token(self, index: int) -> str:
        return f"{self.epoch}.{index}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests(self) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if "verb" in r.params]

    def page(self, index: int) -> bytes:
        more = index + 1 < self.pages
        token = self.token(index + 1) if more else ""
        if index < self.synthetic_pages:
            start = index * self.page_size
            numbers = range(start, min(self.total, start + self.page_size))
            body = "".join(
                record_xml(n, deleted=n in self.deleted, words=self.words) for n in numbers
            )
            return envelope(body, token, self.total, start)
        page = self.extra_pages[index - self.synthetic_pages]
        if not more:
            return page
        tag = f"<resumptionToken>{token}</resumptionToken></ListRecords>".encode()
        return page.replace(b"</ListRecords>", tag, 1)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.log.append(Logged(time.monotonic(), time.time(), params, dict(h.headers.items())))
        if parts.path == "/api/query":
            found = [self.papers[i] for i in params.get("id_list", "").split(",") if i]
            self._send(h, 200, atom_feed(found, len(found), 0))
            return
        if parts.path != "/oai2" or params.get("verb") != "ListRecords":
            self._send(h, 404, b"not found")
            return
        if "resumptionToken" in params:
            epoch, _, number = params["resumptionToken"].partition(".")
            if len(params) != 2 or epoch != str(self.epoch) or not number.isdigit():
                self._send(h, 200, error_doc("badResumptionToken", "expired or unknown"))
                return
            index = int(number)
        else:
            if params.get("metadataPrefix") != "arXiv":
                self._send(h, 200, error_doc("cannotDisseminateFormat"))
                return
            if params.get("set") in self.error_sets:
                self._send(h, 200, self.error_sets[params["set"]])
                return
            index = 0
        with self._lock:
            queue = self.faults.get(index)
            fault = (queue.popleft() if queue else None) or self.broken.get(index)
        if fault is None:
            self._send(h, 200, self.page(index))
        elif fault.drop:
            h.close_connection = True
            h.connection.shutdown(2)
        elif fault.truncate:
            body = self.page(index)
            self._send(h, 200, body[: len(body) // 2])
        else:
            self._send(h, fault.status, fault.body, fault.headers)

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "text/xml; charset=utf-8")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


@pytest.fixture
def make_oai() -> Iterator[Callable[..., OaiServer]]:
    servers: list[OaiServer] = []

    def make(*args: object, **kwargs: object) -> OaiServer:
        servers.append(OaiServer(*args, **kwargs))  # type: ignore[arg-type]
        return servers[-1]

    yield make
    for s in servers:
        s.close()


@pytest.fixture
def config_for(tmp_path: Path) -> Callable[..., Path]:
    def build(base_url: str, min_interval: float = 0.02) -> Path:
        return write_config(tmp_path, base_url, readers=READERS, min_interval=min_interval)

    return build


def backfill(config: Path, *args: str) -> Result:
    return CliRunner().invoke(
        main, ["--config", str(config), "backfill", *(args or ARGS)], catch_exceptions=False
    )


def storage_of(config: Path) -> Storage:
    return open_storage(load_settings(config).database_url)


def saved_state(config: Path, key: str = "backfill:arXiv:cs:2024-01-01:") -> dict[str, object]:
    storage = storage_of(config)
    try:
        raw = storage.get_meta(key)
    finally:
        storage.close()
    assert raw, "no saved harvest state"
    data: dict[str, object] = json.loads(raw)
    return data


# --- harvesting ------------------------------------------------------------------------------


def test_a_multi_page_harvest_stores_every_record_once_then_changes_nothing(
    make_oai: Callable[..., OaiServer], config_for: Callable[..., Path]
) -> None:
    oai = make_oai(2_345, 500)
    config = config_for(oai.url)
    first = backfill(config)
    assert first.exit_code == 0, first.output
    assert "harvested 2345 records in 5 pages: 2345 new, 0 updated, 0 unchanged" in first.stdout
    assert "page 5: 2345 of 2345 records" in first.stderr

    requests = oai.requests()
    assert len(requests) == 5
    assert requests[0].params == {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "set": "cs",
        "from": "2024-01-01",
    }
    # later pages name the token alone (OAI-PMH: resumptionToken is exclusive)
    assert [r.params for r in requests[1:]] == [
        {"verb": "ListRecords", "resumptionToken": oai.token(i)} for i in range(1, 5)
    ]
    assert all("mailto:tests@example.org" in r.headers["User-Agent"] for r in requests)
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert min(gaps) >= 0.02  # the arXiv pacing gate: one request per min_interval

    settings = load_settings(config)
    with make_tracker(settings) as t:
        assert t.storage.count_items() == 2_345
        item = t.item("2401.00042")
        assert item.title == "Synthetic paper number 42"  # whitespace normalised
        assert item.authors == ("Jane Doe", "Csaba Balázs Jr")
        assert item.categories == ("cs.LG", "stat.ML") and item.primary_category == "cs.LG"
        assert item.doi == "10.1234/s.42" and item.journal_ref == "J. Synth. 42"
        assert item.comment == "12 pages" and not item.summary.startswith(" ")
        assert item.published == dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
        assert item.updated == dt.datetime(2024, 1, 5, tzinfo=dt.UTC)
        assert item.quality == API and item.url == "https://arxiv.org/abs/2401.00042"
        # fields from the categories, as for any paper
        wanted = {settings.field_map.field_of("cs.LG"), settings.field_map.field_of("stat.ML")}
        assert wanted <= {f.field for f in item.fields if f.origin == "category"}
    state = saved_state(config)
    assert state["token"] is None and state["last_completed"]

    again = backfill(config)
    assert again.exit_code == 0, again.output
    assert "2345 records in 5 pages: 0 new, 0 updated, 2345 unchanged" in again.stdout
    assert "this harvest had completed before: 20" in again.stdout
    storage = storage_of(config)
    assert storage.count_items() == 2_345
    storage.close()


def test_papers_stored_from_the_api_become_one_item_with_the_harvested_record(
    make_oai: Callable[..., OaiServer], config_for: Callable[..., Path]
) -> None:
    oai = make_oai(600, 300)
    when = dt.datetime(2024, 1, 2, 15, 30, tzinfo=dt.UTC)
    for n in (5, 305):
        oai.papers[arxiv_id(n)] = Paper(
            arxiv_id(n), 2, f"API title {n}", "API abstract", ["Jane Doe"], ["cs.LG"], when, when
        )
    config = config_for(oai.url)
    with make_tracker(load_settings(config)) as t:
        found = t.ingestor.arxiv.by_ids([arxiv_id(5), arxiv_id(305)])
        batch = [(dataclasses.replace(e, key=f"arxiv:{e.arxiv_id}"), ()) for e in found]
        t.storage.ingest(batch, when, merge=merge, prepare=normalise_new, tag=t.fields.tag)
        assert t.storage.count_items() == 2

    result = backfill(config)
    assert result.exit_code == 0, result.output
    assert "598 new, 2 updated, 0 unchanged" in result.stdout
    with make_tracker(load_settings(config)) as t:
        assert t.storage.count_items() == 600
        item = t.item(arxiv_id(305))
        assert item.version == 2  # the API's version stays: the OAI format has none
        assert item.journal_ref == "J. Synth. 305"  # what only the harvest knew is added
        assert item.published == when  # the API's timestamp, not OAI's day
        assert item.updated == dt.datetime(2024, 1, 5, tzinfo=dt.UTC)  # the later one
    again = backfill(config)
    assert "0 new, 0 updated, 600 unchanged" in again.stdout, again.output


def test_papers_stored_from_the_listing_merge_with_the_harvest(
    server: FixtureServer,
    make_oai: Callable[..., OaiServer],
    tmp_path: Path,
) -> None:
    readers = READERS + '\n[readers.follows]\ncategories = ["cs.AR"]\n'
    settings = load_settings(write_config(tmp_path, server.url, readers=readers))
    with make_tracker(settings) as t:
        t.fetch()
        before = t.storage.count_items()
        listed = [t.item(p.id) for p in server.papers if "cs.AR" in p.categories][:3]
    assert before > 3 and all(i.quality == LISTING for i in listed)
    oai = make_oai(0, 100)
    records = "".join(record_xml(0).replace(arxiv_id(0), item.arxiv_id or "") for item in listed)
    oai.extra_pages = (envelope(records, None),)
    settings = dataclasses.replace(
        settings, arxiv=dataclasses.replace(settings.arxiv, oai_url=f"{oai.url}/oai2")
    )
    with make_tracker(settings) as t:
        report = t.backfill("cs", since=dt.date(2024, 1, 1))
        assert (report.counts.new, report.counts.updated) == (0, 3)
        assert t.storage.count_items() == before
        merged = t.item(listed[0].arxiv_id or "")
        assert merged.id == listed[0].id and merged.quality == API
        assert merged.journal_ref == "J. Synth. 0"
        # what the harvest brought is a venue noticed later, recorded once
        events = [(e.kind, e.value, e.source) for e in t.storage.venue_events(merged.id)]
        assert events == [
            (VenueKind.JOURNAL_REF, "J. Synth. 0", "oai"),
            (VenueKind.DOI, "10.1234/s.0", "oai"),
        ]


# --- flow control and protocol errors -------------------------------------------------------


def test_503_with_retry_after_is_honoured_and_the_harvest_goes_on(
    make_oai: Callable[..., OaiServer], config_for: Callable[..., Path]
) -> None:
    oai = make_oai(900, 300)
    oai.faults[1] = deque([Fault(503, {"Retry-After": "1"}, b"busy")])
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)).replace(microsecond=0)
    when = format_datetime(soon, usegmt=True)
    oai.faults[2] = deque([Fault(503, {"Retry-After": when}, b"busy")])
    result = backfill(config_for(oai.url))
    assert result.exit_code == 0, result.output
    assert "harvested 900 records in 3 pages: 900 new" in result.stdout
    log = oai.requests()
    assert len(log) == 5
    assert log[1].params == log[2].params  # the same request, asked again
    assert log[2].at - log[1].at >= 1.0  # Retry-After: 1
    assert log[3].params == log[4].params
    assert log[4].wall >= soon.timestamp() - 0.05  # Retry-After: an HTTP-date


def test_no_records_match_is_success_with_nothing_stored(
    make_oai: Callable[..., OaiServer], config_for: Callable[..., Path]
) -> None:
    oai = make_oai(10, 10)
    oai.error_sets["math"] = error_doc("noRecordsMatch")
    config = config_for(oai.url)
    result = backfill(config, "--set", "math", "--from", "2024-01-01")
    assert result.exit_code == 0, result.output
    assert "no records match: nothing to harvest" in result.stdout
    storage = storage_of(config)
    assert storage.count_items() == 0
    storage.close()


def test_bad_argument_is_a_clear_error_and_a_non_zero_exit(
    make_oai: Callable[..., OaiServer], config_for: Callable[..., Path]
) -> None:
    oai = make_oai(10, 10)
    oai.error_sets["nonsense"] = error_doc("badArgument", "Illegal set value")
    config = config_for(oai.url)
    result = backfill(config, "--set", "nonsense", "--from", "2024-01-01")
    assert result.exit_code == 1
    assert "arXiv refused the harvest (set nonsense" in result.stderr
    assert "badArgument: Illegal set value" in result.stderr
    assert "Traceback" not in result.output

    for args, message in [
        (("--set", "cs.LG?", "--from", "2024-01-01"), "--set: expected an OAI set"),
        (("--set", "cs", "--from", "2024-13-01"), "--from: expected a date"),
        (("--set", "cs", "--from", "2024-02-01", "--until", "2024-01-01"), "is after --until"),
        (("--set", "cs", "--from", "2024-01-01", "--prefix", "oai_dc"), "--prefix: expected"),
    ]:
        bad = backfill(config, *args)
        assert bad.exit_code == 2 and message in bad.stderr, bad.output
    assert len(oai.requests()) == 1


def test_deleted_records_are_counted_and_nothing_stored_is_deleted(
    make_oai: Callable[..., OaiServer], config_for: Callable[..., Path]
) -> None:
    oai = make_oai(400, 200)
    config = config_for(oai.url)
    assert backfill(config).exit_code == 0
    oai.deleted = frozenset({3, 150, 399})
    with make_tracker(load_settings(config)) as t:
        saved = t.save("ada", arxiv_id(150))
    result = backfill(config)
    assert result.exit_code == 0, result.output
    assert "3 deleted upstream (3 of them stored here, kept)" in result.stdout
    assert "397 unchanged" in result.stdout
    with make_tracker(load_settings(config)) as t:
        assert t.storage.count_items() == 400
        assert [i.id for i in t.saved("ada")] == [saved.id]


# --- crashes, resuming, broken pages --------------------------------------------------------


def test_a_harvest_that_fails_on_page_3_resumes_from_its_token(
    make_oai: Callable[..., OaiServer], config_for: Callable[..., Path]
) -> None:
    oai = make_oai(1_250, 250)
    oai.broken[2] = Fault(drop=True)  # every connection for page 3 closed unanswered
    config = config_for(oai.url, min_interval=0.01)
    failed = backfill(config)
    assert failed.exit_code == 1
    assert "backfill stopped at page 3 (500 records read before it)" in failed.stderr
    assert "run the same command again" in failed.stderr and "to resume" in failed.stderr
    state = saved_state(config)
    assert state["token"] == oai.token(2)
    assert json.loads(json.dumps(state["counts"]))["new"] == 500
    seen = len(oai.requests())
    assert seen == 2 + 6  # pages 1-2, then page 3 tried 1 + 5 times

    del oai.broken[2]
    resumed = backfill(config)
    assert resumed.exit_code == 0, resumed.output
    assert "resuming the unfinished harvest" in resumed.stderr
    assert "harvested 1250 records in 5 pages (resumed): 1250 new, 0 updated" in resumed.stdout
    second = oai.requests()[seen:]
    assert second[0].params == {"verb": "ListRecords", "resumptionToken": oai.token(2)}
    assert not any("metadataPrefix" in r.params for r in second)  # page 1 not asked again
    assert len(second) == 3
    storage = storage_of(config)
    assert storage.count_items() == 1_250
    storage.close()


def test_an_expired_token_restarts_the_harvest_from_the_beginning(
    make_oai: Callable[..., OaiServer], config_for: Callable[..., Path]
) -> None:
    oai = make_oai(600, 200)
    oai.broken[1] = Fault(500)
    config = config_for(oai.url, min_interval=0.01)
    assert backfill(config).exit_code == 1
    assert saved_state(config)["token"] == oai.token(1)
    del oai.broken[1]
    oai.epoch = 2  # every token handed out so far has expired
    result = backfill(config)
    assert result.exit_code == 0, result.output
    assert "starting the harvest again from the beginning" in result.stderr
    assert "600 records in 3 pages (restarted: the saved token had expired)" in result.stdout
    assert "400 new, 0 updated, 200 unchanged" in result.stdout
    storage = storage_of(config)
    assert storage.count_items() == 600
    storage.close()


def test_a_truncated_page_is_a_clear_error_and_loses_nothing_stored_before_it(
    make_oai: Callable[..., OaiServer], config_for: Callable[..., Path]
) -> None:
    oai = make_oai(1_000, 250)
    oai.faults[2] = deque([Fault(truncate=True)])
    config = config_for(oai.url)
    failed = backfill(config)
    assert failed.exit_code == 1
    assert "malformed or truncated OAI-PMH page" in failed.stderr
    assert "progress is saved" in failed.stderr
    storage = storage_of(config)
    assert storage.count_items() == 500
    storage.close()
    assert saved_state(config)["token"] == oai.token(2)
    result = backfill(config)
    assert result.exit_code == 0, result.output
    assert "1000 records in 4 pages (resumed): 1000 new" in result.stdout


def test_an_oversized_or_non_oai_answer_is_refused_clearly() -> None:
    for body, message in [
        (b"<html><body>maintenance</body></html>", "not an OAI-PMH response"),
        (b"", "empty OAI-PMH response"),
        (f'<OAI-PMH xmlns="{OAI}"><responseDate/></OAI-PMH>'.encode(), "without <ListRecords>"),
    ]:
        with pytest.raises(SourceError, match=message):
            list(OaiPage(body, "http://127.0.0.1/oai2"))


# --- formats and recorded responses ---------------------------------------------------------


def test_arxiv_raw_records_give_the_latest_version_and_its_dates() -> None:
    raw = (
        "<record><header><identifier>oai:arXiv.org:0704.0001</identifier>"
        "<datestamp>2008-11-13</datestamp></header><metadata>"
        '<arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"><id>0704.0001</id>'
        '<version version="v1"><date>Mon, 2 Apr 2007 19:18:42 GMT</date></version>'
        '<version version="v2"><date>Tue, 24 Jul 2007 20:10:27 GMT</date></version>'
        "<title>Calculation of prompt diphoton production</title>"
        "<authors>C. Bal\\'azs, E. L. Berger and C.-P. Yuan</authors>"
        "<categories>hep-ph</categories><abstract> A fully\n differential </abstract>"
        "</arXivRaw></metadata></record>"
    )
    [record] = list(OaiPage(envelope(raw, None), "x"))
    entry = record.entry
    assert entry is not None and entry.arxiv_id == "0704.0001" and entry.version == 2
    assert entry.authors == ("C. Balázs", "E. L. Berger", "C.-P. Yuan")
    assert entry.published == dt.datetime(2007, 4, 2, 19, 18, 42, tzinfo=dt.UTC)
    assert entry.updated == dt.datetime(2007, 7, 24, 20, 10, 27, tzinfo=dt.UTC)
    assert entry.summary == "A fully differential"


def _recorded_records(folder: Path) -> str:
    """The <record> elements of the recorded GetRecord answers, as one page's content."""
    records = []
    for path in sorted(folder.glob("sample_arxiv_record[0-9]*.xml")):
        root = etree.parse(str(path)).getroot()
        records += [etree.tostring(r).decode() for r in root.iter(f"{{{OAI}}}record")]
    return "".join(records)


def test_recorded_arxiv_pages_are_harvested_after_synthetic_ones(
    fixtures_dir: Path, make_oai: Callable[..., OaiServer], config_for: Callable[..., Path]
) -> None:
    hepcrawl = fixtures_dir / "arxiv-oai" / "hepcrawl"
    pages = (
        (hepcrawl / "functional_arxiv-physics-hep-th.xml").read_bytes(),
        envelope(_recorded_records(hepcrawl), None),
        (hepcrawl / "functional_arxiv-physics-hep-ex.xml").read_bytes(),
    )
    oai = make_oai(300, 150, extra_pages=pages)
    config = config_for(oai.url)
    result = backfill(config)
    assert result.exit_code == 0, result.output
    # 300 synthetic; 3, 11 and 3 recorded
    assert "harvested 317 records in 5 pages: 317 new" in result.stdout
    with make_tracker(load_settings(config)) as t:
        assert t.storage.count_items() == 317
        toolbox = t.item("1412.8323")
        assert toolbox.title == (
            "Toolbox for reconstructing quantum theory from rules on information acquisition"
        )
        assert toolbox.authors == ("Philipp A Hoehn",)
        assert toolbox.categories[0] == "quant-ph" and "physics.hist-ph" in toolbox.categories
        assert toolbox.published == dt.datetime(2014, 12, 29, tzinfo=dt.UTC)
        # a record whose <arXiv> lacks its namespace declaration is read all the same
        coherence = t.item("1601.03238")
        assert coherence.doi == "10.1103/PhysRevD.93.016005"  # the first of three
        assert coherence.journal_ref == "Phys.Rev. D93 (2015) 016005"


def test_the_recorded_generic_chain_counts_deleted_and_foreign_records(
    fixtures_dir: Path, make_oai: Callable[..., OaiServer], config_for: Callable[..., Path]
) -> None:
    sickle = fixtures_dir / "arxiv-oai" / "generic-oai-pmh-sickle"
    pages = []
    for name in ("ListRecords.xml", "ListRecords2.xml", "ListRecords3.xml", "ListRecords4.xml"):
        # drop the recorded tokens (file names); the server puts in its own
        root = etree.fromstring((sickle / name).read_bytes())
        for token in list(root.iter(f"{{{OAI}}}resumptionToken")):
            parent = token.getparent()
            assert parent is not None
            parent.remove(token)
        pages.append(etree.tostring(root))
    oai = make_oai(0, 10, extra_pages=tuple(pages))
    oai.error_sets["bad"] = (sickle / "badArgument.xml").read_bytes()
    oai.error_sets["none"] = (sickle / "noRecordsMatch.xml").read_bytes()
    config = config_for(oai.url)
    result = backfill(config)
    assert result.exit_code == 0, result.output
    assert "harvested 8 records in 4 pages" in result.stdout
    assert "4 deleted upstream (0 of them stored here, kept), 4 skipped" in result.stdout
    assert backfill(config, "--set", "none", "--from", "2024-01-01").exit_code == 0
    bad = backfill(config, "--set", "bad", "--from", "2024-01-01")
    assert bad.exit_code == 1 and "OAI-PMH error badArgument" in bad.stderr
    with pytest.raises(SourceError, match="malformed or truncated"):
        list(OaiPage((sickle / "ListRecordsBroken.xml").read_bytes(), "x"))


# --- memory ---------------------------------------------------------------------------------


def _peak(tmp: Path, oai: OaiServer) -> int:
    settings: Settings = load_settings(
        write_config(tmp, oai.url, readers=READERS, min_interval=0.0)
    )
    with make_tracker(settings) as t:
        total, oai.total = oai.total, 5
        t.backfill("cs", since=dt.date(2024, 1, 1))  # warm up: imports, caches, statements
        oai.total = total
        tracemalloc.start()
        try:
            report = t.backfill("cs", since=dt.date(2024, 1, 1))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert report.counts.records == oai.total
        assert t.storage.count_items() == oai.total
    return peak


def test_memory_stays_flat_however_many_records_arrive(
    make_oai: Callable[..., OaiServer], tmp_path: Path
) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    large.mkdir()
    # Ten times the records and pages (tracemalloc makes storing ~4x slower: 500 and
    # 5,000 records keep this test to seconds); the peak is set by one page and batch.
    peak_small = _peak(small, make_oai(500, 250, words=40))
    peak_large = _peak(large, make_oai(5_000, 250, words=40))
    assert peak_large / peak_small < 2, (peak_small, peak_large)
