"""Readers' relevance models on disk, so that a restart does not train them again.

One file per reader in ``<data_dir>/readers``: ``<name>.npz``, a NumPy archive
without pickles (``allow_pickle=False``: loading runs no code), holding the model's
arrays, its vocabulary and its positives, and the fingerprint of what it was trained
on. ``load`` gives the model only when the stored fingerprint is the one asked for;
any file that cannot be read, or was written by another format, counts as no model
(it is trained again and overwritten). Files are written to a temporary name and
renamed, so a crash mid-save leaves the previous file whole.

File I/O only: when to train and on what is decided by the reading service.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import zipfile
from pathlib import Path

import numpy as np
from scipy import sparse

from tracker.reading.model import ReaderModel
from tracker.reading.profile import Evidence
from tracker.reading.text import Vocabulary

log = logging.getLogger(__name__)
FORMAT = 1
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class ReaderModelStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, reader: str) -> Path:
        """The reader's file: the name made safe, with a hash of the real name so
        that two names made alike stay apart."""
        tag = hashlib.sha256(reader.encode()).hexdigest()[:12]
        return self.folder / f"{_SAFE.sub('_', reader)[:60]}-{tag}.npz"

    def load(self, reader: str, fingerprint: str) -> ReaderModel | None:
        """The stored model when it was trained on ``fingerprint``; else None."""
        path = self.path(reader)
        try:
            with np.load(path, allow_pickle=False) as f:
                meta = json.loads(f["meta"].tobytes().decode())
                if meta.get("format") != FORMAT or meta.get("fingerprint") != fingerprint:
                    return None
                vocabulary = Vocabulary(
                    terms=tuple(meta["terms"]),
                    idf=f["idf"],
                    raw=dict(zip(meta["raw_words"], f["raw_columns"].tolist(), strict=True)),
                    words=int(meta["words"]),
                    pair_codes=f["pair_codes"],
                    pair_columns=f["pair_columns"],
                    starts=f["starts"],
                )
                rows = sparse.csr_matrix(
                    (f["rows_data"], f["rows_indices"], f["rows_indptr"]),
                    shape=tuple(meta["rows_shape"]),
                )
                return ReaderModel(
                    vocabulary,
                    f["weights"],
                    float(meta["bias"]),
                    tuple(Evidence(*e) for e in meta["positives"]),
                    rows,
                    int(meta["trained_on"]),
                )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:
            log.warning("reader model not readable path=%s error=%s", path, e)
            return None

    def save(self, reader: str, fingerprint: str, model: ReaderModel) -> None:
        """Store the model (a failure is logged: the model is only a cache)."""
        path = self.path(reader)
        vocabulary, rows = model.vocabulary, model.positive_rows
        raw_words = list(vocabulary.raw)
        meta = {
            "format": FORMAT,
            "fingerprint": fingerprint,
            "reader": reader,
            "words": vocabulary.words,
            "bias": model.bias,
            "trained_on": model.trained_on,
            "rows_shape": list(rows.shape),
            "positives": [
                [e.key, e.kind, e.title, e.text, e.item_id, e.detail] for e in model.positives
            ],
            "terms": vocabulary.terms,
            "raw_words": raw_words,
        }
        arrays = {
            # JSON as UTF-8 bytes: NumPy's own strings are fixed-width UCS-4
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            "idf": vocabulary.idf,
            "raw_columns": np.asarray([vocabulary.raw[w] for w in raw_words], dtype=np.int64),
            "pair_codes": vocabulary.pair_codes,
            "pair_columns": vocabulary.pair_columns,
            "starts": vocabulary.starts,
            "weights": model.weights,
            "rows_data": rows.data,
            "rows_indices": rows.indices,
            "rows_indptr": rows.indptr,
        }
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with temporary.open("wb") as out:
                np.savez(out, **arrays)
            os.replace(temporary, path)
        except OSError as e:
            log.warning("reader model not stored path=%s error=%s", path, e)
            temporary.unlink(missing_ok=True)
