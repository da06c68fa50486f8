"""结果公示 / 异议, 中选 joining an existing pairing, and the notices of the answer cycle.

Every notice is checked where a person would see it: the inbox (Notification rows through the
API) and the email outbox (EmailMessage rows addressed to them).
"""

from datetime import UTC, date, datetime, timedelta

from sqlmodel import col, select

from backend.answers import reminders as answer_reminders
from backend.answers.models import Answer
from backend.auth.models import Role
from backend.kit.db import utcnow
from backend.listings.models import ListingStatus
from backend.notifications import service as notifications
from backend.notifications.models import EmailMessage, Notification
from backend.pairings.models import Pairing, PairingStep
from backend.results import service as results
from backend.results.models import ResultNotice
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, login

REASON = "中选企业的业绩材料与公开信息不符，请核查。"


async def _kinds(session, user) -> list[str]:
    rows = await session.exec(select(Notification.kind).where(Notification.user_id == user.id))
    return list(rows.all())


async def _mail_subjects(session, user) -> list[str]:
    rows = await session.exec(select(EmailMessage.subject).where(EmailMessage.to_address == user.email))
    return list(rows.all())


async def _cycle(session, make_client, *, enterprises: int = 1):
    """A published opportunity with criteria, one reviewer and `enterprises` submitted answers."""
    department = await create_organisation(session, name="赣州市工信局（公示测试）")
    issuer_user = await create_user(session, role=Role.issuer, organisation=department)
    opportunity = await create_opportunity(
        session,
        department,
        title="赣南脐橙产业数字化",
        status=ListingStatus.published,
        deadline=date.today() + timedelta(days=10),
    )
    issuer = await login(make_client(), issuer_user)
    criteria = await issuer.put(
        f"/api/v1/opportunities/{opportunity.id}/criteria", json={"criteria": [{"name": "技术方案", "weight": 100}]}
    )
    criterion = str(criteria.json()[0]["id"])
    assert (
        await issuer.post(f"/api/v1/opportunities/{opportunity.id}/reviewers", json={"user_id": issuer_user.id})
    ).status_code == 204
    answerers = []
    for n in range(enterprises):
        organisation = await create_organisation(session, kind="enterprise", name=f"脐橙数字科技{n}号有限公司")
        user = await create_user(session, role=Role.enterprise, organisation=organisation)
        client = await login(make_client(), user)
        answer = (
            await client.post(
                f"/api/v1/opportunities/{opportunity.id}/answers",
                json={"title": f"方案{n}", "summary": "果园物联网与溯源", "solution": "……"},
            )
        ).json()
        assert (await client.post(f"/api/v1/answers/{answer['id']}/submit")).status_code == 200
        scored = await issuer.put(
            f"/api/v1/answers/{answer['id']}/review", json={"scores": {criterion: 80 - n}, "comment": "可行"}
        )
        assert scored.status_code == 200, scored.text
        answerers.append({"organisation": organisation, "user": user, "client": client, "answer_id": answer["id"]})
    return opportunity, issuer, issuer_user, answerers


async def _select(issuer, answer_id: int) -> None:
    for status in ("shortlisted", "selected"):
        response = await issuer.post(f"/api/v1/answers/{answer_id}/decision", json={"status": status})
        assert response.status_code == 200, response.text


async def _end_period(session, notice_id: int) -> None:
    """Move the notice's end into the past in the database, as time passing would."""
    notice = await session.get(ResultNotice, notice_id)
    notice.ends_at = utcnow() - timedelta(minutes=1)
    session.add(notice)
    await session.flush()


# --- 中选 joins an existing pairing ----------------------------------------------------------


