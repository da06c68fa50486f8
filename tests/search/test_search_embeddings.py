"""Matching by meaning: the bundled embedding model, stored vectors, hybrid ranking.

The model is the real bundled one (loaded once per test session: `get_embedder` keeps
one per process); the engine is the real embedded engine in a temporary directory.
"""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest
from search_fixtures import DISTRACTORS, FITTING, NEED, NOW, embedder, make_doc  # noqa: F401  (embedder is a fixture)

from backend.kit import busy
from backend.searching.sync import SyncWorker
from search import SearchQuery, create_engine, match
from search.embedding import TEXT_ONLY, store_name
from search.matching import extract_key_terms, sentence_share, weighted_terms
from search.text import normalise
from search.vectorize import Vectorizer
from search.vectors import store_of


@pytest.fixture
def engine(tmp_path):
    eng = create_engine("embedded", data_dir=tmp_path, index_name="listings")
    eng.ensure_ready()
    yield eng
    eng.close()


def _index(engine, embedder, docs):
    engine.upsert(docs)
    Vectorizer(engine, embedder).run()
    return store_of(engine, embedder.name)


def _ids(found):
    return [m.id for m in found]


def test_a_differently_worded_fitting_offering_is_found_through_its_vector(engine, embedder):
    store = _index(engine, embedder, [NEED, FITTING, *DISTRACTORS])
    text_only = match(engine, NEED, "offering", limit=3, now=NOW, vectors=store, semantic=False)
    hybrid = match(engine, NEED, "offering", limit=3, now=NOW, vectors=store)
    assert FITTING.id not in _ids(text_only)  # no shared word: text matching cannot see it
    assert text_only  # …while the word-sharing distractors are found by text
    assert FITTING.id in _ids(hybrid)
    found = next(m for m in hybrid if m.id == FITTING.id)
    assert found.reasons.semantic is not None and found.reasons.matched_terms == []
    # Mainly semantic: the reason names the two closest sentences, one of each listing.
    # (Sentences in their searchable form: Simplified script, half-width punctuation.)
    ((mine, theirs),) = found.reasons.similar_sentences
    assert mine in normalise(f"{NEED.title}。{NEED.description}")
    assert theirs in normalise(f"{FITTING.title}。{FITTING.description}")
    # The best match by words is never called mainly semantic, whatever share meaning has in
    # the ranking: "语义相近" explains the matches that words do not.
    best_by_words = next(m for m in match(engine, NEED, "offering", limit=10, now=NOW, vectors=store)
                         if m.id == text_only[0].id)  # fmt: skip
    assert best_by_words.reasons.matched_terms and not best_by_words.reasons.similar_sentences


def test_listings_without_a_vector_are_still_matched_by_text(engine, embedder):
    store = _index(engine, embedder, [NEED, FITTING, *DISTRACTORS])
    # Added after the embedding pass (as between two rounds of the worker): no vector yet.
    late = make_doc(20, "offering", title="井下煤矿远程操控与集中调度系统", description="井下设备远程操控、集中调度。")
    engine.upsert([late])
    assert store.vector(late.id) is None
    found = match(engine, NEED, "offering", limit=5, now=NOW, vectors=store)
    assert _ids(found)[0] == late.id  # the best text fit still comes first
    assert found[0].reasons.semantic is None and found[0].reasons.matched_terms
    # And a listing that has no vector itself is matched by text alone.
    unembedded = make_doc(2, title="煤矿井下远程操控", description="井下设备远程操控与集中调度。")
    engine.upsert([unembedded])
    assert late.id in _ids(match(engine, unembedded, "offering", limit=5, now=NOW, vectors=store))


def test_turning_embeddings_off_changes_nothing_else(engine, embedder, monkeypatch):
    docs = [NEED, FITTING, *DISTRACTORS]
    store = _index(engine, embedder, docs)
    Vectorizer(engine, None).run()  # what the worker stores with embeddings off: sentence keys
    with_model_text_only = match(engine, NEED, "offering", limit=5, now=NOW, vectors=store, semantic=False)
    searches = [engine.search(SearchQuery(text=q, statuses=["published"])) for q in ("煤矿", "调度 平台", "网络")]

    monkeypatch.setenv("SCENEMATCH_EMBEDDINGS", "off")
    assert store_name() == TEXT_ONLY
    off = match(engine, NEED, "offering", limit=5, now=NOW)
    assert [(m.id, m.score, m.reasons.matched_terms, m.reasons.shared_tracks) for m in off] == [
        (m.id, m.score, m.reasons.matched_terms, m.reasons.shared_tracks) for m in with_model_text_only
    ]
    assert all(m.reasons.semantic is None and not m.reasons.similar_sentences for m in off)
    # Search never used the vectors: the same hits, in the same order, either way.
    again = [engine.search(SearchQuery(text=q, statuses=["published"])) for q in ("煤矿", "调度 平台", "网络")]
    assert [[h.id for h in r.hits] for r in again] == [[h.id for h in r.hits] for r in searches]


