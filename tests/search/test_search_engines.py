"""One behavioural suite, run against every reachable engine."""

from __future__ import annotations

import threading

from search_fixtures import NOW, engine, make_doc  # noqa: F401  (engine is a fixture)

from search import SearchQuery


def ids(result) -> list[str]:
    return [h.id for h in result.hits]


def find(engine, text: str, **kw) -> list[str]:
    return ids(engine.search(SearchQuery(text=text, **kw)))


def test_simplified_query_finds_traditional_and_annotated_text(engine):
    engine.upsert(
        [
            make_doc(1, title="數字經濟發展平台"),
            make_doc(2, title="推進數(shù)字經濟做優做強"),
            make_doc(3, title="智慧水利监测"),
        ]
    )
    assert set(find(engine, "数字经济")) == {"opportunity-1", "opportunity-2"}
    assert set(find(engine, "數字經濟")) == {"opportunity-1", "opportunity-2"}


def test_synonyms_work_both_ways(engine):
    engine.upsert([make_doc(1, title="VR 实训教室"), make_doc(2, title="虚拟现实展馆"), make_doc(3, title="智慧农业")])
    assert set(find(engine, "VR")) == {"opportunity-1", "opportunity-2"}
    assert set(find(engine, "虚拟现实")) == {"opportunity-1", "opportunity-2"}


def test_pinyin_query_finds_chinese_words(engine):
    engine.upsert([make_doc(1, title="智慧农业物联网平台"), make_doc(2, title="智慧交通")])
    result = engine.search(SearchQuery(text="zhihuinongye"))
    assert ids(result) == ["opportunity-1"]
    assert "智慧农业" in result.hits[0].matched_terms


def test_typo_in_a_latin_word(engine):
    engine.upsert([make_doc(1, title="基于 blockchain 的溯源"), make_doc(2, title="区块")])
    result = engine.search(SearchQuery(text="blockchian"))
    assert ids(result)[0] == "opportunity-1"
    assert "<mark>blockchain</mark>" in result.hits[0].title_html


def test_word_inside_a_longer_word(engine):
    engine.upsert([make_doc(1, title="待处理的审批事项"), make_doc(2, title="智慧农业")])
    assert find(engine, "处理") == ["opportunity-1"]


def test_query_of_only_stop_words_or_punctuation_is_empty(engine):
    engine.upsert([make_doc(1, title="的 了 智慧农业")])
    for text in ["的", "，。！？", "的了和", "   ", "<br>"]:
        result = engine.search(SearchQuery(text=text))
        if text.strip():
            assert result.total == 0 and result.hits == []


def test_empty_query_lists_everything_newest_first(engine):
    engine.upsert([make_doc(i, published_at=NOW + i) for i in (1, 3, 2)])
    result = engine.search(SearchQuery(text=""))
    assert ids(result) == ["opportunity-3", "opportunity-2", "opportunity-1"]
    assert result.total == 3


def test_facets_count_the_current_query(engine):
    engine.upsert(
        [
            make_doc(1, title="智慧农业大棚", tracks=["智慧农业", "物联网"], region="360700"),
            make_doc(2, title="智慧农业灌溉", tracks=["智慧农业"], domains=["现代农业"], region="360100"),
            make_doc(3, title="智慧交通信号", tracks=["物联网"], region="360700"),
            make_doc(4, title="省外智慧农业示范", tracks=["智慧农业"], region=None),
        ]
    )
    result = engine.search(SearchQuery(text="智慧农业"))
    assert result.total == 3  # a listing without a region counts, but in no region
    assert result.facets["track"] == {"智慧农业": 3, "物联网": 1}
    assert result.facets["domain"] == {"现代农业": 1}
    assert result.facets["region"] == {"360700": 1, "360100": 1}
    assert engine.search(SearchQuery(text="智慧", facets=False)).facets == {}


def test_filters_and_within_or_across(engine):
    engine.upsert(
        [
            make_doc(1, title="平台 a", tracks=["物联网"], region="360700"),
            make_doc(2, title="平台 b", tracks=["VR"], region="360100"),
            make_doc(3, kind="offering", title="平台 c", tracks=["物联网"], region="360700"),
            make_doc(4, title="平台 d", tracks=["物联网"], region="360700", status="draft"),
        ]
    )
    assert set(find(engine, "平台", kind="offering")) == {"offering-3"}
    assert set(find(engine, "平台", tracks=["物联网"], statuses=["published"])) == {"opportunity-1", "offering-3"}
    assert set(find(engine, "平台", tracks=["物联网", "VR"], kind="opportunity", statuses=["published"])) == {
        "opportunity-1",
        "opportunity-2",
    }
    assert set(find(engine, "", regions=["360100"])) == {"opportunity-2"}
    assert set(find(engine, "", statuses=["draft"])) == {"opportunity-4"}