async def test_selection_joins_the_pairing_an_accepted_match_opened(make_client, session):
    department = await create_organisation(session)
    issuer_user = await create_user(session, role=Role.issuer, organisation=department)
    opportunity = await create_opportunity(
        session, department, status=ListingStatus.published, deadline=date.today() + timedelta(days=5)
    )
    enterprise = await create_organisation(session, kind="enterprise")
    answerer = await create_user(session, role=Role.enterprise, organisation=enterprise)
    offering = await create_offering(session, enterprise, status=ListingStatus.published)
    staff = await login(make_client(), await create_user(session, role=Role.matchmaker))
    # The matchmaker accepts the recommended match first: pairing #N exists before any answer.
    accepted = await staff.post("/api/v1/pairings", json={"opportunity_id": opportunity.id, "offering_id": offering.id})
    assert accepted.status_code == 201, accepted.text
    pairing_id = accepted.json()["id"]

    lead = await login(make_client(), answerer)
    answer = (
        await lead.post(f"/api/v1/opportunities/{opportunity.id}/answers", json={"title": "方案", "summary": "摘要"})
    ).json()
    await lead.post(f"/api/v1/answers/{answer['id']}/submit")
    issuer = await login(make_client(), issuer_user)
    criteria = await issuer.put(
        f"/api/v1/opportunities/{opportunity.id}/criteria", json={"criteria": [{"name": "方案", "weight": 1}]}
    )
    await issuer.post(f"/api/v1/opportunities/{opportunity.id}/reviewers", json={"user_id": issuer_user.id})
    await issuer.put(
        f"/api/v1/answers/{answer['id']}/review", json={"scores": {str(criteria.json()[0]["id"]): 90}, "comment": "好"}
    )
    await _select(issuer, answer["id"])

    pairings = (await session.exec(select(Pairing).where(Pairing.opportunity_id == opportunity.id))).all()
    assert [p.id for p in pairings] == [pairing_id]  # joined, not a second pairing, not a 409
    assert pairings[0].answer_id == answer["id"] and pairings[0].stage == "recommended"
    notes = (await session.exec(select(PairingStep.note).where(PairingStep.pairing_id == pairing_id))).all()
    assert any(f"答题 #{answer['id']} 中选" in note for note in notes)
    history = (await staff.get(f"/api/v1/history/pairing/{pairing_id}")).json()
    assert any("中选" in h["note"] for h in history)


async def test_selection_reopens_a_pairing_that_was_set_to_declined(make_client, session):
    opportunity, issuer, _, answerers = await _cycle(session, make_client)
    staff = await login(make_client(), await create_user(session, role=Role.matchmaker))
    organisation = answerers[0]["organisation"]
    created = await staff.post(
        "/api/v1/pairings", json={"opportunity_id": opportunity.id, "organisation_id": organisation.id}
    )
    pairing = created.json()
    declined = await staff.post(
        f"/api/v1/pairings/{pairing['id']}/stage",
        json={"stage": "declined", "note": "企业暂无意向", "version": pairing["version"]},
    )
    assert declined.status_code == 200, declined.text

    await _select(issuer, answerers[0]["answer_id"])
    reopened = await session.get(Pairing, pairing["id"])
    await session.refresh(reopened)
    assert reopened.stage == "recommended" and reopened.answer_id == answerers[0]["answer_id"]
    assert reopened.decline_reason == ""


async def test_the_decision_says_what_is_missing_before_review_can_start(make_client, session):
    department = await create_organisation(session)
    issuer_user = await create_user(session, role=Role.issuer, organisation=department)
    opportunity = await create_opportunity(
        session, department, status=ListingStatus.published, deadline=date.today() + timedelta(days=5)
    )
    answerer = await create_user(
        session, role=Role.enterprise, organisation=await create_organisation(session, kind="enterprise")
    )
    lead = await login(make_client(), answerer)
    answer = (
        await lead.post(f"/api/v1/opportunities/{opportunity.id}/answers", json={"title": "方案", "summary": "摘要"})
    ).json()
    await lead.post(f"/api/v1/answers/{answer['id']}/submit")
    issuer = await login(make_client(), issuer_user)

    no_criteria = await issuer.post(f"/api/v1/answers/{answer['id']}/decision", json={"status": "shortlisted"})
    assert no_criteria.status_code == 409 and "请先设置评审标准" in no_criteria.json()["detail"]
    await issuer.put(
        f"/api/v1/opportunities/{opportunity.id}/criteria", json={"criteria": [{"name": "方案", "weight": 1}]}
    )
    no_panel = await issuer.post(f"/api/v1/answers/{answer['id']}/decision", json={"status": "shortlisted"})
    assert no_panel.status_code == 409 and "请先邀请评审人" in no_panel.json()["detail"]
    await issuer.post(f"/api/v1/opportunities/{opportunity.id}/reviewers", json={"user_id": issuer_user.id})
    waiting = await issuer.post(f"/api/v1/answers/{answer['id']}/decision", json={"status": "shortlisted"})
    assert waiting.status_code == 409 and "（已完成 0 / 1）" in waiting.json()["detail"]

    page = (await issuer.get(f"/answers/{answer['id']}")).text
    assert "请先邀请评审人" not in page and "评审尚未完成" in page and "disabled" in page


