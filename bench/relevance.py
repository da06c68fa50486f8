"""Offline relevance of matching against a plain BM25 baseline, on a labelled set.

    .venv/bin/python bench/relevance.py [--verbose] [--k 10] [--set real|selfwritten]
                                        [--model e5|use|off] [--share 0.5]

Data (`--set real`, the default): `seeds/relevance/corpus.jsonl` — 42 opportunities and
41 offerings restated from published 机会清单 / 场景需求 items and product and solution
pages found through public sources (each row's sources in `sources.jsonl`, the list in
`seeds/relevance/README.md`), plus the 60 demo offerings as competitors — and
`seeds/relevance/judgements.jsonl` (graded relevance: 2 fits well, 1 partly fits, anything
unlisted 0). `--set selfwritten` is the older set written by the matcher's authors
(`seeds/relevance/selfwritten/`), kept as a secondary check.

Embeddings: every listing of the corpus is embedded through the same path the sync worker
uses (`search.vectorize.Vectorizer`), with the model `--model` names (default: the
configured one). The figures printed after the table are that pass's throughput and the
model's memory, and the time of one brute-force nearest-neighbour search over 100,000
random vectors of the model's dimension.

Rows become `ListingDocument`s the way an import does: `parse_listing_file`, tracks and
domains through `classify_categories` (the names go into the document, unmapped pieces
become tags), the place through `resolve_region` with a county rolled up to its city,
status "published".

The index holds every row of the corpus, opportunities included: on the platform both
kinds share one index, so the term statistics (document frequencies used by BM25 and by
matching's key-term choice) are those of a mixed index. Both methods filter on
kind="offering", so the opportunities are never answers.

Methods, each asked for its top k offerings for every labelled opportunity:

- matching (text): `search.matching.match(engine, doc, "offering", limit=k, semantic=False)`:
  key terms (boilerplate ignored, shared sentences down-weighted), track candidates and the
  re-ranking by tracks, domains, region and maturity; no vectors.
- embeddings: the k offerings nearest to the opportunity's listing vector, nothing else.
- hybrid: `match(...)` with the vectors: text and vector candidates, scores fused.
- BM25 baseline: the same engine, one OR query over every word of the opportunity's title
  and description (precise segmentation, stop words removed, each word once, all weights
  1.0), kind="offering", status published, nothing else: no key-term selection, no tracks,
  domains, region or maturity, no re-ranking. It is tantivy's BM25 with the engine's own
  text analysis (field boosts, Traditional→Simplified folding, synonyms, sub-words), i.e.
  exactly what the engine returns for that text without the matching layer. (The engine's
  interactive text search is not used: it requires three quarters of the words of a query
  to match, which a pasted 40-word description almost never does; `--verbose` also prints
  it, as "engine text search", for reference.)

Metrics, averaged over the labelled opportunities:

- nDCG@k: gains 2^grade − 1, discount 1/log2(rank + 1), ideal DCG from all judgements of
  the opportunity (not only the retrieved ones).
- Recall@k: share of the offerings judged ≥ 1 that appear in the top k.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, this directory comes first on sys.path and `bench/search.py` would
    # shadow the `search` package.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import argparse
import math
import os
import resource
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from backend.imports.parsing import ImportRow, parse_listing_file
from backend.taxonomy.mapping import classify_categories, load_taxonomy
from backend.taxonomy.regions import resolve_region
from search import ListingDocument, SearchEngine, SearchQuery, create_engine, matching
from search.embedding import TEXT_ONLY, Embedder, get_embedder
from search.matching import match
from search.text import query_tokens
from search.vectorize import Vectorizer
from search.vectors import ListingVectors, store_of

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "real": ROOT / "seeds" / "relevance",
    "selfwritten": ROOT / "seeds" / "relevance" / "selfwritten",
}
CORPUS = SETS["real"] / "corpus.jsonl"
JUDGEMENTS = SETS["real"] / "judgements.jsonl"
K = 10
NOW = 1_750_000_000  # fixed clock: results must not depend on the day the bench runs


# -- loading -------------------------------------------------------------------------------


@dataclass
class Corpus:
    docs: dict[str, ListingDocument]  # external id → document
    external: dict[str, str]  # document id → external id

    def of_kind(self, kind: str) -> list[ListingDocument]:
        return [d for d in self.docs.values() if d.kind == kind]


def load_rows(path: Path = CORPUS) -> list[ImportRow]:
    rows, errors = parse_listing_file(path.read_bytes(), path.name)
    if errors:
        raise ValueError(f"{path}: {len(errors)} bad rows, first: {errors[0]}")
    return rows


def classify(row: ImportRow, taxonomy: dict) -> tuple[list[str], list[str], list[str]]:
    """Track codes, domain codes and tags of a row, as `backend.imports.service` does."""
    tracks: list[str] = []
    domains: list[str] = []
    tags: list[str] = []
    for raw in (row.tracks, row.domains):
        classified = classify_categories(raw, taxonomy)
        tracks += classified.tracks
        domains += classified.domains
        tags += classified.tags
    return list(dict.fromkeys(tracks)), list(dict.fromkeys(domains)), list(dict.fromkeys(tags))


def city_of(code: str | None, taxonomy: dict) -> str | None:
    """A county's city (the document's region), anything else unchanged."""
    if not code:
        return None
    region = next((r for r in taxonomy["regions"] if r["code"] == code), None)
    if region and region.get("level") == "county" and region.get("parent"):
        return region["parent"]
    return code


def to_document(row: ImportRow, listing_id: int, taxonomy: dict, *, created_at: int = NOW) -> ListingDocument:
    track_codes, domain_codes, tags = classify(row, taxonomy)
    track_names = {t["code"]: t["name"] for t in taxonomy["tracks"]}
    domain_names = {d["code"]: d["name"] for d in taxonomy["domains"]}
    region = resolve_region(row.region, taxonomy["regions"]).code
    if row.kind == "opportunity":
        extra_text, maturity = row.requirements, None
    else:
        extra_text = "\n".join(part for part in (row.reference_cases, row.certifications) if part)
        maturity = row.maturity
    return ListingDocument(
        id=ListingDocument.make_id(row.kind, listing_id),
        kind=row.kind,
        listing_id=listing_id,
        title=row.title,
        description=row.description,
        organisation=row.organisation,
        region=city_of(region, taxonomy),
        place=row.region,
        tracks=[track_names.get(c, c) for c in track_codes],
        domains=[domain_names.get(c, c) for c in domain_codes],
        tags=tags,
        status="published",
        batch=row.batch,
        published_at=created_at,
        created_at=created_at,
        deadline=None,
        maturity=maturity,
        extra_text=extra_text,
    )


def load_corpus(path: Path = CORPUS) -> Corpus:
    taxonomy = load_taxonomy()
    docs: dict[str, ListingDocument] = {}
    counters = {"opportunity": 0, "offering": 0}
    for n, row in enumerate(load_rows(path)):
        if not row.external_id or row.external_id in docs:
            raise ValueError(f"{path}: missing or repeated external_id on row {row.row_number}")
        counters[row.kind] += 1
        # Distinct times, file order: "newest" orderings must not depend on index layout.
        docs[row.external_id] = to_document(row, counters[row.kind], taxonomy, created_at=NOW - 60 * n)
    return Corpus(docs, {d.id: ext for ext, d in docs.items()})


def load_judgements(path: Path = JUDGEMENTS) -> dict[str, dict[str, int]]:
    """Opportunity external id → {offering external id: grade ≥ 1}."""
    import json

    out: dict[str, dict[str, int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            j = json.loads(line)
            if int(j["grade"]) > 0:
                out.setdefault(j["opportunity"], {})[j["offering"]] = int(j["grade"])
    return out


# -- metrics -------------------------------------------------------------------------------


def dcg(grades: Iterable[int]) -> float:
    return sum((2**g - 1) / math.log2(rank + 1) for rank, g in enumerate(grades, 1))


def ndcg_at_k(ranked: Sequence[str], judged: dict[str, int], k: int = K) -> float:
    """nDCG@k of a ranking; the ideal ranking is every judged item, best grade first."""
    ideal = dcg(sorted(judged.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg(judged.get(item, 0) for item in ranked[:k]) / ideal


def recall_at_k(ranked: Sequence[str], judged: dict[str, int], k: int = K) -> float:
    relevant = {item for item, grade in judged.items() if grade >= 1}
    if not relevant:
        return 0.0
    return len(relevant & set(ranked[:k])) / len(relevant)


# -- methods -------------------------------------------------------------------------------


def rank_matching(
    engine: SearchEngine, doc: ListingDocument, k: int = K, store: ListingVectors | None = None
) -> list[str]:
    return [m.id for m in match(engine, doc, "offering", limit=k, now=NOW, vectors=store, semantic=False)]


def rank_hybrid(
    engine: SearchEngine, doc: ListingDocument, k: int = K, store: ListingVectors | None = None
) -> list[str]:
    return [m.id for m in match(engine, doc, "offering", limit=k, now=NOW, vectors=store)]


def rank_embeddings(
    engine: SearchEngine, doc: ListingDocument, k: int = K, store: ListingVectors | None = None
) -> list[str]:
    if store is None:
        return []
    vector = store.vector(doc.id)
    if vector is None:
        return []
    return [doc_id for doc_id, _ in store.nearest(vector, "offering", k, exclude=[doc.id])]


def baseline_query(doc: ListingDocument, k: int = K) -> SearchQuery:
    words = query_tokens(f"{doc.title}\n{doc.description}")
    return SearchQuery(
        terms=[(w, 1.0) for w in words], kind="offering", statuses=["published"], page_size=k, facets=False
    )


def rank_bm25(engine: SearchEngine, doc: ListingDocument, k: int = K, store: ListingVectors | None = None) -> list[str]:
    return [h.id for h in engine.search(baseline_query(doc, k)).hits]


def rank_engine_text(
    engine: SearchEngine, doc: ListingDocument, k: int = K, store: ListingVectors | None = None
) -> list[str]:
    query = SearchQuery(
        text=f"{doc.title} {doc.description}", kind="offering", statuses=["published"], page_size=k, facets=False
    )
    return [h.id for h in engine.search(query).hits]


METHODS = {"bm25": rank_bm25, "matching": rank_matching, "embeddings": rank_embeddings, "hybrid": rank_hybrid}
LABELS = {
    "matching": "text matching",
    "bm25": "BM25 baseline",
    "embeddings": "embeddings alone",
    "hybrid": "hybrid",
    "text": "engine text search",
}


# -- evaluation ----------------------------------------------------------------------------


@dataclass
class QueryResult:
    opportunity: str
    title: str
    ranked: dict[str, list[str]]  # method → external ids, best first
    ndcg: dict[str, float]
    recall: dict[str, float]


@dataclass
class Embedding:
    """How the corpus was embedded."""

    model: str
    listings: int = 0
    sentences: int = 0
    seconds: float = 0.0
    memory_mb: float = 0.0  # resident memory the model added (loading and encoding)


@dataclass
class Report:
    k: int
    queries: list[QueryResult] = field(default_factory=list)
    embedding: Embedding | None = None

    def mean_ndcg(self, method: str) -> float:
        return sum(q.ndcg[method] for q in self.queries) / len(self.queries)

    def mean_recall(self, method: str) -> float:
        return sum(q.recall[method] for q in self.queries) / len(self.queries)

    def parts(self) -> dict[str, list[QueryResult]]:
        """The queries by the part of the set they come from, named by their id's prefix
        (`real-opp-07` → `real`, `blind-opp-12` → `blind`)."""
        out: dict[str, list[QueryResult]] = {}
        for q in self.queries:
            out.setdefault(q.opportunity.split("-opp-")[0], []).append(q)
        return out


def build_engine(corpus: Corpus, data_dir: Path) -> SearchEngine:
    engine = create_engine("embedded", data_dir=data_dir, index_name="relevance")
    engine.ensure_ready()
    engine.rebuild(corpus.docs.values())
    return engine


def _rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def embed_corpus(engine: SearchEngine, embedder: Embedder | None) -> tuple[ListingVectors | None, Embedding]:
    """Embed every indexed listing the way the sync worker does; the store and figures."""
    before = _rss_mb()
    vectorizer = Vectorizer(engine, embedder)
    progress = vectorizer.run()
    store = store_of(engine, vectorizer.name)
    sentences = sum(len(store.sentences(i)[0]) for i in engine.document_ids()) if store is not None else 0
    figures = Embedding(vectorizer.name, progress.done, sentences, progress.seconds, _rss_mb() - before)
    return store, figures


def nearest_ms(dim: int, n: int = 100_000, repeat: int = 20) -> float:
    """Median time of one brute-force nearest search over `n` random unit vectors."""
    import numpy as np

    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((n, dim)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    query = matrix[0]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        sims = matrix @ query
        np.argpartition(-sims, 100)[:100]
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[len(times) // 2]


def evaluate(
    data_dir: Path | None = None,
    *,
    k: int = K,
    methods: Sequence[str] = ("bm25", "matching", "embeddings", "hybrid"),
    corpus_path: Path = CORPUS,
    judgements_path: Path = JUDGEMENTS,
    embedder: Embedder | bool | None = True,
) -> Report:
    """`embedder`: True for the configured model, None for none (text only)."""
    corpus = load_corpus(corpus_path)
    judgements = load_judgements(judgements_path)
    unknown = {o for j in judgements.values() for o in j} - corpus.docs.keys()
    unknown |= judgements.keys() - corpus.docs.keys()
    if unknown:
        raise ValueError(f"judgements name listings missing from the corpus: {sorted(unknown)[:5]}")
    runners = {**METHODS, "text": rank_engine_text}
    with tempfile.TemporaryDirectory(prefix="relevance-") as tmp:
        engine = build_engine(corpus, Path(data_dir or tmp))
        try:
            chosen = get_embedder() if embedder is True else (embedder or None)
            store, figures = embed_corpus(engine, chosen)
            report = Report(k, embedding=figures)
            for opp, judged in judgements.items():
                doc = corpus.docs[opp]
                ranked = {m: [corpus.external[i] for i in runners[m](engine, doc, k, store)] for m in methods}
                report.queries.append(
                    QueryResult(
                        opp,
                        doc.title,
                        ranked,
                        {m: ndcg_at_k(r, judged, k) for m, r in ranked.items()},
                        {m: recall_at_k(r, judged, k) for m, r in ranked.items()},
                    )
                )
        finally:
            engine.close()
    return report


def print_report(
    report: Report, methods: Sequence[str], verbose: bool = False, judgements_path: Path = JUDGEMENTS
) -> None:
    k = report.k
    print(f"{len(report.queries)} opportunities, k={k}")
    if verbose:
        corpus_judgements = load_judgements(judgements_path)
        for q in report.queries:
            figures = "  ".join(f"{m}: nDCG {q.ndcg[m]:.3f} R {q.recall[m]:.2f}" for m in methods)
            print(f"{q.opportunity}  {figures}  {q.title}")
            judged = corpus_judgements[q.opportunity]
            for m in methods:
                marks = " ".join(f"{i}({judged[i]})" if i in judged else i for i in q.ranked[m])
                print(f"    {m:9} {marks}")
        print()
    width = max(len(LABELS[m]) for m in methods)
    print(f"{'method':{width}}  nDCG@{k}  Recall@{k}")
    for m in methods:
        print(f"{LABELS[m]:{width}}  {report.mean_ndcg(m):7.4f}  {report.mean_recall(m):9.4f}")
    parts = report.parts()
    if len(parts) > 1:
        # The set's parts were written differently (README): each one's figures on its own.
        for part, queries in parts.items():
            ndcg = "  ".join(f"{m} {sum(q.ndcg[m] for q in queries) / len(queries):.4f}" for m in methods)
            print(f"  part {part} ({len(queries)} opportunities): nDCG@{k} {ndcg}")
    if report.embedding is not None:
        e = report.embedding
        if e.model == TEXT_ONLY:
            print("embeddings: none (off or model not installed); text matching only")
            return
        rate = e.sentences / e.seconds if e.seconds else 0.0
        per_listing = e.seconds / e.listings if e.listings else 0.0
        print(
            f"embeddings: {e.model}, {e.listings} listings / {e.sentences} sentences in {e.seconds:.1f} s "
            f"({rate:.1f} sentences/s, {per_listing * 1000:.0f} ms per listing, one process); "
            f"model memory +{e.memory_mb:.0f} MB resident"
        )
        dim = 384 if "e5" in e.model else 512
        print(f"nearest-neighbour search, brute force over 100k {dim}-d vectors: {nearest_ms(dim):.1f} ms (median)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--verbose", action="store_true", help="per-query figures and rankings")
    parser.add_argument("--set", choices=sorted(SETS), default="real", help="labelled set")
    parser.add_argument("--model", help="e5, use or off (default: SCENEMATCH_EMBEDDINGS or the default model)")
    parser.add_argument("--share", type=float, help="semantic share of the fused score (default: matching's)")
    parser.add_argument(
        "--data-dir", type=Path, help="keep the index here: a rerun embeds only what changed (vectors are carried over)"
    )
    args = parser.parse_args(argv)
    if args.model:
        os.environ["SCENEMATCH_EMBEDDINGS"] = args.model
    if args.share is not None:
        matching.SEMANTIC_SHARE = args.share
    methods = ["bm25", "matching", "embeddings", "hybrid"] + (["text"] if args.verbose else [])
    directory = SETS[args.set]
    report = evaluate(
        args.data_dir,
        k=args.k,
        methods=methods,
        corpus_path=directory / "corpus.jsonl",
        judgements_path=directory / "judgements.jsonl",
    )
    print(f"set: {args.set} ({directory.relative_to(ROOT)})")
    print_report(report, methods, verbose=args.verbose, judgements_path=directory / "judgements.jsonl")


if __name__ == "__main__":
    main()