def test_vectors_are_recomputed_only_when_a_listing_changes(engine, embedder):
    store = _index(engine, embedder, [NEED, FITTING, *DISTRACTORS])
    before = {d.id: store.vector(d.id).copy() for d in [NEED, FITTING, *DISTRACTORS]}
    vectorizer = Vectorizer(engine, embedder)
    assert vectorizer.run().done == 0  # nothing changed: nothing embedded
    edited = make_doc(10, "offering", title=FITTING.title, description="液压支架与采煤机地面远程集中控制。")
    engine.upsert([edited])
    vectorizer.note_upserted([edited])
    assert vectorizer.step() == 1
    assert not np.allclose(store.vector(FITTING.id), before[FITTING.id])
    for doc_id in before.keys() - {FITTING.id}:
        assert np.array_equal(store.vector(doc_id), before[doc_id])
    engine.delete([DISTRACTORS[0].id])
    vectorizer.note_deleted([DISTRACTORS[0].id])
    vectorizer.step()
    assert store.vector(DISTRACTORS[0].id) is None and DISTRACTORS[0].id not in store


def test_the_sync_worker_embeds_what_it_applied_when_idle(engine, embedder):
    engine.upsert([NEED, FITTING])
    worker = SyncWorker(None, engine, vectorizer=Vectorizer(engine, embedder))  # type: ignore[arg-type]
    worker._applied([NEED, FITTING], [])
    while worker._embed_step():
        pass
    store = store_of(engine, embedder.name)
    assert store.vector(NEED.id) is not None and store.vector(FITTING.id) is not None


async def test_the_writer_leaves_embedding_while_its_process_answers_requests(engine, embedder, monkeypatch):
    """Embedding is hours of CPU after a bulk import: it waits while requests are answered."""
    monkeypatch.setattr(busy, "QUIET_SECONDS", 0.05)
    engine.upsert([NEED, FITTING])
    worker = SyncWorker(None, engine, vectorizer=Vectorizer(engine, embedder))  # type: ignore[arg-type]
    worker._applied([NEED, FITTING], [])
    answering, answered = asyncio.Event(), asyncio.Event()

    async def slow_page(scope, receive, send):
        answering.set()
        await answered.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=busy.CountRequests(slow_page)), base_url="http://t")
    request = asyncio.create_task(client.get("/"))
    await answering.wait()
    assert await worker.embed_when_quiet() == 0
    store = store_of(engine, embedder.name)
    assert store is None or store.vector(NEED.id) is None
    answered.set()
    assert (await request).status_code == 200
    await client.aclose()
    await asyncio.sleep(0.1)
    while await worker.embed_when_quiet():
        pass
    store = store_of(engine, embedder.name)
    assert store.vector(NEED.id) is not None and store.vector(FITTING.id) is not None


def test_a_reader_sees_the_writers_vectors_and_a_rebuild_keeps_them(engine, embedder, tmp_path):
    docs = [NEED, FITTING, *DISTRACTORS]
    store = _index(engine, embedder, docs)
    # A second process opening the same index (a web process) reads the same vectors.
    reader = create_engine("embedded", data_dir=tmp_path, index_name="listings")
    try:
        reader_store = store_of(reader, embedder.name)
        assert np.array_equal(reader_store.vector(FITTING.id), store.vector(FITTING.id))
        late = make_doc(30, "offering", title="采煤工作面视频监控", description="综采工作面高清视频回传。")
        engine.upsert([late])
        Vectorizer(engine, embedder).run()
        assert reader_store.vector(late.id) is not None  # noticed the writer's new segment
        # Rebuilding the text index carries the vectors over: nothing to embed again.
        engine.rebuild([*docs, late])
        assert Vectorizer(engine, embedder).run().done == 0
        assert store_of(engine, embedder.name).vector_count() == len(docs) + 1
        assert store_of(reader, embedder.name).vector(late.id) is not None
    finally:
        reader.close()


def test_key_terms_ignore_boilerplate_and_a_lists_shared_context_sentence(engine):
    context = "本批场景面向省内外征集解决方案，支持组建联合体申报。"
    listings = [
        make_doc(
            i,
            title=title,
            description=f"{body}我省将培育一批标杆项目，力争年底前形成品牌和示范基地。{context}",
        )
        for i, (title, body) in enumerate(
            [
                ("赣南脐橙溯源", "为脐橙建立一物一码质量溯源。"),
                ("鄱阳湖水质监测", "在湖区布设水质自动监测浮标。"),
                ("萍乡烟花爆竹安全监管", "对烟花爆竹生产企业视频监控。"),
                ("景德镇陶瓷窑炉节能", "窑炉温度在线监测与节能控制。"),
                ("南昌地铁客流分析", "地铁站客流实时统计与预警。"),
            ],
            start=1,
        )
    ]
    engine.upsert(listings + [make_doc(100 + i, "offering", title=f"产品 {i}") for i in range(30)])
    Vectorizer(engine, None).run()  # sentence keys only: no model needed
    store = store_of(engine, TEXT_ONLY)
    doc = listings[1]
    plain = [t for t, _ in extract_key_terms(doc, engine)]
    for word in ("我省", "培育", "基地", "年底", "品牌"):
        assert word not in plain
    shared = sentence_share(doc, store)
    assert shared  # the context sentence is carried by all five listings
    weighted = dict((term, score) for score, term in weighted_terms(doc, engine, shared))
    unweighted = dict((term, score) for score, term in weighted_terms(doc, engine))
    assert weighted["联合体"] < unweighted["联合体"] / 2
    assert weighted["监测"] == pytest.approx(unweighted["监测"])  # its own words keep their weight
    terms = [t for t, _ in extract_key_terms(doc, engine, scored=weighted_terms(doc, engine, shared))]
    assert "监测" in terms and "联合体" not in terms[: terms.index("监测") + 1]
    assert "联合体" in [t for t, _ in extract_key_terms(doc, engine)]  # where it was before
