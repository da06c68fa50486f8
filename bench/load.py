"""Load benchmark: the documented multi-process server under concurrent load, on PostgreSQL and SQLite.

    .venv/bin/python bench/load.py                                  # 100k listings, both databases
    .venv/bin/python bench/load.py --listings 10000 --seconds 10 --databases sqlite

For each database (a throw-away PostgreSQL database, or a SQLite file in a temporary folder):

1. `scenematch migrate`, `scenematch seed --demo`, then N listings generated from the seed
   vocabulary (bench/search_bench.py's generator, fixed seed) imported with
   `scenematch import FILE --publish` (rows/s printed), and the index rebuilt with
   `scenematch reindex` (listings/s printed), as after any bulk load;
2. `scenematch serve --workers W` (default: the number of cores) on 127.0.0.1, driven by
   wrk (a separate process; Debian's `wrk` with a Lua script that picks a random path per
   request and prints the percentiles) for `--seconds` per scenario at 50 and 200
   connections: the search API, list pages, detail pages, and a mix of all three while a
   writer (this process) creates drafts, submits and publishes them and measures each one's
   index lag (publish → found by the search API);
3. after the runs, waits for the outbox to empty and checks that the index holds exactly
   the published listings of the database;
4. the search API again with `--workers 1` (one process) for comparison.

Visitors' searches, list and detail pages are answered from the process's kept answers while
nothing changed (backend/kit/visitor_answers.py); the "every URL new" runs add a parameter the
app ignores to each request, so they measure the same requests with no kept answer to use. Each
measured run follows `--warmup` seconds (5) of the same load whose figures are not counted, so
the figures are of a running site rather than of each process's first answers.

Prints req/s, p50/p95/p99 (ms), errors (connect/read/write/status/timeout) per scenario.
Figures, not tests: they depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from search_bench import QUERIES, TAXONOMY, generate, load_vocabulary  # noqa: E402

SCENEMATCH = str(Path(sys.executable).with_name("scenematch"))
PG = {"host": "127.0.0.1", "port": int(os.environ.get("SCENEMATCH_BENCH_PG_PORT", "5432")), "user": "postgres"}
DEMO_PASSWORD = "demo-2026"
PORTS = range(18300, 18400)

LUA = r"""
local paths = {}
local fresh, tag, n = false, 0, 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000)
  -- "fresh": every request a URL never asked before (a parameter the app ignores), so no kept answer is used.
  fresh, tag = args[2] == "fresh", math.random(1000000000)