# --- 公示 rules --------------------------------------------------------------------------------


def test_working_days_skip_the_weekend():
    friday_noon = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)  # 12:00 in Beijing, a Friday
    end = results.add_working_days(friday_noon, 5)
    # Mon 7 … Fri 11 December are the five working days; the period ends at 24:00 on the 11th.
    assert end == datetime(2026, 12, 11, 16, 0, tzinfo=UTC)
    assert results.add_working_days(friday_noon, 1) == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)


async def test_objections_only_during_the_period_by_a_signed_in_person_and_answered_before_final(make_client, session):
    opportunity, issuer, issuer_user, answerers = await _cycle(session, make_client)
    answer_id = answerers[0]["answer_id"]
    await _select(issuer, answer_id)
    published = await issuer.post(f"/api/v1/opportunities/{opportunity.id}/result-notice", json={"working_days": 5})
    assert published.status_code == 201, published.text
    notice = published.json()
    assert notice["status"] == "open" and [e["title"] for e in notice["entries"]] == ["方案0"]
    again = await issuer.post(f"/api/v1/opportunities/{opportunity.id}/result-notice", json={})
    assert again.status_code == 409

    visitor = make_client()
    assert [n["id"] for n in (await visitor.get("/api/v1/result-notices")).json()] == [notice["id"]]
    anonymous = await visitor.post(
        f"/api/v1/result-notices/{notice['id']}/objections", json={"real_name": "张三", "reason": REASON}
    )
    assert anonymous.status_code == 401

    rival_user = await create_user(
        session, role=Role.enterprise, organisation=await create_organisation(session, kind="enterprise")
    )
    rival = await login(make_client(), rival_user)
    unnamed = await rival.post(
        f"/api/v1/result-notices/{notice['id']}/objections", json={"real_name": " ", "reason": REASON}
    )
    assert unnamed.status_code == 422 and unnamed.json()["field"] == "real_name"
    unreasoned = await rival.post(
        f"/api/v1/result-notices/{notice['id']}/objections", json={"real_name": "李四", "reason": "不服"}
    )
    assert unreasoned.status_code == 422 and unreasoned.json()["field"] == "reason"
    filed = await rival.post(
        f"/api/v1/result-notices/{notice['id']}/objections",
        json={"real_name": "李四", "phone": "13800000000", "reason": REASON, "answer_id": answer_id},
    )
    assert filed.status_code == 201, filed.text
    assert "objection_filed" in await _kinds(session, issuer_user)

    # Objections are for the issuer and matchmakers; the objector reads their own; others nothing.
    assert [o["real_name"] for o in (await issuer.get(f"/api/v1/result-notices/{notice['id']}/objections")).json()] == [
        "李四"
    ]
    assert (await answerers[0]["client"].get(f"/api/v1/result-notices/{notice['id']}/objections")).json() == []
    assert len((await rival.get(f"/api/v1/result-notices/{notice['id']}/objections")).json()) == 1
    # The objector may not answer their own objection.
    assert (
        await rival.post(f"/api/v1/objections/{filed.json()['id']}/response", json={"upheld": False, "response": "x"})
    ).status_code == 404

    early = await issuer.post(f"/api/v1/result-notices/{notice['id']}/finalize")
    assert early.status_code == 409 and "公示期尚未结束" in early.json()["detail"]

    await _end_period(session, notice["id"])
    late = await rival.post(
        f"/api/v1/result-notices/{notice['id']}/objections", json={"real_name": "李四", "reason": REASON}
    )
    assert late.status_code == 409 and "公示期已结束" in late.json()["detail"]
    unanswered = await issuer.post(f"/api/v1/result-notices/{notice['id']}/finalize")
    assert unanswered.status_code == 409 and "未答复" in unanswered.json()["detail"]
    # The worker does not finalise it either while an objection waits.
    assert await results.finalize_due(session) == 0

    blank = await issuer.post(
        f"/api/v1/objections/{filed.json()['id']}/response", json={"upheld": False, "response": " "}
    )
    assert blank.status_code == 422
    answered = await issuer.post(
        f"/api/v1/objections/{filed.json()['id']}/response",
        json={"upheld": False, "response": "经核查，业绩材料真实有效，异议不成立。"},
    )
    assert answered.status_code == 200 and answered.json()["status"] == "rejected"
    assert "objection_answered" in await _kinds(session, rival_user)

    final = await issuer.post(f"/api/v1/result-notices/{notice['id']}/finalize")
    assert final.status_code == 200 and final.json()["status"] == "final"
    pairing = (await session.exec(select(Pairing).where(Pairing.answer_id == answer_id))).one()
    await session.refresh(pairing)
    assert pairing.stage == "intent"  # the pairing moves on once the result is final
    for user in (issuer_user, answerers[0]["user"], rival_user):
        assert "result_final" in await _kinds(session, user)
        assert any(s.startswith("中选结果已生效") for s in await _mail_subjects(session, user))


