"""Listing vectors with Meilisearch: a user-provided embedder the sync worker feeds, and
matching that fuses text candidates with nearest-vector ones (search/meili_vectors.py).

Through the real `meilisearch` client against the loopback stub (`meili_stub.py`), which
checks every body against the published request schemas and applies Meilisearch's rules
for `_vectors` in documents; the embedding model is the real bundled one (as in
`test_search_embeddings.py`). What no stub can show: Meilisearch's own vector index
(its approximate nearest neighbours, its ranking-score scale).
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import requests
from meili_stub import StubMeili
from search_fixtures import DISTRACTORS, FITTING, NEED, NOW, embedder, make_doc  # noqa: F401  (embedder is a fixture)

from backend.searching.sync import SyncWorker
from search import SearchQuery, SearchUnavailable, create_engine, match
from search import meili as meili_module
from search.embedding import TEXT_ONLY, store_name
from search.meili import MeiliEngine, encode, to_meili
from search.meili_vectors import embedder_name
from search.vectorize import Vectorizer
from search.vectors import Entry, store_of

MASTER = "master-key-for-the-stub-0123456789"
DOCS = [NEED, FITTING, *DISTRACTORS]


@pytest.fixture
def stub():
    with StubMeili(master_key=MASTER) as server:
        yield server


@pytest.fixture
def engine(stub, embedder):
    eng = MeiliEngine(stub.url, MASTER, "listings", timeout=5, model=embedder.name)
    eng.ensure_ready()
    return eng


@pytest.fixture
def name(embedder):
    return embedder_name(embedder.name)


def _documents_sent(stub, method="POST", index="listings"):
    return [d for r in stub.bodies(method, f"/indexes/{index}/documents$") for d in r.json]


def _vector_searches(stub):
    return [r.json for r in stub.bodies("POST", "/indexes/listings/search$") if "vector" in r.json]


def _ids(found):
    return [m.id for m in found]


def test_settings_declare_a_user_provided_embedder_of_the_models_dimensions(stub, engine, embedder, name):
    (patch,) = stub.bodies("PATCH", "/settings$")
    assert patch.json["embedders"] == {name: {"source": "userProvided", "dimensions": 384}}
    assert embedder.encode(["井下远程操控"]).shape == (1, 384)  # what the model gives
    assert {"vec_hash", "_vectors"} <= set(patch.json["displayedAttributes"])
    # Unchanged settings are not sent again.
    MeiliEngine(stub.url, MASTER, "listings", timeout=5, model=embedder.name).ensure_ready()
    assert len(stub.bodies("PATCH", "/settings$")) == 1
    # Embeddings turned off: the embedder is removed (a user-provided one refuses new
    # documents that give it no vector), and the documents then carry none.
    off = MeiliEngine(stub.url, MASTER, "listings", timeout=5, model=TEXT_ONLY)
    off.ensure_ready()
    assert stub.bodies("PATCH", "/settings$")[-1].json["embedders"] == {name: None}
    assert stub.indexes["listings"].settings["embedders"] == {}
    off.upsert([NEED])
    assert "_vectors" not in _documents_sent(stub)[-1]
    assert stub.violations == []


def test_documents_carry_their_vector_once_embedded_and_only_changed_text_is_embedded_again(
    stub, engine, embedder, name
):
    engine.upsert([NEED, FITTING])
    first = _documents_sent(stub)
    # Not embedded yet: the documented opt-out (Meilisearch refuses a new document without it).
    assert [d["_vectors"] for d in first] == [{name: None}, {name: None}]
    assert all("vec_hash" not in d for d in first)

    worker = SyncWorker(None, engine, vectorizer=Vectorizer(engine, embedder))  # type: ignore[arg-type]
    worker._applied([NEED, FITTING], [])
    while worker._embed_step():
        pass
    updates = stub.bodies("PUT", "/indexes/listings/documents$")
    assert updates and {r.query["skipCreation"][0] for r in updates} == {"true"}
    sent = {d["id"]: d for r in updates for d in r.json}
    assert set(sent) == {NEED.id, FITTING.id}
    for doc in sent.values():
        # A partial document: the hash and the vector, the adapter's own (never regenerated).
        assert set(doc) == {"id", "vec_hash", "_vectors"}
        assert doc["_vectors"][name]["regenerate"] is False and len(doc["_vectors"][name]["embeddings"]) == 384
    assert len(stub.indexes["listings"].vectors[FITTING.id][name]) == 1

    # Upserted again with its embedded text unchanged (a later deadline): the stored vector
    # goes along, and nothing is embedded again.
    later = replace(NEED, deadline=NOW + 5 * 86_400)
    engine.upsert([later])
    worker._applied([later], [])
    again = _documents_sent(stub)[-1]
    assert again["_vectors"][name] == sent[NEED.id]["_vectors"][name]
    assert again["vec_hash"] == sent[NEED.id]["vec_hash"] and again["deadline"] == NOW + 5 * 86_400
    while worker._embed_step():
        pass
    assert len(stub.bodies("PUT", "/indexes/listings/documents$")) == len(updates)
    assert Vectorizer(engine, embedder).run().done == 0

    # Its text edited: the old vector no longer describes it (matched by text meanwhile),
    # and only it is embedded again.
    edited = replace(FITTING, description="液压支架与采煤机地面远程集中控制。")
    engine.upsert([edited])
    worker._applied([edited], [])
    body = _documents_sent(stub)[-1]
    assert body["_vectors"] == {name: None} and "vec_hash" not in body
    assert stub.indexes["listings"].vectors[FITTING.id][name] == []
    while worker._embed_step():
        pass
    newer = stub.bodies("PUT", "/indexes/listings/documents$")[len(updates) :]
    assert [d["id"] for r in newer for d in r.json] == [FITTING.id]
    assert stub.violations == []


def test_a_vector_for_a_listing_deleted_meanwhile_does_not_bring_it_back(stub, engine, embedder):
    engine.upsert([NEED, FITTING])
    store = store_of(engine, embedder.name)
    engine.delete([FITTING.id])
    store.put([Entry(FITTING.id, "abc", vector=np.full(384, 1 / np.sqrt(384), dtype=np.float32))])
    assert set(stub.indexes["listings"].documents) == {NEED.id}
    assert engine.get([FITTING.id]) == {}


def test_a_rebuild_keeps_the_vectors_of_unchanged_listings(stub, engine, embedder, name):
    engine.upsert(DOCS)
    Vectorizer(engine, embedder).run()
    before = {d.id: stub.indexes["listings"].vectors[d.id][name] for d in DOCS}
    edited = replace(DISTRACTORS[0], title="煤矿安全在线培训")
    engine.rebuild([NEED, FITTING, edited, *DISTRACTORS[1:]])
    filled = {d["id"]: d for d in _documents_sent(stub, index="listings_tmp")}
    assert filled[edited.id]["_vectors"] == {name: None}
    kept = [d for d in filled.values() if d["id"] != edited.id]
    assert all(d["_vectors"][name]["regenerate"] is False for d in kept)
    after = stub.indexes["listings"].vectors
    assert {i: after[i][name] for i in before if i != edited.id} == {i: v for i, v in before.items() if i != edited.id}
    assert Vectorizer(engine, embedder).run().done == 1  # only the edited one
    assert stub.violations == []


def test_matching_finds_a_differently_worded_listing_through_its_vector_both_ways(
    stub, engine, embedder, name, tmp_path
):
    engine.upsert(DOCS)
    text_only = match(engine, NEED, "offering", limit=3, now=NOW)  # nothing embedded yet
    assert FITTING.id not in _ids(text_only) and text_only
    assert _vector_searches(stub) == []
    assert NEED.id not in _ids(match(engine, FITTING, "opportunity", now=NOW))

    Vectorizer(engine, embedder).run()
    hybrid = match(engine, NEED, "offering", limit=3, now=NOW)
    assert FITTING.id in _ids(hybrid)
    (search,) = _vector_searches(stub)
    assert search["hybrid"] == {"embedder": name, "semanticRatio": 1.0}
    assert len(search["vector"]) == 384 and search["q"] == "" and search["limit"] == 30
    assert search["retrieveVectors"] is True  # to drop the hits without one
    assert search["filter"] == [
        f'f_kind = "{encode("offering")}"',
        [f'f_status = "{encode("published")}"'],
        f'id NOT IN ["{NEED.id}"]',
    ]
    found = next(m for m in hybrid if m.id == FITTING.id)
    # No shared word; the sentence pair of "语义相近" is not stored in Meilisearch.
    assert found.reasons.matched_terms == [] and found.reasons.similar_sentences == []
    # The same cosine similarity, and so the same fusion, as the embedded engine's.
    embedded = create_engine("embedded", data_dir=tmp_path, index_name="listings")
    embedded.ensure_ready()
    embedded.upsert(DOCS)
    Vectorizer(embedded, embedder).run()
    reference = next(m for m in match(embedded, NEED, "offering", limit=3, now=NOW) if m.id == FITTING.id)
    assert found.reasons.semantic == pytest.approx(reference.reasons.semantic, abs=2e-3)
    embedded.close()

    # The other way: the offering finds the need it fits, among open opportunities only.
    back = match(engine, FITTING, "opportunity", limit=3, now=NOW)
    assert _ids(back) == [NEED.id] and back[0].reasons.semantic is not None
    assert [f"deadline >= {NOW}", "deadline IS NULL"] in _vector_searches(stub)[-1]["filter"]
    assert stub.violations == []


def test_a_listing_without_a_vector_is_matched_by_text(stub, engine, embedder):
    engine.upsert(DOCS)
    Vectorizer(engine, embedder).run()
    # Added after the embedding pass (as between two rounds of the worker): no vector yet.
    late = make_doc(20, "offering", title="井下煤矿远程操控与集中调度系统", description="井下设备远程操控、集中调度。")
    engine.upsert([late])
    # Meilisearch ranks it after the listings with a vector; it is no vector candidate.
    store = store_of(engine, embedder.name)
    nearest = [doc_id for doc_id, _ in store.nearest(store.vector(NEED.id), "offering", 30)]
    assert FITTING.id in nearest and late.id not in nearest
    found = match(engine, NEED, "offering", limit=5, now=NOW)
    assert _ids(found)[0] == late.id  # the best text fit still comes first
    assert found[0].reasons.semantic is None and found[0].reasons.matched_terms
    # A listing that has no vector itself is matched by text alone: no vector search.
    unembedded = make_doc(2, title="煤矿井下远程操控", description="井下设备远程操控与集中调度。")
    engine.upsert([unembedded])
    searches = len(_vector_searches(stub))
    assert late.id in _ids(match(engine, unembedded, "offering", limit=5, now=NOW))
    assert len(_vector_searches(stub)) == searches
    assert stub.violations == []


def test_with_embeddings_off_the_requests_are_those_without_vectors(stub, monkeypatch):
    monkeypatch.setenv("SCENEMATCH_EMBEDDINGS", "off")
    assert store_name() == TEXT_ONLY
    engine = MeiliEngine(stub.url, MASTER, "listings", timeout=5)
    engine.ensure_ready()
    engine.upsert(DOCS)
    match(engine, NEED, "offering", limit=3, now=NOW)
    match(engine, FITTING, "opportunity", limit=3, now=NOW)
    engine.search(SearchQuery(text="煤矿", statuses=["published"]))
    assert store_of(engine, store_name()) is None and Vectorizer(engine).step() == 0

    (settings,) = stub.bodies("PATCH", "/settings$")
    assert "embedders" not in settings.json
    assert settings.json["displayedAttributes"] == ["id", "kind", "listing_id", "doc"]
    assert _documents_sent(stub) == [json.loads(json.dumps(to_meili(d), ensure_ascii=False)) for d in DOCS]
    assert stub.bodies("PUT", "/documents$") == []
    everything = " ".join(r.body.decode() for r in stub.requests)
    for word in ("_vectors", "vec_hash", "retrieveVectors", "hybrid", '"vector"'):
        assert word not in everything
    assert stub.violations == []


def test_the_stub_fails_documents_meilisearch_would_refuse(stub, engine, name, monkeypatch):
    """The contract tests above can fail: the stub applies Meilisearch's `_vectors` rules."""
    cases = [
        ({"id": "x-1"}, "vector_embedding_error"),  # new, and nothing said for the embedder
        ({"id": "x-2", "_vectors": {name: [0.1, 0.2]}}, "invalid_vector_dimensions"),
        ({"id": "x-3", "_vectors": {name: {"embeddings": [0.0] * 384, "regenerate": True}}}, "vector_embedding_error"),
        ({"id": "x-4", "_vectors": {name: {"embeddings": [0.0] * 384}}}, "invalid_vectors_type"),
        ({"id": "x-5", "_vectors": {name: None}}, None),
    ]
    for doc, code in cases:
        answer = requests.post(f"{stub.url}/indexes/listings/documents", json=[doc], timeout=5).json()
        task = stub.tasks[answer["taskUid"]]
        assert (task.get("error") or {}).get("code") == code, doc
    # Without the opt-out the adapter's own writes would fail.
    monkeypatch.setattr(meili_module, "vector_fields", lambda embedder, stored: {})
    with pytest.raises(SearchUnavailable, match="no vectors provided"):
        engine.upsert([make_doc(30)])
