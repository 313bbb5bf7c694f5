"""Field models on disk, and arXiv metadata files to train them from.

Models live in ``<data_dir>/models``: ``fields-v<N>.joblib`` (the vectorizer and the
weights) beside ``fields-v<N>.json`` (the manifest: version, when, on what, how well,
with which scikit-learn). The newest version whose manifest and file are both there
is the current one; the manifest is written last, so a crash mid-save leaves the
previous model current. The last ``KEEP`` versions are kept.

A joblib file is a pickle: it is only ever loaded from a models folder that tracker
wrote, this installation's or one the user names on the command line (``tracker
fields eval --model PATH``, as trusted as the user typing it), never from a path a
feed or a config file supplies.

``read_arxiv_metadata`` reads JSONL files of arXiv metadata (one paper a line: id,
title, abstract or summary, categories, primary_category, created), as in
``../shared/fixtures/arxiv-metadata``, into ``Entry`` records.

This module does file I/O only; what to train and when is decided elsewhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tracker.errors import ModelError
from tracker.fields.model import DEFAULT_THRESHOLD, FieldModel, ModelInfo
from tracker.models import API, Entry

log = logging.getLogger(__name__)
KEEP = 3
_NAME = re.compile(r"^fields-v(\d+)\.json$")
_NEW_ID = re.compile(r"^(\d{2})(\d{2})\.\d{4,5}$")
_OLD_ID = re.compile(r"^[a-z\-]+(?:\.[A-Za-z\-]+)?/(\d{2})(\d{2})\d{3}$")


def _sklearn_series(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _sklearn_version() -> str:
    # from the package metadata: importing scikit-learn itself takes seconds
    return importlib.metadata.version("scikit-learn")


class ModelStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _manifests(self) -> Iterator[tuple[int, Path]]:
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            m = _NAME.match(path.name)
            if m and path.with_suffix(".joblib").is_file():
                yield int(m.group(1)), path

    def versions(self) -> list[int]:
        return sorted(v for v, _ in self._manifests())

    def latest(self) -> tuple[ModelInfo, str] | None:
        """The current model's manifest and the scikit-learn version that wrote it."""
        found = self.versions()
        if not found:
            return None
        return self.info(found[-1])

    def info(self, version: int) -> tuple[ModelInfo, str]:
        path = self.folder / f"fields-v{version}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return _info(data), str(data["sklearn"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelError(f"unreadable model manifest {path}: {e}") from e

    def usable(self) -> ModelInfo | None:
        """The current model's manifest if this scikit-learn can load it, else None."""
        latest = self.latest()
        if latest is None:
            return None
        info, written_by = latest
        have = _sklearn_version()
        if _sklearn_series(written_by) != _sklearn_series(have):
            log.warning(
                "field model written by another scikit-learn model=%s written_by=%s have=%s",
                info.name,
                written_by,
                have,
            )
            return None
        return info

    def load(self, version: int | None = None) -> FieldModel:
        if version is None:
            found = self.versions()
            if not found:
                raise ModelError(f"no field model in {self.folder}")
            version = found[-1]
        info, _ = self.info(version)
        path = self.folder / f"fields-v{version}.joblib"
        import joblib  # here: it imports NumPy's pickling machinery and more

        try:
            parts = joblib.load(path)
            return FieldModel(parts["vectorizer"], parts["coef"], parts["intercept"], info)
        except (OSError, KeyError, TypeError, ValueError, EOFError, AttributeError) as e:
            raise ModelError(f"cannot load the field model {path}: {e}") from e

    @classmethod
    def load_ref(cls, ref: str, default: ModelStore) -> FieldModel:
        """A model named on the command line: a version of ``default`` ("3", "v3",
        "fields-v3"), or the path of a model's manifest or file, or of a models folder
        (its newest model)."""
        m = re.fullmatch(r"(?:fields-)?v?(\d+)", ref.strip())
        if m:
            version = int(m.group(1))
            if version not in default.versions():
                raise ModelError(f"no field model version {version} in {default.folder}")
            return default.load(version)
        path = Path(ref)
        if path.is_dir():
            return cls(path).load()
        named = re.fullmatch(r"fields-v(\d+)\.(?:json|joblib)", path.name)
        if not named or not path.is_file():
            raise ModelError(
                f"{ref!r} is neither a model version nor a fields-v<N>.json/.joblib file "
                "or models folder"
            )
        return cls(path.parent).load(int(named.group(1)))

    def save(self, model: FieldModel) -> FieldModel:
        """Write a model as the next version; returns it with that version."""
        found = self.versions()
        model = model.with_info(version=(found[-1] if found else 0) + 1)
        name = model.info.name
        import joblib

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            parts = dict(vectorizer=model.vectorizer, coef=model.coef, intercept=model.intercept)
            _atomic(self.folder / f"{name}.joblib", lambda p: joblib.dump(parts, p, compress=3))
            manifest = dict(_manifest(model.info), sklearn=_sklearn_version())
            text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
            _atomic(self.folder / f"{name}.json", lambda p: p.write_text(text, encoding="utf-8"))
        except OSError as e:
            raise ModelError(f"cannot write the field model to {self.folder}: {e}") from e
        for old in found[: max(0, len(found) + 1 - KEEP)]:
            for suffix in (".json", ".joblib"):  # manifest first: never a manifest alone
                (self.folder / f"fields-v{old}{suffix}").unlink(missing_ok=True)
        log.info("field model saved model=%s examples=%d", name, model.info.n_examples)
        return model


