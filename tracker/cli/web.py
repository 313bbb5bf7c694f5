"""``tracker web``: serve the web page; ``tracker web passwd``: readers' passwords."""

from __future__ import annotations

import os
import sys

import click

from tracker.cli.base import State, _setup_logging, main, pass_state
from tracker.errors import UsageError


@main.group(invoke_without_command=True)
@click.option("--host", help="Address to listen on (default: [web] host, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: [web] port, 8080).")
@click.pass_context
def web(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the web page: digests, search, saved papers, follows, status."""
    if ctx.invoked_subcommand is not None:
        return
    state: State = ctx.obj
    from tracker.web.server import check_exposure, serve

    settings = state.settings
    host = host or settings.web.host
    port = settings.web.port if port is None else port
    check_exposure(settings, host)
    _setup_logging(state.verbose, "INFO")
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"tracker web on http://{shown}:{port}/ (Ctrl-C stops it)", err=True)
    serve(settings, host, port, os.environ)


@web.command("passwd")
@click.argument("reader")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--remove", is_flag=True, help="Remove the reader's password (no more sign-in).")
@pass_state
def passwd(state: State, reader: str, from_stdin: bool, remove: bool) -> None:
    """Set a reader's password for the web page (stored as an argon2 hash)."""
    with state.tracker() as t:
        name = t.settings.reader(reader).name
        if remove:
            removed = t.remove_password(name)
            click.echo(f"password of {name} removed" if removed else f"{name} had no password")
            return
        if from_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt(
                f"New password for {name}", hide_input=True, confirmation_prompt=True
            )
        if not password:
            raise UsageError("empty password")
        t.set_password(name, password)
    click.echo(f"password of {name} set; earlier sign-ins of {name} have ended")
