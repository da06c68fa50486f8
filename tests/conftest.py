"""Test fixtures: one fresh PostgreSQL database per session, one rolled-back transaction per test.

Requests go through the app's own session dependency (opened, committed or rolled back, closed per
request), so what a person sees after an error is what the tests see.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.app import create_app
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
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection per test in an outer transaction that is rolled back: nothing a test does is kept."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


def joined_sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions whose commit and rollback are savepoints inside the test's outer transaction."""
    return async_sessionmaker(
        bind=connection, class_=AsyncSession, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """The test's own session (factories, direct checks), on the same connection as every request."""
    session = joined_sessionmaker(connection)()
    try:
        yield session
    finally:
        await session.close()


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
async def app(settings: Settings, connection: AsyncConnection, session: AsyncSession) -> AsyncIterator[object]:
    """The real app with its real session dependency: each request opens, commits or rolls back, and
    closes its own session, exactly as in production; only the sessions are bound to the test's
    connection, so their commits are savepoints that the test's rollback undoes."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.sessionmaker = joined_sessionmaker(connection)
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
