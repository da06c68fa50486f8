"""Offline relevance of matching against a plain BM25 baseline, on a labelled set.

    .venv/bin/python bench/relevance.py [--verbose] [--k 10]

Data: `seeds/relevance/corpus.jsonl` (listings in the import row shape: 40 labelled
opportunities and 156 offerings — the 60 demo offerings, offerings written to fit the
labelled opportunities in other words, and distractors that share their words but not
their purpose) and `seeds/relevance/judgements.jsonl` (graded relevance: 2 fits well,
1 partly fits, anything unlisted 0). See `seeds/relevance/README.md`.

Rows become `ListingDocument`s the way an import does: `parse_listing_file`, tracks and
domains through `classify_categories` (the names go into the document, unmapped pieces
become tags), the place through `resolve_region` with a county rolled up to its city,
status "published".

The index holds every row of the corpus, opportunities included: on the platform both
kinds share one index, so the term statistics (document frequencies used by BM25 and by
matching's key-term choice) are those of a mixed index. Both methods filter on
kind="offering", so the opportunities are never answers.

Methods, each asked for its top k offerings for every labelled opportunity:

- matching: `search.matching.match(engine, doc, "offering", limit=k)`: key terms, track
  candidates and the re-ranking by tracks, domains, region and maturity.
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
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from backend.imports.parsing import ImportRow, parse_listing_file
from backend.taxonomy.mapping import classify_categories, load_taxonomy
from backend.taxonomy.regions import resolve_region
from search import ListingDocument, SearchEngine, SearchQuery, create_engine
from search.matching import match
from search.text import query_tokens

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "seeds" / "relevance" / "corpus.jsonl"
JUDGEMENTS = ROOT / "seeds" / "relevance" / "judgements.jsonl"
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


def rank_matching(engine: SearchEngine, doc: ListingDocument, k: int = K) -> list[str]:
    return [m.id for m in match(engine, doc, "offering", limit=k, now=NOW)]


def baseline_query(doc: ListingDocument, k: int = K) -> SearchQuery:
    words = query_tokens(f"{doc.title}\n{doc.description}")
    return SearchQuery(
        terms=[(w, 1.0) for w in words], kind="offering", statuses=["published"], page_size=k, facets=False
    )


def rank_bm25(engine: SearchEngine, doc: ListingDocument, k: int = K) -> list[str]:
    return [h.id for h in engine.search(baseline_query(doc, k)).hits]


def rank_engine_text(engine: SearchEngine, doc: ListingDocument, k: int = K) -> list[str]:
    query = SearchQuery(
        text=f"{doc.title} {doc.description}", kind="offering", statuses=["published"], page_size=k, facets=False
    )
    return [h.id for h in engine.search(query).hits]


METHODS = {"matching": rank_matching, "bm25": rank_bm25}
LABELS = {"matching": "matching", "bm25": "BM25 baseline", "text": "engine text search"}


# -- evaluation ----------------------------------------------------------------------------


@dataclass
class QueryResult:
    opportunity: str
    title: str
    ranked: dict[str, list[str]]  # method → external ids, best first
    ndcg: dict[str, float]
    recall: dict[str, float]


@dataclass
class Report:
    k: int
    queries: list[QueryResult] = field(default_factory=list)

    def mean_ndcg(self, method: str) -> float:
        return sum(q.ndcg[method] for q in self.queries) / len(self.queries)

    def mean_recall(self, method: str) -> float:
        return sum(q.recall[method] for q in self.queries) / len(self.queries)


def build_engine(corpus: Corpus, data_dir: Path) -> SearchEngine:
    engine = create_engine("embedded", data_dir=data_dir, index_name="relevance")
    engine.ensure_ready()
    engine.rebuild(corpus.docs.values())
    return engine


def evaluate(
    data_dir: Path | None = None,
    *,
    k: int = K,
    methods: Sequence[str] = ("matching", "bm25"),
    corpus_path: Path = CORPUS,
    judgements_path: Path = JUDGEMENTS,
) -> Report:
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
            report = Report(k)
            for opp, judged in judgements.items():
                doc = corpus.docs[opp]
                ranked = {m: [corpus.external[i] for i in runners[m](engine, doc, k)] for m in methods}
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


def print_report(report: Report, methods: Sequence[str], verbose: bool = False) -> None:
    k = report.k
    print(f"{len(report.queries)} opportunities, k={k}")
    if verbose:
        corpus_judgements = load_judgements()
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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--verbose", action="store_true", help="per-query figures and rankings")
    args = parser.parse_args(argv)
    methods = ["matching", "bm25"] + (["text"] if args.verbose else [])
    report = evaluate(k=args.k, methods=methods)
    print_report(report, methods, verbose=args.verbose)


if __name__ == "__main__":
    main()
