"""Two-way matching on the embedded engine."""

from __future__ import annotations

import pytest
from search_fixtures import NOW, make_doc

from search import create_engine, extract_key_terms, match
from search.matching import MAX_KEY_TERMS, matched_terms


@pytest.fixture
def engine(tmp_path):
    eng = create_engine("embedded", data_dir=tmp_path, meili_url=None, meili_key=None, index_name="listings")
    eng.ensure_ready()
    yield eng
    eng.close()


OPPORTUNITY = make_doc(
    1,
    title="赣州脐橙果园智慧农业物联网监测",
    description="在赣州果园部署土壤墒情传感器和虫情测报灯，建设智慧农业物联网平台，实现精准灌溉。",
    tracks=["智慧农业", "物联网"],
    domains=["现代农业"],
    region="360700",
    deadline=NOW + 86_400,
)


def offerings():
    return [
        make_doc(
            10,
            "offering",
            title="果园物联网监测系统",
            description="土壤墒情传感器、精准灌溉、智慧农业平台",
            tracks=["智慧农业", "物联网"],
            domains=["现代农业"],
            region="360700",
            maturity="scaled",
        ),
        make_doc(
            11,
            "offering",
            title="智慧农业大数据平台",
            description="农业物联网数据采集与分析",
            tracks=["智慧农业"],
            region="360100",
            maturity="pilot",
        ),
        make_doc(12, "offering", title="VR 党建展馆", description="虚拟现实沉浸式展厅", tracks=["VR"], region="360700"),
        make_doc(13, "offering", title="医院信息化系统", description="电子病历与互联网医院", tracks=["数字健康"]),
        make_doc(
            14,
            "offering",
            title="果园物联网监测系统（草稿）",
            description="土壤墒情传感器 智慧农业",
            tracks=["智慧农业"],
            status="draft",
        ),
    ]


def test_same_track_and_region_rank_above_unrelated(engine):
    engine.upsert([OPPORTUNITY, *offerings()])
    found = match(engine, OPPORTUNITY, "offering", now=NOW)
    order = [m.id for m in found]
    assert order[0] == "offering-10"
    assert order.index("offering-11") < len(order)
    assert "offering-12" not in order or order.index("offering-12") > order.index("offering-11")
    assert "offering-14" not in order  # drafts are not suggested
    assert "opportunity-1" not in order


def test_reasons_explain_the_match(engine):
    engine.upsert([OPPORTUNITY, *offerings()])
    best = match(engine, OPPORTUNITY, "offering", now=NOW)[0]
    assert best.reasons.shared_tracks == ["智慧农业", "物联网"]
    assert best.reasons.shared_domains == ["现代农业"]
    assert best.reasons.same_region is True
    assert {"智慧农业", "物联网"} & set(best.reasons.matched_terms)
    assert best.listing_id == 10 and best.kind == "offering"


def test_dismissed_ones_do_not_come_back(engine):
    engine.upsert([OPPORTUNITY, *offerings()])
    found = match(engine, OPPORTUNITY, "offering", now=NOW, exclude_ids=["offering-10"])
    assert "offering-10" not in [m.id for m in found]
    assert found[0].id == "offering-11"


def test_offering_to_opportunities_only_open_ones(engine):
    closed = make_doc(2, title="智慧农业物联网", tracks=["智慧农业"], deadline=NOW - 1)
    withdrawn = make_doc(3, title="智慧农业物联网", tracks=["智慧农业"], status="withdrawn")
    engine.upsert([OPPORTUNITY, closed, withdrawn, *offerings()])
    found = match(engine, offerings()[0], "opportunity", now=NOW)
    assert [m.id for m in found] == ["opportunity-1"]


def test_long_descriptions_give_at_most_eight_terms(engine):
    long_doc = make_doc(
        50,
        title="城市运行管理平台",
        description=(
            "建设城市大脑，整合视频监控、网格化管理、应急管理、智慧水利、公共安全、生态环境监测、"
            "交通信号、车路协同、智慧停车、智慧社区、数字孪生、区块链存证、隐私计算、人工智能。" * 5
        ),
    )
    engine.upsert([long_doc, *offerings(), OPPORTUNITY])
    terms = extract_key_terms(long_doc, engine)
    assert 0 < len(terms) <= MAX_KEY_TERMS
    assert terms[0][1] == 1.0
    assert all(0 < w <= 1.0 for _, w in terms)


def test_matching_is_deterministic(engine):
    twins = [make_doc(20 + i, "offering", title="智慧农业物联网", tracks=["智慧农业"]) for i in range(5)]
    engine.upsert([OPPORTUNITY, *twins])
    runs = [[(m.id, m.score) for m in match(engine, OPPORTUNITY, "offering", now=NOW)] for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    tied = [i for i, s in runs[0] if s == runs[0][0][1]]
    assert tied == sorted(tied)


class FakeStats:
    def __init__(self, total, freqs):
        self.total, self.freqs = total, freqs

    def doc_count(self):
        return self.total

    def term_doc_freq(self, terms):
        return {t: self.freqs.get(t, 1) for t in terms}

    def get(self, ids):
        return {}


def test_key_terms_prefer_rare_title_words():
    doc = make_doc(1, title="智慧农业 监测", description="平台 平台 平台 平台 监测")
    terms = dict(extract_key_terms(doc, FakeStats(100, {"平台": 60, "智慧农业": 3, "监测": 10})))
    assert "平台" not in terms  # in more than half the listings
    assert terms["智慧农业"] == 1.0 > terms["监测"]


def test_scores_are_the_same_whether_candidates_carry_their_indexed_words_or_not(engine, monkeypatch):
    # The engine stores each listing's indexed words so that matching need not segment
    # candidates again; a document stored without them (an older index) must score the same.
    engine.upsert([OPPORTUNITY, *offerings()])
    stored = engine.get(["offering-10"])["offering-10"]
    assert {"土壤", "墒情", "智慧农业", "物联网"} <= set(stored.words.split())
    with_words = [(m.id, m.score) for m in match(engine, OPPORTUNITY, "offering", now=NOW)]

    original_get, original_search = engine.get, engine.search

    def get_without_words(ids):
        docs = original_get(ids)
        for doc in docs.values():
            doc.words = ""
        return docs

    def search_without_words(query):
        result = original_search(query)
        for hit in result.hits:
            hit.document.words = ""
        return result

    monkeypatch.setattr(engine, "get", get_without_words)
    monkeypatch.setattr(engine, "search", search_without_words)
    assert [(m.id, m.score) for m in match(engine, OPPORTUNITY, "offering", now=NOW)] == with_words


def test_reasons_name_key_terms_as_the_candidate_words_them():
    # A synonym counts as the term, and so do all the parts of a term; one part does not.
    words = frozenset({"vr", "智慧", "农业", "区块"})
    assert matched_terms(["虚拟现实", "智慧农业", "区块链", "物联网"], words) == ["vr", "智慧", "农业"]
