"""End-to-end search benchmark: indexing, search and match latency, memory, and an ILIKE baseline.

    .venv/bin/python bench/search_bench.py                      # 10k and 100k listings
    .venv/bin/python bench/search_bench.py --sizes 10000 --queries 20

For each size it generates realistic listings from the seed vocabulary (fixed random seed),
loads them into a throwaway PostgreSQL database (`scenematch_bench_<pid>_<size>`, created
and dropped here), builds the index with `backend.searching.sync.reindex`, starts the real
app with uvicorn on 127.0.0.1 and measures:

- indexing throughput: listings/s of `reindex` (database read, document building,
  segmentation, tantivy), and of the engine rebuild alone;
- search latency p50/p95/p99 through `GET /api/v1/search` (sequential requests) and on the
  engine object (same queries);
- match latency p50/p95 on the engine (`search.match`) and through
  `GET /api/v1/opportunities/{id}/matches` as a signed-in matchmaker;
- a plain PostgreSQL `ILIKE` baseline for the same queries (page of 20 + count), and the
  ratio of its p95 to the engine's and the API's;
- peak memory (ru_maxrss) of this process and VmHWM of the server.

`--vectors` stores a listing vector (and sentence vectors) for every indexed listing
before the server starts, so that matching runs its hybrid path (nearest-neighbour
candidates by brute force, fused scores, closest-sentence reasons) as it does once the
worker has embedded everything. The vectors are random unit vectors of the default
model's dimension: embedding 100k listings with the real model takes hours on this
machine, and the cost of the vector path does not depend on the values.

Only 127.0.0.1 is contacted. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from backend.auth.passwords import hash_password  # noqa: E402
from backend.kit.db import create_engine as create_db_engine  # noqa: E402
from backend.kit.db import create_sessionmaker, session_scope  # noqa: E402
from backend.kit.migrate import upgrade  # noqa: E402
from backend.searching.sync import reindex  # noqa: E402
from backend.seeding import seed_reference_data  # noqa: E402
from search import ListingDocument, SearchQuery, create_engine, match  # noqa: E402
from search.text import strip_pinyin_annotations  # noqa: E402

PG = dict(host="127.0.0.1", port=int(os.environ.get("SCENEMATCH_BENCH_PG_PORT", "5432")), user="postgres")
SEED_DOCUMENTS = Path(os.environ.get("SCENEMATCH_SEED_DOCUMENTS", "/work/shared/seed-documents"))
TAXONOMY = ROOT / "seeds" / "taxonomy.json"
DEMO_LISTINGS = ROOT / "seeds" / "demo_listings.jsonl"
SEED = 20261124
PASSWORD = "bench-password-2026"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

# Realistic user queries: domain words, two-word queries, places, latin abbreviations,
# a Traditional one, pinyin, a typo, and long pasted phrases.
QUERIES = [
    "智慧农业",
    "物联网 监测",
    "数字孪生",
    "VR 教育",
    "应急管理",
    "赣州 脐橙",
    "工业互联网 平台",
    "无人机 巡检",
    "智慧交通",
    "车路协同",
    "5G",
    "人工智能",
    "大数据 分析",
    "区块链",
    "信创",
    "数据安全",
    "智能制造",
    "智慧水利 监测",
    "森林防火",
    "智慧医疗",
    "远程医疗",
    "数字乡村",
    "政务服务 一网通办",
    "城市大脑",
    "智慧园区",
    "数字文创",
    "文化旅游 VR",
    "智慧能源",
    "光伏",
    "碳排放 监测",
    "稀土",
    "芯片",
    "北斗 定位",
    "元宇宙",
    "智能网联汽车",
    "智慧社区 养老",
    "食品安全 追溯",
    "南昌 智慧城市",
    "景德镇 陶瓷",
    "九江 港口",
    "上饶 数字经济",
    "数據要素",
    "zhihuinongye",
    "blockchian",
    "虚拟现实",
    "视频监控 AI 识别",
    "算力 中心",
    "产业数字化 转型",
    "智慧教育 平台",
    "水质 在线监测 预警",
]
# Filters added to some queries (API parameters; track/domain codes, region city codes).
FILTERS: list[dict[str, str]] = [
    {"kind": "opportunity"},
    {"kind": "offering"},
    {"region": "360700"},
    {"track": "iot"},
    {"sort": "newest"},
]

TITLE_SUFFIXES = [
    "平台建设",
    "示范应用",
    "解决方案",
    "系统建设项目",
    "试点",
    "应用场景",
    "综合服务平台",
    "智能化改造",
    "监测系统",
    "一体化平台",
    "升级改造",
    "数字化转型项目",
    "管理系统",
    "智能终端",
    "云平台",
    "创新应用",
]
TITLE_MIDDLES = ["智慧", "数字", "智能", "基于AI的", "基于5G的", "", "", ""]
COMPANY_PREFIXES = [
    "赣",
    "洪",
    "昌",
    "虔",
    "庐",
    "瓷都",
    "红谷",
    "赣江",
    "鄱湖",
    "井冈",
    "三清",
    "武功山",
    "豫章",
    "滕王阁",
]
COMPANY_SUFFIXES = [
    "科技有限公司",
    "信息技术有限公司",
    "智能科技股份有限公司",
    "数据服务有限公司",
    "软件有限公司",
    "物联网科技有限公司",
]
MATURITIES = ["concept", "prototype", "pilot", "pilot", "mature", "mature", "mature", None]


@dataclass
class Vocabulary:
    tracks: list[dict]
    domains: list[dict]
    cities: list[dict]
    counties: list[dict]
    demo_titles: list[str]
    phrases: list[str]
    sentences: list[str]
    raw_sentences: list[str]  # with pinyin annotations / Traditional, kept as realistic messiness


def load_vocabulary() -> Vocabulary:
    taxonomy = json.loads(TAXONOMY.read_text(encoding="utf-8"))
    demo = [json.loads(line) for line in DEMO_LISTINGS.read_text(encoding="utf-8").splitlines() if line.strip()]
    phrases: list[str] = []
    for item in demo:
        for part in re.split(r"[，。；、,;]", item.get("description", "")):
            part = part.strip()
            if 6 <= len(part) <= 80:
                phrases.append(part)
    raw: list[str] = []
    for path in sorted(SEED_DOCUMENTS.glob("*.txt")):
        for part in re.split(r"[。；\n]", path.read_text(encoding="utf-8")):
            part = part.strip().lstrip("-").strip("　 ")
            if 12 <= len(part) <= 220:
                raw.append(part)
    cleaned = [strip_pinyin_annotations(s) for s in raw]
    regions = taxonomy["regions"]
    return Vocabulary(
        tracks=taxonomy["tracks"],
        domains=taxonomy["domains"],
        cities=[r for r in regions if r["level"] in ("city", "new_area")],
        counties=[r for r in regions if r["level"] == "county"],
        demo_titles=[item["title"] for item in demo],
        phrases=phrases,
        sentences=cleaned,
        raw_sentences=[s for s in raw if "(" in s or "（" in s] or raw,
    )


@dataclass
class Listing:
    kind: str
    title: str
    description: str
    region_code: str | None
    place: str
    tags: list[str]
    status: str
    published_at: datetime | None
    created_at: datetime
    tracks: list[str]
    domains: list[str]
    deadline: date | None = None
    extra: str = ""
    maturity: str | None = None
    organisation: int = 0  # index into the organisation pool of its kind
    budget_text: str = ""


def _title(rng: random.Random, vocab: Vocabulary, track: dict, domain: dict, region: dict) -> str:
    style = rng.random()
    if style < 0.3:
        title = rng.choice(vocab.demo_titles)
        if rng.random() < 0.5:
            title = region["short_name"] + title[2:] if title[:2] != region["short_name"] else title
    else:
        keyword = rng.choice([track["name"], *track["aliases"], domain["name"], *domain["aliases"]])
        place = region["short_name"] if rng.random() < 0.6 else ""
        title = f"{place}{rng.choice(TITLE_MIDDLES)}{keyword}{rng.choice(TITLE_SUFFIXES)}"
    if len(title) < 10:
        title += rng.choice(TITLE_SUFFIXES) + rng.choice(["一期", "（二期）", "项目", "示范工程"])
    return title[:30]


def _text(rng: random.Random, vocab: Vocabulary, low: int, high: int) -> str:
    target = rng.randint(low, high)
    parts: list[str] = []
    size = 0
    while size < target:
        r = rng.random()
        if r < 0.45:
            part = rng.choice(vocab.phrases)
        elif r < 0.97:
            part = rng.choice(vocab.sentences)
        else:
            part = rng.choice(vocab.raw_sentences)  # pinyin annotations / Traditional as written
        parts.append(part)
        size += len(part) + 1
    text = "，".join(parts[:-1]) + "。" + parts[-1] if len(parts) > 1 else parts[0]
    return text[:high].rstrip("，") + "。"


def generate(n: int, vocab: Vocabulary, seed: int = SEED) -> list[Listing]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        kind = "opportunity" if rng.random() < 0.55 else "offering"
        tracks = rng.sample(vocab.tracks, rng.choice([1, 1, 2, 2, 3]))
        domains = rng.sample(vocab.domains, rng.choice([1, 1, 2]))
        region = rng.choice(vocab.cities)
        region_code = region["code"]
        if rng.random() < 0.3:
            county = rng.choice([c for c in vocab.counties if c["parent"] == region["code"]] or [region])
            region_code = county["code"]
        if rng.random() < 0.03:
            region_code = None
        statuses = ["published"] * 17 + ["draft", "pending_review", "closed" if kind == "opportunity" else "withdrawn"]
        status = rng.choice(statuses)
        created = NOW - timedelta(days=rng.uniform(0, 720))
        published = (
            created + timedelta(hours=rng.uniform(1, 96)) if status in ("published", "closed", "withdrawn") else None
        )
        listing = Listing(
            kind=kind,
            title=_title(rng, vocab, tracks[0], domains[0], region),
            description=_text(rng, vocab, 100, 600),
            region_code=region_code,
            place=rng.choice(["", "", region["name"], region["name"] + "高新区"]),
            tags=rng.sample([a for t in tracks for a in t["aliases"]] or ["场景"], 1) if rng.random() < 0.5 else [],
            status=status,
            published_at=published,
            created_at=created,
            tracks=[t["code"] for t in tracks],
            domains=[d["code"] for d in domains],
            organisation=rng.randrange(1_000_000),
        )
        if kind == "opportunity":
            listing.deadline = (NOW + timedelta(days=rng.uniform(-60, 365))).date() if rng.random() < 0.9 else None
            listing.extra = _text(rng, vocab, 20, 120) if rng.random() < 0.6 else ""
            listing.budget_text = rng.choice(["", "100-300万元", "500万元", "1200万元", "面议"])
        else:
            listing.extra = _text(rng, vocab, 20, 160) if rng.random() < 0.5 else ""
            listing.maturity = rng.choice(MATURITIES)
        out.append(listing)
    return out


# -- database ------------------------------------------------------------------------------


def _url(name: str) -> str:
    return f"postgresql+asyncpg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(database="postgres", **PG)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def seed_database(url: str) -> None:
    engine = create_db_engine(url)
    async with session_scope(create_sessionmaker(engine)) as session:
        await seed_reference_data(session)
    await engine.dispose()


LISTING_COLUMNS = [
    "id", "title", "description", "organisation_id", "region_code", "place", "tags", "contact", "status", "batch_id",
    "external_id", "review_note", "created_by_id", "published_at", "created_at", "modified_at",
    "withdrawal_reason",
]  # fmt: skip


async def load_listings(db: str, listings: list[Listing], rng: random.Random) -> dict[str, list[int]]:
    """Bulk-load organisations, listings and their track/domain links with COPY; returns ids per kind."""
    conn = await asyncpg.connect(database=db, **PG)
    try:
        await conn.set_type_codec(
            "json",
            encoder=lambda v: json.dumps(v, ensure_ascii=False).encode(),
            decoder=json.loads,
            schema="pg_catalog",
            format="binary",
        )
        issuers = [r["id"] for r in await conn.fetch("SELECT id FROM organisation ORDER BY id")]
        cities = [r["code"] for r in await conn.fetch("SELECT code FROM region WHERE level IN ('city', 'new_area')")]
        names = {
            f"{rng.choice(COMPANY_PREFIXES)}{rng.choice(['数联', '智云', '天工', '星火', '青鸟', '卓越', '鸿图', '睿思', '华赣', '恒信'])}"
            f"{i:03d}{rng.choice(COMPANY_SUFFIXES)}"
            for i in range(300)
        }
        companies = [(n, "enterprise", rng.choice(cities), "active", NOW, NOW, "", "", "", "") for n in sorted(names)]
        await conn.copy_records_to_table(
            "organisation",
            records=companies,
            columns=[
                "name",
                "kind",
                "region_code",
                "status",
                "created_at",
                "modified_at",
                "short_name",
                "place",
                "description",
                "website",
            ],
        )
        enterprises = [
            r["id"] for r in await conn.fetch("SELECT id FROM organisation WHERE kind = 'enterprise' ORDER BY id")
        ]
        ids: dict[str, list[int]] = {"opportunity": [], "offering": []}
        rows: dict[str, list[tuple]] = {"opportunity": [], "offering": []}
        tracks: dict[str, list[tuple]] = {"opportunity": [], "offering": []}
        domains: dict[str, list[tuple]] = {"opportunity": [], "offering": []}
        for listing in listings:
            kind = listing.kind
            listing_id = len(ids[kind]) + 1
            ids[kind].append(listing_id)
            pool = issuers if kind == "opportunity" else enterprises
            common = (
                listing_id, listing.title, listing.description, pool[listing.organisation % len(pool)],
                listing.region_code, listing.place, listing.tags, "联系人 0791-8XXX0000", listing.status, None,
                None, "", None, listing.published_at, listing.created_at, listing.created_at, "",
            )  # fmt: skip
            if kind == "opportunity":
                rows[kind].append((*common, listing.budget_text, None, None, listing.deadline, listing.extra, None))
            else:
                rows[kind].append((*common, listing.maturity, listing.extra, "", None))
            tracks[kind] += [(listing_id, code) for code in listing.tracks]
            domains[kind] += [(listing_id, code) for code in listing.domains]
        extra_columns = {
            "opportunity": ["budget_text", "budget_min", "budget_max", "deadline", "requirements", "closed_at"],
            "offering": ["maturity", "reference_cases", "certifications", "withdrawn_at"],
        }
        for kind in ("opportunity", "offering"):
            await conn.copy_records_to_table(kind, records=rows[kind], columns=LISTING_COLUMNS + extra_columns[kind])
            await conn.copy_records_to_table(
                f"{kind}_track", records=tracks[kind], columns=["listing_id", "track_code"]
            )
            await conn.copy_records_to_table(
                f"{kind}_domain", records=domains[kind], columns=["listing_id", "domain_code"]
            )
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{kind}', 'id'), {len(ids[kind]) + 1})")
        await conn.execute("ANALYZE")
        return ids
    finally:
        await conn.close()


async def create_matchmaker(db: str) -> str:
    email = "bench-matchmaker@bench.scenematch.cn"
    conn = await asyncpg.connect(database=db, **PG)
    try:
        org = await conn.fetchval("SELECT id FROM organisation WHERE name = '江西省发展数字经济领导小组办公室'")
        await conn.execute(
            "INSERT INTO user_account (email, password_hash, display_name, role, organisation_id, is_active,"
            " created_at, modified_at) VALUES ($1, $2, '基准测试 撮合专员', 'matchmaker', $3, true, $4, $4)",
            email, hash_password(PASSWORD), org, NOW,
        )  # fmt: skip
    finally:
        await conn.close()
    return email


async def build_index(url: str, engine) -> tuple[int, float, float]:
    """`reindex` timed as a whole and its engine rebuild part; returns (docs, total s, rebuild s)."""
    rebuild_seconds = 0.0
    original = engine.rebuild

    def timed_rebuild(docs):
        nonlocal rebuild_seconds
        started = time.perf_counter()
        original(docs)
        rebuild_seconds = time.perf_counter() - started

    engine.rebuild = timed_rebuild
    db_engine = create_db_engine(url)
    try:
        started = time.perf_counter()
        async with session_scope(create_sessionmaker(db_engine)) as session:
            count = await reindex(session, engine)
        total = time.perf_counter() - started
    finally:
        engine.rebuild = original
        await db_engine.dispose()
    return count, total, rebuild_seconds


# -- ILIKE baseline ------------------------------------------------------------------------


async def ilike_latencies(db: str, cases: list[tuple[str, dict[str, str]]], rounds: int) -> list[float]:
    """The same queries as plain `ILIKE` over both tables: every word in the title or the
    description, published only, newest 20 plus the total count."""
    conn = await asyncpg.connect(database=db, **PG)
    try:
        cities = {r["code"]: r["parent_code"] for r in await conn.fetch("SELECT code, parent_code, level FROM region")}

        def statements(q: str, filters: dict[str, str]) -> tuple[str, str, list]:
            words = [w for w in q.split() if w]
            params: list = []
            selects = []
            kinds = [filters["kind"]] if "kind" in filters else ["opportunity", "offering"]
            for kind in kinds:
                where = ["status = 'published'"]
                for word in words:
                    params.append(f"%{word}%")
                    where.append(f"(title ILIKE ${len(params)} OR description ILIKE ${len(params)})")
                if "region" in filters:
                    codes = [c for c, parent in cities.items() if c == filters["region"] or parent == filters["region"]]
                    params.append(codes)
                    where.append(f"region_code = ANY(${len(params)})")
                if "track" in filters:
                    params.append(filters["track"])
                    where.append(
                        f"EXISTS (SELECT 1 FROM {kind}_track t WHERE t.listing_id = {kind}.id AND t.track_code = ${len(params)})"
                    )
                selects.append(f"SELECT id, title, published_at FROM {kind} WHERE {' AND '.join(where)}")
            union = " UNION ALL ".join(selects)
            page = f"SELECT id, title FROM ({union}) AS hits ORDER BY published_at DESC LIMIT 20"
            count = f"SELECT count(*) FROM ({union}) AS hits"
            return page, count, params

        prepared = [statements(q, f) for q, f in cases]
        for page, count, params in prepared[:2]:  # warm-up
            await conn.fetch(page, *params)
            await conn.fetchval(count, *params)
        timings = []
        for _ in range(rounds):
            for page, count, params in prepared:
                started = time.perf_counter()
                await conn.fetch(page, *params)
                await conn.fetchval(count, *params)
                timings.append(ms_since(started))
        return timings
    finally:
        await conn.close()


# -- measuring -----------------------------------------------------------------------------


def ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass
class Series:
    name: str
    values: list[float] = field(default_factory=list)

    def row(self) -> str:
        v = self.values
        return (
            f"  {self.name:34} p50 {percentile(v, 50):8.2f}  p95 {percentile(v, 95):8.2f}  "
            f"p99 {percentile(v, 99):8.2f}  max {max(v):8.2f} ms  (n={len(v)})"
        )


def query_cases(n: int) -> list[tuple[str, dict[str, str]]]:
    """`n` queries from the list; every fourth one also carries a filter."""
    cases = []
    for i in range(n):
        q = QUERIES[i % len(QUERIES)]
        filters = FILTERS[(i // 4) % len(FILTERS)] if i % 4 == 3 else {}
        cases.append((q, filters))
    return cases


def engine_query(q: str, filters: dict[str, str], names: dict[str, dict[str, str]]) -> SearchQuery:
    """What `backend.searching.service.search` asks the engine for a visitor."""
    return SearchQuery(
        text=q,
        kind=filters.get("kind"),
        tracks=[names["tracks"].get(filters["track"], filters["track"])] if "track" in filters else [],
        regions=[filters["region"]] if "region" in filters else [],
        statuses=["published"],
        sort=filters.get("sort", "relevance"),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def start_server(port: int, url: str, data_dir: Path, log_path: Path) -> subprocess.Popen:
    env = dict(
        os.environ,
        SCENEMATCH_DATABASE_URL=url,
        SCENEMATCH_DATA_DIR=str(data_dir),
        SCENEMATCH_RUN_SYNC_WORKER="false",
        SCENEMATCH_ENV="development",
        SCENEMATCH_SEARCH_ENGINE="embedded",
    )
    env.pop("MEILI_URL", None)
    log = open(log_path, "wb")  # noqa: SIM115 — closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.main:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_ready(client: httpx.Client, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}")
        try:
            if client.get("/api/v1/search", params={"q": "智慧"}).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not become ready")


def stop_server(server: subprocess.Popen | None) -> None:
    if server is None or server.poll() is not None:
        return
    server.send_signal(signal.SIGINT)
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# -- one size ------------------------------------------------------------------------------


def run_size(size: int, args: argparse.Namespace, vocab: Vocabulary) -> dict[str, Any]:
    db = f"scenematch_bench_{os.getpid()}_{size}"
    url = _url(db)
    workdir = Path(tempfile.mkdtemp(prefix=f"scenematch-bench-{size}-"))
    server: subprocess.Popen | None = None
    engine = None
    results: dict[str, object] = {"size": size}
    print(f"\n=== {size:,} listings ===", flush=True)
    try:
        started = time.perf_counter()
        listings = generate(size, vocab)
        print(f"generated in {time.perf_counter() - started:.1f}s", flush=True)

        asyncio.run(_admin(f'CREATE DATABASE "{db}"'))
        upgrade(url)
        asyncio.run(seed_database(url))
        started = time.perf_counter()
        asyncio.run(load_listings(db, listings, random.Random(SEED)))
        print(f"loaded into PostgreSQL (COPY) in {time.perf_counter() - started:.1f}s", flush=True)
        del listings
        asyncio.run(create_matchmaker(db))

        data_dir = workdir / "data"
        engine = create_engine("embedded", data_dir=data_dir / "search", index_name="listings")
        engine.ensure_ready()
        count, total_s, rebuild_s = asyncio.run(build_index(url, engine))
        results["indexed"] = count
        if args.vectors:
            started = time.perf_counter()
            stored = store_random_vectors(engine)
            results["vectors"] = stored
            print(f"stored {stored:,} random listing vectors in {time.perf_counter() - started:.1f}s", flush=True)
        results["reindex_rate"] = count / total_s
        results["rebuild_rate"] = count / rebuild_s
        print(f"reindex: {count:,} listings in {total_s:.1f}s ({count / total_s:,.0f}/s; engine rebuild "
              f"{rebuild_s:.1f}s, {count / rebuild_s:,.0f}/s)", flush=True)  # fmt: skip

        cases = query_cases(args.queries)
        names = {"tracks": {t["code"]: t["name"] for t in vocab.tracks}}
        rng = random.Random(SEED + size)
        published_opps = asyncio.run(_published_ids(db, "opportunity"))
        match_ids = rng.sample(published_opps, min(args.matches, len(published_opps)))

        # Engine-only, on the object the benchmark built (same on-disk index as the server).
        equeries = [engine_query(q, f, names) for q, f in cases]
        for query in equeries:
            engine.search(query)
        results["load_before"] = os.getloadavg()
        engine_series = Series("search, engine-only")
        # CPU time of this thread per search (tantivy searches in the calling thread): what
        # the search costs regardless of other processes competing for the two cores.
        engine_cpu = Series("search, engine-only, thread CPU time")
        for _ in range(args.engine_rounds):
            for query in equeries:
                c, t = time.thread_time(), time.perf_counter()
                engine.search(query)
                engine_series.values.append(ms_since(t))
                engine_cpu.values.append((time.thread_time() - c) * 1000)
        match_docs = engine.get([ListingDocument.make_id("opportunity", i) for i in match_ids])
        for doc in list(match_docs.values())[:5]:
            match(engine, doc, "offering")
        engine_match = Series("match, engine-only")
        match_cpu = Series("match, engine-only, thread CPU time")
        for doc in match_docs.values():
            c, t = time.thread_time(), time.perf_counter()
            match(engine, doc, "offering")
            engine_match.values.append(ms_since(t))
            match_cpu.values.append((time.thread_time() - c) * 1000)

        # Through the API: the real app in its own process.
        port = free_port()
        server = start_server(port, url, data_dir, workdir / "server.log")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, trust_env=False) as client:
            wait_ready(client, server)
            params_list = [{"q": q, **f} for q, f in cases]
            for params in params_list:
                client.get("/api/v1/search", params=params).raise_for_status()
            api_series = Series("search, API GET /api/v1/search")
            totals = []
            for _ in range(args.api_rounds):
                for params in params_list:
                    t = time.perf_counter()
                    response = client.get("/api/v1/search", params=params)
                    api_series.values.append(ms_since(t))
                    response.raise_for_status()
                    totals.append(response.json()["total"])
            results["mean_total"] = statistics.fmean(totals) if totals else 0

            client.post("/api/v1/auth/login", json={"email": "bench-matchmaker@bench.scenematch.cn",
                                                    "password": PASSWORD}).raise_for_status()  # fmt: skip
            for listing_id in match_ids[:5]:
                client.get(f"/api/v1/opportunities/{listing_id}/matches").raise_for_status()
            api_match = Series("match, API GET …/matches")
            empty = 0
            for listing_id in match_ids:
                t = time.perf_counter()
                response = client.get(f"/api/v1/opportunities/{listing_id}/matches")
                api_match.values.append(ms_since(t))
                response.raise_for_status()
                empty += not response.json()
            results["empty_matches"] = empty
        server_hwm = vm_hwm_mb(server.pid)
        stop_server(server)
        server = None

        ilike = Series("search, PostgreSQL ILIKE baseline")
        ilike.values = asyncio.run(ilike_latencies(db, cases, args.ilike_rounds))

        results.update(
            engine_cpu=engine_cpu, match_cpu=match_cpu, load_after=os.getloadavg(),
            engine=engine_series, api=api_series, engine_match=engine_match, api_match=api_match, ilike=ilike,
            server_hwm_mb=server_hwm, bench_maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            index_mb=sum(p.stat().st_size for p in (data_dir / "search").rglob("*") if p.is_file()) / 1e6,
        )  # fmt: skip
        report(results)
        return results
    finally:
        stop_server(server)
        if engine is not None:
            engine.close()
        try:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        except Exception as exc:
            print(f"warning: could not drop database {db}: {exc}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)


def store_random_vectors(engine, chunk: int = 10_000) -> int:
    """Random unit vectors for every indexed listing, stored as the worker stores real ones."""
    import numpy as np

    from search.embedding import DEFAULT_MODEL, MODEL_NAMES, embedding_sentences, listing_hash, sentence_keys
    from search.vectors import Entry, store_of

    name = MODEL_NAMES[DEFAULT_MODEL][0]
    dim = 384 if "e5" in name else 512
    store = store_of(engine, name)
    assert store is not None, "the embedded engine keeps vectors"
    rng = np.random.default_rng(SEED)
    ids = sorted(engine.document_ids())
    for start in range(0, len(ids), chunk):
        entries = []
        for doc in engine.get(ids[start : start + chunk]).values():
            sentences = embedding_sentences(doc)
            vectors = rng.standard_normal((len(sentences), dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            mean = vectors.mean(axis=0)
            entries.append(
                Entry(
                    doc.id, listing_hash(doc, name), sentences, sentence_keys(doc), mean / np.linalg.norm(mean), vectors
                )
            )
        store.put(entries)
    return store.vector_count()


async def _published_ids(db: str, kind: str) -> list[int]:
    conn = await asyncpg.connect(database=db, **PG)
    try:
        return [r["id"] for r in await conn.fetch(f"SELECT id FROM {kind} WHERE status = 'published' ORDER BY id")]
    finally:
        await conn.close()


TARGETS = {"api": 30.0, "engine": 5.0, "match": 50.0, "index": 2000.0}


def report(r: dict) -> None:
    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    engine, api, ilike = r["engine"], r["api"], r["ilike"]
    e95, a95, i95 = (percentile(s.values, 95) for s in (engine, api, ilike))
    em95, am95 = percentile(r["engine_match"].values, 95), percentile(r["api_match"].values, 95)
    print(f"\n--- results at {r['size']:,} listings ({r['indexed']:,} indexed, index {r['index_mb']:.0f} MB) ---")
    print(
        f"  indexing (reindex: DB + documents + segmentation + tantivy)  {r['reindex_rate']:8,.0f} listings/s"
        f"   [target >= 2,000: {verdict(r['reindex_rate'] >= TARGETS['index'])}]"
    )
    print(f"  indexing (engine rebuild alone, incl. segmentation)          {r['rebuild_rate']:8,.0f} listings/s")
    print(api.row() + f"   [p95 < 30: {verdict(a95 < TARGETS['api'])}]")
    print(engine.row() + f"   [p95 < 5: {verdict(e95 < TARGETS['engine'])}]")
    print(r["api_match"].row() + f"   [p95 < 50: {verdict(am95 < TARGETS['match'])}]")
    print(r["engine_cpu"].row())
    print(r["engine_match"].row() + f"   [p95 < 50: {verdict(em95 < TARGETS['match'])}]")
    print(r["match_cpu"].row())
    print(ilike.row())
    print(f"  ILIKE p95 / engine p95 = {i95 / e95:6.1f}x   ILIKE p95 / API p95 = {i95 / a95:6.1f}x")
    print(f"  mean hits per API query {r['mean_total']:.0f}; matches that came back empty: {r['empty_matches']}")
    print(
        "  load average (1/5/15 min) before measuring {:.2f}/{:.2f}/{:.2f}, after {:.2f}/{:.2f}/{:.2f}".format(
            *r["load_before"], *r["load_after"]
        )
    )
    print(f"  peak memory: server VmHWM {r['server_hwm_mb']:.0f} MB, benchmark process ru_maxrss "
          f"{r['bench_maxrss_mb']:.0f} MB (holds the generated listings and built the index)", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=len(QUERIES), help="queries per round (default: %(default)s)")
    parser.add_argument("--matches", type=int, default=50, help="listings to match (default: %(default)s)")
    parser.add_argument("--api-rounds", type=int, default=3)
    parser.add_argument("--engine-rounds", type=int, default=10)
    parser.add_argument("--ilike-rounds", type=int, default=1, help="ILIKE takes seconds per query at 100k")
    parser.add_argument("--vectors", action="store_true", help="store (random) listing vectors: hybrid matching")
    args = parser.parse_args()

    def on_term(signum, frame):  # clean up on `kill` as on Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    vocab = load_vocabulary()
    print(f"scenematch search benchmark: sizes {args.sizes}, {args.queries} queries, {args.matches} matches; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)  # fmt: skip
    all_results = []
    try:
        for size in args.sizes:
            all_results.append(run_size(size, args, vocab))
    except KeyboardInterrupt:
        print("\ninterrupted; database and temporary files removed", file=sys.stderr)
        sys.exit(130)
    if len(all_results) > 1:
        print("\n=== summary (p95, ms) ===")
        print(
            f"  {'listings':>9} {'index/s':>9} {'API':>7} {'engine':>7} {'match API':>10} {'match eng':>10} {'ILIKE':>8}"
        )
        for r in all_results:
            print(f"  {r['size']:>9,} {r['reindex_rate']:>9,.0f} {percentile(r['api'].values, 95):>7.1f} "
                  f"{percentile(r['engine'].values, 95):>7.2f} {percentile(r['api_match'].values, 95):>10.1f} "
                  f"{percentile(r['engine_match'].values, 95):>10.1f} {percentile(r['ilike'].values, 95):>8.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
