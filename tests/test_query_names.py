"""arXiv search expressions (parse, batch, local matching) and people's names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.models import Entry
from tracker.names import (
    arxiv_author_term,
    name_key,
    same_person_name,
    split_name,
    surname_key,
    tex_to_unicode,
)
from tracker.sources import arxiv_query as query

PAPER = Entry(
    title="Fast Speculative Decoding for Large Language Models",
    summary="We decode tokens in parallel with a draft model and verify them.",
    authors=("Yaniv Leviathan", "Tri Dao", "Adrian Del Maestro", "Jürgen Schmidhuber"),
    categories=("cs.LG", "stat.ML"),
    primary_category="cs.LG",
    arxiv_id="2211.17192",
    comment="ICML 2023",
)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("speculative decoding", "all:speculative AND all:decoding"),
        ('"speculative decoding"', 'all:"speculative decoding"'),
        ("ti:transformer AND cat:cs.LG", "ti:transformer AND cat:cs.LG"),
        ('ti:"mixture of experts"', 'ti:"mixture of experts"'),
        ("au:Dao_T OR au:Gu_A", "au:Dao_T OR au:Gu_A"),
        ("(ti:a OR ti:b) AND cat:cs.DC", "(ti:a OR ti:b) AND cat:cs.DC"),
        ("cat:cs.LG ANDNOT ti:survey", "cat:cs.LG ANDNOT ti:survey"),
        ("a OR (b ANDNOT c)", "all:a OR (all:b ANDNOT all:c)"),
    ],
)
def test_normalise(text: str, canonical: str) -> None:
    assert query.normalise(text) == canonical
    assert query.normalise(canonical) == canonical  # stable


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("foo:bar", "unknown field"),
        ("(ti:a", "parenthesis"),
        ('"unclosed', "unbalanced"),
        ("ti:a AND", "ends"),
        ("ti:", "nothing after"),
    ],
)
def test_bad_queries_explain_themselves(text: str, message: str) -> None:
    with pytest.raises(query.QuerySyntaxError, match=message):
        query.parse(text)


@given(st.text(max_size=60))
def test_parse_never_fails_otherwise(text: str) -> None:
    try:
        node = query.parse(text)
    except query.QuerySyntaxError:
        return
    assert query.parse(node.render()) == node


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('"speculative decoding"', True),
        ("speculative decoding", True),
        ('ti:"decoding for large"', True),
        ("abs:decoding", True),  # Porter stems, as the search index: "decode" in the abstract
        ("abs:verifying", True),  # "verify"
        ("ti:models AND ti:language", True),
        ('ti:"fast speculation"', True),  # "speculation" and "speculative": one stem
        ('ti:"decoding fast"', False),  # not in this order
        ("ti:decod*", True),  # a prefix
        ('ti:"speculative decod*"', True),
        ("ti:decode*", False),  # "decoding" does not start with "decode"
        ("abs:speculative", False),
        ("au:Dao_T", True),
        ("au:Dao_X", False),
        ("au:del_maestro", True),
        ('au:"Tri Dao"', True),
        ('au:"Thanh Dao"', False),
        ("au:Schmidhuber", True),
        ("cat:cs.LG", True),
        ("cat:stat", True),
        ("cat:cs.DC", False),
        ("cat:cs.LG ANDNOT ti:survey", True),
        ("cat:cs.LG ANDNOT ti:speculative", False),
        ("co:ICML", True),
        ("id:2211.17192v2", True),
        ("ti:quantum OR au:Leviathan_Y", True),
    ],
)
def test_local_matching(expression: str, expected: bool) -> None:
    assert query.matches(query.parse(expression), PAPER) is expected


def test_batches_stay_within_the_limit_and_keep_everything() -> None:
    expressions = [f"au:Person{n}_A" for n in range(300)]
    groups = query.batch(expressions, 1000)
    assert sorted(i for g in groups for i in g) == list(range(300))
    for group in groups:
        assert len(query.combine([expressions[i] for i in group])) <= 1000
    assert len(groups) <= 14
    assert query.batch(["x" * 2000], 1000) == [[0]]  # too long alone still goes out


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Tri Dao", "Tri Dao", True),
        ("Tri Dao", "T. Dao", True),
        ("Tri Dao", "Dao, Tri", True),
        ("Tri Dao", "Thanh Dao", False),
        ("Tri Dao", "Tri Dau", False),
        ("Jürgen Schmidhuber", "Jurgen Schmidhuber", True),
        ("Jean-Pierre Serre", "J.-P. Serre", True),
        ("Jean-Pierre Serre", "Jean Pierre Serre", True),
        ("Jean-Pierre Serre", "Jean-Paul Serre", False),
        ("Adrian Del Maestro", "A. Del Maestro", True),
        ("Adrian Del Maestro", "Adrian Maestro", False),
        ("Ludwig van Beethoven", "L. van Beethoven", True),
        ("Dao", "Tri Dao", True),
        ("Martin Luther King Jr.", "M. L. King", True),
    ],
)
def test_same_person_name(a: str, b: str, same: bool) -> None:
    assert same_person_name(a, b) is same
    assert same_person_name(b, a) is same


def test_split_and_author_terms() -> None:
    assert split_name("Adrian Del Maestro").surname == ("del", "maestro")
    assert arxiv_author_term("Tri Dao") == "au:dao_t"
    # "ae" may be an "ä" written out: arXiv is asked for both (the local match decides)
    assert arxiv_author_term("Adrian Del Maestro") == "au:del_maestro_a OR au:del_mastro_a"
    assert arxiv_author_term("Jürgen Schmidhuber") == "au:schmidhuber_j"
    with pytest.raises(ValueError):
        arxiv_author_term("  ")


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"Pablo G\'omez", "Pablo Gómez"),
        (r"Mar{\aa}k", "Maråk"),
        (r"J\"urgen M\"uller", "Jürgen Müller"),
        (r"Fran\c{c}ois", "François"),
        (r"Ma\~nas", "Mañas"),
        (r"{\L}ukasz Ka{\l}awa", "Łukasz Kaława"),
        (r"\v{S}koda", "Škoda"),
        (r"Erd\H{o}s", "Erdős"),
        (r"M{\o}ller", "Møller"),
        ("No Accents", "No Accents"),
    ],
)
def test_tex_accents(tex: str, text: str) -> None:
    assert tex_to_unicode(tex) == text


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hinrich Schuetze", "Hinrich Schütze"),
        ("Hinrich Schütze", "Schuetze, Hinrich"),
        ("Jan Möller", "Jan Moeller"),
        ("Anna Müller", "Anna Mueller"),
        ("Jürgen Müller", "Juergen Mueller"),
        ("Jürgen Mueller", "Juergen Müller"),
        ("Hans Strauß", "Hans Strauss"),
        ("Käthe Kähler", "Kaethe Kaehler"),
        (r"Hinrich Sch\"utze", "Hinrich Schuetze"),
    ],
)
def test_umlauts_and_their_transliterations_are_one_name(a: str, b: str) -> None:
    a = tex_to_unicode(a)
    assert same_person_name(a, b) and same_person_name(b, a)
    assert surname_key(a) == surname_key(b)  # how attribution finds the candidates
    assert name_key(a) == name_key(b)
    assert arxiv_author_term(a) == arxiv_author_term(b)


def test_author_terms_ask_for_both_spellings() -> None:
    assert arxiv_author_term("Hinrich Schuetze") == "au:schuetze_h OR au:schutze_h"
    assert arxiv_author_term("Jan Möller") == "au:moeller_j OR au:moller_j"
    assert arxiv_author_term("Hans Strauß") == "au:strauss_h"  # ß is ss either way
    assert arxiv_author_term("Carlos Rodríguez") == "au:rodriguez_c"  # a Spanish "gue"
    assert arxiv_author_term("Xue Wei") == "au:wei_x"
    assert arxiv_author_term("Wei Xue") == "au:xue_w"  # not also every W. Xu
    assert surname_key("Carla Schutze") == surname_key("Hinrich Schütze")  # a candidate
    assert not same_person_name("Carla Schutze", "Hinrich Schütze")  # ... told apart
    assert name_key("Rafael Nadal") != name_key("Rafal Nadal")
