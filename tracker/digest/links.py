"""Which links a digest may show: ``safe_link`` is the one gate every renderer's links
pass through (the view builder calls it; the Markdown template's ``url`` filter calls
it again).

A link from a feed is data from a stranger. Only ``http`` and ``https`` links are
kept, in a form that means the same in every output: the scheme and host lower-cased,
and every character that Markdown, HTML or a mail client could read as syntax
(spaces, parentheses, angle brackets, quotes, backslashes, backticks, brackets,
control characters, non-ASCII) percent-encoded (RFC 3986, section 2.1). Anything else
(``javascript:``, ``vbscript:``, ``data:``, ``file:``, relative links, links with
user information such as ``https://arxiv.org@evil.example``, hosts that do not
parse) is dropped: the digest shows the title as plain text.

Tabs and line breaks anywhere and control characters or spaces at either end are
removed first, as browsers do (WHATWG URL standard, "basic URL parser"), so
``" java\\tscript:"`` cannot pass for anything but what it is. The result of
``safe_link`` passes through it unchanged.

Pure: no I/O here.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Characters kept as they are in a path, query or fragment (RFC 3986 unreserved, the
# sub-delimiters that no output reads as syntax, ":" "@" "/" "?"); "%" is kept only
# when it starts a percent-encoded octet.
_KEEP = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&*+,;=:@/?")
# Already in the form we give: most arXiv and blog links, checked in one match.
_CLEAN = re.compile(
    r"https?://[a-z0-9.\-]+(?:[/?][A-Za-z0-9\-._~!$&*+,;=:@/?]*)?"
    r"(?:#[A-Za-z0-9\-._~!$&*+,;=:@/?]*)?\Z"
)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_HOST = re.compile(r"[a-z0-9_.\-]+\Z|\[[0-9a-f:.]+\]\Z")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_STRIP = "".join(map(chr, range(0x21))) + "\x7f"  # C0 controls, space and DEL


def _encode(part: str) -> str:
    out: list[str] = []
    n = 0
    while n < len(part):
        char = part[n]
        if char in _KEEP:
            out.append(char)
        elif char == "%" and _PERCENT.match(part, n):
            out.append(part[n : n + 3])
            n += 3
            continue
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        n += 1
    return "".join(out)


def _host(netloc: str) -> str | None:
    """The host and port of an authority, lower-cased and checked; None if unusable."""
    if netloc.startswith("["):  # an IPv6 address
        close = netloc.find("]") + 1
        host, after = netloc[:close], netloc[close:]
        if not close or (after and not after.startswith(":")):
            return None
        port = after[1:]
    else:
        host, _, port = netloc.partition(":")
    if port and not (port.isascii() and port.isdigit() and int(port) < 65536):
        return None
    host = host.rstrip(".").lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if not host or not _HOST.match(host):
        return None
    return f"{host}:{port}" if port else host


@lru_cache(maxsize=4096)
def safe_link(url: str | None) -> str | None:
    """``url`` as an http(s) link every renderer may show, or None when it is not one."""
    if not url:
        return None
    if _CLEAN.match(url):
        return url
    text = url.strip(_STRIP).replace("\t", "").replace("\n", "").replace("\r", "")
    scheme = _SCHEME.match(text)
    if scheme is None or scheme.group(1).lower() not in ("http", "https"):
        return None
    rest = text[scheme.end() :].replace("\\", "/")  # as browsers read special schemes
    if not rest.startswith("//"):
        return None
    rest = rest[2:]
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    if "@" in netloc:  # user information: "https://arxiv.org@evil.example/" misleads
        return None
    host = _host(netloc)
    if host is None:
        return None
    path, hash_, fragment = tail.partition("#")
    link = f"{scheme.group(1).lower()}://{host}{_encode(path)}"
    return link + f"#{_encode(fragment)}" if hash_ else link
