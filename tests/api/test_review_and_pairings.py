"""Review with weighted criteria, decisions once reviews are complete, and the pairing pipeline."""

import asyncio
from datetime import date, timedelta

from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.auth.models import Role
from backend.kit.errors import Conflict
from backend.listings.models import ListingStatus
from backend.pairings import service as pairings
from backend.pairings.models import Pairing, PairingStage, PairingStep
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, login

ANSWER = {"title": "方案", "summary": "摘要", "solution": "内容"}


async def _submitted_answer(session, client, make_client):
    department = await create_organisation(session, name="吉安市农业农村局（评审测试）")
    issuer = await create_user(session, role=Role.issuer, organisation=department)
    colleague = await create_user(session, role=Role.issuer, organisation=department)
    opportunity = await create_opportunity(
        session,
        department,
        title="井冈蜜柚数字果园",
        status=ListingStatus.published,
        deadline=date.today() + timedelta(days=10),
    )
    enterprise = await create_organisation(session, kind="enterprise")
    answerer = await create_user(session, role=Role.enterprise, organisation=enterprise)
    lead = await login(make_client(), answerer)
    answer = (await lead.post(f"/api/v1/opportunities/{opportunity.id}/answers", json=ANSWER)).json()
    await lead.post(f"/api/v1/answers/{answer['id']}/submit")
    issuer_client = await login(client, issuer)
    criteria = await issuer_client.put(
        f"/api/v1/opportunities/{opportunity.id}/criteria",
        json={"criteria": [{"name": "技术方案", "weight": 60}, {"name": "报价", "weight": 40}]},
    )
    assert criteria.status_code == 200, criteria.text
    ids = [c["id"] for c in criteria.json()]
    for user in (issuer, colleague):
        assert (
            await issuer_client.post(f"/api/v1/opportunities/{opportunity.id}/reviewers", json={"user_id": user.id})
        ).status_code == 204
    return opportunity, answer["id"], issuer_client, await login(make_client(), colleague), ids, lead, enterprise


async def test_scores_need_a_comment_and_every_criterion(client, make_client, session):
    _, answer_id, issuer, _, ids, _, _ = await _submitted_answer(session, client, make_client)
    no_comment = await issuer.put(
        f"/api/v1/answers/{answer_id}/review", json={"scores": {str(ids[0]): 80, str(ids[1]): 70}, "comment": " "}
    )
    missing = await issuer.put(
        f"/api/v1/answers/{answer_id}/review", json={"scores": {str(ids[0]): 80}, "comment": "好"}
    )
    out_of_range = await issuer.put(
        f"/api/v1/answers/{answer_id}/review", json={"scores": {str(ids[0]): 101, str(ids[1]): 1}, "comment": "好"}
    )
    assert no_comment.status_code == 422 and no_comment.json()["field"] == "comment"
    assert missing.status_code == 422 and out_of_range.status_code == 422
    assert (await issuer.get(f"/api/v1/answers/{answer_id}/reviews")).json() == []


async def test_decision_waits_for_every_reviewer_then_selection_opens_a_pairing(client, make_client, session):
    _opportunity, answer_id, issuer, colleague, ids, lead, enterprise = await _submitted_answer(
        session, client, make_client
    )
    scored = await issuer.put(
        f"/api/v1/answers/{answer_id}/review",
        json={"scores": {str(ids[0]): 90, str(ids[1]): 60}, "comment": "技术扎实"},
    )
    assert scored.status_code == 200 and scored.json()["total"] == "78.00"

    early = await issuer.post(f"/api/v1/answers/{answer_id}/decision", json={"status": "shortlisted"})
    assert early.status_code == 409 and "评审尚未完成" in early.json()["detail"]

    recused = await colleague.post(f"/api/v1/answers/{answer_id}/recuse", json={"reason": "曾为该企业提供咨询"})
    assert recused.json()["recused"] is True

    assert (await issuer.post(f"/api/v1/answers/{answer_id}/decision", json={"status": "selected"})).status_code == 409
    assert (await issuer.post(f"/api/v1/answers/{answer_id}/decision", json={"status": "shortlisted"})).json()[
        "status"
    ] == "shortlisted"
    selected = await issuer.post(f"/api/v1/answers/{answer_id}/decision", json={"status": "selected"})
    assert selected.json()["status"] == "selected"

    pairing = (await session.exec(select(Pairing).where(Pairing.answer_id == answer_id))).one()
    assert pairing.stage == PairingStage.recommended and pairing.organisation_id == enterprise.id

    assert (await lead.get(f"/api/v1/answers/{answer_id}/reviews")).status_code == 403  # scores stay with the issuer
    history = (await issuer.get(f"/api/v1/history/answer/{answer_id}")).json()
    assert [h["to_state"] for h in history if h["action"].startswith("status:")] == [
        "submitted",
        "shortlisted",
        "selected",
    ]


