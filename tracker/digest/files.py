"""Delivering digests: Markdown files written atomically.

A digest file is written to a temporary file in the same folder, flushed to disk and
renamed over the target, so a reader (or a sync tool) never sees half a digest,
whatever happens to the process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path


def digest_path(output_dir: Path, reader: str, day: dt.date) -> Path:
    return output_dir / reader / f"{day.isoformat()}.md"


def write_atomic(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a killed process
        with contextlib.suppress(OSError):
            stale.unlink()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    # Make the rename itself durable.
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
