"""Several processes on one database: two web processes and one writer (`scenematch worker`).

Real processes, real servers on 127.0.0.1: a write through one web process is searchable
through the other within the stated lag; killing the writer in the middle of a batch loses
nothing, the web processes keep answering, and one of them takes over the writing.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from backend.outbox.service import LISTING_CHANGED, LISTING_PUBLISHED
from backend.seeding import DEMO_PASSWORD
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _admin

SCENEMATCH = str(Path(sys.executable).with_name("scenematch"))
# The lag the README states: the writer polls the outbox every 0.5 s and the readers of
# the other processes reload within about 0.5 s of its commit. The test allows more,
# because this machine is shared.
STATED_LAG_SECONDS = 2.0
SLACK_SECONDS = 8.0
# Saved-search alerts are not searchability: a generous bound that still catches rows left behind.
ALERTS_DRAINED_SECONDS = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[subprocess.Popen] = []

    def run(self, *args: str) -> str:
        done = subprocess.run([SCENEMATCH, *args], env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def start(self, name: str, *args: str, **extra_env: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 — closed with the process
        proc = subprocess.Popen(
            [SCENEMATCH, *args], env={**self.env, **extra_env}, stdout=log, stderr=subprocess.STDOUT
        )
        self.running.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()

    def stop_all(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.running:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _serve(procs: Processes, name: str) -> str:
    port = _free_port()
    procs.start(name, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1")
    return f"http://127.0.0.1:{port}"


async def _wait_up(url: str, deadline: float = 90.0) -> None:
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        while time.monotonic() - started < deadline:
            try:
                if (await client.get("/api/v1/opportunities", params={"page_size": 1})).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise AssertionError(f"{url} did not come up")


def _rows(prefix: str, count: int) -> bytes:
    return "\n".join(
        json.dumps(
            {
                "kind": "opportunity",
                "external_id": f"{prefix}-{n}",
                "title": f"{prefix} 多进程检索场景{n}",
                "organisation": f"多进程测试单位{n % 20}",
                "region": "九江市",
                "description": "工业互联网 数据平台",
                "tracks": "工业互联网",
                "deadline": "2099-06-30",
            },
            ensure_ascii=False,
        )
        for n in range(count)
    ).encode()


async def _import(client: httpx.AsyncClient, prefix: str, count: int) -> None:
    response = await client.post(
        "/api/v1/imports",
        files={"file": (f"{prefix}.jsonl", _rows(prefix, count), "application/x-ndjson")},
        data={"publish": "true"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == count and response.json()["errors"] == []


async def _found(client: httpx.AsyncClient, prefix: str) -> int:
    response = await client.get("/api/v1/search", params={"q": prefix, "page_size": 1})
    assert response.status_code == 200, response.text
    return response.json()["total"]


async def _searchable_within(client: httpx.AsyncClient, prefix: str, count: int, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if await _found(client, prefix) == count:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"{prefix}: {await _found(client, prefix)} of {count} searchable after {seconds} s")


async def _pending(database: str, topic: str | None = None) -> tuple[int, int]:
    """(processed, pending) outbox rows (of one topic, or all), read straight from the database."""
    where = f" WHERE topic = '{topic}'" if topic else ""  # a constant of this module, not input
    if database.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(database.split("///", 1)[1])
        try:
            done, waiting = connection.execute(
                "SELECT count(processed_at), count(*) - count(processed_at) FROM outbox_event" + where
            ).fetchone()
        finally:
            connection.close()
        return done, waiting
    connection = await asyncpg.connect(database.replace("postgresql+asyncpg", "postgresql"))
    try:
        row = await connection.fetchrow(
            "SELECT count(processed_at) AS done, count(*) - count(processed_at) AS waiting FROM outbox_event" + where
        )
    finally:
        await connection.close()
    return row["done"], row["waiting"]


async def _drained_within(database: str, seconds: float, topic: str) -> None:
    """The writer marks a batch done after committing it to the index, so a reader can see
    the listings a moment before the outbox is empty."""
    started = time.monotonic()
    waiting = (await _pending(database, topic))[1]
    for _ in range(int(seconds * 10)):
        if waiting == 0 or time.monotonic() - started > seconds:
            break
        await asyncio.sleep(0.1)
        waiting = (await _pending(database, topic))[1]
    assert waiting == 0, f"{waiting} {topic} outbox rows still pending after {seconds} s"


async def _prepare(url: str, data_dir: Path) -> None:
    """What `scenematch migrate`, `seed --demo` and `reindex` do, without three interpreters starting."""
    from backend.kit.db import create_engine, create_sessionmaker, session_scope
    from backend.kit.migrate import upgrade
    from backend.searching.sync import reindex
    from backend.seeding import seed_demo, seed_reference_data
    from search.embedded import EmbeddedEngine

    if url.startswith("sqlite"):
        data_dir.mkdir(parents=True)  # noqa: ASYNC240 — a test fixture, once
    else:
        await _admin(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
    await asyncio.to_thread(upgrade, url)
    database = create_engine(url)
    try:
        async with session_scope(create_sessionmaker(database)) as session:
            await seed_reference_data(session)
            await seed_demo(session)
        index = EmbeddedEngine(data_dir / "search")
        index.ensure_ready()
        async with session_scope(create_sessionmaker(database)) as session:
            await reindex(session, index)
        index.close()
    finally:
        await database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Processes, str]]:
    data_dir = tmp_path / "data"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'scenematch.db'}"
        dropped = None
    else:
        name = f"scenematch_mp_{uuid.uuid4().hex[:10]}"
        url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
        dropped = name
    env = {
        **os.environ,
        "SCENEMATCH_DATABASE_URL": url,
        "SCENEMATCH_DATA_DIR": str(data_dir),
        "SCENEMATCH_ENV": "demo",
        "SCENEMATCH_RUN_MAIL_WORKER": "false",
        "SCENEMATCH_SEARCH_ENGINE": "embedded",
    }
    env.pop("MEILI_URL", None)
    procs = Processes(env, tmp_path)
    try:
        asyncio.run(_prepare(url, data_dir))
        yield procs, url
    finally:
        procs.stop_all()
        if dropped:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{dropped}" WITH (FORCE)'))


async def test_two_web_processes_and_one_writer_answer_the_same_and_survive_the_writer_dying(deployment):
    procs, database = deployment
    started = time.monotonic()
    writer = procs.start("writer", "worker")
    await asyncio.sleep(1.0)
    url_a, url_b = _serve(procs, "web-a"), _serve(procs, "web-b")
    await asyncio.gather(_wait_up(url_a), _wait_up(url_b))
    assert "正在写入索引" not in procs.log("writer")  # the worker was first, so it is the writer
    print(f"three processes up in {time.monotonic() - started:.1f} s")

    async with (
        httpx.AsyncClient(base_url=url_a, timeout=120) as a,
        httpx.AsyncClient(base_url=url_b, timeout=30) as b,
    ):
        login = await a.post(
            "/api/v1/auth/login", json={"email": "matchmaker@demo.scenematch.cn", "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200

        # Written through A, searchable through B (and A) within the stated lag.
        await _import(a, "kappaone", 200)
        lag = await _searchable_within(b, "kappaone", 200, STATED_LAG_SECONDS + SLACK_SECONDS)
        await _searchable_within(a, "kappaone", 200, STATED_LAG_SECONDS + SLACK_SECONDS)
        print(f"publish → searchable on the other process: {lag:.2f} s")

        # A big batch, and the writer killed while it is applying it.
        before, _ = await _pending(database)
        await _import(a, "sigmatwo", 3000)
        for _ in range(500):
            done, waiting = await _pending(database)
            if done > before:
                break
            await asyncio.sleep(0.01)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        done, waiting = await _pending(database)
        assert done > before and waiting > 0, "the writer was not in the middle of the batch; the test proves nothing"

        # Both web processes keep serving while nobody writes, and one of them takes over.
        for client in (a, b):
            assert (await client.get("/api/v1/opportunities", params={"page_size": 5})).status_code == 200
        caught_up = await _searchable_within(b, "sigmatwo", 3000, 60)
        print(f"killed with {waiting} of {done + waiting} outbox rows pending; all searchable {caught_up:.1f} s later")
        # The other process sees the last commit within the stated lag, not at the same instant:
        # asking it at once raced its reader's reload (2,500 of 3,000, one batch behind).
        await _searchable_within(a, "sigmatwo", 3000, STATED_LAG_SECONDS + SLACK_SECONDS)
        await _drained_within(database, STATED_LAG_SECONDS + SLACK_SECONDS, topic=LISTING_CHANGED)
        # The saved searches run over the 3,200 publications once the index holds them, by the same
        # writer in rounds of 100: none is lost to the kill, but they are not bound by the index's lag.
        await _drained_within(database, ALERTS_DRAINED_SECONDS, topic=LISTING_PUBLISHED)
        took_over = [name for name in ("web-a", "web-b") if "is the index writer" in procs.log(name)]
        assert len(took_over) == 1, took_over

        # The index holds exactly the published listings of the database, seen from either process.
        for url in (url_a, url_b):
            async with httpx.AsyncClient(base_url=url, timeout=30) as visitor:
                found = (await visitor.get("/api/v1/search", params={"kind": "opportunity", "page_size": 1})).json()
                listed = (await visitor.get("/api/v1/opportunities", params={"page_size": 1})).json()
                assert found["total"] == listed["total"] >= 3200
