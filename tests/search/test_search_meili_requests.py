"""Meilisearch request building, without a server."""

from __future__ import annotations

import re

import hypothesis
import pytest
from hypothesis import strategies as st
from search_fixtures import make_doc

from search import SearchQuery, SearchUnavailable
from search.engine import budget_matches
from search.meili import (
    MeiliEngine,
    build_federated,
    build_filter,
    build_search_params,
    decode,
    encode,
    index_settings,
    meili_token,
    needs_federation,
    prepare_plan,
    quote,
    to_meili,
)
from search.plan import plan_query
from search.text import has_cjk, lexicon, search_subtokens

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>>=|<=|!=|=|>|<|\[|\]|,)|(?P<word>[A-Za-z_][\w.]*|\d+))')


def tokenize(expr: str) -> list[tuple[str, str]]:
    """A reading of Meilisearch's filter grammar good enough to count equalities."""
    out, pos = [], 0
    while pos < len(expr.rstrip()):
        m = _TOKEN.match(expr, pos)
        assert m, f"cannot tokenize {expr[pos:]!r}"
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((kind, value))
        pos = m.end()
    return out


CRAFTED = 'x" OR status = "draft'


def test_quote_escapes_quotes_and_backslashes():
    assert quote(CRAFTED) == '"x\\" OR status = \\"draft"'
    assert quote("a\\") == '"a\\\\"'
    assert tokenize(quote("a\\")) == [("str", "a\\")]


@pytest.mark.parametrize("value", [CRAFTED, 'a\\" OR kind = "offering', '"', "\\", '物联网\\"', "x' OR '1'='1"])
def test_a_crafted_value_stays_one_equality(value):
    built = build_filter(SearchQuery(tracks=[value]))
    assert len(built) == 1 and len(built[0]) == 1
    tokens = tokenize(built[0][0])
    assert tokens == [("word", "f_tracks"), ("op", "="), ("str", encode(value))]
    assert decode(encode(value)) == value


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(st.text(min_size=1, max_size=40))
def test_any_value_stays_one_equality_on_its_attribute(value):
    """Verified correct, keep it so: every filter value is one equality on its field."""
    built = build_filter(SearchQuery(statuses=[value], tracks=[value], domains=[value], regions=[value]))
    conditions = [c for group in built for c in group]
    fields = ["f_status", "f_tracks", "f_domains", "f_region"]
    assert [tokenize(c) for c in conditions] == [[("word", f), ("op", "="), ("str", encode(value))] for f in fields]


def test_filter_shape_or_within_and_across():
    built = build_filter(
        SearchQuery(
            kind="offering",
            statuses=["published"],
            tracks=["物联网", "VR"],
            regions=["360700"],
            batch=3,
            exclude_ids=["offering-1"],
            open_at=100,
            ids=["offering-2", "offering-3", "offering-2"],
        )
    )
    assert built == [
        f'f_kind = "{encode("offering")}"',
        [f'f_status = "{encode("published")}"'],
        [f'f_tracks = "{encode("物联网")}"', f'f_tracks = "{encode("VR")}"'],
        [f'f_region = "{encode("360700")}"'],
        "batch = 3",
        ["deadline >= 100", "deadline IS NULL"],
        'id NOT IN ["offering-1"]',
        'id IN ["offering-2", "offering-3"]',
    ]


def test_settings():
    settings = index_settings()
    assert settings["searchableAttributes"][0] == "title_zh"
    assert set(settings["filterableAttributes"]) >= {"f_kind", "f_status", "f_region", "f_tracks", "f_domains", "batch"}
    assert {"published_at", "deadline", "created_at"} <= set(settings["sortableAttributes"])
    assert settings["synonyms"] == {}  # expanded into the documents (`syn_zh`)
    assert settings["typoTolerance"]["enabled"] is True
    # Point 9: an explicit sort orders strictly; without one the rule does nothing.
    assert settings["rankingRules"][0] == "sort"
    # Point 8 (≥ v1.12), besides the trailing space of every `q`.
    assert settings["prefixSearch"] == "disabled"
    # Kept as the audit found them right: Chinese for the segmented text, no typos on
    # pinyin, enough facet values and hits.
    assert settings["localizedAttributes"] == [{"attributePatterns": ["*_zh"], "locales": ["cmn"]}]
    assert settings["typoTolerance"]["disableOnAttributes"] == ["pinyin"]
    assert settings["faceting"]["maxValuesPerFacet"] >= 100
    assert settings["pagination"]["maxTotalHits"] >= 1000


