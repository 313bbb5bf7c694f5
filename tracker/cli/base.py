"""The ``tracker`` command: a thin layer over ``Tracker``.

Every command loads the config once, wires a tracker through ``make_tracker`` and
calls one method. Errors of ours become one clear line and a non-zero exit, for every
command alike: the group (``TrackerGroup``) turns a ``TrackerError`` raised anywhere
below it into a ``click.ClickException``; progress goes to stderr only on a terminal.
Exit codes, the same for every command:

    0  done (for fetch and run --once: every source tried was fetched, or none was due)
    1  failed: an operational error (database, network, delivery), or, for fetch and
       run --once, every source tried failed: nothing could be fetched
    2  bad usage or configuration: nothing was done
    3  fetch and run --once only: some sources failed, the others were fetched

This module holds the group and what every command shares; the commands live in
the modules beside it, one per domain (``admin``, ``follows``, ``digests``,
``library``, ``fields``), and only call ``core`` and ``config``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from tracker import __version__
from tracker.app.core import Tracker, make_tracker
from tracker.config import Settings, load_settings
from tracker.errors import ConfigError, TrackerError, UsageError
from tracker.models import Item

F = TypeVar("F", bound=Callable[..., Any])  # a decorated function
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
CONFIG_CANDIDATES = ("tracker.toml", "config/tracker.toml")
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _find_config(given: str | None) -> Path:
    if given:
        return Path(given)
    env = os.environ.get("TRACKER_CONFIG")
    if env:
        return Path(env)
    for candidate in CONFIG_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise ConfigError(
        [
            "no config file: pass --config FILE, set TRACKER_CONFIG, or create tracker.toml "
            "(copy config/tracker.example.toml to start)"
        ]
    )


class State:
    def __init__(self, config: str | None, verbose: int) -> None:
        self.config = config
        self.verbose = verbose
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(_find_config(self.config))
        return self._settings

    @contextmanager
    def tracker(self) -> Iterator[Tracker]:
        tracker = make_tracker(self.settings)
        try:
            yield tracker
        finally:
            tracker.close()


# Libraries whose INFO lines are noise for a user: Alembic's plugin set-up, httpx's line
# per request, APScheduler's two lines per job run (the jobs log what they do). -vv
# shows them.
NOISY_LOGGERS = ("alembic", "httpx", "httpcore", "apscheduler.executors")


def _setup_logging(verbose: int, default: str = "WARNING") -> None:
    level = {0: default, 1: "INFO"}.get(verbose, "DEBUG")
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose >= 2 else logging.WARNING)


class Failure(click.ClickException):
    """One of our errors as click reports it: one line on stderr (every problem of a
    ``ConfigError``, one per line) and exit code 1."""

    exit_code = EXIT_FAILED

    def __init__(self, error: TrackerError) -> None:
        super().__init__(str(error))
        self.error = error

    def show(self, file: IO[Any] | None = None) -> None:
        err = file is None
        if isinstance(self.error, ConfigError):
            click.echo("configuration errors:", file=file, err=err)
            for problem in self.error.problems:
                click.echo(f"  {problem}", file=file, err=err)
        else:
            click.echo(f"error: {self.error}", file=file, err=err)


class UsageFailure(Failure):
    """Bad usage or configuration (``UsageError``, ``ConfigError``): exit code 2."""

    exit_code = EXIT_USAGE


class TrackerGroup(click.Group):
    """The ``tracker`` group: every command and subgroup runs inside its ``invoke``,
    so an error of ours raised anywhere becomes a ``Failure`` (no command has to
    remember to catch them)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, UsageError) as e:
            raise UsageFailure(e) from e
        except TrackerError as e:
            raise Failure(e) from e


def _progress() -> Callable[[str], None] | None:
    if not sys.stderr.isatty():
        return None
    return lambda message: click.echo(f"… {message}", err=True)


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as e:
        raise UsageError(f"{option}: expected a date YYYY-MM-DD, got {value!r}") from e


def _missing_folder(folder: Path) -> str | None:
    """Why files cannot be made in ``folder`` (a missing or non-folder ancestor), or
    None when it is an existing folder."""
    if folder.is_dir():
        return None
    for above in [folder, *folder.parents]:
        if above.exists() and not above.is_dir():
            return f"{above} is a file, not a folder"
        if above.is_dir():
            break
    return f"folder {folder} does not exist"


def _output_file(value: str, option: str) -> Path:
    """A file to write, checked before anything is done: its folder must exist."""
    path = Path(value)
    why = _missing_folder(path.parent)
    if why:
        raise UsageError(f"{option}: cannot write {path}: {why}")
    return path


def _output_folder(value: str, option: str) -> Path:
    """A folder to write into: an existing one, or a new one in an existing folder
    (never a chain of folders made by a typing mistake)."""
    path = Path(value)
    if path.is_dir():
        return path
    if path.exists():
        raise UsageError(f"{option}: {path} is a file, not a folder")
    why = _missing_folder(path.parent)
    if why:
        raise UsageError(f"{option}: cannot make {path}: {why}")
    return path


def _write_file(path: Path, text: str, option: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"{option}: cannot write {path}: {e.strerror or e}") from e


pass_state = click.make_pass_decorator(State)


@click.group(cls=TrackerGroup)
@click.option(
    "--config",
    "config",
    metavar="FILE",
    help="Config file (default: $TRACKER_CONFIG, ./tracker.toml or ./config/tracker.toml).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__)
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: int) -> None:
    """tracker: follow arXiv, scholars and feeds; get a daily digest; search what you saved."""
    ctx.obj = State(config, verbose)
    if ctx.invoked_subcommand not in ("run", "web"):  # those log at INFO by default
        _setup_logging(verbose)


def _one_line(item: Item) -> str:
    ident = f"arXiv:{item.arxiv_id}" if item.arxiv_id else f"#{item.id}"
    year = (item.published or item.first_seen).year
    authors = ", ".join(item.authors[:3]) + (" et al." if len(item.authors) > 3 else "")
    return f"{ident:<22} {year} {item.title}\n{'':<27}{authors}"
