"""`MeiliEngine` through the real `meilisearch` client against a loopback stub server.

Every request body is checked against Meilisearch's published request schemas (kept in
`meili_request_schemas.json`, closed to unknown fields); see `meili_stub.py` for what the
stub does and does not do. What Meilisearch's own matching makes of these requests is in
`test_search_meili_engine_code.py`.
"""

from __future__ import annotations

import json
import threading
import time
import types
import warnings

import pytest
from meili_stub import SCHEMAS, StubMeili
from search_fixtures import make_doc

from search import SearchQuery, SearchUnavailable
from search import meili as meili_module
from search.meili import MeiliEngine, encode

MASTER = "master-key-for-the-stub-0123456789"


@pytest.fixture
def stub():
    with StubMeili(master_key=MASTER) as server:
        yield server


@pytest.fixture
def engine(stub):
    eng = MeiliEngine(stub.url, MASTER, "listings", timeout=5)
    eng.ensure_ready()
    return eng


def test_every_request_fits_the_published_schemas(stub, engine):
    docs = [
        make_doc(1, title="智慧农业大棚", tracks=["智慧农业"], region="360700", description="物联网 传感器"),
        make_doc(2, title="智慧交通信号", tracks=["物联网"], region="360100"),
        make_doc(3, kind="offering", title="区块链溯源 blockchain", tracks=["区块链"]),
    ]
    engine.upsert(docs)
    engine.search(SearchQuery(text="智慧农业", statuses=["published"], tracks=["智慧农业"], sort="newest"))
    engine.search(SearchQuery(text="智慧农业 物联网 传感器 大棚 灌溉", page=2, page_size=5))
    engine.search(SearchQuery(terms=[("区块链", 1.0), ("溯源", 0.5)], kind="offering", facets=False, open_at=1))
    engine.search(SearchQuery(regions=["360700"], sort="deadline", exclude_ids=["opportunity-2"], batch=3))
    engine.search(
        SearchQuery(text="智慧农业", kind="opportunity", ids=["opportunity-1", "opportunity-2"], facets=False)
    )
    assert engine.get(["opportunity-1", "opportunity-404"]).keys() == {"opportunity-1"}
    assert engine.document_ids() == {d.id for d in docs}
    assert engine.doc_count() == 3
    assert engine.term_doc_freq(["物联网", "智慧农业", "不存在"]) == {"物联网": 2, "智慧农业": 1, "不存在": 0}
    engine.delete(["opportunity-2"])
    engine.rebuild(docs[:1])
    assert stub.violations == []
    seen = {(r.method, r.path) for r in stub.requests}
    assert {
        ("POST", "/keys"),
        ("POST", "/indexes"),
        ("PATCH", "/indexes/listings/settings"),
        ("POST", "/indexes/listings/documents"),
        ("POST", "/indexes/listings/search"),
        ("POST", "/multi-search"),
        ("POST", "/indexes/listings/documents/delete"),
        ("POST", "/indexes/listings/documents/fetch"),
        ("POST", "/swap-indexes"),
    } <= seen


def test_the_stub_refuses_what_meilisearch_would(stub):
    """The contract test can fail: an unknown field, a wrong type, a missing Content-Type."""
    import requests

    requests.post(f"{stub.url}/indexes", json={"uid": "x", "primaryKey": "id", "typo": 1}, timeout=5)
    requests.post(
        f"{stub.url}/multi-search", json={"queries": [{"indexUid": "x", "matchingStrategy": "any"}]}, timeout=5
    )
    requests.post(f"{stub.url}/indexes", data=b'{"uid": "x"}', timeout=5)
    requests.post(
        f"{stub.url}/multi-search", json={"queries": [{"indexUid": "x", "limit": 5}], "federation": {}}, timeout=5
    )
    assert len(stub.violations) == 4 and "limit is not allowed" in stub.violations[3]
    assert "typo" in stub.violations[0] and "any" in stub.violations[1] and "Content-Type" in stub.violations[2]


