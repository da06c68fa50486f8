"""Embedded-engine choices that only show on a large index, forced on a small one."""

from __future__ import annotations

import pytest
from search_fixtures import make_doc

import search.embedded as embedded
import search.facet_bits as facet_bits
from search import SearchQuery, SearchUnavailable, create_engine


@pytest.fixture
def engine(tmp_path):
    eng = create_engine("embedded", data_dir=tmp_path, index_name="listings")
    eng.ensure_ready()
    yield eng
    eng.close()


def listings():
    tracks = [["智慧农业", "物联网"], ["智慧农业"], ["物联网", "人工智能", "智慧农业"], ["人工智能"], []]
    domains = [["现代农业"], ["现代农业", "智慧水利"], [], ["智慧水利"], ["现代农业"]]
    regions = ["360700", "360100", None, "360700", "360400"]
    return [
        make_doc(i, title=f"智慧农业 项目 {i}", tracks=tracks[i % 5], domains=domains[i % 5], region=regions[i % 5],
                 status="published" if i % 7 else "draft")
        for i in range(1, 41)
    ]  # fmt: skip


QUERIES = [
    SearchQuery(text="智慧农业"),
    SearchQuery(text="智慧农业", statuses=["published"]),
    SearchQuery(text="项目", tracks=["人工智能"]),
    SearchQuery(regions=["360700"]),
]


@pytest.mark.parametrize("names_fit_in_bits", [True, False], ids=["bit masks", "sets past the bit capacity"])
def test_facets_over_a_large_index_count_the_same_as_over_a_small_one(engine, monkeypatch, names_fit_in_bits):
    # Past SET_FACETS_MIN_DOCS documents, tracks and domains are counted from bit masks
    # (or, with more names than bits, from one combined value per document); forcing that
    # path here must change no count.
    if not names_fit_in_bits:
        monkeypatch.setattr(facet_bits, "CAPACITY", 2)
    engine.upsert(listings())
    small = [engine.search(query) for query in QUERIES]
    monkeypatch.setattr(embedded, "SET_FACETS_MIN_DOCS", 0)
    layout = engine._current().facet_layout(engine.doc_count())
    # Three track names, two domain names: only the tracks outgrow a capacity of two.
    assert layout == ({"track": 1, "domain": 1} if names_fit_in_bits else {"track": "set", "domain": 1})
    for query, before in zip(QUERIES, small, strict=True):
        after = engine.search(query)
        assert after.total == before.total > 0
        assert after.facets == before.facets
        assert sum(before.facets["region"].values()) < before.total or query.regions  # some have no region


def test_facet_bits_survive_reopening_and_a_second_writer(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "SET_FACETS_MIN_DOCS", 0)
    first = create_engine("embedded", data_dir=tmp_path, index_name="listings")
    first.ensure_ready()
    first.upsert([make_doc(1, title="智慧农业", tracks=["智慧农业"])])
    first.close()
    # Another process (a fresh engine) adds a listing with a track the first never saw.
    second = create_engine("embedded", data_dir=tmp_path, index_name="listings")
    second.upsert([make_doc(2, title="智慧农业 物联网", tracks=["物联网", "智慧农业"])])
    second.close()
    reader = create_engine("embedded", data_dir=tmp_path, index_name="listings")
    assert reader.search(SearchQuery(text="智慧农业")).facets["track"] == {"智慧农业": 2, "物联网": 1}
    reader.close()


def test_parts_of_a_query_word_are_searched_only_while_few_listings_hold_it_whole(engine, monkeypatch):
    engine.upsert(
        [make_doc(1, title="智慧农业示范"), make_doc(2, title="农业的智慧化改造"), make_doc(3, title="智慧城市")]
    )
    assert [h.id for h in engine.search(SearchQuery(text="智慧农业")).hits] == ["opportunity-1", "opportunity-2"]
    # Once the word is common, listings holding only its parts no longer come with it.
    monkeypatch.setattr(embedded, "SUBTOKEN_FALLBACK_MAX_DOCS", 1)
    result = engine.search(SearchQuery(text="智慧农业"))
    assert [h.id for h in result.hits] == ["opportunity-1"]
    assert result.total == 1


# -- recall fallbacks ---------------------------------------------------------------------


def _titles(engine, text):
    return [h.id for h in engine.search(SearchQuery(text=text, statuses=["published"])).hits]