async def test_an_upheld_objection_reopens_the_decision(make_client, session):
    opportunity, issuer, _issuer_user, answerers = await _cycle(session, make_client, enterprises=2)
    winner, other = answerers
    await _select(issuer, winner["answer_id"])
    await issuer.post(f"/api/v1/answers/{other['answer_id']}/decision", json={"status": "shortlisted"})
    notice = (await issuer.post(f"/api/v1/opportunities/{opportunity.id}/winners/publish")).json()
    # The answer still open at publication is 未中选 now, and its enterprise was told.
    assert (await other["client"].get(f"/api/v1/answers/{other['answer_id']}")).json()["status"] == "not_selected"
    assert "answer_not_selected" in await _kinds(session, other["user"])
    assert [
        w["title"] for w in (await make_client().get(f"/api/v1/opportunities/{opportunity.id}/winners")).json()
    ] == ["方案0"]

    objection = await other["client"].post(
        f"/api/v1/result-notices/{notice['id']}/objections", json={"real_name": "王五", "reason": REASON}
    )
    upheld = await issuer.post(
        f"/api/v1/objections/{objection.json()['id']}/response",
        json={"upheld": True, "response": "经核查，中选企业的业绩材料有误，重新评审。"},
    )
    assert upheld.status_code == 200 and upheld.json()["status"] == "upheld"
    assert (await make_client().get(f"/api/v1/result-notices/{notice['id']}")).json()["status"] == "reopened"
    assert (await issuer.get(f"/api/v1/answers/{winner['answer_id']}")).json()["status"] == "shortlisted"
    assert (await issuer.get(f"/api/v1/answers/{other['answer_id']}")).json()["status"] == "shortlisted"
    assert (await make_client().get(f"/api/v1/opportunities/{opportunity.id}/winners")).json() == []
    assert "result_reopened" in await _kinds(session, winner["user"])
    # A reopened result can never become final; a new decision and a new notice can.
    await _end_period(session, notice["id"])
    assert (await issuer.post(f"/api/v1/result-notices/{notice['id']}/finalize")).status_code == 409
    await issuer.post(f"/api/v1/answers/{other['answer_id']}/decision", json={"status": "selected"})
    second = await issuer.post(f"/api/v1/opportunities/{opportunity.id}/result-notice", json={"working_days": 3})
    assert second.status_code == 201 and [e["title"] for e in second.json()["entries"]] == ["方案1"]


