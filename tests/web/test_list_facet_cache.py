"""The facet counts of a list page are kept a few seconds per process; while one request recounts
them, the others show the previous counts instead of queueing behind the recount."""

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
    query._facet_cache[key] = (time.monotonic() - 60, first)
    async with query._facet_locks[key]:
        waiting = _cached_facets(session, ANONYMOUS, KIND, params, ttl=10)
        assert _published_count(await asyncio.wait_for(waiting, timeout=5)) == counted

    # Once nobody is recounting, the next request counts again and sees the new listing.
    assert _published_count(await _cached_facets(session, ANONYMOUS, KIND, params, ttl=10)) == counted + 1
    query._facet_cache.clear()
    query._facet_locks.clear()
