"""Public pages: home, the lists with search and facets, detail pages, contact privacy."""

from datetime import date, timedelta
from urllib.parse import quote

from backend.auth.models import Role
from backend.listings.models import ListingStatus
from backend.organisations.models import OrganisationKind
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, login

PUBLISHED = ListingStatus.published


async def _farm_listings(session):
    bureau = await create_organisation(session, name="测试市农业农村局")
    await create_opportunity(
        session,
        bureau,
        title="赣州脐橙果园智慧农业监测",
        description="果园墒情与虫情监测，建设智慧农业平台",
        region_code="360700",
        tracks=["smart_agriculture"],
        status=PUBLISHED,
        deadline=date.today() + timedelta(days=40),
    )
    await create_opportunity(
        session,
        bureau,
        title="南昌县水稻智慧农业示范",
        description="稻田无人机植保与智慧农业数据平台",
        region_code="360121",
        tracks=["smart_agriculture", "drones"],
        status=PUBLISHED,
        deadline=date.today() + timedelta(days=5),
    )
    await create_opportunity(
        session,
        bureau,
        title="九江港口智能调度",
        description="港口集装箱调度优化",
        region_code="360400",
        tracks=["iot"],
        status=PUBLISHED,
    )
    await create_opportunity(
        session, bureau, title="未发布的智慧农业草稿", description="草稿", status=ListingStatus.draft
    )
    return bureau


async def test_home_explains_the_platform_and_shows_newest_listings(client, session):
    await _farm_listings(session)
    response = await client.get("/")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="zh-CN">' in html
    assert "政府搭台、各方出卷、企业答题" in html
    assert "赣州脐橙果园智慧农业监测" in html
    assert "未发布的智慧农业草稿" not in html
    assert 'name="q"' in html and 'action="/opportunities"' in html
    assert "已发布机会" in html


async def test_navigation_offers_both_lists_workspace_and_sign_in(client):
    html = (await client.get("/")).text
    for label in ("机会清单", "产品清单", "工作台", "登录"):
        assert f">{label}</a>" in html


async def test_search_finds_published_opportunities_and_highlights_the_words(client, session, sync_index):
    await _farm_listings(session)
    await sync_index()
    response = await client.get("/opportunities", params={"q": "智慧农业"})
    assert response.status_code == 200
    html = response.text
    assert "赣州脐橙果园<mark>智慧农业</mark>监测" in html
    assert "南昌县水稻<mark>智慧农业</mark>示范" in html
    assert "九江港口智能调度" not in html
    assert "未发布的智慧农业草稿" not in html
    assert "共 <strong>2</strong> 条" in html


async def test_facets_show_counts_and_a_city_filter_includes_its_counties(client, session, sync_index):
    await _farm_listings(session)
    await sync_index()
    html = (await client.get("/opportunities", params={"q": "智慧农业"})).text
    assert '<span>南昌市</span><span class="count">1</span>' in html
    assert '<span>赣州市</span><span class="count">1</span>' in html
    assert '<span>智慧农业</span><span class="count">2</span>' in html

    filtered = (await client.get("/opportunities", params={"q": "智慧农业", "region": "360100"})).text
    assert "南昌县水稻" in filtered
    assert "赣州脐橙" not in filtered
    assert "地区：南昌市" in filtered  # the active filter, removable


async def test_the_url_holds_the_whole_query_so_a_search_can_be_shared(client, session, sync_index):
    await _farm_listings(session)
    await sync_index()
    html = (await client.get("/opportunities", params={"q": "智慧农业", "track": "drones", "sort": "deadline"})).text
    assert 'value="智慧农业"' in html
    assert 'name="track" value="drones"' in html
    assert "南昌县水稻" in html and "赣州脐橙" not in html


async def test_sorting_by_deadline_puts_the_soonest_first(client, session, sync_index):
    await _farm_listings(session)
    await sync_index()
    html = (await client.get("/opportunities", params={"q": "智慧农业", "sort": "deadline"})).text
    assert html.index("南昌县水稻") < html.index("赣州脐橙")
    assert "还剩 5 天" in html


