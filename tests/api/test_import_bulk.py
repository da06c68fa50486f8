"""The bulk import path: set-based chunks, with a row-by-row replay of any chunk the database refuses."""

from sqlmodel import col, func, select

from backend.auth.actor import Actor
from backend.auth.models import Role
from backend.imports.parsing import parse_listing_file
from backend.imports.service import import_rows
from backend.listings.models import Offering, OfferingTrack, Opportunity, OpportunityTrack
from backend.outbox.models import OutboxEvent
from backend.outbox.service import LISTING_CHANGED, LISTING_PUBLISHED
from tests.factories import create_user, credit_code


def _jsonl(rows: list[dict]) -> bytes:
    import json

    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()


def _row(n: int, **extra: str) -> dict:
    kind = "opportunity" if n % 2 else "offering"
    row = {
        "kind": kind,
        "external_id": f"BULK-{n}",
        "title": f"赣州市智慧农业场景 {n}",
        "organisation": f"赣州市批量导入单位 {n % 3}",
        "region": "赣州市",
        "description": "基于物联网的农田监测",
        "tracks": "物联网、智慧农业平台",
        "domains": "智能生产",
    }
    row.update(extra)
    return row


async def _import(session, rows: list[dict], *, chunk_rows: int, publish: bool = True):
    user = await create_user(session, role=Role.matchmaker)
    parsed, errors = parse_listing_file(_jsonl(rows), "rows.jsonl")
    return await import_rows(
        session, actor=Actor(user=user), rows=parsed, parse_errors=errors, publish=publish, chunk_rows=chunk_rows
    )


async def _count(session, model, prefix: str = "BULK-") -> int:
    statement = select(func.count()).select_from(model).where(col(model.external_id).like(f"{prefix}%"))
    return (await session.exec(statement)).one()


async def test_rows_across_chunks_are_all_kept_with_links_and_one_outbox_row_each(session):
    before = (await session.exec(select(func.max(OutboxEvent.id)))).one() or 0
    report = await _import(session, [_row(n) for n in range(1, 12)], chunk_rows=4)
    assert (report.created, report.updated, report.errors) == (11, 0, [])
    assert await _count(session, Opportunity) == 6 and await _count(session, Offering) == 5
    opportunity = (await session.exec(select(Opportunity).where(Opportunity.external_id == "BULK-3"))).one()
    assert opportunity.status == "published" and opportunity.published_at is not None
    assert opportunity.region_code == "360700"
    assert "智慧农业平台" in opportunity.tags  # kept as a tag beside the track it maps to
    tracks = (
        await session.exec(select(OpportunityTrack.track_code).where(OpportunityTrack.listing_id == opportunity.id))
    ).all()
    assert tracks  # 物联网 maps to a track
    events = (await session.exec(select(OutboxEvent).where(col(OutboxEvent.id) > before))).all()
    indexed = [e for e in events if e.topic == LISTING_CHANGED]
    assert sorted((e.entity_kind, e.entity_id) for e in indexed if e.entity_kind == "opportunity") == sorted(
        ("opportunity", i)
        for i in (await session.exec(select(Opportunity.id).where(col(Opportunity.external_id).like("BULK-%")))).all()
    )
    # Published listings of both kinds are announced to saved searches, each after its indexing row.
    announced = [e for e in events if e.topic == LISTING_PUBLISHED]
    assert len(announced) == 11
    assert all(
        any(c.id < a.id and (c.entity_kind, c.entity_id) == (a.entity_kind, a.entity_id) for c in indexed)
        for a in announced
    )

    again = await _import(session, [_row(n, title=f"改过的标题 {n}") for n in range(1, 12)], chunk_rows=4)
    assert (again.created, again.updated, again.errors) == (0, 11, [])
    assert await _count(session, Opportunity) == 6
    await session.refresh(opportunity)
    assert opportunity.title == "改过的标题 3"
    again_tracks = (
        await session.exec(select(OfferingTrack.track_code).join(Offering).where(Offering.external_id == "BULK-2"))
    ).all()
    assert len(again_tracks) == len(set(again_tracks)) > 0  # links replaced, not doubled


async def test_a_row_the_database_refuses_costs_only_that_row(session):
    # The parser allows a long place; the column holds 200 characters, so the database refuses it.
    rows = [_row(n) for n in range(1, 8)]
    rows[4] = _row(5, region="江西省" + "很长的地名" * 60)
    report = await _import(session, rows, chunk_rows=3)
    assert report.created == 6
    assert [e.row_number for e in report.errors] == [5]  # the fifth line of the file
    reason = report.errors[0].reason
    assert "未导入" in reason and "Error" not in reason  # a sentence, not a driver class name
    assert await _count(session, Opportunity) + await _count(session, Offering) == 6


async def test_two_new_organisations_with_one_credit_code_keep_the_first(session):
    code = credit_code()
    rows = [
        _row(1, organisation="信用代码甲公司", credit_code=code),
        _row(3, organisation="信用代码乙公司", credit_code=code),
        _row(5, organisation="信用代码甲公司"),
    ]
    report = await _import(session, rows, chunk_rows=10)
    assert report.created == 2 and report.organisations_created == 1
    assert [(e.row_number, e.field) for e in report.errors] == [(2, "credit_code")]


async def test_a_bulk_load_refreshes_the_planners_statistics_and_a_small_one_does_not(session):
    """Right after 100k imported rows the planner still believed the tables empty (list pages
    planned on no statistics); the CLI import now analyses once it has written a bulk load."""
    from sqlalchemy import text

    from backend.kit.db import BULK_ROWS, after_bulk_load

    async def analysed() -> int:
        # Counted per table by PostgreSQL's statistics system (pg_stat_get_analyze_count).
        rows = await session.exec(text("select analyze_count from pg_stat_user_tables where relname = 'opportunity'"))
        return rows.one()[0]

    await session.exec(text("select pg_stat_clear_snapshot()"))
    before = await analysed()
    await after_bulk_load(session, BULK_ROWS - 1)
    await session.exec(text("select pg_stat_clear_snapshot()"))
    assert await analysed() == before
    await after_bulk_load(session, BULK_ROWS)
    await session.exec(text("select pg_stat_clear_snapshot()"))
    assert await analysed() == before + 1
