"""Matching against a plain BM25 baseline on the labelled set in seeds/relevance/.

The comparison is computed here, on the embedded engine, with the same code as
`bench/relevance.py`; no figure is hard-coded.
"""

from __future__ import annotations

import math

import pytest

from bench.relevance import (
    baseline_query,
    evaluate,
    load_corpus,
    load_judgements,
    ndcg_at_k,
    recall_at_k,
)

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


def test_labelled_set_is_consistent():
    corpus = load_corpus()
    judgements = load_judgements()
    opportunities = corpus.of_kind("opportunity")
    offerings = corpus.of_kind("offering")
    assert len(opportunities) >= 40 and len(offerings) >= 150
    assert set(judgements) == {corpus.external[d.id] for d in opportunities}
    for opportunity, judged in judgements.items():
        assert 1 <= len(judged) <= 6, opportunity
        assert max(judged.values()) == 2, opportunity  # every opportunity has a real fit
        for offering in judged:
            assert corpus.docs[offering].kind == "offering", (opportunity, offering)
    # Rows go through the platform's classification: names, not codes; counties roll up.
    sample = corpus.docs["rel-opp-001"]
    assert sample.tracks == ["智慧农业", "物联网"] and sample.domains == ["现代农业"]
    assert sample.region == "360800" and sample.place == "吉安市井冈山市"
    assert all(d.status == "published" for d in corpus.docs.values())


def test_baseline_is_plain_text_without_matching_knowledge():
    doc = load_corpus().docs["rel-opp-010"]
    query = baseline_query(doc)
    assert query.kind == "offering" and query.statuses == ["published"]
    assert not query.tracks and not query.domains and not query.regions
    assert len(query.terms) > 8  # every word, not matching's key terms
    assert {w for _, w in query.terms} == {1.0}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return evaluate(tmp_path_factory.mktemp("relevance"))


def test_matching_beats_plain_bm25(report):
    ndcg = {m: report.mean_ndcg(m) for m in ("matching", "bm25")}
    recall = {m: report.mean_recall(m) for m in ("matching", "bm25")}
    print(f"nDCG@10 {ndcg}  Recall@10 {recall}")
    assert ndcg["matching"] > ndcg["bm25"]
    assert recall["matching"] >= recall["bm25"]


def test_every_query_was_answered(report):
    assert len(report.queries) == len(load_judgements())
    for q in report.queries:
        assert len(q.ranked["matching"]) == report.k, q.opportunity
        assert all(i.startswith(("rel-off-", "demo-off-")) for i in q.ranked["matching"])
