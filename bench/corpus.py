"""Synthetic arXiv-like text: 12-word titles and 150-word abstracts over a Zipf
vocabulary, deterministic for a seed. Used by every benchmark."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from email.utils import format_datetime
from xml.sax.saxutils import escape

from tracker.models import API, Entry

CATEGORIES = [
    "cs.LG",
    "cs.DC",
    "cs.AR",
    "cs.CL",
    "cs.CV",
    "stat.ML",
    "quant-ph",
    "math.CO",
    "hep-th",
    "astro-ph.GA",
    "q-bio.GN",
    "econ.EM",
    "eess.SP",
    "cond-mat.str-el",
]
START = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


class Vocabulary:
    def __init__(self, size: int = 50_000, s: float = 1.07, seed: int = 1) -> None:
        rng = random.Random(seed)
        letters = "abcdefghijklmnopqrstuvwxyz"
        words: set[str] = set()
        while len(words) < size:
            words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
        # frequency must not follow spelling (sorted words would make every common word
        # start with "a", and prefix searches unrealistically heavy)
        shuffled = sorted(words)
        rng.shuffle(shuffled)
        # a handful of real words so that queries can name them
        self.words = [
            "the",
            "of",
            "model",
            "learning",
            "quantum",
            "network",
            "data",
            "graph",
            "decoding",
            "speculative",
            "attention",
            "distributed",
            *shuffled,
        ][:size]
        weights = [1 / (rank + 1) ** s for rank in range(len(self.words))]
        self.cum = list(itertools.accumulate(weights))
        self.rng = random.Random(seed + 1)

    def text(self, n: int) -> str:
        return " ".join(self.rng.choices(self.words, cum_weights=self.cum, k=n))


def papers(count: int, seed: int = 7, start: int = 0) -> Iterator[Entry]:
    vocab = Vocabulary(seed=seed)
    rng = random.Random(seed)
    for n in range(start, start + count):
        arxiv_id = f"{20 + n // 10_000_000:02d}{1 + (n // 100_000) % 12:02d}.{n % 100_000:05d}"
        cats = rng.sample(CATEGORIES, rng.randint(1, 3))
        when = START + dt.timedelta(minutes=n)
        yield Entry(
            title=vocab.text(12).capitalize(),
            summary=vocab.text(150).capitalize() + ".",
            authors=tuple(
                f"{vocab.text(1).capitalize()} {vocab.text(1).capitalize()}"
                for _ in range(rng.randint(1, 6))
            ),
            arxiv_id=arxiv_id,
            version=1,
            primary_category=cats[0],
            categories=tuple(cats),
            published=when,
            updated=when,
            quality=API,
            key=f"arxiv:{arxiv_id}",
        )


def rss_feed(entries: list[Entry], title: str) -> bytes:
    """An RSS 2.0 document of the entries (as a blog or an aggregator would publish)."""
    items = "".join(
        "<item>"
        f"<title>{escape(e.title)}</title>"
        f"<link>https://blog.example.org/{e.arxiv_id}</link>"
        f"<guid>https://blog.example.org/{e.arxiv_id}</guid>"
        f"<description>{escape(e.summary)}</description>"
        f"<pubDate>{format_datetime(e.published or START)}</pubDate>"
        + "".join(f"<author>{escape(a)}</author>" for a in e.authors[:1])
        + "</item>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://blog.example.org/</link>"
        f"<description>bench</description>{items}</channel></rss>"
    ).encode()
