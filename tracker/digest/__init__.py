"""Digests: what goes in and why (``select``, ``crossdomain``), how it reads
(``markdown``, ``email``), and building and delivering it exactly once (``service``,
``files``, ``smtp``)."""