async def test_visitors_see_winners_published_renamed_and_withdrawn_at_once(make_client, session):
    """A visitor's opportunity page is kept whole while nothing on it changes
    (backend/kit/visitor_answers.py): the winners' publication, a winner's new name and an
    upheld objection each show on the very next visit."""
    opportunity, issuer, _issuer_user, answerers = await _cycle(session, make_client, enterprises=2)
    winner, other = answerers
    visitor, page = make_client(), f"/opportunities/{opportunity.id}"
    for _ in range(3):
        assert "中选结果" not in (await visitor.get(page)).text
    await _select(issuer, winner["answer_id"])
    await issuer.post(f"/api/v1/answers/{other['answer_id']}/decision", json={"status": "shortlisted"})
    notice = (await issuer.post(f"/api/v1/opportunities/{opportunity.id}/winners/publish")).json()
    for _ in range(2):
        shown = (await visitor.get(page)).text
        assert "中选结果" in shown and "牵头企业：脐橙数字科技0号有限公司" in shown

    renamed = await winner["client"].patch(
        f"/api/v1/organisations/{winner['organisation'].id}", json={"name": "赣南脐橙云科技有限公司"}
    )
    assert renamed.status_code == 200, renamed.text
    assert "牵头企业：赣南脐橙云科技有限公司" in (await visitor.get(page)).text

    objection = await other["client"].post(
        f"/api/v1/result-notices/{notice['id']}/objections", json={"real_name": "王五", "reason": REASON}
    )
    await issuer.post(
        f"/api/v1/objections/{objection.json()['id']}/response",
        json={"upheld": True, "response": "经核查，中选企业的业绩材料有误，重新评审。"},
    )
    assert "中选结果" not in (await visitor.get(page)).text


async def test_the_worker_makes_an_unopposed_result_final_once_the_period_ends(make_client, session):
    opportunity, issuer, issuer_user, answerers = await _cycle(session, make_client)
    await _select(issuer, answerers[0]["answer_id"])
    notice = (
        await issuer.post(f"/api/v1/opportunities/{opportunity.id}/result-notice", json={"working_days": 2})
    ).json()
    ends_at = (await session.get(ResultNotice, notice["id"])).ends_at

    assert await results.run_periodic(session, now=ends_at - timedelta(days=2)) == 0  # too early for anything
    assert await results.run_periodic(session, now=ends_at - timedelta(hours=12)) == 1  # the "ending" reminder
    assert await results.run_periodic(session, now=ends_at - timedelta(hours=6)) == 0  # never twice
    assert (await _kinds(session, issuer_user)).count("result_notice_ending") == 1
    assert await results.run_periodic(session, now=ends_at + timedelta(minutes=1)) == 1  # final
    assert await results.run_periodic(session, now=ends_at + timedelta(days=1)) == 0
    assert (await make_client().get(f"/api/v1/result-notices/{notice['id']}")).json()["status"] == "final"
    assert "result_final" in await _kinds(session, answerers[0]["user"])


# --- notices for every step ------------------------------------------------------------------


