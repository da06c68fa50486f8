"""Engine-only search latency on synthetic listings built from the seed documents.

    .venv/bin/python bench/search_latency.py --docs 100000 [--engine embedded] [--data-dir /tmp/bench]

Prints indexing time and p50/p95/p99 per query type. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from search import ListingDocument, SearchQuery, create_engine

SEEDS = Path("/work/shared/seed-documents")
TRACKS = ["物联网", "智慧农业", "VR", "数字孪生", "工业互联网", "无人机", "信创", "数字健康", "智慧能源", "数据服务"]
DOMAINS = ["政务服务", "生产制造", "现代农业", "医疗健康", "交通出行", "文化旅游", "应急管理", "智慧水利"]
REGIONS = [f"36{i:02d}00" for i in range(1, 12)]
QUERIES = [
    "智慧农业",
    "数字经济",
    "VR",
    "虚拟现实 教育",
    "zhihuinongye",
    "blockchian",
    "处理",
    "物联网 平台 监测",
    "工业互联网 标识解析",
    "数據要素市場化",
    "5G专网",
    "赣州 智慧交通",
]


def sentences() -> list[str]:
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    return [s for s in re.split(r"[。；\n]", text) if 8 <= len(s) <= 200]


def make_docs(n: int, rng: random.Random) -> list[ListingDocument]:
    pool = sentences()
    docs = []
    for i in range(n):
        kind = "opportunity" if i % 2 else "offering"
        docs.append(
            ListingDocument(
                id=f"{kind}-{i}",
                kind=kind,
                listing_id=i,
                title=rng.choice(pool)[:30],
                description="。".join(rng.sample(pool, 3)),
                organisation="省发改委",
                region=rng.choice(REGIONS),
                place="",
                tracks=rng.sample(TRACKS, rng.randint(1, 2)),
                domains=rng.sample(DOMAINS, 1),
                status=rng.choice(["published"] * 4 + ["draft"]),
                created_at=1_700_000_000 + i,
                published_at=1_700_000_000 + i,
                deadline=1_800_000_000 + rng.randint(0, 10**7),
                extra_text=rng.choice(pool),
            )
        )
    return docs


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--engine", default="embedded")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(42)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="search-bench-"))
    engine = create_engine(args.engine, data_dir=data_dir, meili_url=None, meili_key=None, index_name="bench")
    engine.ensure_ready()
    if engine.doc_count() != args.docs:
        docs = make_docs(args.docs, rng)
        started = time.perf_counter()
        engine.rebuild(docs)
        print(f"indexed {args.docs} docs in {time.perf_counter() - started:.1f}s")

    cases = {
        "text+facets": lambda q: SearchQuery(text=q, statuses=["published"]),
        "text": lambda q: SearchQuery(text=q, statuses=["published"], facets=False),
        "text+filters": lambda q: SearchQuery(text=q, kind="offering", tracks=["物联网"], regions=["360700"]),
        "browse+facets": lambda q: SearchQuery(statuses=["published"]),
        # A saved search run over 100 newly published listings (backend/subscriptions/alerts.py).
        "alert(ids=100)": lambda q: SearchQuery(
            text=q,
            kind="opportunity",
            statuses=["published"],
            ids=[f"opportunity-{i}" for i in range(args.docs - 199, args.docs, 2)],
            page_size=100,
            facets=False,
            highlight=False,
        ),
    }
    for name, build in cases.items():
        timings = []
        for _ in range(args.rounds):
            for q in QUERIES:
                started = time.perf_counter()
                engine.search(build(q))
                timings.append((time.perf_counter() - started) * 1000)
        print(
            f"{name:14} p50 {statistics.median(timings):6.2f} ms  p95 {percentile(timings, 95):6.2f} ms  "
            f"p99 {percentile(timings, 99):6.2f} ms  (n={len(timings)})"
        )
    engine.close()


if __name__ == "__main__":
    main()