end
request = function()
  local path = paths[math.random(#paths)]
  if fresh then
    n = n + 1
    path = path .. (path:find("?", 1, true) and "&" or "?") .. "_=" .. tag .. "-" .. n
  end
  return wrk.format("GET", path)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18300-18399")


def run(env: dict, *args: str, timeout: float = 3600) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([SCENEMATCH, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode not in (0,):
        raise RuntimeError(f"scenematch {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started, done.stdout


# -- data ----------------------------------------------------------------------------------


def import_file(n: int, path: Path) -> None:
    """N listings in the import format (JSON lines), from the search benchmark's generator."""
    taxonomy = json.loads(TAXONOMY.read_text(encoding="utf-8"))
    track_names = {t["code"]: t["name"] for t in taxonomy["tracks"]}
    domain_names = {d["code"]: d["name"] for d in taxonomy["domains"]}
    region_names = {r["code"]: r["name"] for r in taxonomy["regions"]}
    cities = [r["name"] for r in taxonomy["regions"] if r["level"] in ("city", "new_area")]
    with path.open("w", encoding="utf-8") as out:
        for i, listing in enumerate(generate(n, load_vocabulary())):
            city = cities[listing.organisation % len(cities)]
            suffix = "局" if listing.kind == "opportunity" else "科技有限公司"
            row = {
                "kind": listing.kind,
                "external_id": f"LOAD-{i}",
                "title": listing.title,
                "organisation": f"{city}压测单位{listing.organisation % 2000}{suffix}",
                "region": listing.place or region_names.get(listing.region_code or "", ""),
                "description": listing.description,
                "tracks": "、".join(track_names[c] for c in listing.tracks),
                "domains": "、".join(domain_names[c] for c in listing.domains),
            }
            if listing.kind == "opportunity":
                row["deadline"] = "2099-12-31"
                row["budget"] = listing.budget_text
            else:
                row["maturity"] = listing.maturity or ""
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


async def published_ids(url: str) -> dict[str, list[int]]:
    out = {}
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.split("///", 1)[1])
        try:
            for kind in ("opportunity", "offering"):
                out[kind] = [r[0] for r in connection.execute(f"SELECT id FROM {kind} WHERE status = 'published'")]
        finally:
            connection.close()
        return out
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        for kind in ("opportunity", "offering"):
            out[kind] = [r["id"] for r in await connection.fetch(f"SELECT id FROM {kind} WHERE status = 'published'")]
    finally:
        await connection.close()
    return out


async def mark_outbox_done(url: str) -> None:
    sql = "UPDATE outbox_event SET processed_at = CURRENT_TIMESTAMP WHERE processed_at IS NULL"
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.split("///", 1)[1])
        try:
            connection.execute(sql)
            connection.commit()
        finally:
            connection.close()
        return
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def pending_outbox(url: str) -> int:
    sql = "SELECT count(*) FROM outbox_event WHERE processed_at IS NULL"
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.split("///", 1)[1])
        try:
            return connection.execute(sql).fetchone()[0]
        finally:
            connection.close()
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


def index_ids(data_dir: Path) -> set[str]:
    from search.embedded import EmbeddedEngine

    engine = EmbeddedEngine(data_dir / "search")
    try:
        return engine.document_ids()
    finally:
        engine.close()


# -- server and load -----------------------------------------------------------------------


def start_server(env: dict, workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    handle = log.open("w")
    proc = subprocess.Popen(
        [SCENEMATCH, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/api/v1/search", params={"q": "智慧"}, timeout=5).status_code == 200:
                # Every worker process answers (each warms its own index reader).
                for _ in range(workers * 4):
                    httpx.get(f"{base}/api/v1/search", params={"q": "智慧农业"}, timeout=30)
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server did not come up")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(session: int) -> float:
    """CPU time (user + system) used so far by every process of the server's session.

    Requests per CPU-second do not depend on what else the machine runs, unlike req/s: on a
    shared machine they tell what the server would do alone (cores x requests per CPU-second,
    minus wrk's own share)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:  # fields[3] is the session id (after state, ppid, pgrp)
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def wrk(
    base: str,
    paths: list[str],
    connections: int,
    seconds: int,
    work: Path,
    server: int | None = None,
    *,
    fresh: bool = False,
    warmup: int = 0,
) -> dict:
    script = work / "paths.lua"
    script.write_text(LUA)
    listing = work / f"paths-{os.getpid()}-{random.random():.6f}.txt"
    # Percent-encoded: wrk sends the path as written and servers expect ASCII on the wire.
    listing.write_text("\n".join(quote(p, safe="/?=&") for p in paths) + "\n")
    threads = min(2, connections)

    def drive(length: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{length}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                base,
                "--",
                str(listing),
                "fresh" if fresh else "kept",
            ],
            capture_output=True,
            text=True,
            timeout=length + 60,
        )

    if warmup:
        drive(warmup)  # not counted: the processes' first answers to each path, as after a deploy
    cpu_before = server_cpu_seconds(server) if server else 0.0
    done = drive(seconds)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    requests, duration_us, p50, p95, p99, connect, read, write, status, timeout = map(int, line.split()[1:])
    cpu = server_cpu_seconds(server) - cpu_before if server else 0.0
    return {
        "cpu_ms": 1000 * cpu / requests if requests and cpu else float("nan"),
        "rps": requests / (duration_us / 1e6),
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "p99": p99 / 1000,
        "requests": requests,
        "errors": {"connect": connect, "read": read, "write": write, "status": status, "timeout": timeout},
    }


class Writer(threading.Thread):
    """Drafts created, submitted and published in a loop; each one's lag until the search API finds it."""

    def __init__(self, base: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base, self.stop = base, stop
        self.lags: list[float] = []
        self.writes = 0
        self.errors = 0

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        async with (
            httpx.AsyncClient(base_url=self.base, timeout=30) as issuer,
            httpx.AsyncClient(base_url=self.base, timeout=30) as staff,
        ):
            for client, email in ((issuer, "issuer@demo.scenematch.cn"), (staff, "matchmaker@demo.scenematch.cn")):
                r = await client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
                r.raise_for_status()
            while not self.stop.is_set():
                token = "zq" + "".join(random.choices("bcdfghjklmnpqrstvwxz", k=10))
                try:
                    created = await issuer.post(
                        "/api/v1/opportunities",
                        json={
                            "title": f"压测写入场景 {token}",
                            "description": f"并发写入与索引延迟测量 {token}",
                            "place": "南昌市",
                            "deadline": "2099-12-31",
                        },
                    )
                    created.raise_for_status()
                    listing_id = created.json()["id"]
                    (await issuer.post(f"/api/v1/opportunities/{listing_id}/submit")).raise_for_status()
                    (await staff.post(f"/api/v1/opportunities/{listing_id}/publish")).raise_for_status()
                    self.writes += 3
                    published = time.perf_counter()
                    while time.perf_counter() - published < 30:
                        found = await issuer.get("/api/v1/search", params={"q": token, "page_size": 1})
                        if found.status_code == 200 and found.json()["total"] >= 1:
                            self.lags.append(time.perf_counter() - published)
                            break
                        await asyncio.sleep(0.05)
                    else:
                        self.lags.append(float("inf"))
                except httpx.HTTPError:
                    self.errors += 1
                await asyncio.sleep(0.2)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def show(label: str, result: dict) -> None:
    e = result["errors"]
    errors = sum(e.values())
    detail = ", ".join(f"{k} {v}" for k, v in e.items() if v)
    print(
        f"  {label:<34} {result['rps']:8.1f} req/s  p50 {result['p50']:7.1f}  p95 {result['p95']:7.1f}  "
        f"p99 {result['p99']:7.1f} ms  errors {errors}{' (' + detail + ')' if detail else ''}"
        f"  server CPU {result['cpu_ms']:.1f} ms/req",
        flush=True,
    )


# -- one database --------------------------------------------------------------------------


def bench_database(kind: str, args: argparse.Namespace, data_file: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"scenematch-load-{kind}-"))
    data_dir = work / "data"
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'scenematch.db'}"
        pg_name = None
    else:
        pg_name = f"scenematch_load_{os.getpid()}"
        url = f"postgresql+asyncpg://{PG['user']}@{PG['host']}:{PG['port']}/{pg_name}"
    env = {
        **os.environ,
        "SCENEMATCH_DATABASE_URL": url,
        "SCENEMATCH_DATA_DIR": str(data_dir),
        "SCENEMATCH_ENV": "demo",
        "SCENEMATCH_RUN_MAIL_WORKER": "false",
        "SCENEMATCH_SEARCH_ENGINE": "embedded",
        "SCENEMATCH_MAX_IMPORT_ROWS": str(max(args.listings, 20000)),
    }
    env.pop("MEILI_URL", None)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\n== {kind}: {args.listings:,} listings, serve --workers {args.workers} (load average {load}) ==", flush=True
    )
    server = None
    try:
        run(env, "migrate")
        run(env, "seed", "--demo")
        took, _ = run(env, "import", str(data_file), "--publish")
        print(f"  import --publish: {took:.1f} s, {args.listings / took:,.0f} rows/s (whole command, parsing included)")
        # After a bulk load the index is rebuilt in one go (`scenematch reindex`, parallel
        # segmentation) rather than drained row by row; the import's outbox rows are then done.
        took, _ = run(env, "reindex")
        print(f"  reindex: {took:.1f} s, {args.listings / took:,.0f} listings/s (whole command)")
        asyncio.run(mark_outbox_done(url))
        ids = asyncio.run(published_ids(url))
        queries = [q for q in QUERIES]
        search_paths = [f"/api/v1/search?q={q}" for q in queries] + [
            f"/api/v1/search?q={q}&kind=opportunity&page=2" for q in queries[:10]
        ]
        list_paths = [f"/opportunities?page={p}" for p in range(1, 30)] + [f"/offerings?page={p}" for p in range(1, 30)]
        rng = random.Random(7)
        detail_paths = [
            f"/opportunities/{i}" for i in rng.sample(ids["opportunity"], min(300, len(ids["opportunity"])))
        ]
        detail_paths += [f"/offerings/{i}" for i in rng.sample(ids["offering"], min(300, len(ids["offering"])))]
        mixed = search_paths * 3 + list_paths + detail_paths

        server, base = start_server(env, args.workers, work / "server.log")
        for connections in (50, 200):
            for label, paths, fresh in (
                ("search API", search_paths, False),
                ("search API, every URL new", search_paths, True),
                ("list pages", list_paths, False),
                ("list pages, every URL new", list_paths, True),
                ("detail pages", detail_paths, False),
                ("detail pages, every URL new", detail_paths, True),
            ):
                result = wrk(base, paths, connections, args.seconds, work, server.pid, fresh=fresh, warmup=args.warmup)
                show(f"{label} @ {connections}", result)
            stop = threading.Event()
            writer = Writer(base, stop)
            writer.start()
            result = wrk(base, mixed, connections, args.seconds, work, server.pid, warmup=args.warmup)
            stop.set()
            writer.join(timeout=60)
            show(f"mix + writes @ {connections}", result)
            lags = writer.lags
            print(
                f"    writes {writer.writes} ({writer.errors} failed), index lag over {len(lags)} publications: "
                f"p50 {percentile(lags, 50):.2f} s  p99 {percentile(lags, 99):.2f} s  max {max(lags or [0]):.2f} s",
                flush=True,
            )
        # The index must hold exactly the published listings once the writer has caught up.
        for _ in range(120):
            if asyncio.run(pending_outbox(url)) == 0:
                break
            time.sleep(0.5)
        time.sleep(1.5)  # the readers reload within about half a second of the last commit
        ids = asyncio.run(published_ids(url))
        from search import ListingDocument

        expected = {ListingDocument.make_id(k, i) for k, values in ids.items() for i in values}
        actual = index_ids(data_dir)
        verdict = (
            "equal"
            if expected == actual
            else f"DIFFERENT: {len(expected - actual)} missing, {len(actual - expected)} extra"
        )
        print(f"  index vs database after the runs: {len(actual):,} documents, {len(expected):,} published — {verdict}")
        stop_server(server)
        server = None

        if args.single:
            server, base = start_server(env, 1, work / "server-1.log")
            for label, paths in (("search API", search_paths), ("list pages", list_paths)):
                result = wrk(base, paths, 50, args.seconds, work, server.pid, warmup=args.warmup)
                show(f"{label} @ 50, one process", result)
            stop_server(server)
            server = None
    finally:
        if server is not None:
            stop_server(server)
        if pg_name:
            asyncio.run(_drop(pg_name))
        shutil.rmtree(work, ignore_errors=True)


async def _drop(name: str) -> None:
    connection = await asyncpg.connect(database="postgres", **PG)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=20, help="length of each wrk run")
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument(
        "--warmup", type=int, default=5, help="seconds of the same load before each measured run, not counted"
    )
    parser.add_argument("--no-single", dest="single", action="store_false", help="skip the one-process comparison")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory(prefix="scenematch-load-data-") as folder:
        data_file = Path(folder) / "listings.jsonl"
        started = time.perf_counter()
        import_file(args.listings, data_file)
        print(
            f"generated {args.listings:,} listings in {time.perf_counter() - started:.1f} s (machine: {os.cpu_count()} cores, shared)"
        )
        for kind in args.databases.split(","):
            bench_database(kind.strip(), args, data_file)


if __name__ == "__main__":
    main()
