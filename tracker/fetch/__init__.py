"""Fetching: one cycle over the due sources (``cycle``), scholars' id-keyed sources and
attribution (``scholars``, ``attribution``), merging entries of one paper (``merge``),
claims that let several workers share the queue (``claims``) and the OAI-PMH backfill
(``backfill``)."""
