"""Code and project links: the repository, model, data set or project page a paper
points to in its abstract or comments ("Code is available at https://github.com/a/b.").

What counts: repositories on GitHub, GitLab, Bitbucket, Codeberg and Software Heritage
and anonymised review copies (anonymous.4open.science); Hugging Face models, data sets,
spaces and collections; project pages (``*.github.io``, ``*.gitlab.io``, or a link that
the text calls a project page, website, homepage or demo). Links to arXiv, DOIs and
other papers are not code. Authors write links every way LaTeX and prose allow: inside
``\\url{}`` and ``\\href{}{}``, glued to a label ("GitHub:https://..."), with the
sentence's full stop or a closing parenthesis stuck to the end, with ``.git`` or a
``/tree/main`` path, or without a scheme ("github.com/a/b"). Each comes out as one
canonical https address, a repository as ``https://github.com/<owner>/<repo>``.

Pure: no I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import SplitResult, urlsplit, urlunsplit

from tracker.models import CodeLink, LinkKind

__all__ = [
    "MAX_LINKS",
    "CodeLink",
    "LinkKind",
    "decode_links",
    "encode_links",
    "find_links",
    "has_code",
]

MAX_LINKS = 8
_CONTEXT = 40  # characters before a link that may name it ("project page: ...")


_MARKERS = ("http", "github", "gitlab", "huggingface")
_KINDS = frozenset(k.value for k in LinkKind)
_LATEX = re.compile(r"\\(?:url|href)\s*\{\s*([^{}\s]+)\s*\}")
_URL = re.compile(
    r"(?:https?://|(?<![\w@./-])(?=(?:www\.)?(?:github\.com|gitlab\.com|huggingface\.co|"
    r"[\w-]+\.github\.io|[\w-]+\.gitlab\.io)/?))[^\s<>\"'{}|\\^`\[\]]+",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}>'\"*"
_NAMED = re.compile(r"(project|page|website|homepage|home page|site|demo)\W*$", re.IGNORECASE)
_REPO_HOSTS = {
    "github.com": 2,
    "gitlab.com": 2,
    "bitbucket.org": 2,
    "codeberg.org": 2,
}
_NOT_CODE = (
    "arxiv.org",
    "doi.org",
    "dx.doi.org",
    "openreview.net",
    "aclanthology.org",
    "proceedings.mlr.press",
    "creativecommons.org",
)
_HF_KINDS = {"datasets": LinkKind.DATASET, "spaces": LinkKind.DEMO}
_GITHUB_RESERVED = frozenset(
    "about orgs topics features marketplace sponsors settings login apps search".split()
)


def _strip(url: str) -> str:
    """The link without the punctuation that ends its sentence: a closing parenthesis
    only when the link does not open one itself."""
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _canonical(raw: str) -> CodeLink | None:
    url = _strip(raw)
    if not re.match(r"https?://", url, re.IGNORECASE):
        url = "https://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host or "." not in host or any(host == h or host.endswith("." + h) for h in _NOT_CODE):
        return None
    segments = [s for s in parts.path.split("/") if s]
    if host in _REPO_HOSTS:
        depth = _REPO_HOSTS[host]
        if host == "gitlab.com" and "-" in segments:  # group/subgroup/project/-/tree/...
            segments = segments[: segments.index("-")]
            depth = len(segments)
        if len(segments) < 2 or segments[0].lower() in _GITHUB_RESERVED:
            return None
        repo = [*segments[: depth - 1], segments[depth - 1].removesuffix(".git")]
        if not repo[-1]:
            return None
        return CodeLink(LinkKind.CODE, f"https://{host}/" + "/".join(repo))
    if host == "anonymous.4open.science" and len(segments) >= 2 and segments[0] == "r":
        return CodeLink(LinkKind.CODE, f"https://{host}/r/{segments[1]}")
    if host in ("archive.softwareheritage.org", "zenodo.org") and segments:
        return None if host == "zenodo.org" else CodeLink(LinkKind.CODE, _clean(parts, host))
    if host == "huggingface.co":
        if not segments:
            return None
        kind = _HF_KINDS.get(segments[0])
        if kind is not None:
            return CodeLink(kind, f"https://{host}/" + "/".join(segments[:3]))
        if segments[0] == "collections":
            return CodeLink(LinkKind.MODEL, f"https://{host}/" + "/".join(segments[:3]))
        if segments[0] in ("papers", "docs", "blog", "learn"):
            return None
        return CodeLink(LinkKind.MODEL, f"https://{host}/" + "/".join(segments[:2]))
    if host.endswith((".github.io", ".gitlab.io")):
        return CodeLink(LinkKind.PROJECT, _clean(parts, host))
    if host.endswith((".streamlit.app", ".gradio.live", ".hf.space")):
        return CodeLink(LinkKind.DEMO, _clean(parts, host))
    return CodeLink(LinkKind.PROJECT, _clean(parts, host))


def _clean(parts: SplitResult, host: str) -> str:
    return urlunsplit(("https", host, parts.path, parts.query, ""))


def _candidates(text: str) -> Iterator[tuple[str, int]]:
    """What ``_URL`` matches in the text, with where. Scanning a whole abstract with it
    costs about half a millisecond; a link never holds a space and always holds one of
    ``_MARKERS``, so only the runs of non-space characters around those are scanned,
    with the same result."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a letter whose lower case is longer: scan it all
        for match in _URL.finditer(text):
            yield match.group(0), match.start()
        return
    found = sorted(at for marker in _MARKERS for at in _occurrences(lowered, marker))
    done = 0
    for at in found:
        if at < done:
            continue
        start, end = at, at
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        while end < len(text) and not text[end].isspace():
            end += 1
        for match in _URL.finditer(text, start, end):
            yield match.group(0), match.start()
        done = end


def _occurrences(text: str, part: str) -> Iterator[int]:
    at = text.find(part)
    while at >= 0:
        yield at
        at = text.find(part, at + 1)


def find_links(*texts: str | None) -> tuple[CodeLink, ...]:
    """The code and project links of a paper's texts (abstract, comments), in the order
    they first appear, each once; a generic link only when the text names it a project
    page, website or demo."""
    found: dict[str, CodeLink] = {}
    for text in texts:
        if not text:
            continue
        text = _LATEX.sub(r" \1 ", text)
        for raw, start in _candidates(text):
            link = _canonical(raw)
            if link is None:
                continue
            host = urlsplit(link.url).hostname or ""
            if link.kind is LinkKind.PROJECT and not host.endswith((".github.io", ".gitlab.io")):
                before = text[max(0, start - _CONTEXT) : start]
                if not _NAMED.search(before):
                    continue
            key = link.url.rstrip("/").lower()
            found.setdefault(key, link)
            if len(found) >= MAX_LINKS:
                return tuple(found.values())
    return tuple(found.values())


def has_code(links: Iterable[CodeLink]) -> bool:
    return any(link.kind is LinkKind.CODE for link in links)


def encode_links(links: Iterable[CodeLink]) -> str:
    """Links as stored: one ``kind url`` a line."""
    return "\n".join(f"{link.kind.value} {link.url}" for link in links)


def decode_links(stored: str) -> tuple[CodeLink, ...]:
    """Links from their stored form; lines of unknown kinds are left out."""
    found: list[CodeLink] = []
    for line in stored.splitlines():
        kind, _, url = line.partition(" ")
        if url and kind in _KINDS:
            found.append(CodeLink(LinkKind(kind), url))
    return tuple(found)
