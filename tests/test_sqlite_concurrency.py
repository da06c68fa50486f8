"""SQLite with several writers: an import next to the running sync worker keeps every row."""

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from backend.cli import app as cli
from backend.seeding import DEMO_PASSWORD


@pytest.fixture
def sqlite_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "demo"
    monkeypatch.setenv("SCENEMATCH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SCENEMATCH_DATABASE_URL", f"sqlite+aiosqlite:///{data_dir / 'scenematch.db'}")
    monkeypatch.setenv("SCENEMATCH_ENV", "demo")
    result = CliRunner().invoke(cli, ["demo", "--prepare-only"])
    assert result.exit_code == 0, result.output
    return data_dir


async def test_an_import_of_2000_rows_next_to_the_sync_worker_keeps_all_2000(sqlite_demo: Path):
    from backend.app import create_app
    from backend.settings import Settings

    rows = [
        {
            "kind": "opportunity",
            "external_id": f"SQLITE-{n}",
            "title": f"抚州市数字乡村并发导入场景{n}",
            "organisation": f"抚州市并发导入单位{n % 40}",
            "region": "抚州市",
            "description": "物联网 农业 数据平台",
            "tracks": "大数据",
            "deadline": "2099-01-01",
        }
        for n in range(2000)
    ]
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    settings = Settings()
    assert settings.run_sync_worker  # the worker drains (and writes) while the import runs
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo", timeout=120) as client:
            login = await client.post(
                "/api/v1/auth/login", json={"email": "matchmaker@demo.scenematch.cn", "password": DEMO_PASSWORD}
            )
            assert login.status_code == 200
            # A first small import gives the worker outbox rows to write while the big one runs.
            first = await client.post(
                "/api/v1/imports",
                files={"file": ("a.jsonl", body[: body.index(b"\n", 20000)], "application/x-ndjson")},
                data={"publish": "true"},
            )
            assert first.status_code == 200
            response = await client.post(
                "/api/v1/imports", files={"file": ("b.jsonl", body, "application/x-ndjson")}, data={"publish": "true"}
            )
            assert response.status_code == 200, response.text
            report = response.json()
            assert report["errors"] == []
            assert report["created"] + report["updated"] == 2000

            total = 0
            for _ in range(100):  # the worker indexes them within seconds
                found = await client.get("/api/v1/search", params={"q": "抚州市数字乡村并发导入场景", "page_size": 1})
                total = found.json()["total"]
                if total == 2000:
                    break
                await asyncio.sleep(0.2)
            assert total == 2000
