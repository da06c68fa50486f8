"""The embedded default: `scenematch demo` prepares a SQLite database that the app then serves."""

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from backend.cli import app as cli
from backend.seeding import DEMO_PASSWORD

runner = CliRunner()


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "demo"
    monkeypatch.setenv("SCENEMATCH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SCENEMATCH_DATABASE_URL", f"sqlite+aiosqlite:///{data_dir / 'scenematch.db'}")
    monkeypatch.setenv("SCENEMATCH_ENV", "demo")
    return data_dir


@pytest.fixture
def prepared_demo(demo_env: Path) -> Path:
    result = runner.invoke(cli, ["demo", "--prepare-only"])
    assert result.exit_code == 0, result.output
    return demo_env


def test_demo_prepares_a_sqlite_database_with_the_seed_data(demo_env: Path):
    result = runner.invoke(cli, ["demo", "--prepare-only"])
    assert result.exit_code == 0, result.output
    assert (demo_env / "scenematch.db").exists()
    assert "matchmaker@demo.scenematch.cn" in result.output
    assert "错误 0 条" in result.output

    again = runner.invoke(cli, ["demo", "--prepare-only"])
    assert again.exit_code == 0 and "新增 0 条" in again.output


async def test_sqlite_app_serves_published_lists_and_logins(prepared_demo: Path):
    from backend.app import create_app
    from backend.settings import Settings

    app = create_app(Settings())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client,
    ):
        opportunities = await client.get("/api/v1/opportunities", params={"page_size": 100})
        assert opportunities.status_code == 200
        assert opportunities.json()["total"] >= 40
        assert all(item["contact"] is None for item in opportunities.json()["items"])

        found = await client.get("/api/v1/search", params={"q": "智慧农业"})
        assert found.status_code == 200 and found.json()["total"] >= 1
        assert all(hit["listing"]["status"] == "published" for hit in found.json()["hits"])

        login = await client.post(
            "/api/v1/auth/login", json={"email": "issuer@demo.scenematch.cn", "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200
        created = await client.post("/api/v1/opportunities", json={"title": "SQLite 演示草稿", "place": "南昌市"})
        assert created.status_code == 201, created.text
        assert created.json()["region"]["code"] == "360100"


def test_import_and_export_round_trip_through_the_cli(prepared_demo: Path, tmp_path: Path):
    source = tmp_path / "batch.csv"
    source.write_text(
        "kind,external_id,title,organisation,region,description,tracks,deadline\n"
        "opportunity,CLI-1,上饶大数据中心运维场景,上饶市大数据发展管理局,上饶市,数据中心智能运维,大数据,2099-01-31\n"
        "opportunity,CLI-2,,没有标题的单位,,,,\n",
        encoding="utf-8",
    )
    result = runner.invoke(cli, ["import", str(source), "--publish"])
    assert result.exit_code == 1  # one bad row
    assert "新增 1" in result.output and "第 3 行" in result.output

    out = tmp_path / "export.jsonl"
    exported = runner.invoke(cli, ["export", "--kind", "opportunity", "--output", str(out)])
    assert exported.exit_code == 0, exported.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert any(r["external_id"] == "CLI-1" and r["title"] == "上饶大数据中心运维场景" for r in records)

    reimport = runner.invoke(cli, ["import", str(out)])
    assert reimport.exit_code == 0, reimport.output
    assert "新增 0" in reimport.output


def test_create_user_from_the_shell(prepared_demo: Path):
    ok = runner.invoke(
        cli,
        ["create-user", "--email", "Ops@Example.com", "--role", "matchmaker", "--name", "运维", "--password-stdin"],
        input="a-strong-password\n",
    )
    assert ok.exit_code == 0, ok.output
    duplicate = runner.invoke(
        cli,
        ["create-user", "--email", "ops@example.com", "--role", "matchmaker", "--name", "运维", "--password-stdin"],
        input="a-strong-password\n",
    )
    assert duplicate.exit_code == 2 and "已注册" in duplicate.output
    weak = runner.invoke(
        cli,
        ["create-user", "--email", "x@example.com", "--role", "admin", "--name", "x", "--password-stdin"],
        input="short\n",
    )
    assert weak.exit_code == 2


def test_worker_once_applies_pending_changes_and_reindex_rebuilds(prepared_demo: Path, tmp_path: Path):
    source = tmp_path / "one.jsonl"
    source.write_text(
        json.dumps(
            {
                "kind": "offering",
                "external_id": "W-1",
                "title": "鹰潭物联网网关",
                "organisation": "鹰潭测试物联科技有限公司",
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    assert runner.invoke(cli, ["import", str(source), "--publish"]).exit_code == 0
    worker = runner.invoke(cli, ["worker", "--once"])
    assert worker.exit_code == 0, worker.output
    assert "已同步" in worker.output and "已同步 0 条" not in worker.output
    rebuilt = runner.invoke(cli, ["reindex"])
    assert rebuilt.exit_code == 0 and "已重建索引" in rebuilt.output


def test_a_saved_search_hears_of_an_imported_listing_once_the_worker_indexed_it(prepared_demo: Path, tmp_path: Path):
    """On SQLite too: the alert runs in the index writer (`worker`), through the search engine, once."""
    import asyncio

    from backend.app import create_app
    from backend.settings import Settings

    async def as_enterprise(request):
        app = create_app(Settings(run_sync_worker=False, run_mail_worker=False))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client,
        ):
            login = await client.post(
                "/api/v1/auth/login", json={"email": "enterprise@demo.scenematch.cn", "password": DEMO_PASSWORD}
            )
            assert login.status_code == 200
            return await request(client)

    async def save(client):
        return await client.post("/api/v1/subscriptions", json={"q": "候鸟 湿地监测", "frequency": "immediate"})

    async def titles(client):
        return [n["title"] for n in (await client.get("/api/v1/notifications")).json()["items"]]

    assert asyncio.run(as_enterprise(save)).status_code == 201
    source = tmp_path / "birds.jsonl"
    source.write_text(
        json.dumps(
            {
                "kind": "opportunity",
                "external_id": "BIRDS-1",
                "title": "鄱陽湖候鳥濕地監測場景",  # Traditional script
                "organisation": "江西省林业局（订阅测试）",
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    assert runner.invoke(cli, ["import", str(source), "--publish"]).exit_code == 0
    assert "新机会：鄱陽湖候鳥濕地監測場景" not in asyncio.run(as_enterprise(titles))  # not before it is indexed

    for _ in range(2):  # a second run tells nobody again
        worker = runner.invoke(cli, ["worker", "--once"])
        assert worker.exit_code == 0, worker.output
    assert asyncio.run(as_enterprise(titles)).count("新机会：鄱陽湖候鳥濕地監測場景") == 1