def test_every_object_in_the_request_schemas_refuses_unknown_fields():
    """The schemas are kept closed: a field the adapter sends that the published document
    does not have (a typo, a setting of a newer version) fails the contract test."""
    objects = []

    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") == "object" or "properties" in node:
                objects.append((where, node))
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for n, value in enumerate(node):
                walk(value, f"{where}/{n}")

    walk(SCHEMAS["$defs"], "#/$defs")
    assert len(objects) > 15
    for where, node in objects:
        closed = node.get("additionalProperties") is False or "properties" not in node
        assert closed, f"{where} accepts unknown fields"
        if "properties" not in node:  # a map (synonyms, facetsByIndex): its values are typed
            assert isinstance(node.get("additionalProperties"), dict), where


def test_text_words_are_phrases_that_must_all_match(stub, engine):
    engine.search(SearchQuery(text="智慧 VR blockchian"))
    body = stub.bodies("POST", "/search$")[-1].json
    assert body["q"] == '"智慧" "vr" blockchian '
    assert body["matchingStrategy"] == "all"


def test_a_long_word_few_listings_hold_whole_also_matches_by_its_parts(stub, engine):
    """As the embedded engine: `智慧农业` also finds a listing with `智慧` and `农业` apart,
    unless 100 or more listings hold the word whole."""
    engine.upsert(
        [make_doc(1, title="智慧农业"), make_doc(2, title="农业 智慧化 改造"), make_doc(3, title="智慧 交通")]
    )
    assert {h.id for h in engine.search(SearchQuery(text="智慧农业")).hits} == {"opportunity-1", "opportunity-2"}
    body = stub.bodies("POST", "/multi-search$")[-1].json
    assert [(q["q"], q.get("federationOptions")) for q in body["queries"]] == [
        ('"智慧农业" ', None),
        ('"智慧" "农业" ', {"weight": 0.4}),
    ]
    engine.upsert([make_doc(100 + i, title="智慧农业") for i in range(100)])
    assert "opportunity-2" not in {h.id for h in engine.search(SearchQuery(text="智慧农业", page_size=100)).hits}
    assert stub.bodies("POST", "/search$")[-1].json["q"] == '"智慧农业" '


def test_long_text_is_a_union_of_the_word_subsets_the_embedded_engine_accepts(stub, engine):
    engine.upsert([make_doc(1, title="智慧 农业 果园 灌溉"), make_doc(2, title="智慧 农业 灌溉")])
    result = engine.search(SearchQuery(text="智慧 农业 果园 灌溉 大棚"))
    body = stub.bodies("POST", "/multi-search$")[-1].json
    # Five words: four of them must match (as `plan.min_match`), in any of five ways.
    assert sorted(q["q"] for q in body["queries"]) == sorted(
        " ".join(f'"{w}"' for w in words) + " "
        for words in [
            ["智慧", "农业", "果园", "灌溉"],
            ["智慧", "农业", "果园", "大棚"],
            ["智慧", "农业", "灌溉", "大棚"],
            ["智慧", "果园", "灌溉", "大棚"],
            ["农业", "果园", "灌溉", "大棚"],
        ]
    )
    assert {q["matchingStrategy"] for q in body["queries"]} == {"all"}
    assert body["federation"]["facetsByIndex"] == {"listings": ["f_tracks", "f_domains", "f_region"]}
    assert [h.id for h in result.hits] == ["opportunity-1"]


def test_matching_finds_a_candidate_holding_any_key_term(stub, engine):
    """Point 2: one federated query per key term, weighted; `frequency` would only ever
    consider the documents holding the rarest term."""
    engine.upsert(
        [
            make_doc(1, kind="offering", title="区块链 存证"),
            make_doc(2, kind="offering", title="冷链 溯源"),
            make_doc(3, kind="offering", title="无关 产品"),
        ]
    )
    result = engine.search(SearchQuery(terms=[("区块链", 1.0), ("溯源", 0.4)], kind="offering", facets=False))
    assert {h.id for h in result.hits} == {"offering-1", "offering-2"}
    assert result.hits[0].id == "offering-1"  # the heavier term's query weighs more
    body = stub.bodies("POST", "/multi-search$")[-1].json
    assert [(q["q"], q["federationOptions"]["weight"]) for q in body["queries"]] == [
        ('"区块链" ', 1.0),
        ('"溯源" ', 0.4),
    ]
    assert body["federation"] == {"offset": 0, "limit": 20}


