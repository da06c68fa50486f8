"""Visitors' searches, list and listing pages are answered whole from the process while nothing they show
changed (backend/kit/visitor_answers.py); whoever changes something, visitors see it at once."""

import asyncio
import re
import time
from contextlib import contextmanager

import httpx
from sqlalchemy import event

from backend.auth.models import Role
from backend.kit.visitor_answers import SharedLook
from backend.listings.models import ListingStatus
from backend.outbox.models import OutboxEvent
from backend.outbox.service import change_mark
from tests.factories import create_opportunity, create_organisation, create_user, login


@contextmanager
def statements_on(connection):
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(connection.sync_connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", count)


async def test_a_page_visitors_ask_again_is_answered_with_one_look_and_no_cookie(make_client, session, connection):
    bureau = await create_organisation(session, name="测试市数据局（整页缓存）")
    await create_opportunity(session, bureau, title="整页缓存的数字乡村场景", status=ListingStatus.published)
    visitor = make_client()
    first = await visitor.get("/opportunities")
    assert first.status_code == 200 and "整页缓存的数字乡村场景" in first.text
    # A page without a form writes no CSRF token, so it sets no cookie and is the same for everyone.
    assert "set-cookie" not in first.headers
    with statements_on(connection) as seen:
        again = await visitor.get("/opportunities")
    assert again.text == first.text
    (look,) = [s for s in seen if s.lstrip().startswith("SELECT")]
    assert "FROM outbox_event" in look
    # The sign-in page has a form: it still gets its token and cookie.
    assert "sm_csrf" in (await visitor.get("/login")).headers.get("set-cookie", "")


async def test_a_search_visitors_ask_again_is_answered_with_one_look_and_still_kept_from_browsers(
    make_client, session, connection, sync_index
):
    bureau = await create_organisation(session, name="测试市数据局（搜索缓存）")
    await create_opportunity(session, bureau, title="赣江水质在线监测", status=ListingStatus.published)
    await sync_index()
    visitor = make_client()
    for _ in range(2):
        first = await visitor.get("/api/v1/search", params={"q": "水质"})
    with statements_on(connection) as seen:
        third = await visitor.get("/api/v1/search", params={"q": "水质"})
    assert third.json() == first.json() and [h["title"] for h in third.json()["hits"]] == ["赣江水质在线监测"]
    (look,) = [s for s in seen if s.lstrip().startswith("SELECT")]
    assert "FROM outbox_event" in look
    # API answers change with every write: the browser is still told not to keep them.
    assert third.headers["cache-control"] == "no-store"


async def test_a_listing_page_visitors_ask_again_is_answered_with_one_look(make_client, session, connection):
    bureau = await create_organisation(session, name="测试市数据局（详情缓存）")
    listing = await create_opportunity(session, bureau, title="详情页整页缓存场景", status=ListingStatus.published)
    visitor = make_client()
    first = await visitor.get(f"/opportunities/{listing.id}")
    assert first.status_code == 200 and "详情页整页缓存场景" in first.text and "set-cookie" not in first.headers
    await visitor.get(f"/opportunities/{listing.id}")
    with statements_on(connection) as seen:
        third = await visitor.get(f"/opportunities/{listing.id}")
    assert third.text == first.text
    (look,) = [s for s in seen if s.lstrip().startswith("SELECT")]
    assert "FROM outbox_event" in look
    # Only a listing's own page: its files are answered afresh, whoever asks.
    assert not re.search(r"attachments", "".join(seen))


async def test_an_attachment_added_or_removed_shows_on_a_visitors_kept_listing_page(make_client, session):
    bureau = await create_organisation(session, name="测试市数据局（详情附件）")
    listing = await create_opportunity(session, bureau, title="附件随时可见的场景", status=ListingStatus.published)
    visitor, staff = make_client(), make_client()
    page = f"/opportunities/{listing.id}"
    for _ in range(3):  # asked again and again: the process keeps the visitor's page whole
        assert "场景需求说明书.pdf" not in (await visitor.get(page)).text
    await login(staff, await create_user(session, role=Role.matchmaker))
    added = await staff.post(
        f"/api/v1/opportunities/{listing.id}/attachments",
        files={"file": ("场景需求说明书.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf")},
    )
    assert added.status_code == 201, added.text
    for _ in range(2):
        assert "场景需求说明书.pdf" in (await visitor.get(page)).text
    assert (await staff.delete(added.json()["url"])).status_code == 204
    assert "场景需求说明书.pdf" not in (await visitor.get(page)).text


async def test_a_change_to_a_listing_shows_on_the_next_visitors_page_though_the_page_was_kept(make_client, session):
    bureau = await create_organisation(session, name="测试市数据局（整页缓存改动）")
    listing = await create_opportunity(session, bureau, title="整页缓存原标题", status=ListingStatus.published)
    visitor, staff = make_client(), make_client()
    pages = (f"/opportunities/{listing.id}", "/opportunities")
    for _ in range(3):  # asked more than once: the process keeps the whole page
        for page in pages:
            assert "整页缓存原标题" in (await visitor.get(page)).text
    await login(staff, await create_user(session, role=Role.matchmaker))
    edited = await staff.patch(f"/api/v1/opportunities/{listing.id}", json={"title": "整页缓存新标题"})
    assert edited.status_code == 200, edited.text
    for page in pages:
        shown = (await visitor.get(page)).text
        assert "整页缓存新标题" in shown and "整页缓存原标题" not in shown


async def test_a_publication_shows_in_visitors_searches_once_the_index_has_it(make_client, session, sync_index):
    """The index commits after the database: an answer kept before the commit must not outlive it."""
    bureau = await create_organisation(session, name="测试市数据局（索引代次）")
    await create_opportunity(session, bureau, title="鄱阳湖候鸟监测一期", status=ListingStatus.published)
    await sync_index()
    visitor = make_client()
    before = (await visitor.get("/api/v1/search", params={"q": "候鸟监测"})).json()
    assert [h["title"] for h in before["hits"]] == ["鄱阳湖候鸟监测一期"]
    await create_opportunity(session, bureau, title="鄱阳湖候鸟监测二期", status=ListingStatus.published)
    # Published but not yet indexed: the visitor's search (kept under the new change mark) lacks it.
    assert (await visitor.get("/api/v1/search", params={"q": "候鸟监测"})).json()["total"] == 1
    await sync_index()  # the index's commit changes nothing in the database's change mark
    after = (await visitor.get("/api/v1/search", params={"q": "候鸟监测"})).json()
    assert sorted(h["title"] for h in after["hits"]) == ["鄱阳湖候鸟监测一期", "鄱阳湖候鸟监测二期"]


async def test_signed_in_people_are_never_given_or_give_a_kept_answer(make_client, session):
    bureau = await create_organisation(session, name="测试市数据局（登录不缓存）")
    await create_opportunity(session, bureau, title="登录不缓存的已发布场景", status=ListingStatus.published)
    staff_user = await create_user(session, role=Role.matchmaker, display_name="撮合专员甲")
    visitor, staff = make_client(), make_client()
    await login(staff, staff_user)
    staff_page = (await staff.get("/opportunities")).text
    assert "撮合专员甲" in staff_page
    visitor_page = (await visitor.get("/opportunities")).text
    assert "撮合专员甲" not in visitor_page and "登录不缓存的已发布场景" in visitor_page
    assert "撮合专员甲" in (await staff.get("/opportunities")).text


async def test_a_transaction_that_commits_late_moves_the_change_mark(session):
    """PostgreSQL may commit a lower outbox id after a higher one: the newest id alone would not move."""
    first = OutboxEvent(topic="listing.changed", entity_kind="opportunity", entity_id=1)
    session.add(first)
    await session.flush()
    newest = OutboxEvent(id=first.id + 10, topic="listing.changed", entity_kind="opportunity", entity_id=2)
    session.add(newest)
    await session.flush()
    before = await change_mark(session)
    late = OutboxEvent(id=first.id + 5, topic="listing.changed", entity_kind="opportunity", entity_id=3)
    session.add(late)
    await session.flush()
    after = await change_mark(session)
    assert after[0] == before[0] and after != before


async def test_requests_share_a_look_only_if_it_started_after_they_arrived():
    looks = 0
    release = asyncio.Event()

    async def look():
        nonlocal looks
        looks += 1
        seen = looks
        await release.wait()
        return seen

    shared = SharedLook(look)
    clock = time.monotonic
    first = asyncio.ensure_future(shared(clock()))
    await asyncio.sleep(0)  # the first look is under way
    # These arrive after it began, so it may have missed a write committed just before they came:
    # they wait for it to end and share the next one.
    later = [asyncio.ensure_future(shared(clock())) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert looks == 1  # no second look while the first runs
    release.set()
    assert await first == 1
    assert await asyncio.gather(*later) == [2] * 5
    assert looks == 2


async def test_a_renamed_organisation_shows_under_its_new_name_in_visitors_lists_and_searches(
    make_client, session, sync_index
):
    bureau = await create_organisation(session, name="萍乡市大数据中心（旧名）")
    await create_opportunity(session, bureau, title="萍乡城市运行一网统管", status=ListingStatus.published)
    await sync_index()
    visitor, staff = make_client(), make_client()
    for _ in range(3):
        assert "萍乡市大数据中心（旧名）" in (await visitor.get("/opportunities")).text
    await login(staff, await create_user(session, role=Role.admin))
    renamed = await staff.patch(f"/api/v1/organisations/{bureau.id}", json={"name": "萍乡市数据局"})
    assert renamed.status_code == 200, renamed.text
    page = (await visitor.get("/opportunities")).text
    assert "萍乡市数据局" in page and "萍乡市大数据中心（旧名）" not in page
    assert await sync_index() == 1  # the listing goes to the index again, under the new name
    hits = (await visitor.get("/api/v1/search", params={"q": "萍乡市数据局"})).json()["hits"]
    assert [h["listing"]["organisation"]["name"] for h in hits] == ["萍乡市数据局"]


def _counting_app(sizes: dict[str, int]):
    """An app answering `/p?<name>` with a body of `sizes[name]` bytes, counting what it rendered."""
    rendered: list[str] = []

    async def app(scope, receive, send):
        name = scope["query_string"].decode()
        rendered.append(name)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"x" * sizes[name]})

    return app, rendered


