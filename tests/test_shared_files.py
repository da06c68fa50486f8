"""Two app hosts on one PostgreSQL database, each with its own data folder, see the same files.

Uploaded files live in the database (backend/kit/files.py), so a second host needs no shared
folder; a host that cannot reach files still recorded in a local folder refuses to start.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from backend.app import FILE_MODELS, create_app
from backend.kit.db import create_engine, create_sessionmaker, session_scope
from backend.kit.files import move_to_database
from backend.kit.migrate import upgrade
from backend.seeding import seed_reference_data
from backend.settings import Environment, Settings
from tests.api.test_answers import ANSWER, PDF, _setup
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _admin
from tests.factories import login


@pytest.fixture
async def own_database() -> AsyncIterator[str]:
    """A database of its own: the hosts commit, which the shared test database must not see."""
    import asyncio

    name = f"scenematch_files_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    try:
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        async with session_scope(create_sessionmaker(engine)) as session:
            await seed_reference_data(session)
        await engine.dispose()
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _settings(url: str, data_dir: Path) -> Settings:
    return Settings(
        env=Environment.testing,
        database_url=url,
        data_dir=data_dir,
        secret_key="test-secret",
        run_sync_worker=False,
        run_mail_worker=False,
    )


@asynccontextmanager
async def _host(url: str, data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(_settings(url, data_dir))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
            yield client


async def test_a_file_uploaded_on_one_host_downloads_from_another(own_database: str, tmp_path: Path):
    engine = create_engine(own_database)
    async with session_scope(create_sessionmaker(engine)) as session:
        opportunity, _, users, _ = await _setup(session)
    await engine.dispose()

    async with _host(own_database, tmp_path / "host-a") as a, _host(own_database, tmp_path / "host-b") as b:
        lead = await login(a, users["lead"])
        answer_id = (await lead.post(f"/api/v1/opportunities/{opportunity.id}/answers", json=ANSWER)).json()["id"]
        uploaded = await lead.post(
            f"/api/v1/answers/{answer_id}/attachments", files={"file": ("方案.pdf", PDF, "application/pdf")}
        )
        assert uploaded.status_code == 201, uploaded.text
        assert (await lead.post(f"/api/v1/answers/{answer_id}/submit")).status_code == 200

        issuer = await login(b, users["issuer"])
        download = await issuer.get(uploaded.json()["url"])
        assert download.status_code == 200 and download.content == PDF
        assert download.headers["content-disposition"].startswith("attachment;")
        assert download.headers["x-content-type-options"] == "nosniff"
        assert not any((tmp_path / "host-a").rglob("*.pdf")) and not (tmp_path / "host-a" / "uploads").exists()


async def test_a_host_without_the_local_files_of_another_refuses_to_start(own_database: str, tmp_path: Path):
    from backend.answers.models import AnswerAttachment

    engine = create_engine(own_database)
    async with session_scope(create_sessionmaker(engine)) as session:
        _, _, users, _ = await _setup(session)
    async with _host(own_database, tmp_path / "host-a") as a:
        lead = await login(a, users["lead"])
        opportunity_id = (await lead.get("/api/v1/opportunities", params={"page_size": 1})).json()["items"][0]["id"]
        answer_id = (await lead.post(f"/api/v1/opportunities/{opportunity_id}/answers", json=ANSWER)).json()["id"]
        uploaded = await lead.post(
            f"/api/v1/answers/{answer_id}/attachments", files={"file": ("方案.pdf", PDF, "application/pdf")}
        )
        assert uploaded.status_code == 201
    # As files were kept before: in host A's own folder.
    (tmp_path / "host-a" / "uploads" / "ab").mkdir(parents=True)
    (tmp_path / "host-a" / "uploads" / "ab" / "legacy").write_bytes(PDF)
    async with session_scope(create_sessionmaker(engine)) as session:
        row = await session.get(AnswerAttachment, uploaded.json()["id"])
        row.storage_key = "ab/legacy"
        session.add(row)

    with pytest.raises(RuntimeError, match="move-files"):
        async with _host(own_database, tmp_path / "host-b"):
            pass
    async with session_scope(create_sessionmaker(engine)) as session:  # what `scenematch move-files` does on host A
        assert await move_to_database(session, tmp_path / "host-a" / "uploads", FILE_MODELS) == (1, 0)
    await engine.dispose()
    async with _host(own_database, tmp_path / "host-b") as b:
        lead = await login(b, users["lead"])
        download = await lead.get(uploaded.json()["url"])
        assert download.status_code == 200 and download.content == PDF