def test_term_doc_freq_counts_phrases_in_the_text_attributes(stub, engine):
    engine.upsert([make_doc(1, title="虚拟现实 实训"), make_doc(2, title="VR 展馆")])
    assert engine.term_doc_freq(["vr"]) == {"vr": 1}  # not the synonym's document
    body = stub.bodies("POST", "/multi-search$")[-1].json
    assert body["queries"][0]["q"] == '"vr" ' and "syn_zh" not in body["queries"][0]["attributesToSearchOn"]


def test_a_rebuild_keeps_writes_made_while_it_runs(stub, engine):
    """Point 4: upserts and deletes during a rebuild reach the index that is swapped in."""
    engine.upsert([make_doc(i, title=f"旧数据 {i}") for i in range(1, 4)])
    filling = threading.Event()
    go_on = threading.Event()

    def hold_the_new_index(rec, task):
        if rec.path == "/indexes/listings_tmp/documents" and not go_on.is_set():
            filling.set()
            assert go_on.wait(10)

    stub.task_hook = hold_the_new_index
    rebuild = threading.Thread(target=engine.rebuild, args=([make_doc(i, title=f"新数据 {i}") for i in range(1, 4)],))
    rebuild.start()
    assert filling.wait(10)
    engine.upsert([make_doc(9, title="重建期间新增")])
    engine.delete(["opportunity-2"])
    go_on.set()
    rebuild.join(10)
    assert not rebuild.is_alive()
    stored = stub.indexes["listings"].documents
    assert set(stored) == {"opportunity-1", "opportunity-3", "opportunity-9"}
    assert stored["opportunity-1"]["doc"]["title"] == "新数据 1"
    assert "listings_tmp" not in stub.indexes


def test_batches_are_sized_by_utf8_bytes(stub, engine, monkeypatch):
    """Point 5: long Chinese descriptions; the stub refuses bodies over the limit (413)."""
    limit = 400_000
    monkeypatch.setattr(meili_module, "BATCH_MAX_BYTES", limit)
    monkeypatch.setattr("meili_stub.PAYLOAD_LIMIT", limit)
    text = "推进智慧农业物联网平台建设，" * 1300  # about 18,000 characters
    docs = [make_doc(i, description=text) for i in range(1, 21)]
    engine.upsert(docs)
    bodies = stub.bodies("POST", "/indexes/listings/documents$")
    assert len(bodies) > 1
    assert all(len(b.body) <= limit for b in bodies)
    assert all("智慧农业".encode() in b.body and b"\\u" not in b.body for b in bodies)
    assert sum(len(json.loads(b.body)) for b in bodies) == 20
    assert len(stub.indexes["listings"].documents) == 20


def test_threads_each_send_their_own_content_type(stub, engine, monkeypatch):
    """Point 11: the client keeps Content-Type in a dict it shares between calls; a GET in
    one thread removes it while another thread is sending a POST. Both keys' clients send
    POSTs in some threads while GETs go through the admin key's client in others, until
    the POSTs are done (a rebuild POSTs the new index and the swap through the same
    client as `health`)."""
    docs = [make_doc(1, title="智慧农业")]
    engine.upsert(docs)
    errors: list[BaseException] = []
    posts = [
        lambda: engine.term_doc_freq(["智慧农业"]),  # search key: POST, with Content-Type
        lambda: engine.rebuild(docs),  # admin key: POST /indexes, /swap-indexes
        lambda: engine.get(["opportunity-1"]),  # admin key: POST
    ]
    gets = [engine.health, engine.doc_count]  # admin key: GET, which removes it
    posting_done = threading.Event()

    def post(n: int) -> None:
        try:
            for _ in range(8):
                posts[n % len(posts)]()
        except BaseException as exc:
            errors.append(exc)

    def get(n: int) -> None:
        try:
            while not posting_done.is_set():
                assert gets[n % len(gets)]()
        except BaseException as exc:
            errors.append(exc)

    # Widen the window between setting the header and sending the request (the client
    # serialises the body in between), so that a shared header dict is caught every run.
    def slow_dumps(*args, **kwargs):
        time.sleep(0.002)
        return json.dumps(*args, **kwargs)

    monkeypatch.setattr("meilisearch._httprequests.json", types.SimpleNamespace(dumps=slow_dumps))
    posters = [threading.Thread(target=post, args=(n,)) for n in range(6)]
    getters = [threading.Thread(target=get, args=(n,)) for n in range(4)]
    for t in [*posters, *getters]:
        t.start()
    for t in posters:
        t.join()
    posting_done.set()
    for t in getters:
        t.join()
    assert errors == [] and stub.violations == []


