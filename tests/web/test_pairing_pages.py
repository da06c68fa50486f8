"""The pairing board and a pairing's page: stages with counts, steps, moving on with the version
that was read, declining with a reason, and who may see what."""

import re

from backend.auth.actor import Actor
from backend.auth.models import Role
from backend.listings.models import ListingStatus
from backend.pairings import service as pairings
from backend.pairings.models import Pairing
from tests.factories import PASSWORD, create_offering, create_opportunity, create_organisation, create_user
from tests.web.helpers import post_form, sign_in


async def _setup(session):
    department = await create_organisation(session, name="赣州市工信局（对接页面）")
    enterprise = await create_organisation(session, kind="enterprise", name="赣州智造科技有限公司")
    other = await create_organisation(session, kind="enterprise", name="无关科技有限公司")
    opportunity = await create_opportunity(
        session, department, title="赣州稀土园区能耗监测", status=ListingStatus.published
    )
    offering = await create_offering(session, enterprise, title="园区能耗在线监测平台", status=ListingStatus.published)
    users = {
        "matchmaker": await create_user(session, role=Role.matchmaker, display_name="撮合专员小王"),
        "second_matchmaker": await create_user(session, role=Role.matchmaker),
        "issuer": await create_user(session, role=Role.issuer, organisation=department),
        "enterprise": await create_user(session, role=Role.enterprise, organisation=enterprise),
        "other": await create_user(session, role=Role.enterprise, organisation=other),
    }
    pairing = await pairings.create(
        session,
        actor=Actor(user=users["matchmaker"]),
        opportunity_id=opportunity.id,
        offering_id=offering.id,
        note="匹配度高，建议对接",
    )
    return pairing, users


async def _as(make_client, user):
    client = make_client()
    await sign_in(client, user.email, PASSWORD)
    return client


async def _move(client, pairing_id, stage, version, note=""):
    return await post_form(
        client,
        f"/pairings/{pairing_id}/move",
        {"stage": stage, "version": str(version), "note": note},
        token_from=f"/pairings/{pairing_id}",
    )


async def test_the_board_groups_pairings_by_stage_with_counts(make_client, session):
    pairing, users = await _setup(session)
    matchmaker = await _as(make_client, users["matchmaker"])
    html = (await matchmaker.get("/pairings")).text
    labels = ["推荐", "意向", "洽谈", "首试首用/试点", "签约", "示范", "未达成"]
    positions = [
        html.index(f'id="stage-heading-{stage}">{label}')
        for stage, label in zip(
            ["recommended", "intent", "negotiation", "pilot", "signed", "demonstration", "declined"],
            labels,
            strict=True,
        )
    ]
    assert positions == sorted(positions)  # in pipeline order
    recommended = html[html.index('id="stage-recommended"') : html.index('id="stage-intent"')]
    assert (
        f'href="/pairings/{pairing.id}">赣州稀土园区能耗监测</a>' in recommended
        and "赣州智造科技有限公司" in recommended
    )
    assert re.search(r"<strong>\d+</strong><span>推荐</span>", html)


async def test_a_matchmaker_moves_a_pairing_on_and_the_steps_are_shown(make_client, session):
    pairing, users = await _setup(session)
    matchmaker = await _as(make_client, users["matchmaker"])
    page = (await matchmaker.get(f"/pairings/{pairing.id}")).text
    assert "匹配度高，建议对接" in page and "撮合专员小王" in page
    assert 'name="version" value="1"' in page and "推进到「意向」" in page

    moved = await _move(matchmaker, pairing.id, "intent", 1, "双方已电话沟通")
    assert moved.status_code == 303 and moved.headers["location"] == f"/pairings/{pairing.id}?done=moved"
    page = (await matchmaker.get(moved.headers["location"])).text
    assert "对接阶段已更新" in page and "推荐 → 意向" in page and "双方已电话沟通" in page
    assert 'name="version" value="2"' in page and "推进到「洽谈」" in page
    assert "变更为「意向」" in page  # the audit log


async def test_an_answer_joining_the_pairing_is_shown_as_a_step_that_keeps_the_stage(make_client, session):
    from backend.answers.models import Answer, AnswerStatus

    pairing, users = await _setup(session)
    answer = Answer(
        opportunity_id=pairing.opportunity_id,
        lead_organisation_id=pairing.organisation_id,
        title="能耗监测方案",
        status=AnswerStatus.selected,
    )
    session.add(answer)
    await session.flush()
    await pairings.open_for_answer(
        session,
        actor=Actor(user=users["issuer"]),
        opportunity_id=pairing.opportunity_id,
        organisation_id=pairing.organisation_id,
        answer_id=answer.id,
    )
    page = (await (await _as(make_client, users["matchmaker"])).get(f"/pairings/{pairing.id}")).text
    assert f"答题 #{answer.id} 中选，已关联到本对接" in page
    assert "推荐 → 推荐" not in page and "推荐（阶段不变）" in page and "仍为「推荐」" in page  # steps and audit log


async def test_a_stale_version_is_refused_with_a_refresh_message(make_client, session):
    pairing, users = await _setup(session)
    first = await _as(make_client, users["matchmaker"])
    second = await _as(make_client, users["second_matchmaker"])
    assert (await _move(first, pairing.id, "intent", 1)).status_code == 303
    stale = await _move(second, pairing.id, "intent", 1, "我也想推进")
    assert stale.status_code == 409
    assert "该对接已被他人更新，请刷新后重试" in stale.text
    assert "我也想推进" in stale.text  # the note typed is kept for another try
    await session.refresh(pairing)
    assert pairing.stage == "intent" and pairing.version == 2


