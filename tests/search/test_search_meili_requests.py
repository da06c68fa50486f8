"""Meilisearch request building, without a server."""

from __future__ import annotations

import re

import pytest
from search_fixtures import make_doc

from search import SearchQuery, SearchUnavailable
from search.meili import MeiliEngine, build_filter, build_search_params, index_settings, quote, to_meili
from search.plan import plan_query

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
    assert tokens == [("word", "tracks"), ("op", "="), ("str", value)]


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
        )
    )
    assert built == [
        'kind = "offering"',
        ['status = "published"'],
        ['tracks = "物联网"', 'tracks = "VR"'],
        ['region = "360700"'],
        "batch = 3",
        ["deadline >= 100", "deadline IS NULL"],
        'id NOT IN ["offering-1"]',
    ]


def test_settings():
    settings = index_settings()
    assert settings["searchableAttributes"][0] == "title_zh"
    assert set(settings["filterableAttributes"]) >= {"kind", "status", "region", "tracks", "domains", "batch"}
    assert {"published_at", "deadline", "created_at"} <= set(settings["sortableAttributes"])
    assert "虚拟现实" in settings["synonyms"]["vr"] and "vr" in settings["synonyms"]["虚拟现实"]
    assert settings["typoTolerance"]["enabled"] is True


def test_documents_are_pre_segmented():
    doc = to_meili(make_doc(1, title="數(shù)字經濟", description="待处理事项"))
    assert set(doc["text_zh"].split()) >= {"待处理", "处理"}
    assert doc["title_zh"].split()[-1] == "数字经济"
    assert doc["doc"]["title"] == "數(shù)字經濟"


def test_search_params_for_text():
    query = SearchQuery(text="智慧农业 物联网", statuses=["published"], sort="newest", page=2, page_size=10)
    q, params = build_search_params(query, plan_query(query))
    assert q == "智慧农业 物联网"
    assert params["offset"] == 10 and params["limit"] == 10
    assert params["sort"] == ["sort_time:desc"]
    assert params["filter"] == [['status = "published"']]
    assert params["facets"] == ["tracks", "domains", "region"]


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
    q, params = build_search_params(matching, plan_query(matching))
    assert q.split() == words[:10]
    assert params["matchingStrategy"] == "frequency"
    assert "facets" not in params and "sort" not in params


def test_unreachable_server_raises_search_unavailable():
    engine = MeiliEngine("http://127.0.0.1:9", None, "listings", timeout=1)
    assert engine.health() is False
    with pytest.raises(SearchUnavailable):
        engine.search(SearchQuery(text="智慧农业"))
    with pytest.raises(SearchUnavailable):
        engine.upsert([make_doc(1)])