def test_the_lexicon_goes_in_as_the_dictionary():
    """Point 7: kept in step with `search/data` (the segmenter's own lexicon)."""
    dictionary = index_settings()["dictionary"]
    assert set(dictionary) == {meili_token(w) for w in lexicon() if has_cjk(w)}
    assert "n5g行业专网" in dictionary  # written as the documents write it
    assert {"智慧农业", "物联网", "区块链", "大数据"} <= set(dictionary)


def test_synonyms_are_in_the_document():
    doc = to_meili(make_doc(1, title="VR 实训"))
    assert "虚拟现实" in doc["syn_zh"].split()


def test_documents_are_pre_segmented():
    doc = to_meili(make_doc(1, title="數(shù)字經濟", description="待处理事项 5G"))
    assert set(doc["text_zh"].split()) >= {"待处理", "处理", "n5g"}
    assert doc["title_zh"].split()[-1] == "数字经济"
    assert doc["doc"]["title"] == "數(shù)字經濟"


def test_search_params_for_text():
    query = SearchQuery(text="智慧农业 物联网", statuses=["published"], sort="newest", page=2, page_size=10)
    q, params = build_search_params(query, plan_query(query))
    assert q == '"智慧农业" "物联网" '
    assert params["matchingStrategy"] == "all"
    assert params["offset"] == 10 and params["limit"] == 10
    assert params["sort"] == ["sort_time:desc"]
    assert params["filter"] == [[f'f_status = "{encode("published")}"']]
    assert params["facets"] == ["f_tracks", "f_domains", "f_region"]


def test_search_params_for_browse_and_terms():
    browse = SearchQuery()
    q, params = build_search_params(browse, plan_query(browse))
    assert q == "" and params["sort"] == ["sort_time:desc"] and "filter" not in params

    words = [
        "智慧农业",
        "物联网",
        "果园",
        "传感器",
        "灌溉",
        "土壤",
        "墒情",
        "无人机",
        "大数据",
        "区块链",
        "溯源",
        "赣州",
    ]
    matching = SearchQuery(terms=[(w, 1 / (i + 1)) for i, w in enumerate(words)], facets=False)
    # Words that 100 listings hold whole are not also searched by their parts.
    plan = prepare_plan(plan_query(matching), dict.fromkeys(words, 100))
    assert needs_federation(plan)
    body = build_federated("listings", matching, plan)
    # One query per key term (any may match), heaviest ten.
    assert [q["q"] for q in body["queries"]] == [f'"{w}" ' for w in words[:10]]
    assert [q["federationOptions"]["weight"] for q in body["queries"]] == [round(1 / (i + 1), 6) for i in range(10)]
    assert {q["matchingStrategy"] for q in body["queries"]} == {"all"}
    assert all("sort" not in q and "facets" not in q for q in body["queries"])
    assert "facetsByIndex" not in body["federation"]
    # A rare one also matches by its parts, at the embedded engine's sub-word weight.
    rare = prepare_plan(plan_query(matching), {**dict.fromkeys(words, 100), "无人机": 3})
    queries = build_federated("listings", matching, rare)["queries"]
    assert [(q["q"], q["federationOptions"]["weight"]) for q in queries if "无人" in q["q"]] == [
        ('"无人机" ', 0.125),
        ('"无人" "人机" ', 0.05),
    ]


def test_no_query_has_more_words_than_meilisearch_reads():
    """Point 6: Meilisearch reads ten words of `q` (a phrase is one). Long words matched by
    their parts must not push a query past that, whatever the query's length."""
    many_parts = sorted(
        (w for w in lexicon() if len(search_subtokens(w)) >= 3), key=lambda w: -len(search_subtokens(w))
    )
    assert len(many_parts) >= 12
    for n in range(1, 11):
        for start in range(0, len(many_parts) - n, 3):
            query = SearchQuery(text=" ".join(many_parts[start : start + n]))
            # None of the words is held whole by many listings: all may match by parts.
            plan = prepare_plan(plan_query(query), {})
            if not needs_federation(plan):
                continue
            for sub in build_federated("listings", query, plan)["queries"]:
                assert len(re.findall(r'"[^"]*"|\S+', sub["q"])) <= 10, sub["q"]


