"""答题 and 评审 pages: an enterprise answers from the opportunity page, the issuer reviews and
decides, interests are approved or declined — and answers stay confidential on every page."""

import re
from datetime import date, timedelta

from sqlmodel import select

from backend.answers.models import Answer
from backend.auth.models import Role
from backend.interests.models import Interest
from backend.listings.models import ListingStatus
from backend.pairings.models import Pairing
from tests.factories import PASSWORD, create_offering, create_opportunity, create_organisation, create_user
from tests.web.helpers import csrf_from, post_form, sign_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ANSWER = {
    "title": "鹰潭全域水务物联网方案",
    "summary": "以 NB-IoT 智能水表和漏损分析平台实现全域监测",
    "solution": "分三期建设",
    "price_text": "约 180 万元",
    "price_amount": "180",
    "delivery_plan": "六个月交付",
}


async def _setup(session):
    department = await create_organisation(session, name="鹰潭市数据局（答题页面）")
    opportunity = await create_opportunity(
        session,
        department,
        title="鹰潭物联网水务监测",
        status=ListingStatus.published,
        deadline=date.today() + timedelta(days=30),
        contact="李工 0701-1234567",
    )
    lead = await create_organisation(session, kind="enterprise", name="鹰潭感知科技有限公司")
    partner = await create_organisation(session, kind="enterprise", name="南昌水务软件有限公司")
    rival = await create_organisation(session, kind="enterprise", name="竞争对手科技有限公司")
    users = {
        "issuer": await create_user(session, role=Role.issuer, organisation=department, display_name="出卷人甲"),
        "colleague": await create_user(session, role=Role.issuer, organisation=department, display_name="评审人乙"),
        "lead": await create_user(session, role=Role.enterprise, organisation=lead),
        "partner": await create_user(session, role=Role.enterprise, organisation=partner),
        "rival": await create_user(session, role=Role.enterprise, organisation=rival),
        "matchmaker": await create_user(session, role=Role.matchmaker),
    }
    offering = await create_offering(session, lead, title="NB-IoT 智能水表", status=ListingStatus.published)
    return opportunity, {"lead": lead, "partner": partner}, users, offering


async def _as(make_client, user):
    client = make_client()
    await sign_in(client, user.email, PASSWORD)
    return client


