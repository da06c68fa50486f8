"""Budget and deadline filters and the new sorts on the list API (database) and the search API
(search engine): the same listings come back from both."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from backend.kit.china_time import china_today
from backend.listings.models import ListingStatus
from tests.factories import create_offering, create_opportunity, create_organisation

PUBLISHED = ListingStatus.published


async def _opportunities(session, sync_index):
    bureau = await create_organisation(session, name="接口筛选测试局")
    today = china_today()
    rows = {
        # title: (budget_min, budget_max, deadline)
        "接口八十万场景": (80, 80, today + timedelta(days=2)),
        "接口一百万以内场景": (None, 100, None),
        "接口三百到五百万场景": (300, 500, today + timedelta(days=20)),
        "接口五百万以上场景": (500, None, today - timedelta(days=1)),
        "接口面议场景": (None, None, today + timedelta(days=2)),
    }
    made = {}
    for title, (low, high, deadline) in rows.items():
        made[title] = await create_opportunity(
            session,
            bureau,
            title=title,
            budget_min=Decimal(low) if low is not None else None,
            budget_max=Decimal(high) if high is not None else None,
            deadline=deadline,
            status=PUBLISHED,
        )
    await sync_index()
    return {title: listing.id for title, listing in made.items()}, today


async def _both(client, params) -> tuple[set[int], set[int]]:
    """The ids the list API and the search API (without and with words) return for `params`."""
    listed = await client.get("/api/v1/opportunities", params=params)
    assert listed.status_code == 200, listed.text
    searched = await client.get("/api/v1/search", params={**params, "kind": "opportunity"})
    with_words = await client.get("/api/v1/search", params={**params, "kind": "opportunity", "q": "场景"})
    assert searched.status_code == 200 and with_words.status_code == 200, searched.text
    list_ids = {item["id"] for item in listed.json()["items"]}
    search_ids = {hit["id"] for hit in searched.json()["hits"]}
    assert {hit["id"] for hit in with_words.json()["hits"]} == search_ids
    return list_ids, search_ids


async def test_a_budget_range_returns_the_same_opportunities_from_the_database_and_the_engine(
    client, session, sync_index
):
    ids, _ = await _opportunities(session, sync_index)
    cases = {
        (None, 100): {"接口八十万场景", "接口一百万以内场景"},
        (100, 500): {"接口三百到五百万场景"},
        (100, 1000): {"接口三百到五百万场景", "接口五百万以上场景"},
        (1000, None): {"接口五百万以上场景"},
        (0, None): set(ids) - {"接口面议场景"},
    }
    for (start, end), titles in cases.items():
        params = {k: v for k, v in (("budget_from", start), ("budget_to", end)) if v is not None}
        list_ids, search_ids = await _both(client, params)
        assert list_ids == search_ids == {ids[t] for t in titles}, params


async def test_a_deadline_range_returns_dated_opportunities_within_it(client, session, sync_index):
    ids, today = await _opportunities(session, sync_index)
    week = {"deadline_from": today.isoformat(), "deadline_to": (today + timedelta(days=7)).isoformat()}
    list_ids, search_ids = await _both(client, week)
    assert list_ids == search_ids == {ids["接口八十万场景"], ids["接口面议场景"]}
    since = {"deadline_from": today.isoformat()}
    list_ids, search_ids = await _both(client, since)
    assert list_ids == search_ids == {ids["接口八十万场景"], ids["接口面议场景"], ids["接口三百到五百万场景"]}
    both = {**week, "budget_to": 100}
    list_ids, search_ids = await _both(client, both)
    assert list_ids == search_ids == {ids["接口八十万场景"]}


async def test_bad_budget_and_deadline_parameters_are_422(client):
    for params in ({"budget_from": "-1"}, {"budget_to": "0"}, {"budget_to": "很多"}, {"deadline_from": "明天"}):
        for path in ("/api/v1/opportunities", "/api/v1/search"):
            response = await client.get(path, params=params)
            assert response.status_code == 422, (path, params)


async def test_offerings_sort_by_maturity_and_last_update_in_both_apis(client, session, sync_index):
    company = await create_organisation(session, kind="enterprise", name="接口排序科技有限公司")
    base = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    made = []
    for n, (maturity, updated) in enumerate((("concept", 9), ("mature", 3), (None, 7), ("pilot", 1), ("mature", 5))):
        offering = await create_offering(
            session,
            company,
            title=f"接口排序产品{n}",
            maturity=maturity,
            status=PUBLISHED,
            published_at=base + timedelta(days=n),
            modified_at=base + timedelta(days=updated),
        )
        made.append(offering.id)
    await sync_index()
    expected = {"maturity": [made[i] for i in (4, 1, 3, 0, 2)], "updated": [made[i] for i in (0, 2, 4, 1, 3)]}
    for sort, order in expected.items():
        listed = (await client.get("/api/v1/offerings", params={"sort": sort})).json()
        assert [item["id"] for item in listed["items"]] == order, sort
        for q in ("", "接口排序产品"):
            searched = (await client.get("/api/v1/search", params={"kind": "offering", "sort": sort, "q": q})).json()
            assert [hit["id"] for hit in searched["hits"]] == order, (sort, q)
