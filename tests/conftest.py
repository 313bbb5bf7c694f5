"""Shared pytest fixtures.

Recorded real data lives outside the repository (see README, "Tests"); tests that need
it skip with a clear reason when it is absent. Set TRACKER_FIXTURES to point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "config"


def _fixtures_root() -> Path:
    env = os.environ.get("TRACKER_FIXTURES")
    return Path(env) if env else REPO.parent / "shared" / "fixtures"


FIXTURES = _fixtures_root()


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The recorded-data folder; skips the test when it is not there."""
    if not FIXTURES.is_dir():
        pytest.skip(f"recorded fixtures not found at {FIXTURES} (set TRACKER_FIXTURES)")
    return FIXTURES
