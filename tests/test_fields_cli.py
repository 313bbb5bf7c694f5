"""The fields stage as a user runs it: cold start on the first run, ``tracker fields``
(list, explain, train, eval) through the command line against a real local server
and SQLite file, the worker's weekly job, and a reader's interests for cross-domain
reading."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner, Result

from tests.conftest import LISTING_MORNING, Clock, write_config
from tests.support.server import FixtureServer
from tracker.app.core import make_tracker
from tracker.cli import main
from tracker.config import Settings
from tracker.errors import ConfigError
from tracker.fields.service import FieldService
from tracker.fields.tagger import own_fields_from_saved
from tracker.models import CONFIDENT
from tracker.worker import add_jobs

BLOG = "/feeds/feeds-realworld/feedjira-2009-blogs/AllThingsDistributed.xml"
READERS = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "00:00"

[readers.follows]
categories = ["cs.AR"]
feeds = ["FEED"]
"""


@pytest.fixture(scope="module")
def training_jsonl(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every 20th recorded arXiv paper (about 930): a small, fast training set."""
    lines: list[str] = []
    for path in sorted((corpus_dir / "arxiv-metadata").rglob("*.jsonl")):
        lines += path.read_text(encoding="utf-8").splitlines()
    out = tmp_path_factory.mktemp("training") / "papers.jsonl"
    out.write_text("\n".join(lines[::20]) + "\n", encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def small_jsonl(training_jsonl: Path) -> Path:
    """A third of that (about 310 papers), where only the mechanics matter."""
    out = training_jsonl.with_name("small.jsonl")
    out.write_text("\n".join(training_jsonl.read_text().splitlines()[::3]) + "\n")
    return out


@pytest.fixture
def config(server: FixtureServer, tmp_path: Path, training_jsonl: Path) -> Path:
    return write_config(
        tmp_path,
        server.url,
        readers=READERS.replace("FEED", server.url + BLOG),
        extra=f'[fields]\ntraining_data = "{training_jsonl}"\n',
    )


def run(config: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def post_ids(config: Path) -> list[int]:
    rows = json.loads(run(config, "search", "", "--source", "feed", "--json").output)
    return [r["id"] for r in rows]


def test_cold_start_tagging_explain_train_and_eval(config: Path, small_jsonl: Path) -> None:
    fetched = run(config, "fetch")
    assert fetched.exit_code == 0, fetched.output
    listed = run(config, "fields")
    assert listed.output.startswith("no field model yet")
    assert "Computer Science  (" in listed.output and "\n  Systems " in listed.output

    # the first run trains the model from the configured data, then re-tags posts
    once = run(config, "run", "--once")
    assert once.exit_code == 0, once.output
    models = config.parent / "data" / "models"
    assert (models / "fields-v1.joblib").is_file() and (models / "fields-v1.json").is_file()
    manifest = json.loads((models / "fields-v1.json").read_text())
    assert manifest["sources"]["database"] > 0 and len(manifest["sources"]) == 2

    listed = run(config, "fields")
    assert listed.output.startswith("model fields-v1, trained ")
    assert re.search(r"Systems +\d+ +\(category \d+(, model \d+)?", listed.output)
    counts = {r["field"]: r for r in json.loads(run(config, "fields", "--json").output)}
    systems = counts["Computer Science > Systems"]["by_origin"]
    assert systems["category"] > 0

    # a blog post: the model's fields when it is sure (two words of evidence, from its
    # threshold and 0.75), else none; keyword hints are never shown in digests
    explained = [run(config, "fields", "explain", str(n)).output for n in post_ids(config)]
    header = "model fields-v1 (predictions, from title and abstract; it gives a field from 0."
    assert explained and all(header in text for text in explained)
    assert all("words: " in text for text in explained)
    model_lines = [
        m
        for text in explained
        for m in re.finditer(r"^  .+?  (\d\.\d\d)  model: predicted by fields-v1 ", text, re.M)
    ]
    assert all(float(m.group(1)) >= 0.75 for m in model_lines)
    hints = [line for text in explained for line in text.splitlines() if " keyword: " in line]
    assert all(line.endswith("(a hint: not in digests)") for line in hints)
    assert sum(c["by_origin"].get("model", 0) for c in counts.values()) == len(model_lines)

    # an arXiv paper: its categories decide; the model gives a second opinion
    found = json.loads(run(config, "search", "", "--category", "cs.AR", "--json").output)
    paper = run(config, "fields", "explain", found[0]["arxiv_id"])
    assert paper.exit_code == 0
    assert "category: from category cs.AR" in paper.output
    assert "(second opinion, from title and abstract; " in paper.output

    trained = run(config, "fields", "train")
    assert trained.exit_code == 0, trained.output
    assert re.match(r"trained fields-v2 on [\d,]+ papers \(database [\d,]+, ", trained.output)
    assert re.search(r"re-tagged [\d,]+ items without categories", trained.output)
    assert re.search(r"fields shown from probability 0\.\d\d", trained.output)

    evaluated = run(config, "fields", "eval")
    assert evaluated.exit_code == 0, evaluated.output
    assert re.search(r"^groups +\d+ +0\.\d{3} +0\.\d{3} ", evaluated.output, re.MULTILINE)
    assert "Computer Science fields" in evaluated.output
    as_json = json.loads(run(config, "fields", "eval", "--data", str(small_jsonl), "--json").output)
    assert as_json["n_test"] > 0 and 0 < as_json["groups"]["accuracy"] <= 1

    missing = run(config, "fields", "explain", "2411.99999")
    assert missing.exit_code == 1 and "no stored item" in missing.output


def test_eval_scores_existing_models_and_installations(
    config: Path, small_jsonl: Path, tmp_path: Path
) -> None:
    assert run(config, "fields", "train").exit_code == 0
    half = small_jsonl.read_text().splitlines()
    older, newer = tmp_path / "older.jsonl", tmp_path / "newer.jsonl"
    older.write_text("\n".join(half[::2]) + "\n")
    newer.write_text("\n".join(half[1::2]) + "\n")

    # an existing model, by version, by path and as "current": no training
    by_version = run(config, "fields", "eval", "--model", "1", "--test", str(newer))
    assert by_version.exit_code == 0, by_version.output
    assert by_version.output.startswith("model fields-v1 (")
    assert "top-2" in by_version.output and "classes" in by_version.output
    assert re.search(
        r"^shown \(best field at or above the threshold 0\.\d\d\): ", by_version.output, re.M
    )
    manifest = config.parent / "data" / "models" / "fields-v1.json"
    by_path = run(config, "fields", "eval", "--model", str(manifest), "--data", str(newer))
    assert by_path.output == by_version.output
    current = json.loads(
        run(config, "fields", "eval", "--model", "current", "--test", str(newer), "--json").output
    )
    assert current["split"] == "model" and current["model"] == "fields-v1"
    assert current["focus"]["top2"] >= current["focus"]["accuracy"]
    assert all(f["field"].startswith("Computer Science > ") for f in current["per_field"])
    wide = json.loads(
        run(
            config,
            "fields",
            "eval",
            "--model",
            "1",
            "--test",
            str(newer),
            "--min-support",
            "1",
            "--json",
        ).output
    )
    assert wide["min_support"] == 1 and wide["focus"]["labels"] >= current["focus"]["labels"]

    # an installation: cold start plus stored days, tested on a newer file
    given = json.loads(
        run(
            config,
            "fields",
            "eval",
            "--data",
            str(small_jsonl),
            "--stored",
            str(older),
            "--test",
            str(newer),
            "--json",
        ).output
    )
    assert given["split"] == "given" and given["n_test"] > 0
    assert given["n_stored"] > 0  # the stored file's papers, less those tested on
    assert given["n_train"] + given["n_test"] <= len(half)

    bad = run(config, "fields", "eval", "--model", "7", "--test", str(newer))
    assert bad.exit_code == 1 and "no field model version 7" in bad.output


def test_training_without_papers_is_a_clear_error(server: FixtureServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, server.url, readers=READERS.replace("FEED", server.url + BLOG))
    result = run(config, "fields", "train")
    assert result.exit_code == 2 and "no labelled papers to train on" in result.output
    assert run(config, "fields", "eval").exit_code == 2


def test_config_mistakes_in_fields_and_cross_domain_settings(
    server: FixtureServer, tmp_path: Path
) -> None:
    extra = """
[fields]
training_data = "nowhere"
min_papers = 0
stored_weight = 0.5
stored_priors = 2

[digest]
cross_domain_items = -1
cross_domain_fields = ["Computer Science > Sytems", "Physics"]
"""
    with pytest.raises(ConfigError) as e:
        from tracker.config import load_settings

        load_settings(write_config(tmp_path, server.url, extra=extra))
    problems = "\n".join(e.value.problems)
    assert "fields.training_data" in problems and "does not exist" in problems
    assert "fields.min_papers: expected a positive number" in problems
    assert "fields.stored_weight: expected a number from 1" in problems
    assert "fields.stored_priors: expected a share from 0" in problems
    assert "digest.cross_domain_items: expected 0 or more" in problems
    assert "'Computer Science > Sytems' (did you mean 'Computer Science > Systems'?)" in problems
    assert "'Physics'" not in problems  # a group is fine


def test_the_worker_retrains_weekly(
    server: FixtureServer, settings_for: Callable[..., Settings], small_jsonl: Path
) -> None:
    settings = settings_for(
        server.url,
        readers=READERS.replace("FEED", server.url + BLOG),
        extra=f'[fields]\ntraining_data = "{small_jsonl}"\nretrain_days = 7\n',
    )
    clock = Clock(LISTING_MORNING)
    t = make_tracker(settings, clock=clock)
    try:
        scheduler = BackgroundScheduler(timezone=dt.UTC)
        add_jobs(scheduler, t, clock.now)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"fetch", "digests", "fields", "leader"}
        assert jobs["fields"].next_run_time > jobs["fetch"].next_run_time

        first = t.retrain_fields_if_due()  # no model yet: the cold start
        assert first is not None and first.model.version == 1
        clock.advance(days=6)
        assert t.retrain_fields_if_due() is None
        clock.advance(days=1)
        again = t.retrain_fields_if_due()
        assert again is not None and again.model.version == 2
        assert again.model.trained_at == clock.now
    finally:
        t.close()


def test_a_readers_interests_and_learned_fields(
    server: FixtureServer, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for(server.url, readers=READERS.replace("FEED", server.url + BLOG))
    t = make_tracker(settings, clock=Clock(LISTING_MORNING))
    try:
        t.fetch()
        outcome = t.build_digest("ada")
        in_own = [e.item for s in outcome.digest.sections if s.kind == "field" for e in s.entries]
        assert in_own
        by_primary: dict[str, list[str]] = {}
        for paper in t.storage.labelled_papers(1000):
            if paper.primary_category != "cs.AR" and paper.arxiv_id:
                by_primary.setdefault(paper.primary_category or "", []).append(paper.arxiv_id)
        pair = next(ids for ids in by_primary.values() if len(ids) >= 2)[:2]
        for ref in pair:
            t.save("ada", ref)
        view = t.digests.reader_view(settings.readers[0])
        interests = view.interests
        assert [i.saved for i in interests[:2]] == [True, True]
        assert {i.item_id for i in interests} >= {i.id for i in in_own}
        learned = own_fields_from_saved(
            [[f.field for f in t.item(ref).fields if f.confidence >= CONFIDENT] for ref in pair]
        )
        assert learned  # the field both saved papers are in
        # followed categories' fields first, then what the saved papers share
        assert list(view.own_fields) == list(
            dict.fromkeys(["Computer Science > Systems", *learned])
        )
        assert view.cross_limit == 5
    finally:
        t.close()


def test_stored_papers_weigh_as_configured(
    server: FixtureServer, settings_for: Callable[..., Settings]
) -> None:
    from tracker.fields.training import WEIGHTING, Weighting

    plain = settings_for(server.url)
    assert FieldService(plain, None, Clock(LISTING_MORNING)).weighting() == WEIGHTING  # type: ignore[arg-type]
    tuned = settings_for(server.url, extra="[fields]\nstored_weight = 3\nstored_priors = 0.5\n")
    found = FieldService(tuned, None, Clock(LISTING_MORNING)).weighting()  # type: ignore[arg-type]
    assert found == Weighting(stored=3.0, prior_share=0.5)
