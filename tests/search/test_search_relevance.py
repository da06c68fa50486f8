"""Matching against a plain BM25 baseline on the labelled sets in seeds/relevance/.

The comparison is computed here, on the embedded engine and with the bundled embedding
model, by the same code as `bench/relevance.py`; no figure is hard-coded. The main set is
made of items of published lists; the self-written one is a secondary check.
"""

from __future__ import annotations

import math

import pytest

from bench.relevance import (
    SETS,
    baseline_query,
    evaluate,
    load_corpus,
    load_judgements,
    ndcg_at_k,
    recall_at_k,
)
from search.embedding import DEFAULT_MODEL, get_embedder

# -- metric functions ------------------------------------------------------------------------


def test_ndcg_of_the_ideal_ranking_is_one():
    judged = {"a": 2, "b": 1, "c": 2}
    assert ndcg_at_k(["a", "c", "b"], judged) == pytest.approx(1.0)
    # Equal grades may come in any order; unjudged items after the relevant ones cost nothing.
    assert ndcg_at_k(["c", "a", "b", "x", "y"], judged) == pytest.approx(1.0)


def test_ndcg_of_an_empty_or_useless_ranking_is_zero():
    judged = {"a": 2, "b": 1}
    assert ndcg_at_k([], judged) == 0.0
    assert ndcg_at_k(["x", "y", "z"], judged) == 0.0
    assert ndcg_at_k(["a"], {}) == 0.0  # nothing relevant: defined as 0, not a division by zero


def test_ndcg_hand_computed():
    judged = {"a": 2, "b": 1, "c": 1}
    # Ranking x, b, a: gains 0, 1, 3 at ranks 1, 2, 3.
    dcg = 0 / math.log2(2) + 1 / math.log2(3) + 3 / math.log2(4)
    # Ideal a, b, c: gains 3, 1, 1.
    ideal = 3 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(["x", "b", "a"], judged) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(["x", "b", "a"], judged) == pytest.approx(0.5158, abs=1e-4)  # (0.6309 + 1.5) / (3 + 0.6309 + 0.5)


def test_ndcg_ideal_uses_every_judgement_not_only_the_retrieved_ones():
    judged = {f"r{i}": 2 for i in range(12)}
    # Ten relevant in the top ten is ideal at k=10 even though two more exist.
    assert ndcg_at_k([f"r{i}" for i in range(10)], judged, k=10) == pytest.approx(1.0)
    # Only the first k positions count.
    assert ndcg_at_k(["x"] * 10 + ["r0"], judged, k=10) == 0.0


def test_recall_counts_relevant_items_in_the_top_k():
    judged = {"a": 2, "b": 1, "c": 1, "d": 2}
    assert recall_at_k(["a", "x", "c"], judged) == pytest.approx(0.5)
    assert recall_at_k([], judged) == 0.0
    assert recall_at_k(["a", "b", "c", "d"], judged) == pytest.approx(1.0)
    assert recall_at_k(["x", "a"], judged, k=1) == 0.0
    assert recall_at_k(["a"], {}) == 0.0


# -- the labelled set ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SETS))
def test_labelled_set_is_consistent(name):
    corpus = load_corpus(SETS[name] / "corpus.jsonl")
    judgements = load_judgements(SETS[name] / "judgements.jsonl")
    opportunities = corpus.of_kind("opportunity")
    offerings = corpus.of_kind("offering")
    assert len(opportunities) >= 40 and len(offerings) >= 150
    assert set(judgements) == {corpus.external[d.id] for d in opportunities}
    for opportunity, judged in judgements.items():
        assert 1 <= len(judged) <= 15, opportunity  # a generic need (智能工厂) fits many
        assert max(judged.values()) == 2, opportunity  # every opportunity has a real fit
        for offering in judged:
            assert corpus.docs[offering].kind == "offering", (opportunity, offering)
    assert all(d.status == "published" for d in corpus.docs.values())