def test_unreachable_server_raises_search_unavailable():
    engine = MeiliEngine("http://127.0.0.1:9", None, "listings", timeout=1)
    assert engine.health() is False
    with pytest.raises(SearchUnavailable):
        engine.search(SearchQuery(text="智慧农业"))
    with pytest.raises(SearchUnavailable):
        engine.upsert([make_doc(1)])


def test_budget_and_deadline_filters_use_meilisearch_comparisons():
    built = build_filter(
        SearchQuery(
            kind="opportunity", budget_from=100, budget_to=500.5, deadline_from=1_000, deadline_to=2_000, open_at=None
        )
    )
    assert built == [
        f'f_kind = "{encode("opportunity")}"',
        "deadline >= 1000",
        "deadline <= 2000",
        "budget_low >= 0",
        "budget_low < 500.5",
        ["budget_high > 100", "budget_low >= 100"],
    ]
    # Only one bound: only its comparisons (and "has a budget").
    assert build_filter(SearchQuery(budget_from=1000)) == [
        "budget_low >= 0",
        ["budget_high > 1000", "budget_low >= 1000"],
    ]
    assert build_filter(SearchQuery(budget_to=100)) == ["budget_low >= 0", "budget_low < 100"]
    # Tiny and huge bounds are written as plain decimals, never in exponent form.
    assert build_filter(SearchQuery(budget_to=0.01))[-1] == "budget_low < 0.01"
    assert build_filter(SearchQuery(budget_to=1e9))[-1] == "budget_low < 1000000000"


_CONDITION = re.compile(r"^(\w+) (>=|<=|>|<) (-?[\d.]+)$")


def _holds(condition: str | list[str], doc: dict) -> bool:
    """Meilisearch's reading of one numeric condition (or an OR-list of them): a null or
    missing attribute satisfies no comparison."""
    if isinstance(condition, list):
        return any(_holds(c, doc) for c in condition)
    attribute, op, number = _CONDITION.match(condition).groups()
    value = doc.get(attribute)
    if value is None:
        return False
    return {">=": value >= float(number), "<=": value <= float(number), ">": value > float(number),
            "<": value < float(number)}[op]  # fmt: skip


BUDGET_BOUNDS = [None, 0, 50, 99.99, 100, 100.01, 300, 500, 1000, 12000]


@pytest.mark.parametrize("start", [None, 0, 100, 500, 1000])
@pytest.mark.parametrize("end", [None, 100, 500, 1000])
def test_the_budget_filter_keeps_exactly_what_the_rule_says(start, end):
    """The filter sent, read as Meilisearch reads it over the documents the adapter stores,
    keeps the same listings as `budget_matches` (which the embedded engine and the database
    also implement), for budgets around every bound."""
    if start is None and end is None:
        return
    conditions = build_filter(SearchQuery(budget_from=start, budget_to=end))
    for low in BUDGET_BOUNDS:
        for high in BUDGET_BOUNDS:
            if low is not None and high is not None and low > high:
                continue
            doc = to_meili(make_doc(1, budget_min=low, budget_max=high))
            kept = all(_holds(c, doc) for c in conditions)
            assert kept == budget_matches(low, high, start, end), (low, high, start, end)


def test_sorts_by_last_update_and_by_maturity():
    for sort, expected in (("updated", ["updated_at:desc"]), ("maturity", ["maturity_rank:desc", "sort_time:desc"])):
        query = SearchQuery(kind="offering", sort=sort)
        _, params = build_search_params(query, plan_query(query))
        assert params["sort"] == expected
    settings = index_settings()
    assert {"budget_low", "budget_high", "deadline"} <= set(settings["filterableAttributes"])
    assert {"updated_at", "maturity_rank"} <= set(settings["sortableAttributes"])


def test_documents_carry_the_budget_bounds_the_filters_compare():
    assert {k: to_meili(make_doc(1, budget_min=50.0, budget_max=None))[k] for k in ("budget_low", "budget_high")} == {
        "budget_low": 50.0,
        "budget_high": 1e12,
    }
    assert to_meili(make_doc(1, budget_min=None, budget_max=100.0))["budget_low"] == 0.0
    no_budget = to_meili(make_doc(1))
    assert no_budget["budget_low"] is None and no_budget["budget_high"] is None
    offering = to_meili(make_doc(2, kind="offering", maturity="pilot", updated_at=123))
    assert offering["maturity_rank"] == 3 and offering["updated_at"] == 123
