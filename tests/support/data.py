"""Where the tests find recorded data.

Two places. ``tests/data`` in the repository holds the small part of the recorded data
that the ordinary tests need (arXiv API pages, listings and OAI-PMH responses, a few
dozen real feeds, arXiv's category taxonomy; ``tests/data/PROVENANCE.md`` names the
source and licence of each file). The full corpus (about 2,400 feeds, feedparser's test
cases, tens of thousands of papers of arXiv metadata) is used only by the tests marked
``corpus``: it is found where ``TRACKER_FIXTURES`` points, else in ``../shared/fixtures``
beside the repository. Without it those tests skip, and fail under CI (``CI=true``).

Files above a megabyte are kept compressed in ``tests/data`` (``name.gz``); ``read``
returns the bytes of either form.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"


def corpus_root() -> Path:
    """Where the full recorded corpus is expected (it may not be there)."""
    env = os.environ.get("TRACKER_FIXTURES")
    return Path(env) if env else REPO.parent / "shared" / "fixtures"


def corpus_missing() -> str | None:
    """Why the corpus tests cannot run here, or None when they can."""
    root = corpus_root()
    if not (root / "feeds-realworld").is_dir():
        return (
            f"the full recorded corpus is not at {root} (set TRACKER_FIXTURES; "
            "README, Tests and benchmarks)"
        )
    return None


def read(root: Path, rel: str) -> bytes:
    """The bytes of a recorded file under ``root``, stored as is or as ``rel.gz``."""
    path = root / rel
    if path.is_file():
        return path.read_bytes()
    packed = path.with_name(path.name + ".gz")
    if packed.is_file():
        return gzip.decompress(packed.read_bytes())
    raise FileNotFoundError(path)