async def test_declining_needs_a_reason(make_client, session):
    pairing, users = await _setup(session)
    matchmaker = await _as(make_client, users["matchmaker"])
    refused = await _move(matchmaker, pairing.id, "declined", 1, "")
    assert refused.status_code == 422 and "未达成时请填写原因" in refused.text
    skipped = await _move(matchmaker, pairing.id, "signed", 1)
    assert skipped.status_code == 409 and "下一阶段只能是「意向」" in skipped.text
    declined = await _move(matchmaker, pairing.id, "declined", 1, "预算不足")
    assert declined.status_code == 303
    page = (await matchmaker.get(f"/pairings/{pairing.id}")).text
    assert "已标记为未达成" not in page  # notice only right after the move
    assert "未达成原因" in page and "预算不足" in page and "推进到" not in page
    board = (await matchmaker.get("/pairings")).text
    declined_column = board[board.index('id="stage-declined"') :]
    assert "赣州稀土园区能耗监测" in declined_column


async def test_the_parties_see_the_pairing_without_the_move_forms_and_others_get_404(make_client, session):
    pairing, users = await _setup(session)
    for role in ("enterprise", "issuer"):
        client = await _as(make_client, users[role])
        page = await client.get(f"/pairings/{pairing.id}")
        assert page.status_code == 200 and "赣州稀土园区能耗监测" in page.text
        assert "推进到" not in page.text and 'action="/pairings/' not in page.text
        assert "赣州稀土园区能耗监测" in (await client.get("/pairings")).text
    enterprise = await _as(make_client, users["enterprise"])
    refused = await _move(enterprise, pairing.id, "intent", 1)
    assert refused.status_code == 403 and "只有撮合专员可以推进对接" in refused.text
    assert (await session.get(Pairing, pairing.id)).stage == "recommended"

    other = await _as(make_client, users["other"])
    assert (await other.get(f"/pairings/{pairing.id}")).status_code == 404
    assert "赣州稀土园区能耗监测" not in (await other.get("/pairings")).text
    visitor = make_client()
    response = await visitor.get("/pairings")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/pairings"


async def test_moving_without_the_csrf_token_is_refused(make_client, session):
    pairing, users = await _setup(session)
    matchmaker = await _as(make_client, users["matchmaker"])
    response = await matchmaker.post(f"/pairings/{pairing.id}/move", data={"stage": "intent", "version": "1"})
    assert response.status_code == 403
    await session.refresh(pairing)
    assert pairing.stage == "recommended"


async def test_a_pairing_at_demonstration_offers_to_register_a_demonstration_project(make_client, session):
    pairing, users = await _setup(session)
    matchmaker = await _as(make_client, users["matchmaker"])
    for version, stage in enumerate(["intent", "negotiation", "pilot", "signed", "demonstration"], start=1):
        assert (await _move(matchmaker, pairing.id, stage, version)).status_code == 303
    page = (await matchmaker.get(f"/pairings/{pairing.id}")).text
    assert f'href="/demonstration/projects/new?pairing_id={pairing.id}"' in page
    assert "标记为未达成" not in page  # a finished pipeline cannot be declined any more
    form = (await matchmaker.get(f"/demonstration/projects/new?pairing_id={pairing.id}")).text
    assert "赣州稀土园区能耗监测" in form


async def test_the_board_filters_by_words_city_track_and_stage_and_shows_no_version_counter(make_client, session):
    pairing, users = await _setup(session)
    matchmaker = await _as(make_client, users["matchmaker"])
    link = f'href="/pairings/{pairing.id}"'
    assert link in (await matchmaker.get("/pairings", params={"q": "稀土 智造"})).text
    assert link not in (await matchmaker.get("/pairings", params={"q": "不存在的词"})).text
    assert link in (await matchmaker.get("/pairings", params={"city": "360100"})).text  # the factory's 南昌市
    assert link not in (await matchmaker.get("/pairings", params={"city": "360700"})).text
    assert link not in (await matchmaker.get("/pairings", params={"track": "iot"})).text  # the opportunity has none
    assert link in (await matchmaker.get("/pairings", params={"stage": "recommended"})).text
    filtered = (await matchmaker.get("/pairings", params={"stage": "signed"})).text
    assert link not in filtered and "没有符合筛选条件的对接" in filtered
    assert '<option value="signed" selected>' in filtered
    detail = (await matchmaker.get(f"/pairings/{pairing.id}")).text
    assert "版本" not in detail


async def test_the_board_names_the_province_as_the_list_pages_do(make_client, session):
    """The city choice 360000 means the province-level opportunities, as on the lists: 江西省（省级）."""
    pairing, users = await _setup(session)
    department = await create_organisation(session, name="江西省工信厅（对接页面）")
    enterprise = await create_organisation(session, kind="enterprise", name="省级对接科技有限公司")
    opportunity = await create_opportunity(
        session, department, title="全省工业互联网平台", region_code="360000", status=ListingStatus.published
    )
    offering = await create_offering(session, enterprise, title="工业互联网平台产品", status=ListingStatus.published)
    provincial = await pairings.create(
        session, actor=Actor(user=users["matchmaker"]), opportunity_id=opportunity.id, offering_id=offering.id, note=""
    )
    matchmaker = await _as(make_client, users["matchmaker"])
    html = (await matchmaker.get("/pairings")).text
    assert '<option value="360000">江西省（省级）</option>' in html
    assert '<option value="360100">南昌市</option>' in html
    chosen = (await matchmaker.get("/pairings", params={"city": "360000"})).text
    assert '<option value="360000" selected>江西省（省级）</option>' in chosen
    assert f'href="/pairings/{provincial.id}"' in chosen and f'href="/pairings/{pairing.id}"' not in chosen