def test_a_canceled_task_is_not_success(stub, engine):
    def cancel(rec, task):
        if task["type"] == "documentAdditionOrUpdate":
            task["status"] = "canceled"

    stub.task_hook = cancel
    with pytest.raises(SearchUnavailable, match="canceled"):
        engine.upsert([make_doc(1)])


def test_the_master_key_makes_scoped_keys_and_searches_use_the_search_key(stub, engine):
    names = {k["name"]: k for k in stub.keys}
    assert set(names) == {"scenematch-admin-listings", "scenematch-search-listings"}
    assert names["scenematch-search-listings"]["actions"] == ["search"]
    assert names["scenematch-search-listings"]["indexes"] == ["listings", "listings_tmp"]
    engine.upsert([make_doc(1, title="智慧农业")])
    engine.search(SearchQuery(text="智慧农业"))
    search_key = names["scenematch-search-listings"]["key"]
    admin_key = names["scenematch-admin-listings"]["key"]
    searches = stub.bodies("POST", "/search$|/multi-search$")
    assert searches and {r.headers["authorization"] for r in searches} == {f"Bearer {search_key}"}
    assert {r.headers["authorization"] for r in stub.bodies("POST", "/documents$")} == {f"Bearer {admin_key}"}
    # Another start-up finds the keys instead of making more.
    MeiliEngine(stub.url, MASTER, "listings").ensure_ready()
    assert len(stub.keys) == 2


def test_web_processes_starting_together_share_one_pair_of_keys(stub):
    """`scenematch serve --workers N` starts N processes that each run `ensure_ready`; all
    of them list the keys before any has made them. They must end up with one admin and
    one search key, the same in every process, not a pair each."""
    listed = threading.Barrier(3)

    def all_list_first(rec):
        if rec.method == "GET" and rec.path == "/keys":
            listed.wait(5)

    stub.request_hook = all_list_first
    engines = [MeiliEngine(stub.url, MASTER, "listings", timeout=10) for _ in range(3)]
    errors: list[BaseException] = []

    def start(engine: MeiliEngine) -> None:
        try:
            engine.ensure_ready()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stub.request_hook = None
    assert errors == [] and stub.violations == []
    assert sorted(k["name"] for k in stub.keys) == ["scenematch-admin-listings", "scenematch-search-listings"]
    assert len({e._search_key for e in engines}) == 1 and len({e._admin_key for e in engines}) == 1
    assert engines[0]._search_key == next(k["key"] for k in stub.keys if k["name"] == "scenematch-search-listings")


def test_a_key_that_cannot_manage_keys_is_used_as_given(stub):
    engine = MeiliEngine(stub.url, "some-admin-key", "listings")
    engine.ensure_ready()
    engine.search(SearchQuery(text="智慧农业"))
    assert stub.keys == []
    assert stub.bodies("POST", "/search$|/multi-search$")[-1].headers["authorization"] == "Bearer some-admin-key"


def test_slow_settings_do_not_fail_start_up_and_unchanged_settings_are_not_resent(stub, monkeypatch, caplog):
    monkeypatch.setattr(meili_module, "SETTINGS_WAIT_MS", 300)

    def still_processing(rec, task):
        if task["type"] == "settingsUpdate":
            task["status"] = "processing"

    stub.task_hook = still_processing
    MeiliEngine(stub.url, MASTER, "listings", timeout=5).ensure_ready()  # does not raise
    assert "still applying the settings" in caplog.text
    stub.task_hook = None
    stub.indexes["listings"].settings.update(meili_module.index_settings())
    patches = len(stub.bodies("PATCH", "/settings$"))
    MeiliEngine(stub.url, MASTER, "listings", timeout=5).ensure_ready()
    assert len(stub.bodies("PATCH", "/settings$")) == patches


