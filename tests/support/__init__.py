"""Test support code, apart from the tests: the local servers that play arXiv, feed
hosts and mail servers (``server``, ``smtp``), scratch PostgreSQL databases (``pg``),
the worker process that the crash tests kill (``crash_worker``) and where the recorded
data is found (``data``)."""
