"""The facet counts and the total of a list page are kept per process while nothing changed (the
outbox's change stamp has not moved), the counts for a few seconds after a change; while one request
recounts them, the others show the previous counts instead of queueing behind the recount."""

import asyncio
import time

from backend.auth.actor import ANONYMOUS
from backend.listings.models import ListingKind, ListingStatus
from tests.factories import create_opportunity, create_organisation
from web.pages.listings import query
from web.pages.listings.query import ListingParams, _cached_facets

KIND = ListingKind.opportunity


def _published_count(facets) -> int:
    return next(v.count for v in facets["status"] if v.value == ListingStatus.published)


async def test_a_recount_in_progress_does_not_hold_up_other_pages(session):
    bureau = await create_organisation(session, name="测试市数据局")
    await create_opportunity(session, bureau, title="缓存计数场景一", status=ListingStatus.published)
    query._facet_cache.clear()
    query._facet_locks.clear()
    params = ListingParams()
    first = await _cached_facets(session, ANONYMOUS, KIND, params, ttl=10)
    counted = _published_count(first)

    await create_opportunity(session, bureau, title="缓存计数场景二", status=ListingStatus.published)
    # Within the period the counts are the kept ones.
    assert _published_count(await _cached_facets(session, ANONYMOUS, KIND, params, ttl=10)) == counted

    # The period is over and another request is recounting: this one answers at once, with the previous counts.
    (key,) = query._facet_cache
    query._facet_cache[key] = (time.monotonic() - 60, -1, first)
    async with query._facet_locks[key]:
        waiting = _cached_facets(session, ANONYMOUS, KIND, params, ttl=10)
        assert _published_count(await asyncio.wait_for(waiting, timeout=5)) == counted

    # Once nobody is recounting, the next request counts again and sees the new listing.
    assert _published_count(await _cached_facets(session, ANONYMOUS, KIND, params, ttl=10)) == counted + 1
    query._facet_cache.clear()
    query._facet_locks.clear()


async def test_budget_and_deadline_filters_are_counted_apart(session):
    """Kept counts are per filter: a budget or deadline choice never shows the counts of another."""
    from datetime import timedelta
    from decimal import Decimal

    from backend.kit.china_time import china_today

    bureau = await create_organisation(session, name="缓存分开计数局")
    await create_opportunity(
        session, bureau, title="缓存预算八十万", budget_min=Decimal(80), budget_max=Decimal(80),
        deadline=china_today() + timedelta(days=3), status=ListingStatus.published,
    )  # fmt: skip
    await create_opportunity(
        session, bureau, title="缓存预算三百万", budget_min=Decimal(300), budget_max=Decimal(300),
        status=ListingStatus.published,
    )  # fmt: skip
    query._facet_cache.clear()
    query._facet_locks.clear()
    counts = {}
    for budget, deadline in ((None, None), ("lt100", None), ("100-500", None), (None, "7d"), ("100-500", "7d")):
        params = ListingParams(budget=budget, deadline=deadline)
        facets = await _cached_facets(session, ANONYMOUS, KIND, params, ttl=10)
        counts[budget, deadline] = sum(v.count for v in facets["status"] if v.value == ListingStatus.published)
    assert counts == {(None, None): 2, ("lt100", None): 1, ("100-500", None): 1, (None, "7d"): 1, ("100-500", "7d"): 0}
    assert len(query._facet_cache) == 5
    query._facet_cache.clear()
    query._facet_locks.clear()


async def test_counts_are_kept_while_nothing_changes_and_the_total_is_never_behind(session, monkeypatch):
    bureau = await create_organisation(session, name="缓存戳计数局")
    await create_opportunity(session, bureau, title="戳计数场景一", status=ListingStatus.published)
    query._facet_cache.clear()
    query._facet_locks.clear()
    query._totals.clear()
    recounts = []
    count_facets = query._count_facets

    async def counting(*args, **kwargs):
        recounts.append(1)
        return await count_facets(*args, **kwargs)

    monkeypatch.setattr(query, "_count_facets", counting)
    params = ListingParams()
    first = await query._from_database(session, ANONYMOUS, KIND, params, facet_ttl=10)
    assert len(recounts) == 1

    # Long past the ten seconds, nothing was published: the counts and the total are the kept ones.
    for key, (_, stamp, facets) in list(query._facet_cache.items()):
        query._facet_cache[key] = (time.monotonic() - 60, stamp, facets)
    again = await query._from_database(session, ANONYMOUS, KIND, params, facet_ttl=10)
    assert len(recounts) == 1 and again.total == first.total

    # A publication moves the stamp: the total shows it at once, and the counts, being older than
    # ten seconds, are counted again.
    await create_opportunity(session, bureau, title="戳计数场景二", status=ListingStatus.published)
    after = await query._from_database(session, ANONYMOUS, KIND, params, facet_ttl=10)
    assert after.total == first.total + 1
    assert len(recounts) == 2 and _published_count(after.facets) == _published_count(first.facets) + 1
    query._facet_cache.clear()
    query._facet_locks.clear()
    query._totals.clear()


async def test_a_visitor_browsing_sees_a_change_at_once_though_the_process_keeps_what_visitors_see(
    make_client, session
):
    """The list page presents visitors' listings from the process's cache
    (backend/listings/public_cache.py): a matchmaker's edit shows on the visitor's next page."""
    from backend.auth.models import Role
    from tests.factories import create_user, login

    bureau = await create_organisation(session, name="测试市数据局（浏览缓存）")
    listing = await create_opportunity(session, bureau, title="浏览缓存场景原标题", status=ListingStatus.published)
    visitor, staff = make_client(), make_client()
    assert "浏览缓存场景原标题" in (await visitor.get("/opportunities")).text
    await login(staff, await create_user(session, role=Role.matchmaker))
    edited = await staff.patch(f"/api/v1/opportunities/{listing.id}", json={"title": "浏览缓存场景新标题"})
    assert edited.status_code == 200, edited.text
    page = (await visitor.get("/opportunities")).text
    assert "浏览缓存场景新标题" in page and "浏览缓存场景原标题" not in page