def _atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _manifest(info: ModelInfo) -> dict[str, Any]:
    data = dataclasses.asdict(info)
    data["trained_at"] = info.trained_at.isoformat()
    data["labels"] = list(info.labels)
    data["sources"] = dict(info.sources)
    data["priors"] = dict(info.priors)
    return data


def _info(data: dict[str, Any]) -> ModelInfo:
    """A manifest read back; models written before abstention and priors existed get
    the defaults (the threshold of ``DEFAULT_THRESHOLD``, no priors)."""
    return ModelInfo(
        version=int(data["version"]),
        trained_at=dt.datetime.fromisoformat(data["trained_at"]),
        n_examples=int(data["n_examples"]),
        n_features=int(data["n_features"]),
        labels=tuple(data["labels"]),
        seed=int(data["seed"]),
        temperature=float(data["temperature"]),
        holdout_accuracy=data.get("holdout_accuracy"),
        sources=dict(data.get("sources") or {}),
        threshold=float(data.get("threshold", DEFAULT_THRESHOLD)),
        threshold_precision=data.get("threshold_precision"),
        threshold_coverage=data.get("threshold_coverage"),
        priors={str(k): float(v) for k, v in (data.get("priors") or {}).items()},
        prior_strength=float(data.get("prior_strength", 0.0)),
        n_stored=int(data.get("n_stored", 0)),
        adapt=float(data.get("adapt", 0.0)),
    )


# --- arXiv metadata files -------------------------------------------------------------


def _day(record: dict[str, Any], arxiv_id: str) -> dt.datetime | None:
    created = str(record.get("created") or "")[:10]
    if created:
        try:
            return dt.datetime.fromisoformat(created).replace(tzinfo=dt.UTC)
        except ValueError:
            pass
    m = _NEW_ID.match(arxiv_id) or _OLD_ID.match(arxiv_id)
    if not m:
        return None
    yy, mm = int(m.group(1)), int(m.group(2))
    if not 1 <= mm <= 12:
        return None
    return dt.datetime(1900 + yy if yy >= 91 else 2000 + yy, mm, 1, tzinfo=dt.UTC)


def _categories(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list):
        return tuple(str(v) for v in value if v)
    return ()


def metadata_files(path: Path) -> list[Path]:
    """The JSONL files of a folder (recursively, in name order), or the file itself."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ModelError(f"training data not found: {path}")
    return sorted(path.rglob("*.jsonl"))


def read_arxiv_metadata(path: Path) -> list[Entry]:
    """Papers of one JSONL file or of every ``*.jsonl`` under a folder; the first
    record of an id wins. Lines that are not papers are skipped."""
    papers: dict[str, Entry] = {}
    for file in metadata_files(path):
        try:
            with file.open(encoding="utf-8") as f:
                for line in f:
                    entry = _paper(line)
                    if entry is not None and entry.arxiv_id not in papers:
                        papers[entry.arxiv_id or ""] = entry
        except (OSError, UnicodeDecodeError) as e:
            raise ModelError(f"cannot read training data {file}: {e}") from e
    return list(papers.values())


def _paper(line: str) -> Entry | None:
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    arxiv_id = str(record.get("id") or "").strip()
    title = " ".join(str(record.get("title") or "").split())
    summary = " ".join(str(record.get("abstract") or record.get("summary") or "").split())
    categories = _categories(record.get("categories"))
    if not arxiv_id or not title or not categories:
        return None
    primary = str(record.get("primary_category") or categories[0])
    return Entry(
        title=title,
        summary=summary,
        arxiv_id=arxiv_id,
        primary_category=primary,
        categories=categories,
        published=_day(record, arxiv_id),
        quality=API,
        key=f"arxiv:{arxiv_id}",
    )