def test_crafted_filter_values_cannot_widen_the_filter(engine):
    engine.upsert([make_doc(1, title="平台", status="published"), make_doc(2, title="平台", status="draft")])
    crafted = 'x" OR status = "draft'
    assert find(engine, "", tracks=[crafted], statuses=["published"]) == []
    assert find(engine, "", statuses=[f"published{crafted}"]) == []
    assert find(engine, "", statuses=["published"], regions=["360100\\", crafted]) == []
    everything = find(engine, "平台", statuses=["published"])
    assert everything == ["opportunity-1"]


def test_upsert_is_idempotent_and_replaces(engine):
    engine.upsert([make_doc(1, title="旧标题")])
    engine.upsert([make_doc(1, title="新标题 智慧农业")])
    engine.upsert([make_doc(1, title="新标题 智慧农业")])
    assert engine.doc_count() == 1
    assert engine.document_ids() == {"opportunity-1"}
    assert find(engine, "旧标题") == []
    assert find(engine, "智慧农业") == ["opportunity-1"]


def test_stored_version_reads_back_equal(engine):
    doc = make_doc(7, title="數(shù)字孪生", tracks=["数字孪生"], tags=["气象/物联网"], deadline=NOW + 1, batch=3)
    engine.upsert([doc])
    assert engine.get(["opportunity-7", "opportunity-404"]) == {"opportunity-7": doc}


def test_delete_removes(engine):
    engine.upsert([make_doc(1, title="智慧农业"), make_doc(2, title="智慧农业")])
    engine.delete(["opportunity-1", "opportunity-unknown"])
    assert find(engine, "智慧农业") == ["opportunity-2"]
    assert engine.document_ids() == {"opportunity-2"}


def test_rebuild_swaps_and_search_never_sees_an_empty_index(engine):
    engine.upsert([make_doc(i, title=f"旧数据 智慧农业 {i}") for i in range(1, 6)])
    new_docs = [make_doc(i, title=f"新数据 智慧农业 {i}", description="物联网 " * 50) for i in range(3, 400)]
    totals: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def keep_searching():
        try:
            while not done.is_set():
                totals.append(engine.search(SearchQuery(text="智慧农业", facets=False)).total)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    reader = threading.Thread(target=keep_searching)
    reader.start()
    try:
        engine.rebuild(iter(new_docs))
    finally:
        done.set()
        reader.join()
    assert not errors
    assert totals and min(totals) > 0
    assert engine.document_ids() == {d.id for d in new_docs}
    assert find(engine, "旧数据") == []


def test_highlight_escapes_html_and_marks_the_match(engine):
    engine.upsert(
        [
            make_doc(
                1,
                title="<script>alert(1)</script> 智慧农业",
                description="前文" * 80 + "部署智慧农业传感器<img src=x>" + "后文" * 80,
            )
        ]
    )
    hit = engine.search(SearchQuery(text="智慧农业")).hits[0]
    assert hit.title_html == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>智慧农业</mark>"
    assert "<mark>智慧农业</mark>" in hit.snippet_html
    assert "<img" not in hit.snippet_html and "&lt;img" in hit.snippet_html
    assert hit.snippet_html.startswith("…") and hit.snippet_html.endswith("…")
    assert hit.matched_terms == ["智慧农业"]


def test_highlight_marks_latin_words_only_where_they_stand_alone(engine):
    engine.upsert([make_doc(1, title="VR实训室 avr 芯片与 vr2 模组 VR")])
    hit = engine.search(SearchQuery(text="VR")).hits[0]
    assert hit.title_html == "<mark>VR</mark>实训室 avr 芯片与 vr2 模组 <mark>VR</mark>"


def test_highlight_marks_traditional_text_as_written(engine):
    engine.upsert([make_doc(1, title="數(shù)字經濟平台")])
    hit = engine.search(SearchQuery(text="数字经济")).hits[0]
    assert hit.title_html == "<mark>數字經濟</mark>平台"


def test_sort_by_newest_and_by_deadline(engine):
    engine.upsert(
        [
            make_doc(1, title="平台", published_at=NOW + 30, deadline=NOW + 300),
            make_doc(2, title="平台 平台 平台", published_at=NOW + 10, deadline=NOW + 100),
            make_doc(3, title="平台", published_at=NOW + 20, deadline=None),
        ]
    )
    assert find(engine, "平台", sort="newest") == ["opportunity-1", "opportunity-3", "opportunity-2"]
    assert find(engine, "平台", sort="deadline") == ["opportunity-2", "opportunity-1", "opportunity-3"]


def test_paging(engine):
    engine.upsert([make_doc(i, title="智慧农业", published_at=NOW + i) for i in range(1, 8)])
    pages = [engine.search(SearchQuery(text="智慧农业", sort="newest", page=p, page_size=3)) for p in (1, 2, 3, 4)]
    assert [len(p.hits) for p in pages] == [3, 3, 1, 0]
    assert all(p.total == 7 for p in pages)
    seen = [h for p in pages for h in ids(p)]
    assert seen == [f"opportunity-{i}" for i in range(7, 0, -1)]