async def test_published_winners_appear_publicly_and_nothing_else(client, make_client, session):
    opportunity, answer_id, issuer, colleague, ids, _, _ = await _submitted_answer(session, client, make_client)
    for reviewer in (issuer, colleague):
        await reviewer.put(
            f"/api/v1/answers/{answer_id}/review",
            json={"scores": {str(ids[0]): 80, str(ids[1]): 80}, "comment": "可行"},
        )
    await issuer.post(f"/api/v1/answers/{answer_id}/decision", json={"status": "shortlisted"})
    visitor = make_client()
    assert (await visitor.get(f"/api/v1/opportunities/{opportunity.id}/winners")).json() == []
    await issuer.post(f"/api/v1/answers/{answer_id}/decision", json={"status": "selected"})
    published = await issuer.post(f"/api/v1/opportunities/{opportunity.id}/winners/publish")
    assert published.status_code == 200
    winners = (await visitor.get(f"/api/v1/opportunities/{opportunity.id}/winners")).json()
    assert [w["title"] for w in winners] == ["方案"]
    assert "solution" not in winners[0] and "price_text" not in winners[0]


async def test_reviewer_must_come_from_the_issuers_organisation(client, make_client, session):
    opportunity, _, issuer, _, _, _, _ = await _submitted_answer(session, client, make_client)
    outsider = await create_user(session, role=Role.issuer, organisation=await create_organisation(session))
    response = await issuer.post(f"/api/v1/opportunities/{opportunity.id}/reviewers", json={"user_id": outsider.id})
    assert response.status_code == 422


async def _pairing(session):
    department = await create_organisation(session)
    opportunity = await create_opportunity(session, department, status=ListingStatus.published)
    enterprise = await create_organisation(session, kind="enterprise")
    offering = await create_offering(session, enterprise, status=ListingStatus.published)
    return opportunity, offering, enterprise


async def test_matchmaker_moves_a_pairing_stage_by_stage_with_notes(client, session):
    opportunity, offering, enterprise = await _pairing(session)
    staff = await login(client, await create_user(session, role=Role.matchmaker))
    created = await staff.post(
        "/api/v1/pairings", json={"opportunity_id": opportunity.id, "offering_id": offering.id, "note": "匹配度高"}
    )
    assert created.status_code == 201, created.text
    pairing = created.json()
    assert pairing["stage"] == "recommended" and pairing["organisation_id"] == enterprise.id

    for stage in ("intent", "negotiation", "pilot", "signed", "demonstration"):
        moved = await staff.post(
            f"/api/v1/pairings/{pairing['id']}/stage",
            json={"stage": stage, "version": pairing["version"], "note": f"进入{stage}"},
        )
        assert moved.status_code == 200, moved.text
        pairing = moved.json()
    assert [s["to_stage"] for s in pairing["steps"]] == [
        "recommended",
        "intent",
        "negotiation",
        "pilot",
        "signed",
        "demonstration",
    ]
    assert all(s["actor_id"] for s in pairing["steps"])
    board = (await staff.get("/api/v1/pairings", params={"stage": "demonstration"})).json()
    assert [p["id"] for p in board["items"]] == [pairing["id"]] and board["counts"]["demonstration"] >= 1

    matches = (await staff.get(f"/api/v1/opportunities/{opportunity.id}/matches")).json()
    assert all(not (m["listing"]["id"] == offering.id and not m["accepted"]) for m in matches)


async def test_both_sides_are_told_when_the_matchmaker_moves_or_declines_their_pairing(client, make_client, session):
    opportunity, offering, enterprise = await _pairing(session)
    issuer = await create_user(session, role=Role.issuer, organisation_id=opportunity.organisation_id)
    answerer = await create_user(session, role=Role.enterprise, organisation=enterprise)
    matchmaker = await create_user(session, role=Role.matchmaker)
    staff = await login(client, matchmaker)
    pairing = (
        await staff.post("/api/v1/pairings", json={"opportunity_id": opportunity.id, "offering_id": offering.id})
    ).json()
    moved = await staff.post(f"/api/v1/pairings/{pairing['id']}/stage", json={"stage": "intent", "version": 1})
    assert moved.status_code == 200, moved.text
    declined = await staff.post(
        f"/api/v1/pairings/{pairing['id']}/stage", json={"stage": "declined", "version": 2, "note": "预算未落实"}
    )
    assert declined.status_code == 200, declined.text
    for person in (issuer, answerer):
        inbox = (await (await login(make_client(), person)).get("/api/v1/notifications")).json()["items"]
        titles = [(n["title"], n["link"]) for n in inbox]
        assert (f"对接进入「意向」阶段：{opportunity.title}", f"/pairings/{pairing['id']}") in titles, titles
        assert any(t.startswith("对接未达成") for t, _ in titles) and any("预算未落实" in n["body"] for n in inbox)
    own = (await staff.get("/api/v1/notifications")).json()["items"]
    assert not [n for n in own if n["title"].startswith("对接")]  # the matchmaker who moved it is not told


