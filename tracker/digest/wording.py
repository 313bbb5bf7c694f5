"""How a digest's reasons, arXiv's announcement types and failing sources read in a
language: the view's wording of what a digest records as data.

A reason reads "category cs.DC (cross-list)", "scholar Tri Dao (name match: full name
Tri Dao; usual category cs.LG)", "query \"speculative decoding\" (similar to 2 papers
you saved)": the follow's kind and value, then its details (``tracker.reasons``), each
through the ``Language``'s catalogue. Values (categories, names, queries, feed titles,
identifiers) are shown as they are.

Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracker import reasons as r
from tracker.digest.language import N_, Language, Translator
from tracker.models import Detail, DigestEntry, FollowKind

_REASONS = {
    FollowKind.CATEGORY: N_("category %(value)s"),
    FollowKind.QUERY: N_("query %(value)s"),
    FollowKind.SCHOLAR: N_("scholar %(value)s"),
    FollowKind.FEED: N_("feed %(value)s"),
    FollowKind.DISCOVERY: N_("today's arXiv"),
}
_DETAILS = {
    r.CROSS_LIST: N_("cross-list"),
    r.NAME_MATCH: N_("name match"),
    r.COAUTHOR: N_("co-author %(value)s"),
    r.USUAL_CATEGORY: N_("usual category %(value)s"),
    r.FULL_NAME: N_("full name %(value)s"),
    r.ARXIV_AUTHOR: N_("arXiv author %(value)s"),
    r.ORCID: N_("ORCID %(value)s"),
    r.OPENALEX: N_("OpenAlex %(value)s"),
    r.OWN_FEED: N_("their feed %(value)s"),
}


def detail_text(detail: Detail, t: Language) -> str:
    """One detail of a reason, worded."""
    code = detail.code
    if code == r.SIMILAR_SAVED:
        n = detail.count
        text = t.ngettext(
            "similar to %(num)d paper you saved", "similar to %(num)d papers you saved", n
        )
        return text % {"num": n}
    if code == r.SIMILAR_FIELDS:
        n = detail.count
        text = t.ngettext(
            "similar to %(num)d paper in your fields", "similar to %(num)d papers in your fields", n
        )
        return text % {"num": n}
    if code == r.CROSS_LISTED_IN:
        return t.gettext("cross-listed in %(codes)s") % {"codes": t.and_list(detail.values)}
    message = _DETAILS.get(code)
    if message is None:  # TEXT, or a code this version does not know: as written
        return " ".join(detail.values)
    return t.gettext(message) % {"value": " ".join(detail.values)}


def details_text(details: Sequence[Detail], t: Language) -> str:
    """A reason's details, worded; a name match's evidence follows it ("name match:
    full name Tri Dao; usual category cs.LG")."""
    texts: list[str] = []
    n = 0
    while n < len(details):
        detail = details[n]
        evidence = details[n + 1] if n + 1 < len(details) else None
        if detail.code == r.NAME_MATCH and evidence and evidence.code in r.NAME_EVIDENCE:
            text = t.gettext("name match: %(evidence)s")
            texts.append(text % {"evidence": detail_text(evidence, t)})
            n += 2
        else:
            texts.append(detail_text(detail, t))
            n += 1
    # Translators: between the details of one reason ("cross-list; similar to ...")
    return t.pgettext("details", "; ").join(texts)


def follow_text(kind: FollowKind, value: str, t: Translator) -> str:
    """A follow as a reason names it: "category cs.DC", "query diffusion"."""
    # "all:" is arXiv's default field; showing it only adds noise
    if kind is FollowKind.QUERY:
        value = value.replace("all:", "")
    return t.gettext(_REASONS[kind]) % {"value": value}


def reason_text(entry: DigestEntry, t: Language) -> tuple[str, ...]:
    out = []
    for reason in entry.reasons:
        text = follow_text(reason.kind, reason.value, t)
        if reason.details:
            details = details_text(reason.details, t)
            # Translators: a reason and its details ("category cs.DC (cross-list)")
            text = t.gettext("%(reason)s (%(details)s)") % {"reason": text, "details": details}
        out.append(text)
    return tuple(out)


def announce_label(announce: str, t: Language) -> str:
    """arXiv's announcement type as shown: the type itself in English."""
    labels = {
        # Translators: arXiv's announcement types, shown beside a paper's identifier
        "cross": t.pgettext("arXiv announcement", "cross"),
        "replace": t.pgettext("arXiv announcement", "replace"),
        "replace-cross": t.pgettext("arXiv announcement", "replace-cross"),
    }
    return labels.get(announce, announce)


def failing_text(text: str, t: Language) -> str:
    """A failing source as recorded ("feed Lab blog: HTTP 503"): its kind worded, its
    name and error as they are."""
    kind, _, rest = text.partition(" ")
    labels = {
        # Translators: the kinds of sources, before a failing source's name
        "feed": t.pgettext("source", "feed"),
        "arxiv_listing": t.pgettext("source", "arxiv_listing"),
        "arxiv_query": t.pgettext("source", "arxiv_query"),
        "arxiv_author": t.pgettext("source", "arxiv_author"),
        "openalex": t.pgettext("source", "openalex"),
    }
    label = labels.get(kind)
    return f"{label} {rest}" if label and rest else text