async def test_results_are_paged(client, session, sync_index):
    organisation = await create_organisation(session)
    for n in range(23):
        await create_opportunity(session, organisation, title=f"分页测试场景{n:02d}", status=PUBLISHED)
    await sync_index()
    first = (await client.get("/opportunities", params={"q": "分页测试场景"})).text
    assert "第 1–20 条，共 23 条" in first and "下一页" in first
    assert '<span class="current" aria-current="page">1</span>' in first and 'aria-label="第 2 页">2</a>' in first
    second = (await client.get("/opportunities", params={"q": "分页测试场景", "page": 2})).text
    assert second.count("分页测试场景") >= 3 and "上一页" in second and "第 21–23 条，共 23 条" in second


async def test_paging_past_the_end_offers_the_way_back(client, session, sync_index):
    organisation = await create_organisation(session)
    for n in range(3):
        await create_opportunity(session, organisation, title=f"越界测试场景{n}", status=PUBLISHED)
    await sync_index()
    for params in ({"page": 9}, {"q": "越界测试场景", "page": 9}):
        html = (await client.get("/opportunities", params=params)).text
        assert "第 9 页已超出范围" in html, params
        assert "回到第一页" in html and "回到最后一页（第 1 页）" in html


async def test_an_empty_result_says_so_and_suggests_removing_a_filter(client, session, sync_index):
    await _farm_listings(session)
    await sync_index()
    html = (await client.get("/opportunities", params={"q": "智慧农业", "region": "360400"})).text
    assert "没有找到符合条件的机会清单" in html
    assert "去掉“地区”筛选" in html


async def test_bad_query_parameters_are_ignored_not_errors(client):
    response = await client.get(
        "/opportunities", params={"page": "-3", "batch": "abc", "sort": "drop", "region": "<x>"}
    )
    assert response.status_code == 200


async def test_a_search_engine_outage_is_explained_on_list_pages_while_the_rest_works(app, client, session):
    from search import SearchUnavailable

    class StoppedEngine:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise SearchUnavailable("engine stopped by the test")

            return fail

    await _farm_listings(session)
    app.state.search_engine = StoppedEngine()
    response = await client.get("/opportunities", params={"q": "智慧农业"})
    assert response.status_code == 503
    assert "搜索服务暂时不可用" in response.text
    assert ">产品清单</a>" in response.text  # navigation is still there
    browsing = await client.get("/opportunities")  # browsing without a query reads the database
    assert browsing.status_code == 200 and "赣州脐橙果园智慧农业监测" in browsing.text
    assert (await client.get("/")).status_code == 200
    assert (await client.get("/login")).status_code == 200


async def test_visitor_sees_no_contact_details_on_detail_page(client, session):
    organisation = await create_organisation(session)
    opportunity = await create_opportunity(session, organisation, status=PUBLISHED, contact="李工 0791-12345678")
    html = (await client.get(f"/opportunities/{opportunity.id}")).text
    assert opportunity.title in html
    assert "0791-12345678" not in html
    assert "联系方式仅向发布单位和撮合专员开放" in html


async def test_another_organisation_sees_no_contact_details_either(client, session):
    enterprise = await create_organisation(session, kind=OrganisationKind.enterprise)
    await login(client, await create_user(session, role=Role.enterprise, organisation=enterprise))
    opportunity = await create_opportunity(
        session, await create_organisation(session), status=PUBLISHED, contact="李工 0791-12345678"
    )
    assert "0791-12345678" not in (await client.get(f"/opportunities/{opportunity.id}")).text


async def test_the_issuer_sees_its_own_contact_details(client, session):
    organisation = await create_organisation(session)
    await login(client, await create_user(session, role=Role.issuer, organisation=organisation))
    opportunity = await create_opportunity(session, organisation, status=PUBLISHED, contact="李工 0791-12345678")
    assert "0791-12345678" in (await client.get(f"/opportunities/{opportunity.id}")).text


async def test_opportunity_detail_shows_fields_countdown_and_issuer(client, session):
    organisation = await create_organisation(session, name="测试省交通运输厅")
    opportunity = await create_opportunity(
        session,
        organisation,
        status=PUBLISHED,
        budget_text="300-500万元",
        requirements="需提供试点方案",
        deadline=date.today() + timedelta(days=10),
        tracks=["connected_vehicles"],
    )
    html = (await client.get(f"/opportunities/{opportunity.id}")).text
    for fragment in ("测试省交通运输厅", "300-500万元", "需提供试点方案", "还剩 10 天", "智能网联汽车", "答题截止"):
        assert fragment in html


