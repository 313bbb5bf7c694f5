"""A reader's library: exporting saved papers (``bibtex``)."""