def as_meilisearch_returns(settings: dict) -> dict:
    """GET /settings after PATCHing `settings`: every setting with its default filled in
    (as in the published document's example), sets in Meilisearch's own (sorted) order,
    objects with their keys in another order."""
    returned = {
        "stopWords": [],
        "nonSeparatorTokens": [],
        "separatorTokens": [],
        "distinctAttribute": None,
        "proximityPrecision": "byWord",
        "embedders": {},
        "searchCutoffMs": None,
        "facetSearch": True,
        **settings,
    }
    returned["filterableAttributes"] = sorted(settings["filterableAttributes"])
    returned["sortableAttributes"] = sorted(settings["sortableAttributes"])
    returned["dictionary"] = sorted(settings["dictionary"], key=lambda w: w.encode())
    returned["typoTolerance"] = {"disableOnWords": [], "disableOnNumbers": False, **settings["typoTolerance"]}
    returned["faceting"] = {**settings["faceting"], "sortFacetValuesBy": {"*": "alpha"}}
    returned["localizedAttributes"] = [dict(reversed(rule.items())) for rule in settings["localizedAttributes"]]
    return returned


@pytest.mark.parametrize(
    "change",
    [
        None,
        ("rankingRules", ["words", "typo", "proximity", "attribute", "sort", "exactness"]),
        ("prefixSearch", "indexingTime"),
        ("dictionary", []),
        ("typoTolerance", {"enabled": True, "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9}}),
        ("synonyms", {"vr": ["虚拟现实"]}),
    ],
    ids=["unchanged", "sort-fifth", "prefix-search", "no-dictionary", "typos-on-pinyin", "synonyms"],
)
def test_settings_are_sent_again_only_when_they_differ(stub, change):
    """Each start compares the index's settings, as Meilisearch returns them, with the
    wanted ones: sending them again needlessly reindexes everything (on every web
    process's start), and missing a difference leaves the old behaviour in place."""
    MeiliEngine(stub.url, MASTER, "listings", timeout=5).ensure_ready()
    current = as_meilisearch_returns(meili_module.index_settings())
    if change is not None:
        current[change[0]] = change[1]
    stub.indexes["listings"].settings = current
    patches = len(stub.bodies("PATCH", "/settings$"))
    MeiliEngine(stub.url, MASTER, "listings", timeout=5).ensure_ready()
    assert len(stub.bodies("PATCH", "/settings$")) - patches == (0 if change is None else 1)


def test_an_app_started_before_meilisearch_sets_the_index_up_on_first_use():
    """The app starts even when Meilisearch does not answer yet (compose starts both at
    once); the engine must then make its keys and settings on first use. Otherwise the
    sync worker's first documents create the index without settings (as Meilisearch
    does), and every filtered search is refused until the app restarts."""
    server = StubMeili(master_key=MASTER)  # listening, not answering yet
    engine = MeiliEngine(server.url, MASTER, "listings", timeout=1)
    with pytest.raises(SearchUnavailable):
        engine.ensure_ready()  # what the app's start-up logs and goes on from
    with server:
        engine.upsert([make_doc(1, title="智慧农业", tracks=["物联网"])])
        result = engine.search(SearchQuery(text="智慧农业", statuses=["published"], tracks=["物联网"]))
        assert [h.id for h in result.hits] == ["opportunity-1"]
        assert result.facets["track"] == {"物联网": 1}
        assert server.indexes["listings"].settings == meili_module.index_settings()
        assert {k["name"] for k in server.keys} == {"scenematch-admin-listings", "scenematch-search-listings"}
        assert server.violations == []


def test_string_filters_are_exact_like_the_embedded_engine(stub, engine):
    """Meilisearch folds case and trims filter strings; the hex form has neither."""
    engine.search(SearchQuery(tracks=["VR", "vr", " vr"], statuses=["Published"]))
    body = stub.bodies("POST", "/search$")[-1].json
    tracks = body["filter"][1]
    assert tracks == [f'f_tracks = "{encode(v)}"' for v in ["VR", "vr", " vr"]]
    assert len(set(tracks)) == 3 and all(v == v.lower() and " " not in v[12:] for v in tracks)


def test_facets_come_back_decoded(stub, engine):
    engine.upsert([make_doc(1, title="智慧农业", tracks=["智慧农业", "VR"], region="360700")])
    result = engine.search(SearchQuery(text="智慧农业"))
    assert result.facets == {"track": {"智慧农业": 1, "VR": 1}, "domain": {}, "region": {"360700": 1}}


def test_deletes_use_a_filter_not_the_deprecated_id_list(stub, engine):
    engine.upsert([make_doc(1), make_doc(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        engine.delete(["opportunity-1"])
    assert stub.bodies("POST", "/documents/delete-batch$") == []
    assert stub.bodies("POST", "/documents/delete$")[-1].json == {"filter": 'id IN ["opportunity-1"]'}
    assert set(stub.indexes["listings"].documents) == {"opportunity-2"}


def test_an_index_of_the_old_document_shape_answers_503_until_a_rebuild(stub, engine):
    """Filters and facets use attributes older documents lack: like the embedded engine
    with an index of an old format, search refuses until `scenematch reindex`."""
    stub.indexes["listings"].documents["opportunity-1"] = {"id": "opportunity-1", "status": "published", "doc": {}}
    old = MeiliEngine(stub.url, MASTER, "listings", timeout=5)
    old.ensure_ready()
    with pytest.raises(SearchUnavailable, match="reindex"):
        old.search(SearchQuery(text="智慧农业"))
    old.rebuild([make_doc(1, title="智慧农业")])
    assert [h.id for h in old.search(SearchQuery(text="智慧农业")).hits] == ["opportunity-1"]


def test_budget_deadline_filters_and_the_new_sorts_are_accepted_by_the_index_settings(stub, engine):
    """The stub refuses, as Meilisearch does, a filter or sort on an attribute the settings
    do not allow: the budget bounds are filterable, the new sort keys sortable."""
    engine.upsert([make_doc(1, title="果园 监测", budget_min=80.0, budget_max=120.0, deadline=2_000)])
    engine.search(SearchQuery(text="果园", budget_from=100, budget_to=500, deadline_from=1_000, deadline_to=3_000))
    body = stub.bodies("POST", "/search$")[-1].json
    assert body["filter"] == [
        "deadline >= 1000",
        "deadline <= 3000",
        "budget_low >= 0",
        "budget_low < 500",
        ["budget_high > 100", "budget_low >= 100"],
    ]
    engine.search(SearchQuery(kind="offering", sort="maturity"))
    assert stub.bodies("POST", "/search$")[-1].json["sort"] == ["maturity_rank:desc", "sort_time:desc"]
    engine.search(SearchQuery(text="智慧农业 物联网 传感器 大棚", budget_to=100, sort="updated"))
    federated = stub.bodies("POST", "/multi-search$")[-1].json
    assert all(q["sort"] == ["updated_at:desc"] and "budget_low < 100" in q["filter"] for q in federated["queries"])
    settings = stub.indexes["listings"].settings
    assert {"budget_low", "budget_high"} <= set(settings["filterableAttributes"])
    assert {"updated_at", "maturity_rank"} <= set(settings["sortableAttributes"])
    assert stub.violations == []
    assert stub.indexes["listings"].documents["opportunity-1"]["budget_high"] == 120.0


def test_documents_without_the_budget_bounds_are_an_old_shape():
    """The budget bounds are new attributes: the document format marker changed with them,
    so an index of format_v3 documents is refused until `scenematch reindex`."""
    assert meili_module.DOCUMENT_FORMAT == "format_v4"
    assert meili_module.to_meili(make_doc(1))[meili_module.DOCUMENT_FORMAT] is True