async def _draft(client, opportunity, **changes) -> int:
    response = await post_form(client, f"/opportunities/{opportunity.id}/answer", {**ANSWER, **changes})
    assert response.status_code == 303, response.text
    match = re.match(r"/answers/(\d+)\?done=created", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def _submit(client, answer_id):
    return await post_form(
        client, f"/answers/{answer_id}/submit", {"confirm": "yes"}, token_from=f"/answers/{answer_id}"
    )


# --- enterprise: answering ----------------------------------------------------------------


async def test_an_enterprise_answers_from_the_opportunity_page_uploads_and_submits(make_client, session):
    opportunity, _, users, offering = await _setup(session)
    lead = await _as(make_client, users["lead"])
    page = (await lead.get(f"/opportunities/{opportunity.id}")).text
    assert f'href="/opportunities/{opportunity.id}/answer">我要答题</a>' in page

    form = (await lead.get(f"/opportunities/{opportunity.id}/answer")).text
    for name in (
        "title",
        "summary",
        "solution",
        "price_text",
        "price_amount",
        "delivery_plan",
        "offering_ids",
        "members",
        "csrf_token",
    ):
        assert f'name="{name}"' in form, name
    assert "500 字以内" in form and "NB-IoT 智能水表" in form

    answer_id = await _draft(lead, opportunity, offering_ids=[str(offering.id)])
    detail = (await lead.get(f"/answers/{answer_id}?done=created")).text
    assert "草稿已保存" in detail and "草稿" in detail and "NB-IoT 智能水表" in detail

    token = await csrf_from(lead, f"/answers/{answer_id}")
    uploaded = await lead.post(
        f"/answers/{answer_id}/attachments",
        data={"csrf_token": token},
        files={"file": ("实施方案.pdf", PDF, "application/pdf")},
    )
    assert uploaded.status_code == 303 and uploaded.headers["location"] == f"/answers/{answer_id}?done=uploaded"
    detail = (await lead.get(f"/answers/{answer_id}")).text
    link = re.search(r'href="(/api/v1/answers/\d+/attachments/\d+)" download>实施方案.pdf</a>', detail)
    assert link, detail

    submitted = await _submit(lead, answer_id)
    assert submitted.status_code == 303
    detail = (await lead.get(submitted.headers["location"])).text
    assert "答题已提交" in detail and "已提交" in detail and "提交答题" not in detail
    assert "变更为「已提交」" in detail  # the audit log
    # Back on the opportunity page, the enterprise sees its answer instead of the button.
    page = (await lead.get(f"/opportunities/{opportunity.id}")).text
    assert f'href="/answers/{answer_id}">鹰潭全域水务物联网方案</a>' in page and "我要答题</a>" not in page

    issuer = await _as(make_client, users["issuer"])
    listing = (await issuer.get(f"/opportunities/{opportunity.id}/answers")).text
    assert "鹰潭全域水务物联网方案" in listing and "鹰潭感知科技有限公司" in listing
    seen = (await issuer.get(f"/answers/{answer_id}")).text
    assert "实施方案.pdf" in seen and "以 NB-IoT 智能水表" in seen
    download = await issuer.get(link.group(1))  # the API URL works with the page's session cookie
    assert download.status_code == 200 and download.content == PDF


async def test_the_issuer_never_sees_a_draft(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await _as(make_client, users["lead"])
    answer_id = await _draft(lead, opportunity)
    issuer = await _as(make_client, users["issuer"])
    listing = (await issuer.get(f"/opportunities/{opportunity.id}/answers")).text
    assert "鹰潭全域水务物联网方案" not in listing and "还没有提交的答题" in listing
    assert (await issuer.get(f"/answers/{answer_id}")).status_code == 404
    assert "已提交的答题（0 份）" in (await issuer.get(f"/opportunities/{opportunity.id}")).text


async def test_another_enterprise_gets_404_on_the_answer_page_and_its_attachment(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await _as(make_client, users["lead"])
    answer_id = await _draft(lead, opportunity)
    token = await csrf_from(lead, f"/answers/{answer_id}")
    await lead.post(
        f"/answers/{answer_id}/attachments",
        data={"csrf_token": token},
        files={"file": ("方案.pdf", PDF, "application/pdf")},
    )
    url = re.search(
        r'href="(/api/v1/answers/\d+/attachments/\d+)"', (await lead.get(f"/answers/{answer_id}")).text
    ).group(1)
    await _submit(lead, answer_id)

    rival = await _as(make_client, users["rival"])
    page = await rival.get(f"/answers/{answer_id}")
    assert page.status_code == 404 and "鹰潭全域水务物联网方案" not in page.text
    assert (await rival.get(url)).status_code == 404
    assert (await rival.get(f"/opportunities/{opportunity.id}/answers")).status_code == 404
    assert (await rival.get(f"/answers/{answer_id}/edit")).status_code == 404
    refused = await post_form(rival, f"/answers/{answer_id}/withdraw", {}, token_from="/answers")
    assert refused.status_code == 404
    assert "鹰潭全域水务物联网方案" not in (await rival.get("/answers")).text


async def test_a_visitor_sees_no_answers(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await _as(make_client, users["lead"])
    answer_id = await _draft(lead, opportunity)
    await _submit(lead, answer_id)
    visitor = make_client()
    page = (await visitor.get(f"/opportunities/{opportunity.id}")).text
    assert "鹰潭全域水务物联网方案" not in page and "操作记录" not in page
    assert "登录</a>企业账号后可答题" in page
    for path in (f"/answers/{answer_id}", f"/opportunities/{opportunity.id}/answers", "/answers"):
        response = await visitor.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), path


async def test_form_errors_are_shown_in_chinese_and_nothing_typed_is_lost(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await _as(make_client, users["lead"])
    response = await post_form(
        lead,
        f"/opportunities/{opportunity.id}/answer",
        {
            **ANSWER,
            "title": "",
            "summary": "长" * 501,
            "price_amount": "很多",
            "members": "不存在的企业有限公司",
        },
    )
    assert response.status_code == 422
    html = response.text
    assert 'id="title-error">请填写答题标题' in html
    assert 'id="members-error">找不到组织「不存在的企业有限公司」' in html
    assert "分三期建设" in html  # what was typed is still there
    assert (await session.exec(select(Answer).where(Answer.opportunity_id == opportunity.id))).first() is None

    response = await post_form(
        lead, f"/opportunities/{opportunity.id}/answer", {**ANSWER, "summary": "长" * 501, "price_amount": "很多"}
    )
    assert response.status_code == 422
    assert 'id="summary-error">' in response.text and 'id="price_amount-error">' in response.text


async def test_submission_refusals_are_explained(make_client, session):
    opportunity, _orgs, users, _ = await _setup(session)
    lead = await _as(make_client, users["lead"])
    answer_id = await _draft(lead, opportunity, summary="", members="南昌水务软件有限公司")

    refused = await _submit(lead, answer_id)
    assert refused.status_code == 422 and "提交前请填写摘要" in refused.text
    edited = await post_form(lead, f"/answers/{answer_id}/edit", {**ANSWER, "members": "南昌水务软件有限公司"})
    assert edited.status_code == 303
    refused = await _submit(lead, answer_id)
    assert refused.status_code == 409 and "联合体成员尚未全部确认参与，暂不能提交" in refused.text

    # 我要答题 again leads to the existing answer rather than a second form.
    again = await lead.get(f"/opportunities/{opportunity.id}/answer")
    assert again.status_code == 303 and again.headers["location"] == f"/answers/{answer_id}"

    opportunity.deadline = date.today() - timedelta(days=1)
    session.add(opportunity)
    await session.flush()
    late = await _submit(lead, answer_id)
    assert late.status_code == 409 and "该机会已截止，不能再答题" in late.text
    answer = await session.get(Answer, answer_id)
    await session.refresh(answer)
    assert answer.status == "draft"


async def test_a_second_answer_from_the_same_enterprise_is_refused_in_chinese(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await _as(make_client, users["lead"])
    await _draft(lead, opportunity)
    token = await csrf_from(lead, "/answers")
    response = await lead.post(f"/opportunities/{opportunity.id}/answer", data={**ANSWER, "csrf_token": token})
    assert response.status_code == 409
    assert "贵企业已对该机会答题（单独或作为联合体成员），不能重复答题" in response.text


async def test_a_consortium_member_confirms_from_my_answers_then_the_lead_submits(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await _as(make_client, users["lead"])
    answer_id = await _draft(lead, opportunity, members="南昌水务软件有限公司")

    partner = await _as(make_client, users["partner"])
    mine = (await partner.get("/answers")).text
    assert "联合体邀请（1）" in mine and "确认参与" in mine and "拒绝" in mine and "鹰潭感知科技有限公司" in mine
    confirmed = await post_form(partner, f"/answers/{answer_id}/membership", {"accept": "yes"}, token_from="/answers")
    assert confirmed.status_code == 303
    assert "已确认参与" in (await partner.get(confirmed.headers["location"])).text
    assert "联合体邀请（0）" in (await partner.get("/answers")).text

    assert (await _submit(lead, answer_id)).status_code == 303
    assert "已提交" in (await partner.get("/answers")).text


async def test_declining_a_consortium_invitation_removes_the_answer_from_the_member(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await _as(make_client, users["lead"])
    answer_id = await _draft(lead, opportunity, members="南昌水务软件有限公司")
    partner = await _as(make_client, users["partner"])
    declined = await post_form(partner, f"/answers/{answer_id}/membership", {"accept": "no"}, token_from="/answers")
    assert declined.status_code == 303 and declined.headers["location"] == "/answers?done=declined"
    assert "鹰潭全域水务物联网方案" not in (await partner.get("/answers?done=declined")).text
    assert (await partner.get(f"/answers/{answer_id}")).status_code == 404
    assert "已拒绝" in (await lead.get(f"/answers/{answer_id}")).text


async def test_a_disguised_attachment_is_refused_with_a_message(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await _as(make_client, users["lead"])
    answer_id = await _draft(lead, opportunity)
    token = await csrf_from(lead, f"/answers/{answer_id}")
    bad = await lead.post(
        f"/answers/{answer_id}/attachments",
        data={"csrf_token": token},
        files={"file": ("报价.pdf", b"MZ\x90\x00binary", "application/pdf")},
    )
    assert bad.status_code == 422 and "文件内容与扩展名 .pdf 不符，已拒绝" in bad.text
    empty = await lead.post(f"/answers/{answer_id}/attachments", data={"csrf_token": token})
    assert empty.status_code == 422 and "请选择要上传的文件" in empty.text
    assert "没有附件" in (await lead.get(f"/answers/{answer_id}")).text


async def test_the_lead_withdraws_a_submitted_answer(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await _as(make_client, users["lead"])
    answer_id = await _draft(lead, opportunity)
    await _submit(lead, answer_id)
    withdrawn = await post_form(lead, f"/answers/{answer_id}/withdraw", {}, token_from=f"/answers/{answer_id}")
    assert withdrawn.status_code == 303
    assert "答题已撤回" in (await lead.get(withdrawn.headers["location"])).text
    assert (await session.get(Answer, answer_id)).status == "withdrawn"


async def test_forms_without_the_csrf_token_are_refused(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await _as(make_client, users["lead"])
    response = await lead.post(f"/opportunities/{opportunity.id}/answer", data=ANSWER)
    assert response.status_code == 403 and "表单已过期或来源不明" in response.text
    assert (await session.exec(select(Answer).where(Answer.opportunity_id == opportunity.id))).first() is None


# --- issuer: review, decisions, winners ---------------------------------------------------


async def _submitted(make_client, opportunity, users) -> int:
    lead = await _as(make_client, users["lead"])
    answer_id = await _draft(lead, opportunity)
    assert (await _submit(lead, answer_id)).status_code == 303
    return answer_id


async def test_the_issuer_sets_weighted_criteria_invites_a_reviewer_scores_decides_and_publishes(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    answer_id = await _submitted(make_client, opportunity, users)
    issuer = await _as(make_client, users["issuer"])
    judging = f"/opportunities/{opportunity.id}/answers"

    bad = await post_form(
        issuer,
        f"/opportunities/{opportunity.id}/criteria",
        {"criterion_name": ["技术方案", "报价"], "criterion_weight": ["60", "abc"]},
        token_from=judging,
    )
    assert bad.status_code == 422 and "第 2 行：权重应为 1 到 100 之间的整数" in bad.text
    saved = await post_form(
        issuer,
        f"/opportunities/{opportunity.id}/criteria",
        {"criterion_name": ["技术方案", "报价", ""], "criterion_weight": ["60", "40", ""]},
        token_from=judging,
    )
    assert saved.status_code == 303
    page = (await issuer.get(saved.headers["location"])).text
    assert "评审标准已保存" in page and "权重合计 100" in page and 'value="技术方案"' in page
    assert "评审人乙" in page  # a colleague can be invited

    invited = await post_form(
        issuer, f"/opportunities/{opportunity.id}/reviewers", {"user_id": str(users["issuer"].id)}, token_from=judging
    )
    assert invited.status_code == 303

    early = await post_form(
        issuer, f"/answers/{answer_id}/decision", {"status": "shortlisted"}, token_from=f"/answers/{answer_id}"
    )
    assert early.status_code == 409 and "评审尚未完成" in early.text

    form = (await issuer.get(f"/answers/{answer_id}")).text
    ids = re.findall(r'name="score_(\d+)"', form)
    assert len(ids) == 2 and "技术方案（权重 60）" in form
    no_comment = await post_form(
        issuer,
        f"/answers/{answer_id}/review",
        {f"score_{ids[0]}": "80", f"score_{ids[1]}": "90", "comment": ""},
        token_from=f"/answers/{answer_id}",
    )
    assert no_comment.status_code == 422 and "评分必须填写评语" in no_comment.text and 'value="80"' in no_comment.text
    out_of_range = await post_form(
        issuer,
        f"/answers/{answer_id}/review",
        {f"score_{ids[0]}": "180", f"score_{ids[1]}": "90", "comment": "好"},
        token_from=f"/answers/{answer_id}",
    )
    assert out_of_range.status_code == 422 and "「技术方案」的分数应为 0 到 100 之间的整数" in out_of_range.text
    scored = await post_form(
        issuer,
        f"/answers/{answer_id}/review",
        {f"score_{ids[0]}": "80", f"score_{ids[1]}": "90", "comment": "方案成熟"},
        token_from=f"/answers/{answer_id}",
    )
    assert scored.status_code == 303
    page = (await issuer.get(f"/answers/{answer_id}")).text
    assert "加权总分 <strong>84.00</strong>" in page and "方案成熟" in page

    shortlisted = await post_form(
        issuer, f"/answers/{answer_id}/decision", {"status": "shortlisted"}, token_from=f"/answers/{answer_id}"
    )
    assert shortlisted.status_code == 303, shortlisted.text  # 入围 is not final: no tick needed
    # 中选 is final and told to the answerer at once: without the tick it is refused, nothing changes.
    unticked = await post_form(
        issuer, f"/answers/{answer_id}/decision", {"status": "selected"}, token_from=f"/answers/{answer_id}"
    )
    assert unticked.status_code == 422 and "中选和未中选是最终结论，请先勾选确认" in unticked.text
    assert 'name="confirm"' in unticked.text
    assert (await session.exec(select(Pairing).where(Pairing.answer_id == answer_id))).first() is None
    decided = await post_form(
        issuer,
        f"/answers/{answer_id}/decision",
        {"status": "selected", "confirm": "yes"},
        token_from=f"/answers/{answer_id}",
    )
    assert decided.status_code == 303, decided.text
    assert "中选" in (await issuer.get(f"/answers/{answer_id}")).text
    pairing = (await session.exec(select(Pairing).where(Pairing.answer_id == answer_id))).one()
    assert pairing.stage == "recommended"

    visitor = make_client()
    assert "中选结果" not in (await visitor.get(f"/opportunities/{opportunity.id}")).text
    unticked = await post_form(issuer, f"/opportunities/{opportunity.id}/winners/publish", {}, token_from=judging)
    assert unticked.status_code == 422 and "公示开始后不能撤回" in unticked.text  # irreversible: asks first
    assert "中选结果" not in (await visitor.get(f"/opportunities/{opportunity.id}")).text
    published = await post_form(
        issuer, f"/opportunities/{opportunity.id}/winners/publish", {"confirm": "yes"}, token_from=judging
    )
    assert published.status_code == 303
    public = (await visitor.get(f"/opportunities/{opportunity.id}")).text
    assert "中选结果" in public and "鹰潭全域水务物联网方案" in public and "牵头企业：鹰潭感知科技有限公司" in public
    assert "分三期建设" not in public  # only title, summary and names are public


async def test_publishing_without_a_selected_answer_is_refused(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    issuer = await _as(make_client, users["issuer"])
    judging = f"/opportunities/{opportunity.id}/answers"
    refused = await post_form(
        issuer, f"/opportunities/{opportunity.id}/winners/publish", {"confirm": "yes"}, token_from=judging
    )
    assert refused.status_code == 409 and "还没有中选的答题" in refused.text


async def test_a_reviewer_recuses_with_a_reason(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    answer_id = await _submitted(make_client, opportunity, users)
    issuer = await _as(make_client, users["issuer"])
    judging = f"/opportunities/{opportunity.id}/answers"
    await post_form(
        issuer,
        f"/opportunities/{opportunity.id}/criteria",
        {"criterion_name": ["技术方案"], "criterion_weight": ["100"]},
        token_from=judging,
    )
    await post_form(
        issuer,
        f"/opportunities/{opportunity.id}/reviewers",
        {"user_id": str(users["colleague"].id)},
        token_from=judging,
    )

    colleague = await _as(make_client, users["colleague"])
    empty = await post_form(
        colleague, f"/answers/{answer_id}/recuse", {"reason": ""}, token_from=f"/answers/{answer_id}"
    )
    assert empty.status_code == 422 and "回避时请填写理由" in empty.text
    recused = await post_form(
        colleague, f"/answers/{answer_id}/recuse", {"reason": "曾在该企业任职"}, token_from=f"/answers/{answer_id}"
    )
    assert recused.status_code == 303
    page = (await issuer.get(f"/answers/{answer_id}")).text
    assert "已回避" in page and "曾在该企业任职" in page
    # An enterprise never sees the reviews of its own answer.
    lead_view = (await (await _as(make_client, users["lead"])).get(f"/answers/{answer_id}")).text
    assert "曾在该企业任职" not in lead_view and "评审意见" not in lead_view


# --- interests ----------------------------------------------------------------------------


async def test_an_enterprise_expresses_interest_and_the_issuer_declines_then_approves(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await _as(make_client, users["lead"])
    page = (await lead.get(f"/opportunities/{opportunity.id}")).text
    assert "我有兴趣" in page and "李工 0701-1234567" not in page
    sent = await post_form(
        lead,
        f"/opportunities/{opportunity.id}/interest",
        {"message": "我们有成熟案例"},
        token_from=f"/opportunities/{opportunity.id}",
    )
    assert sent.status_code == 303
    page = (await lead.get(sent.headers["location"])).text
    assert "已表达合作意向" in page and "待审批" in page and ">我有兴趣</button>" not in page
    again = await post_form(
        lead,
        f"/opportunities/{opportunity.id}/interest",
        {"message": ""},
        token_from=f"/opportunities/{opportunity.id}/interest",
    )
    assert again.status_code == 409 and "请勿重复提交" in again.text

    issuer = await _as(make_client, users["issuer"])
    judging = f"/opportunities/{opportunity.id}/answers"
    pending = (await issuer.get(judging)).text
    assert "待审批的合作意向（1）" in pending and "我们有成熟案例" in pending
    interest = (await session.exec(select(Interest).where(Interest.opportunity_id == opportunity.id))).one()
    no_reason = await post_form(
        issuer, f"/interests/{interest.id}/decline", {"reason": "", "next": judging}, token_from=judging
    )
    assert no_reason.status_code == 422 and "婉拒时请填写原因" in no_reason.text
    approved = await post_form(issuer, f"/interests/{interest.id}/approve", {"next": judging}, token_from=judging)
    assert approved.status_code == 303 and approved.headers["location"] == f"{judging}?done=approved"

    mine = (await lead.get("/interests")).text
    assert "已同意引荐" in mine and "李工 0701-1234567" in mine
    assert "李工 0701-1234567" in (await lead.get(f"/opportunities/{opportunity.id}")).text
    rival = await _as(make_client, users["rival"])
    assert "鹰潭物联网水务监测" not in (await rival.get("/interests")).text


async def test_an_enterprise_withdraws_a_pending_interest(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    lead = await _as(make_client, users["lead"])
    await post_form(
        lead,
        f"/opportunities/{opportunity.id}/interest",
        {"message": ""},
        token_from=f"/opportunities/{opportunity.id}",
    )
    interest = (await session.exec(select(Interest).where(Interest.opportunity_id == opportunity.id))).one()
    assert "撤回意向" in (await lead.get("/interests")).text
    withdrawn = await post_form(lead, f"/interests/{interest.id}/withdraw", {}, token_from="/interests")
    assert withdrawn.status_code == 303
    assert "意向已撤回" in (await lead.get(withdrawn.headers["location"])).text
    # The enterprise may try again afterwards.
    assert ">我有兴趣</button>" in (await lead.get(f"/opportunities/{opportunity.id}")).text


async def test_the_opportunity_history_is_shown_to_its_issuer_only(make_client, session):
    opportunity, _, users, _ = await _setup(session)
    issuer = await _as(make_client, users["issuer"])
    from backend.audit import service as audit

    await audit.record(
        session,
        actor=None,
        entity_kind="opportunity",
        entity_id=opportunity.id,
        action="status:published",
        from_state="pending_review",
        to_state="published",
    )
    assert "变更为「已发布」" in (await issuer.get(f"/opportunities/{opportunity.id}")).text
    lead = await _as(make_client, users["lead"])
    assert "操作记录" not in (await lead.get(f"/opportunities/{opportunity.id}")).text
