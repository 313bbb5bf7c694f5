"""Sources: the adapters to the outside world that bring entries in.

``http`` is the one httpx seam (timeouts, body cap, redirects, conditional GET);
``pacing`` and ``shared_pacing`` are arXiv's request gate (per process, across
workers); ``arxiv`` with ``arxiv_xml`` (the API and listings), ``oai`` (OAI-PMH),
``feeds`` (RSS, Atom, JSON Feed) and ``openalex`` read one service each;
``arxiv_query`` is arXiv's query syntax (pure). Nothing here stores or schedules.
"""
