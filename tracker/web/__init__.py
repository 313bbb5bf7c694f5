"""The web page: reading the digest, searching, saved papers, follows, scholars and
the sources' status, for several signed-in readers (``tracker web``).

Flask with Jinja2 templates (autoescaped), served by waitress; a few lines of
JavaScript, every asset served from this package. It calls the ``Tracker`` facade and
reads the config only, like the CLI: no SQL, no HTTP client, no digest logic here.
"""

from tracker.web.app import create_app

__all__ = ["create_app"]