def test_exclude_ids_and_open_deadline(engine):
    engine.upsert(
        [
            make_doc(1, title="智慧农业", deadline=NOW - 1),
            make_doc(2, title="智慧农业", deadline=NOW + 1),
            make_doc(3, title="智慧农业"),
        ]
    )
    assert set(find(engine, "智慧农业", open_at=NOW)) == {"opportunity-2", "opportunity-3"}
    assert set(find(engine, "智慧农业", exclude_ids=["opportunity-3"])) == {"opportunity-1", "opportunity-2"}


# Budgets (万元) as listings state them: 80万, 50–100万, "100万以内", 100万 exactly, 300–500万,
# "500万以上", 1.2亿, and 面议 (no budget).
BUDGETS = {1: (80, 80), 2: (50, 100), 3: (None, 100), 4: (100, 100), 5: (300, 500), 6: (500, None),
           7: (12000, 12000), 8: (None, None)}  # fmt: skip


def test_a_budget_range_finds_the_listings_whose_budget_meets_it(engine):
    engine.upsert(
        [make_doc(i, title="预算 平台", budget_min=low, budget_max=high) for i, (low, high) in BUDGETS.items()]
        + [make_doc(9, kind="offering", title="预算 平台")]
    )

    def budget(start, end, text="预算"):
        return sorted(int(h.split("-")[1]) for h in find(engine, text, budget_from=start, budget_to=end))

    assert budget(None, 100) == [1, 2, 3]  # 100万以下: 100万 exactly is not below 100万
    assert budget(100, 500) == [4, 5]  # "100万以内" only touches 100万; "500万以上" starts past the range
    assert budget(500, 1000) == [6]  # 300–500万 only touches 500万
    assert budget(1000, None) == [6, 7]
    assert budget(0, None) == [1, 2, 3, 4, 5, 6, 7]  # any budget; 面议 and offerings never
    # Browsing (no text) filters the same.
    assert budget(100, 500, text="") == [4, 5]


def test_a_deadline_window_keeps_only_dated_listings_within_it(engine):
    engine.upsert(
        [
            make_doc(1, title="截止 平台", deadline=NOW - 86_400),
            make_doc(2, title="截止 平台", deadline=NOW + 3 * 86_400),
            make_doc(3, title="截止 平台", deadline=NOW + 20 * 86_400),
            make_doc(4, title="截止 平台"),
        ]
    )
    within = find(engine, "截止", deadline_from=NOW, deadline_to=NOW + 7 * 86_400)
    assert within == ["opportunity-2"]
    assert set(find(engine, "截止", deadline_from=NOW)) == {"opportunity-2", "opportunity-3"}
    assert set(find(engine, "", deadline_to=NOW + 7 * 86_400)) == {"opportunity-1", "opportunity-2"}


def test_sort_by_last_update_and_by_maturity(engine):
    engine.upsert(
        [
            make_doc(1, kind="offering", title="产品", maturity="concept", updated_at=NOW + 5, published_at=NOW + 1),
            make_doc(2, kind="offering", title="产品", maturity="mature", updated_at=NOW + 1, published_at=NOW + 2),
            make_doc(3, kind="offering", title="产品", maturity=None, updated_at=NOW + 9, published_at=NOW + 3),
            make_doc(4, kind="offering", title="产品", maturity="pilot", updated_at=NOW + 3, published_at=NOW + 4),
            make_doc(5, kind="offering", title="产品", maturity="mature", updated_at=NOW + 2, published_at=NOW + 5),
        ]
    )
    assert find(engine, "产品", sort="updated") == [f"offering-{i}" for i in (3, 1, 4, 5, 2)]
    # 成熟产品 first, newest first among equals; no maturity stated last.
    assert find(engine, "产品", sort="maturity") == [f"offering-{i}" for i in (5, 2, 4, 1, 3)]
    assert find(engine, "", sort="maturity") == [f"offering-{i}" for i in (5, 2, 4, 1, 3)]


def test_ids_restrict_a_search_to_those_documents(engine):
    """Saved-search alerts search only the listings just published, with the search's own matching."""
    engine.upsert(
        [
            make_doc(1, title="智慧農(nóng)業監測"),  # Traditional, pinyin-annotated
            make_doc(2, title="智慧农业大棚"),
            make_doc(3, title="智慧交通"),
        ]
    )
    assert set(find(engine, "智慧农业", ids=["opportunity-1", "opportunity-3"])) == {"opportunity-1"}
    assert set(find(engine, "zhihuinongye", ids=["opportunity-1", "opportunity-2"])) == {
        "opportunity-1",
        "opportunity-2",
    }
    assert find(engine, "智慧农业", ids=[]) == []
    browse = engine.search(SearchQuery(ids=["opportunity-3", "opportunity-9"], facets=False))
    assert [h.id for h in browse.hits] == ["opportunity-3"] and browse.total == 1


def test_term_doc_freq(engine):
    engine.upsert([make_doc(1, title="智慧农业 物联网"), make_doc(2, description="物联网")])
    assert engine.term_doc_freq(["物联网", "智慧农业", "不存在的词"]) == {"物联网": 2, "智慧农业": 1, "不存在的词": 0}
    assert engine.doc_count() == 2
    assert engine.health()