def test_the_real_set_names_a_source_for_every_restated_row():
    import json

    corpus = load_corpus()
    sources = {
        row["external_id"]: row["sources"]
        for row in map(json.loads, (SETS["real"] / "sources.jsonl").read_text(encoding="utf-8").splitlines())
    }
    restated = {ext for ext in corpus.docs if ext.startswith(("real-", "blind-"))}
    assert restated and restated == set(sources)
    readme = (SETS["real"] / "README.md").read_text(encoding="utf-8")
    for urls in sources.values():
        assert urls and all(url.startswith("http") and url in readme for url in urls)


def test_rows_go_through_the_platforms_classification():
    # Names, not codes; counties roll up to their city.
    sample = load_corpus(SETS["selfwritten"] / "corpus.jsonl").docs["rel-opp-001"]
    assert sample.tracks == ["智慧农业", "物联网"] and sample.domains == ["现代农业"]
    assert sample.region == "360800" and sample.place == "吉安市井冈山市"


def test_baseline_is_plain_text_without_matching_knowledge():
    doc = load_corpus(SETS["selfwritten"] / "corpus.jsonl").docs["rel-opp-010"]
    query = baseline_query(doc)
    assert query.kind == "offering" and query.statuses == ["published"]
    assert not query.tracks and not query.domains and not query.regions
    assert len(query.terms) > 8  # every word, not matching's key terms
    assert {w for _, w in query.terms} == {1.0}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    embedder = get_embedder(DEFAULT_MODEL)
    if embedder is None:
        pytest.skip(f"embedding model {DEFAULT_MODEL!r} not installed (see pyproject.toml)")
    return evaluate(tmp_path_factory.mktemp("relevance"), embedder=embedder)


@pytest.fixture(scope="module")
def selfwritten(tmp_path_factory):
    # Text methods only: the self-written set is a secondary check of the text ranking.
    directory = SETS["selfwritten"]
    return evaluate(
        tmp_path_factory.mktemp("relevance-selfwritten"),
        methods=("bm25", "matching"),
        corpus_path=directory / "corpus.jsonl",
        judgements_path=directory / "judgements.jsonl",
        embedder=None,
    )


def _figures(report, methods):
    return {m: (round(report.mean_ndcg(m), 4), round(report.mean_recall(m), 4)) for m in methods}


def test_matching_beats_plain_bm25(report, selfwritten):
    for r in (report, selfwritten):
        print(f"nDCG@10, Recall@10: {_figures(r, ('bm25', 'matching'))}")
        assert r.mean_ndcg("matching") > r.mean_ndcg("bm25")
        assert r.mean_recall("matching") >= r.mean_recall("bm25")


def test_hybrid_ranks_better_than_text_or_embeddings_alone(report):
    print(f"nDCG@10, Recall@10: {_figures(report, ('bm25', 'matching', 'embeddings', 'hybrid'))}")
    assert report.embedding is not None and report.embedding.listings == len(load_corpus().docs)
    assert report.mean_ndcg("hybrid") > report.mean_ndcg("matching")
    assert report.mean_ndcg("hybrid") > report.mean_ndcg("embeddings")
    assert report.mean_recall("hybrid") >= report.mean_recall("matching")


def test_hybrid_beats_text_on_each_part_of_the_set(report):
    """Both parts: the one restated by one hand, and the one written by two engineers apart (the
    department's and the vendor's words, as in real lists), where meaning matters most."""
    parts = report.parts()
    assert set(parts) == {"real", "blind"} and all(len(q) >= 40 for q in parts.values())
    for name, queries in parts.items():
        text = sum(q.ndcg["matching"] for q in queries) / len(queries)
        hybrid = sum(q.ndcg["hybrid"] for q in queries) / len(queries)
        print(f"{name}: text {text:.4f}, hybrid {hybrid:.4f}")
        assert hybrid > text, name


def test_every_query_was_answered(report):
    assert len(report.queries) == len(load_judgements())
    for q in report.queries:
        # Text alone may find fewer than k candidates for a need worded unlike any offering;
        # with the vectors there are always k.
        assert 1 <= len(q.ranked["matching"]) <= report.k, q.opportunity
        for method in ("hybrid", "embeddings"):
            assert len(q.ranked[method]) == report.k, (q.opportunity, method)
        for method in ("matching", "hybrid", "embeddings"):
            assert all("-off-" in i for i in q.ranked[method])