async def test_urls_asked_once_are_kept_only_where_they_fit_and_never_push_popular_answers_out():
    from backend.kit.visitor_answers import KeepVisitorAnswers

    app, rendered = _counting_app({"popular": 40, "other": 40, "one-off": 40, "new": 40})
    word = "unchanged"

    async def look():
        return word

    keeping = KeepVisitorAnswers(
        app, paths=re.compile("/p"), session_cookie="sm_session", look=look, keep_bytes=100, keep_seconds=60
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=keeping), base_url="http://testserver") as visitor:

        async def ask(*names: str) -> None:
            for name in names:
                assert (await visitor.get(f"/p?{name}")).status_code == 200

        await ask("popular", "other", "popular", "other")
        assert rendered == ["popular", "other"]  # room for both: kept from the first asking
        await ask("one-off", "popular", "other")
        assert rendered == ["popular", "other", "one-off"]  # no room, asked once: kept nowhere
        await ask("one-off", "one-off")
        # Asked again, it makes room: the least recently used (popular) goes.
        assert rendered == ["popular", "other", "one-off", "one-off"]
        await ask("other", "popular")
        assert rendered[-1] == "popular"
        word = "changed"  # a write: everything kept before is dropped, and there is room again
        rendered.clear()
        await ask("new", "new", "popular", "popular")
        assert rendered == ["new", "popular"]


async def test_a_page_with_a_form_is_never_handed_to_another_visitor():
    """A form's CSRF token is the browser's own: such a page says no-store, and is never kept."""
    from backend.kit.visitor_answers import KeepVisitorAnswers

    rendered = 0

    async def page_with_a_form(scope, receive, send):
        nonlocal rendered
        rendered += 1
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": f"token {rendered}".encode()})

    async def same_as_ever():
        return "unchanged"

    app = KeepVisitorAnswers(
        page_with_a_form,
        paths=re.compile("/p"),
        session_cookie="sm_session",
        look=same_as_ever,
        keep_bytes=1 << 20,
        keep_seconds=60,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        bodies = [(await client.get("/p")).text for _ in range(3)]
    assert bodies == ["token 1", "token 2", "token 3"]


async def test_pages_with_a_form_say_no_store_to_shared_caches(make_client):
    visitor = make_client()
    login = await visitor.get("/login")
    assert 'name="csrf_token"' in login.text and login.headers["cache-control"] == "no-store"
    listing = await visitor.get("/opportunities")
    assert 'name="csrf_token"' not in listing.text and "no-store" not in listing.headers.get("cache-control", "")
