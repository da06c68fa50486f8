"""The outbox sync: writes never wait for the engine, and the index catches up with nothing lost."""

from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.models import Role
from backend.kit.db import utcnow
from backend.listings.models import ListingKind
from backend.outbox.models import OutboxEvent
from backend.searching.documents import all_documents
from backend.searching.sync import ADVISORY_LOCK_KEY, drain, reindex
from search import ListingDocument, SearchUnavailable
from tests.factories import create_opportunity, create_organisation, create_user, login


class SwitchableEngine:
    """Wraps the real engine; while `down`, every call fails the way an unreachable server does."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.down = False

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        attribute = getattr(self.inner, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            if self.down:
                raise SearchUnavailable("engine stopped by the test")
            return attribute(*args, **kwargs)

        return call


async def _database_documents(session: AsyncSession) -> dict[str, ListingDocument]:
    documents: dict[str, ListingDocument] = {}
    async for chunk in all_documents(session):
        documents.update({d.id: d for d in chunk})
    return documents


async def _assert_index_equals_database(session: AsyncSession, engine: SwitchableEngine) -> None:
    expected = await _database_documents(session)
    assert engine.document_ids() == set(expected)
    stored = engine.get(list(expected))
    for doc_id, document in expected.items():
        assert stored[doc_id].to_dict() == document.to_dict(), doc_id


async def _make_due(session: AsyncSession) -> None:
    """Skip the backoff wait so the test does not sleep."""
    for event in (await session.exec(select(OutboxEvent).where(OutboxEvent.processed_at == None))).all():  # noqa: E711
        event.available_at = utcnow()
        session.add(event)
    await session.flush()


async def test_writes_succeed_while_the_engine_is_down_and_the_index_catches_up(app, client, session):
    engine = SwitchableEngine(app.state.search_engine)
    app.state.search_engine = engine
    department = await create_organisation(session)
    await login(client, await create_user(session, role=Role.issuer, organisation=department))

    created = []
    for n in range(6):
        response = await client.post(
            "/api/v1/opportunities", json={"title": f"数字乡村场景{n}", "description": "乡村治理数字化"}
        )
        assert response.status_code == 201
        created.append(response.json()["id"])
        if n == 2:
            assert await drain(session, engine) == 3
            engine.down = True  # the engine stops in the middle of the batch
    await client.patch(f"/api/v1/opportunities/{created[0]}", json={"title": "数字乡村场景0（修订）"})

    assert await drain(session, engine) == 0
    pending = (await session.exec(select(OutboxEvent).where(OutboxEvent.processed_at == None))).all()  # noqa: E711
    assert pending and all(e.attempts == 1 and e.last_error and e.available_at > utcnow() for e in pending)

    search = await client.get("/api/v1/search", params={"q": "数字乡村"})
    assert search.status_code == 503
    assert search.headers["content-type"].startswith("application/problem+json")
    assert "搜索服务暂时不可用" in search.json()["detail"]
    assert (await client.get(f"/api/v1/opportunities/{created[4]}")).status_code == 200

    engine.down = False
    await _make_due(session)
    while await drain(session, engine):
        pass
    await _assert_index_equals_database(session, engine)
    assert (
        engine.get(["opportunity-" + str(created[0])])["opportunity-" + str(created[0])].title
        == "数字乡村场景0（修订）"
    )


async def test_applying_the_same_rows_twice_changes_nothing(app, session):
    engine = SwitchableEngine(app.state.search_engine)
    department = await create_organisation(session)
    opportunity = await create_opportunity(session, department, title="重复投递")
    await drain(session, engine)
    # At-least-once delivery: the same row again (e.g. after a crash before it was marked).
    session.add(OutboxEvent(topic="listing.changed", entity_kind="opportunity", entity_id=opportunity.id))
    await session.flush()
    await drain(session, engine)
    assert engine.doc_count() == 1
    await _assert_index_equals_database(session, engine)


async def test_deleted_listing_leaves_the_index(app, session):
    engine = SwitchableEngine(app.state.search_engine)
    department = await create_organisation(session)
    opportunity = await create_opportunity(session, department, title="将被删除")
    await drain(session, engine)
    await session.delete(opportunity)
    session.add(OutboxEvent(topic="listing.changed", entity_kind=ListingKind.opportunity, entity_id=opportunity.id))
    await session.flush()
    await drain(session, engine)
    assert engine.document_ids() == set()


async def test_reindex_rebuilds_from_the_database(app, session):
    engine = SwitchableEngine(app.state.search_engine)
    department = await create_organisation(session)
    for n in range(3):
        await create_opportunity(session, department, title=f"重建{n}")
    engine.upsert([ListingDocument(id="opportunity-999999", kind="opportunity", listing_id=999999, title="幽灵")])
    assert await reindex(session, engine) == 3
    await _assert_index_equals_database(session, engine)


async def test_only_one_worker_drains_at_a_time(engine: object, app):
    async with engine.connect() as holder_connection, engine.connect() as worker_connection:  # type: ignore[attr-defined]
        holder = AsyncSession(bind=holder_connection)
        worker = AsyncSession(bind=worker_connection)
        await holder.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=ADVISORY_LOCK_KEY))
        worker.add(OutboxEvent(topic="listing.changed", entity_kind="opportunity", entity_id=2_000_000_000))
        await worker.flush()
        assert await drain(worker, app.state.search_engine) == 0  # another worker holds the lock
        await holder.rollback()  # releases the lock
        assert await drain(worker, app.state.search_engine) == 1
        await worker.rollback()
        await holder.close()
        await worker.close()
