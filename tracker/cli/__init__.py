"""The ``tracker`` command: a thin layer over ``Tracker`` (see ``base``).

Importing this package registers every command on ``main``.
"""

from tracker.cli import admin, digests, fields, follows, library, reading, web
from tracker.cli.base import main

__all__ = ["admin", "digests", "fields", "follows", "library", "main", "reading", "web"]