async def test_each_step_of_the_cycle_notifies_the_person_who_acts_next(make_client, session):
    department = await create_organisation(session, name="萍乡市大数据中心（通知测试）")
    issuer_user = await create_user(session, role=Role.issuer, organisation=department)
    colleague = await create_user(session, role=Role.issuer, organisation=department)
    staff = await login(make_client(), await create_user(session, role=Role.matchmaker))
    issuer = await login(make_client(), issuer_user)

    # Listing sent back with a reason, then published: the owner hears both.
    draft = await issuer.post(
        "/api/v1/opportunities",
        json={
            "title": "萍乡城市生命线监测",
            "description": "燃气、供水管网监测",
            "deadline": str(date.today() + timedelta(days=20)),
        },
    )
    assert draft.status_code == 201, draft.text
    opportunity_id = draft.json()["id"]
    await issuer.post(f"/api/v1/opportunities/{opportunity_id}/submit")
    await staff.post(f"/api/v1/opportunities/{opportunity_id}/return", json={"reason": "请补充预算范围"})
    notes = (await issuer.get("/api/v1/notifications")).json()["items"]
    assert notes[0]["kind"] == "listing_sent_back" and "请补充预算范围" in notes[0]["body"]
    assert notes[0]["link"] == f"/workspace/opportunities/{opportunity_id}/edit"
    await issuer.post(f"/api/v1/opportunities/{opportunity_id}/submit")
    published = await staff.post(f"/api/v1/opportunities/{opportunity_id}/publish")
    assert published.status_code == 200, published.text
    assert "listing_published" in await _kinds(session, issuer_user)

    # A consortium answer: the member is asked to confirm; the issuer hears when it is submitted.
    lead_org = await create_organisation(session, kind="enterprise", name="萍乡感知科技有限公司")
    member_org = await create_organisation(session, kind="enterprise", name="安源管网软件有限公司")
    lead_user = await create_user(session, role=Role.enterprise, organisation=lead_org)
    member_user = await create_user(session, role=Role.enterprise, organisation=member_org)
    lead = await login(make_client(), lead_user)
    member = await login(make_client(), member_user)
    answer = (
        await lead.post(
            f"/api/v1/opportunities/{opportunity_id}/answers",
            json={"title": "生命线联合方案", "summary": "感知+平台", "member_organisation_ids": [member_org.id]},
        )
    ).json()
    invitation = (await member.get("/api/v1/notifications")).json()["items"][0]
    assert invitation["kind"] == "consortium_invitation" and invitation["link"] == f"/answers/{answer['id']}"
    await member.post(f"/api/v1/answers/{answer['id']}/membership", json={"accept": True})
    await lead.post(f"/api/v1/answers/{answer['id']}/submit")
    arrived = (await issuer.get("/api/v1/notifications")).json()["items"][0]
    assert arrived["kind"] == "answer_submitted" and arrived["link"] == f"/opportunities/{opportunity_id}/answers"
    assert any(s.startswith("收到新的答题") for s in await _mail_subjects(session, issuer_user))

    # Reviewer assigned; shortlisted and selected reach both consortium enterprises.
    criteria = await issuer.put(
        f"/api/v1/opportunities/{opportunity_id}/criteria", json={"criteria": [{"name": "方案", "weight": 1}]}
    )
    await issuer.post(f"/api/v1/opportunities/{opportunity_id}/reviewers", json={"user_id": colleague.id})
    assert "reviewer_assigned" in await _kinds(session, colleague)
    reviewer = await login(make_client(), colleague)
    await reviewer.put(
        f"/api/v1/answers/{answer['id']}/review", json={"scores": {str(criteria.json()[0]["id"]): 88}, "comment": "好"}
    )
    await _select(issuer, answer["id"])
    for user in (lead_user, member_user):
        kinds = await _kinds(session, user)
        assert "answer_shortlisted" in kinds and "answer_selected" in kinds
        assert any(s.startswith("您的答题已中选") for s in await _mail_subjects(session, user))
    notice = (await issuer.post(f"/api/v1/opportunities/{opportunity_id}/result-notice", json={})).json()
    assert "result_notice_published" in await _kinds(session, member_user)
    assert (await member.get("/api/v1/notifications")).json()["items"][0]["link"] == f"/results/{notice['id']}"


async def test_not_selected_answerers_are_told_the_reason(make_client, session):
    _opportunity, issuer, _, answerers = await _cycle(session, make_client)
    refused = await issuer.post(
        f"/api/v1/answers/{answerers[0]['answer_id']}/decision",
        json={"status": "not_selected", "note": "报价超出预算上限"},
    )
    assert refused.status_code == 200
    told = (await answerers[0]["client"].get("/api/v1/notifications")).json()["items"][0]
    assert told["kind"] == "answer_not_selected" and "出卷方说明：报价超出预算上限" in told["body"]