async def test_unreachable_stage_and_decline_without_reason_are_refused(client, session):
    opportunity, offering, _ = await _pairing(session)
    staff = await login(client, await create_user(session, role=Role.matchmaker))
    pairing = (
        await staff.post("/api/v1/pairings", json={"opportunity_id": opportunity.id, "offering_id": offering.id})
    ).json()
    skip = await staff.post(f"/api/v1/pairings/{pairing['id']}/stage", json={"stage": "signed", "version": 1})
    bare_decline = await staff.post(f"/api/v1/pairings/{pairing['id']}/stage", json={"stage": "declined", "version": 1})
    assert skip.status_code == 409 and "意向" in skip.json()["detail"]
    assert bare_decline.status_code == 422
    declined = await staff.post(
        f"/api/v1/pairings/{pairing['id']}/stage", json={"stage": "declined", "version": 1, "note": "预算不足"}
    )
    assert declined.json()["decline_reason"] == "预算不足"
    assert (
        await staff.post(f"/api/v1/pairings/{pairing['id']}/stage", json={"stage": "intent", "version": 2})
    ).status_code == 409
    duplicate = await staff.post(
        "/api/v1/pairings", json={"opportunity_id": opportunity.id, "offering_id": offering.id}
    )
    assert duplicate.status_code == 409


async def test_stale_version_loses_with_409_and_no_step_is_lost(client, make_client, session):
    opportunity, offering, _ = await _pairing(session)
    first = await login(client, await create_user(session, role=Role.matchmaker))
    second = await login(make_client(), await create_user(session, role=Role.matchmaker))
    pairing = (
        await first.post("/api/v1/pairings", json={"opportunity_id": opportunity.id, "offering_id": offering.id})
    ).json()
    won = await first.post(f"/api/v1/pairings/{pairing['id']}/stage", json={"stage": "intent", "version": 1})
    lost = await second.post(f"/api/v1/pairings/{pairing['id']}/stage", json={"stage": "intent", "version": 1})
    assert won.status_code == 200 and lost.status_code == 409
    steps = (await second.get(f"/api/v1/pairings/{pairing['id']}")).json()["steps"]
    assert [s["to_stage"] for s in steps] == ["recommended", "intent"]


async def test_two_matchmakers_moving_at_the_same_moment_one_wins(engine):
    """Two real connections race on committed data: exactly one update goes through."""
    async with AsyncSession(bind=engine, expire_on_commit=False) as setup:
        opportunity, offering, enterprise = await _pairing(setup)
        staff = await create_user(setup, role=Role.matchmaker)
        pairing = await pairings.create(
            setup, actor=Actor(user=staff), opportunity_id=opportunity.id, offering_id=offering.id
        )
        await setup.commit()
    created = {"pairing": pairing.id, "opportunity": opportunity.id, "offering": offering.id, "user": staff.id}
    organisations = (opportunity.organisation_id, enterprise.id)

    async def attempt() -> str:
        async with AsyncSession(bind=engine, expire_on_commit=False) as racer:
            try:
                await pairings.move(
                    racer,
                    actor=Actor(user=staff),
                    pairing_id=created["pairing"],
                    to=PairingStage.intent,
                    expected_version=1,
                )
                await racer.commit()
                return "won"
            except Conflict:
                await racer.rollback()
                return "lost"

    try:
        assert sorted(await asyncio.gather(attempt(), attempt())) == ["lost", "won"]
        async with AsyncSession(bind=engine) as check:
            stored = await check.get(Pairing, created["pairing"])
            steps = (await check.exec(select(PairingStep).where(PairingStep.pairing_id == created["pairing"]))).all()
            assert stored.stage == PairingStage.intent and stored.version == 2
            assert [s.to_stage for s in sorted(steps, key=lambda s: s.id)] == ["recommended", "intent"]
    finally:
        async with AsyncSession(bind=engine) as cleanup:
            statements = [
                ("DELETE FROM pairing_step WHERE pairing_id = :pairing", created),
                ("DELETE FROM audit_entry WHERE actor_id = :user", created),
                ("DELETE FROM match_decision WHERE opportunity_id = :opportunity", created),
                ("DELETE FROM pairing WHERE id = :pairing", created),
                ("DELETE FROM outbox_event WHERE entity_id IN (:opportunity, :offering)", created),
                ("DELETE FROM opportunity WHERE id = :opportunity", created),
                ("DELETE FROM offering WHERE id = :offering", created),
                ("DELETE FROM user_account WHERE id = :user", created),
                ("DELETE FROM organisation WHERE id IN (:a, :b)", {"a": organisations[0], "b": organisations[1]}),
            ]
            for sql, params in statements:
                await cleanup.exec(text(sql).bindparams(**{k: v for k, v in params.items() if ":" + k in sql}))
            await cleanup.commit()


async def test_only_matchmakers_create_and_move_pairings(client, session):
    opportunity, offering, enterprise = await _pairing(session)
    user = await create_user(session, role=Role.enterprise, organisation=enterprise)
    await login(client, user)
    assert (
        await client.post("/api/v1/pairings", json={"opportunity_id": opportunity.id, "offering_id": offering.id})
    ).status_code == 403