def test_a_new_compound_held_only_inside_a_longer_word_is_found(engine, monkeypatch):
    # The dictionary keeps 智算中心 whole and never cuts out 智算, which a query keeps whole.
    gpu = make_doc(1, "offering", title="鄱阳湖智算中心算力租赁", description="提供训练与推理算力")
    engine.upsert([gpu, make_doc(2, "offering", title="智慧农业物联网", description="土壤墒情监测")])
    assert _titles(engine, "智算") == [gpu.id]
    assert _titles(engine, "智算 算力") == [gpu.id]
    # It is the fallback that finds it: without it the word query finds nothing.
    monkeypatch.setattr(embedded, "RECALL_FALLBACK_MAX_DOCS", 0)
    assert _titles(engine, "智算") == []


def test_a_query_word_the_dictionary_cuts_down_to_a_single_character_still_finds_its_listings(engine):
    # 智能网联, one of the province's tracks, is cut 智能网 + 联 in a query, but listings about
    # 智能网联汽车 are indexed as 智能 / 网联 / 智能网: the lone 联 never matched, so nothing did.
    car = make_doc(1, "offering", title="智能网联汽车仿真测试与场景库", description="封闭测试场数字孪生")
    copper = make_doc(2, "offering", title="铜冶炼烟气在线监测", description="冶炼车间二氧化硫监测")
    engine.upsert([car, copper, make_doc(3, "offering", title="智慧农业物联网", description="联合体申报")])
    assert _titles(engine, "智能网联") == [car.id]
    # A single character that is a word of its own (铜) still matches as itself.
    assert _titles(engine, "铜冶炼") == [copper.id]
    hit = engine.search(SearchQuery(text="智能网联", statuses=["published"])).hits[0]
    assert "<mark>" in hit.title_html


def test_a_run_together_pinyin_query_is_split_into_indexed_pinyin_words(engine, monkeypatch):
    water = make_doc(1, "offering", title="水务监测终端", description="供水管网压力在线监测")
    engine.upsert([water, make_doc(2, "offering", title="智慧农业", description="农业物联网")])
    assert _titles(engine, "shuiwujiance") == [water.id]  # 水务 + 监测, never indexed together
    assert _titles(engine, "zhihuinongye") == ["offering-2"]  # a whole indexed word, as before
    assert _titles(engine, "shuiwunongye") == []  # both parts must be in one listing
    monkeypatch.setattr(embedded, "_pinyin_split", lambda searcher, word: ())
    assert _titles(engine, "shuiwujiance") == []


def test_an_index_built_before_budgets_is_refused_for_them_until_a_rebuild(tmp_path, monkeypatch):
    """A version-3 generation has no budget or sort-key fields: ordinary searches go on, a
    budget filter or the new sorts answer "reindex" rather than find nothing."""
    monkeypatch.setattr(embedded, "SCHEMA_VERSION", 3)
    old = create_engine("embedded", data_dir=tmp_path, index_name="listings")
    old.ensure_ready()
    docs = [make_doc(1, title="智慧农业", budget_min=80.0, budget_max=80.0), make_doc(2, title="智慧农业")]
    old.upsert(docs)
    monkeypatch.undo()
    assert len(old.search(SearchQuery(text="智慧农业")).hits) == 2
    for query in (
        SearchQuery(text="智慧农业", budget_to=100),
        SearchQuery(budget_from=0),
        SearchQuery(text="智慧农业", sort="updated"),
        SearchQuery(kind="offering", sort="maturity"),
    ):
        with pytest.raises(SearchUnavailable, match="reindex"):
            old.search(query)
    old.rebuild(docs)
    assert [h.id for h in old.search(SearchQuery(text="智慧农业", budget_to=100)).hits] == ["opportunity-1"]
    old.close()


def test_a_reading_process_finds_the_writers_commit_at_once(engine, tmp_path):
    """Web processes search an index another process writes: a published listing is found by the
    very next search, not after tantivy's half-second reload poll (part of the index lag)."""
    reader = create_engine("embedded", data_dir=tmp_path, index_name="listings")
    try:
        assert reader.search(SearchQuery(text="稀土永磁")).total == 0
        for i in range(1, 6):
            engine.upsert([make_doc(i, title=f"稀土永磁 电机 {i}", status="published")])
            assert reader.search(SearchQuery(text="稀土永磁")).total == i
        engine.delete([make_doc(1).id])
        assert reader.search(SearchQuery(text="稀土永磁")).total == 4
    finally:
        reader.close()