async def test_a_digest_preference_collects_mail_into_one_daily_email(make_client, session):
    user = await create_user(
        session, role=Role.enterprise, organisation=await create_organisation(session, kind="enterprise")
    )
    client = await login(make_client(), user)
    saved = await client.put(
        "/api/v1/notifications/preferences",
        json={"choices": {"answer_selected": "digest", "answer_shortlisted": "off"}},
    )
    assert saved.status_code == 200
    by_kind = {p["kind"]: p["delivery"] for p in saved.json()}
    assert by_kind["answer_selected"] == "digest" and by_kind["answer_submitted"] == "immediate"
    bad = await client.put("/api/v1/notifications/preferences", json={"choices": {"answer_selected": "hourly"}})
    assert bad.status_code == 422

    for kind, title in (("answer_selected", "中选一"), ("answer_selected", "中选二"), ("answer_shortlisted", "入围")):
        await notifications.notify(session, user_ids=[user.id], kind=kind, title=title, body="正文", link="/answers/1")
    await notifications.notify(session, user_ids=[user.id], kind="answer_submitted", title="立即", body="正文")
    assert await _mail_subjects(session, user) == ["立即"]  # digest and off send nothing now
    assert len(await _kinds(session, user)) == 4  # but every notice is in the inbox

    # Move the notifications a day back, as if they had waited for the next digest time.
    rows = (await session.exec(select(Notification).where(Notification.user_id == user.id))).all()
    for row in rows:
        row.created_at = row.created_at - timedelta(days=1)
        session.add(row)
    await session.flush()
    assert await notifications.send_digests(session) == 1
    assert await notifications.send_digests(session) == 0  # never twice
    digest = (
        await session.exec(
            select(EmailMessage).where(
                EmailMessage.to_address == user.email, col(EmailMessage.subject).contains("汇总")
            )
        )
    ).one()
    assert "中选一" in digest.body and "中选二" in digest.body and "入围" not in digest.body
    assert "查看详情：/answers/1" in digest.body


async def test_a_draft_answer_is_reminded_once_before_the_deadline(make_client, session):
    department = await create_organisation(session)
    opportunity = await create_opportunity(
        session,
        department,
        title="抚州数字乡村",
        status=ListingStatus.published,
        deadline=date.today() + timedelta(days=2),
    )
    user = await create_user(
        session, role=Role.enterprise, organisation=await create_organisation(session, kind="enterprise")
    )
    client = await login(make_client(), user)
    draft = (await client.post(f"/api/v1/opportunities/{opportunity.id}/answers", json={"title": "草稿方案"})).json()
    far = await create_opportunity(
        session, department, status=ListingStatus.published, deadline=date.today() + timedelta(days=30)
    )
    await client.post(f"/api/v1/opportunities/{far.id}/answers", json={"title": "远期草稿"})

    assert await answer_reminders.remind_deadlines(session) == 1
    assert await answer_reminders.remind_deadlines(session) == 0
    reminded = (await client.get("/api/v1/notifications")).json()["items"]
    assert [n["kind"] for n in reminded] == ["answer_deadline_reminder"]
    assert reminded[0]["link"] == f"/answers/{draft['id']}" and "草稿方案" in reminded[0]["body"]
    assert any(s.startswith("答题即将截止") for s in await _mail_subjects(session, user))
    # A submitted answer is not reminded.
    assert (await session.get(Answer, draft["id"])).status == "draft"


async def test_a_proposed_meeting_notifies_both_people_once(client, make_client, session, sync_index):
    from tests.api.test_events import _setup as event_setup

    staff, event_id, _, _host, host_client, people = await event_setup(
        session, client, make_client, sync_index, enterprises=1
    )
    _, user, enterprise = people[0]
    assert (await enterprise.post(f"/api/v1/events/{event_id}/registrations")).status_code == 201
    assert (await staff.post(f"/api/v1/events/{event_id}/proposals")).status_code == 200
    for person in (host_client, enterprise):
        told = [
            n for n in (await person.get("/api/v1/notifications")).json()["items"] if n["kind"] == "meeting_proposed"
        ]
        assert len(told) == 1 and told[0]["link"] == "/workspace/events" and "1 场" in told[0]["body"]
    assert any(s.startswith("一对一洽谈待确认") for s in await _mail_subjects(session, user))
    # Regenerating the plan replaces unanswered proposals: that is news again; nothing else is.
    meeting = (await enterprise.get(f"/api/v1/events/{event_id}/meetings")).json()[0]
    await enterprise.post(f"/api/v1/events/{event_id}/meetings/{meeting['id']}/reply", json={"reply": "accepted"})
    await staff.post(f"/api/v1/events/{event_id}/proposals")
    told = [
        n for n in (await enterprise.get("/api/v1/notifications")).json()["items"] if n["kind"] == "meeting_proposed"
    ]
    assert len(told) == 1  # the answered meeting was kept, so nobody is asked again
