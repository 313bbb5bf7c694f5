"""tracker: a self-hosted paper and feed tracker for researchers."""

import sys

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/tracker-project/tracker"
# What every host sees; the operator's contact address goes only to services that ask
# for one (arXiv's terms, OpenAlex's polite pool), in ``ArxivSettings.user_agent``.
USER_AGENT = f"tracker/{__version__} (+{PROJECT_URL})"

# httpx imports its own command-line client (click, rich, pygments: 5 MB of every
# process) whenever those happen to be installed; tracker never runs it. None in
# sys.modules makes that import fail, which httpx expects: its ``main`` then only says
# the client is not installed. A process that imported httpx before us keeps its own.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
