"""tracker: a self-hosted paper and feed tracker for researchers."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/tracker-project/tracker"
# What every host sees; the operator's contact address goes only to services that ask
# for one (arXiv's terms, OpenAlex's polite pool), in ``ArxivSettings.user_agent``.
USER_AGENT = f"tracker/{__version__} (+{PROJECT_URL})"
