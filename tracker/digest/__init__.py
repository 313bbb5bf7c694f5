"""Digests: what goes in and why (``select``, ``crossdomain``), what a reader's digest
depends on (``readers``), what it shows (``view``, with ``links`` deciding which links
may be shown and ``wording`` how reasons read), in which language (``language``, its
catalogues in ``catalogs``), how it reads (``render`` and its templates, ``email``), and
building and delivering it exactly once (``service``, ``files``, ``smtp``)."""
