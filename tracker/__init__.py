"""tracker: a self-hosted paper and feed tracker for researchers."""

__version__ = "0.1.0"