async def test_offering_detail_shows_enterprise_and_reference_cases(client, session):
    enterprise = await create_organisation(session, kind=OrganisationKind.enterprise, name="江西某科技有限公司")
    offering = await create_offering(session, enterprise, status=PUBLISHED, reference_cases="南昌市30个路口上线运行")
    html = (await client.get(f"/offerings/{offering.id}")).text
    assert "江西某科技有限公司" in html
    assert "南昌市30个路口上线运行" in html
    assert "王经理" not in html  # the offering's contact
    assert "匹配的应用场景机会" not in html


async def test_the_enterprise_sees_the_matching_block_on_its_own_offering(client, session):
    enterprise = await create_organisation(session, kind=OrganisationKind.enterprise)
    offering = await create_offering(session, enterprise, status=PUBLISHED)
    await login(client, await create_user(session, role=Role.enterprise, organisation=enterprise))
    html = (await client.get(f"/offerings/{offering.id}")).text
    assert "匹配的应用场景机会" in html and "暂无推荐" in html


async def test_opportunity_matches_are_shown_to_the_issuer_but_not_to_visitors(client, make_client, session):
    organisation = await create_organisation(session)
    opportunity = await create_opportunity(session, organisation, status=PUBLISHED)
    assert "推荐的产品与解决方案" not in (await client.get(f"/opportunities/{opportunity.id}")).text
    issuer = await login(make_client(), await create_user(session, role=Role.issuer, organisation=organisation))
    html = (await issuer.get(f"/opportunities/{opportunity.id}")).text
    assert "推荐的产品与解决方案" in html and "暂无推荐" in html


async def test_a_draft_is_not_found_for_visitors(client, session):
    draft = await create_opportunity(session, await create_organisation(session))
    response = await client.get(f"/opportunities/{draft.id}")
    assert response.status_code == 404
    assert "未找到" in response.text and ">机会清单</a>" in response.text


async def test_a_script_in_a_title_is_shown_as_text(client, session, sync_index):
    organisation = await create_organisation(session)
    opportunity = await create_opportunity(session, organisation, title="<script>alert(1)</script>", status=PUBLISHED)
    await sync_index()
    for path in (f"/opportunities/{opportunity.id}", "/opportunities?q=alert", "/"):
        html = (await client.get(path)).text
        assert "<script>alert(1)</script>" not in html, path
        assert (
            "&lt;script&gt;alert(1)&lt;/script&gt;" in html
            or "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;" in html
        ), path


async def test_a_query_that_finds_nothing_offers_did_you_mean_from_the_index(client, session, sync_index):
    await _farm_listings(session)
    await create_opportunity(session, await create_organisation(session), title="政务区块链电子证照", status=PUBLISHED)
    await create_opportunity(
        session, await create_organisation(session), title="保密的无人机草稿", status=ListingStatus.draft
    )
    await sync_index()
    for typed, expected in (("智慧农", "智慧农业"), ("blockchian", "区块链")):
        html = (await client.get("/opportunities", params={"q": typed})).text
        assert "您是不是要找" in html, typed
        assert f'href="/opportunities?q={quote(expected)}">{expected}</a>' in html, typed
    followed = (await client.get("/opportunities", params={"q": "智慧农业"})).text
    assert "赣州脐橙果园" in followed and "您是不是要找" not in followed
    # A draft's words are never suggested to the public.
    assert f"q={quote('无人机')}" not in (await client.get("/opportunities", params={"q": "无人"})).text


async def test_province_level_listings_can_be_isolated_and_chips_read_in_chinese(client, session, sync_index):
    organisation = await create_organisation(session)
    await create_opportunity(session, organisation, title="全省统一的省级场景", region_code="360000", status=PUBLISHED)
    await create_opportunity(session, organisation, title="南昌市的市级场景", region_code="360100", status=PUBLISHED)
    await sync_index()
    page = (await client.get("/opportunities")).text
    assert "江西省（省级）" in page
    for params in ({"region": "360000"}, {"region": "360000", "q": "场景"}):
        html = (await client.get("/opportunities", params=params)).text
        assert "全省统一的省级" in html and "南昌市的市级" not in html, params  # titles may be marked up
        assert "地区：江西省（省级）" in html
    chips = (await client.get("/opportunities", params={"status": "closed", "batch": 7})).text
    assert "状态：已截止" in chips and "批次：第7批" in chips and "状态：closed" not in chips
