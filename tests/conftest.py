"""Test fixtures: one fresh PostgreSQL database per session, one rolled-back transaction per test."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.app import create_app
from backend.dependencies import get_session
from backend.kit.db import create_engine, create_sessionmaker, session_scope
from backend.kit.migrate import upgrade
from backend.seeding import seed_reference_data
from backend.settings import Environment, Settings

PG_HOST = os.environ.get("SCENEMATCH_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SCENEMATCH_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("SCENEMATCH_TEST_PG_USER", "postgres")


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database created for this test session, built by the real migrations and seeded with the taxonomies."""
    name = f"scenematch_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    try:
        upgrade(url)

        async def _seed() -> None:
            engine = create_engine(url)
            async with session_scope(create_sessionmaker(engine)) as session:
                await seed_reference_data(session)
            await engine.dispose()

        asyncio.run(_seed())
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """Everything a test does, through the API or directly, is rolled back afterwards."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        env=Environment.testing,
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret",
        run_sync_worker=False,  # tests drain the outbox themselves, inside their transaction
        run_mail_worker=False,  # likewise the email outbox, against a local SMTP server
        # Every test's writes are rolled back: counts kept from one test must not show in the next.
        list_facet_cache_seconds=0,
    )


@pytest.fixture
async def app(settings: Settings, session: AsyncSession) -> AsyncIterator[object]:
    app = create_app(settings)

    async def _request_transaction() -> AsyncIterator[AsyncSession]:
        # Like the real dependency: the request's work is kept on success and undone on error.
        savepoint = await session.begin_nested()
        try:
            yield session
        except BaseException:
            if savepoint.is_active:
                await savepoint.rollback()
            raise
        else:
            if savepoint.is_active:
                await savepoint.commit()

    app.dependency_overrides[get_session] = _request_transaction
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:  # type: ignore[arg-type]
        yield client


@pytest.fixture
async def make_client(app: object) -> AsyncIterator[object]:
    """Extra clients, each with its own cookie jar, for tests with several people."""
    clients: list[httpx.AsyncClient] = []

    def _make() -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")  # type: ignore[arg-type]
        clients.append(c)
        return c

    yield _make
    for c in clients:
        await c.aclose()


@pytest.fixture
def search_engine(app: object):
    return app.state.search_engine  # type: ignore[attr-defined]


@pytest.fixture
def sync_index(session: AsyncSession, search_engine: object):
    """Apply pending outbox rows to the search engine, as the worker would."""
    from backend.searching.sync import drain

    async def _sync() -> int:
        total = 0
        while applied := await drain(session, search_engine):  # type: ignore[arg-type]
            total += applied
        return total

    return _sync
