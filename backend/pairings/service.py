"""The pairing pipeline 推荐 → 意向 → 洽谈 → 首试首用/试点 → 签约 → 示范, or declined with a reason.

There is one pairing per opportunity and enterprise, however it began (an accepted match, a
matchmaker's choice, a selected answer). A selected answer therefore joins the pairing that
already exists (`open_for_answer`): the answer is linked, a pairing set to 未达成 is reopened at
推荐, and the step is written to the pairing's history; it is never refused. When the result
becomes final after its 公示期, `advance_for_result` moves a pairing still at 推荐 on to 意向.
"""

from sqlalchemy import update as sql_update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.auth.actor import Actor, require_signed_in, require_staff
from backend.auth.models import User
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, NotFound, Unprocessable
from backend.listings.models import Offering, Opportunity
from backend.notifications import service as notifications
from backend.organisations.models import Organisation, OrganisationKind
from backend.pairings import permissions
from backend.pairings.models import STAGE_LABELS, Pairing, PairingSource, PairingStage, PairingStep, next_stage
from backend.searching.models import MatchDecision, MatchVerdict


async def _step(
    session: AsyncSession, actor: Actor | None, pairing: Pairing, from_stage: str | None, note: str
) -> None:
    session.add(
        PairingStep(
            pairing_id=pairing.id,
            from_stage=from_stage,
            to_stage=pairing.stage,
            note=note,
            actor_id=actor.user_id if actor else None,
        )
    )
    await audit.record(
        session,
        actor=actor,
        entity_kind="pairing",
        entity_id=pairing.id,
        action=f"stage:{pairing.stage}",
        from_state=from_stage,
        to_state=pairing.stage,
        note=note,
    )
    await session.flush()


async def create(
    session: AsyncSession,
    *,
    actor: Actor,
    opportunity_id: int,
    offering_id: int | None = None,
    organisation_id: int | None = None,
    answer_id: int | None = None,
    source: PairingSource = PairingSource.manual,
    note: str = "",
    system: bool = False,
) -> Pairing:
    """Open a pairing at 推荐. `system` is for pairings the platform opens itself (a selected answer)."""
    if not system:
        require_staff(actor, "只有撮合专员可以创建对接")
    opportunity = await session.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise NotFound("机会不存在")
    if offering_id is not None:
        offering = await session.get(Offering, offering_id)
        if offering is None:
            raise NotFound("产品不存在")
        if organisation_id is not None and organisation_id != offering.organisation_id:
            raise Unprocessable("产品不属于所选企业", field="offering_id")
        organisation_id = offering.organisation_id
    if organisation_id is None:
        raise Unprocessable("请选择产品或企业", field="organisation_id")
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None or organisation.kind not in (
        OrganisationKind.enterprise,
        OrganisationKind.soe,
        OrganisationKind.lab,
    ):
        raise Unprocessable("对接对象必须是企业或机构", field="organisation_id")
    existing = (
        await session.exec(
            select(Pairing).where(Pairing.opportunity_id == opportunity_id, Pairing.organisation_id == organisation_id)
        )
    ).first()
    if existing is not None:
        raise Conflict(f"该机会与该企业的对接已存在（#{existing.id}）", field="organisation_id", pairing_id=existing.id)
    pairing = Pairing(
        opportunity_id=opportunity_id,
        organisation_id=organisation_id,
        offering_id=offering_id,
        answer_id=answer_id,
        source=source,
        created_by_id=actor.user_id if actor else None,
    )
    session.add(pairing)
    await session.flush()
    if source == PairingSource.match and offering_id is not None:
        await _mark_match_accepted(session, actor, opportunity_id, offering_id)
    await _step(session, actor, pairing, None, note)
    return pairing


async def _mark_match_accepted(session: AsyncSession, actor: Actor, opportunity_id: int, offering_id: int) -> None:
    decision = (
        await session.exec(
            select(MatchDecision).where(
                MatchDecision.opportunity_id == opportunity_id, MatchDecision.offering_id == offering_id
            )
        )
    ).first()
    if decision is None:
        decision = MatchDecision(opportunity_id=opportunity_id, offering_id=offering_id, verdict=MatchVerdict.accepted)
    decision.verdict = MatchVerdict.accepted
    decision.decided_by_id = actor.user_id
    decision.decided_at = utcnow()
    session.add(decision)


async def get_readable(session: AsyncSession, *, actor: Actor, pairing_id: int) -> tuple[Pairing, Opportunity]:
    """Compatibility name and signature (web/ calls it): `permissions.get_readable` is the loader."""
    return await permissions.get_readable(session, actor=actor, id=pairing_id)


async def move(
    session: AsyncSession, *, actor: Actor, pairing_id: int, to: PairingStage, expected_version: int, note: str = ""
) -> Pairing:
    """Advance one stage (or decline with a reason). A stale `expected_version` loses with 409."""
    require_staff(actor, "只有撮合专员可以推进对接")
    pairing = await session.get(Pairing, pairing_id)
    if pairing is None:
        raise NotFound("对接不存在")
    if pairing.version != expected_version:
        raise Conflict("该对接已被他人更新，请刷新后重试", field="version")
    if pairing.stage in (PairingStage.declined, PairingStage.demonstration):
        raise Conflict(f"对接已处于「{STAGE_LABELS[PairingStage(pairing.stage)]}」，不能再变更", field="stage")
    if to == PairingStage.declined:
        if not note.strip():
            raise Unprocessable("未达成时请填写原因", field="note")
    elif to != next_stage(pairing.stage):
        allowed = next_stage(pairing.stage)
        hint = f"下一阶段只能是「{STAGE_LABELS[allowed]}」" if allowed else "已是最后阶段"
        raise Conflict(
            f"不能从「{STAGE_LABELS[PairingStage(pairing.stage)]}」直接进入「{STAGE_LABELS[to]}」：{hint}",
            field="stage",
        )
    from_stage = pairing.stage
    # Compare-and-set in the database, so that of two simultaneous moves exactly one wins.
    result = await session.exec(
        sql_update(Pairing)  # type: ignore[call-overload]
        .where(col(Pairing.id) == pairing_id, col(Pairing.version) == expected_version)
        .values(
            stage=to.value,
            version=Pairing.version + 1,
            decline_reason=note if to == PairingStage.declined else Pairing.decline_reason,
            modified_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("该对接已被他人更新，请刷新后重试", field="version")
    await session.refresh(pairing)
    await _step(session, actor, pairing, from_stage, note)
    await _tell_both_sides(session, actor, pairing)
    return pairing


async def _tell_both_sides(session: AsyncSession, actor: Actor, pairing: Pairing) -> None:
    """The issuer's and the enterprise's people learn that the matchmaker moved their pairing."""
    opportunity = await session.get(Opportunity, pairing.opportunity_id)
    if opportunity is None:
        return
    organisations = {opportunity.organisation_id, pairing.organisation_id}
    people = await session.exec(
        select(User.id).where(
            col(User.organisation_id).in_(organisations), col(User.is_active), User.id != actor.user_id
        )
    )
    stage = PairingStage(pairing.stage)
    if stage == PairingStage.declined:
        title = f"对接未达成：{opportunity.title}"
        body = f"撮合专员将机会“{opportunity.title}”的对接标记为未达成。原因：{pairing.decline_reason}"
    else:
        title = f"对接进入「{STAGE_LABELS[stage]}」阶段：{opportunity.title}"
        body = f"撮合专员将机会“{opportunity.title}”的对接推进到「{STAGE_LABELS[stage]}」阶段。"
    await notifications.notify(
        session,
        user_ids=[i for i in people.all() if i is not None],
        kind="pairing_moved",
        title=title,
        body=body,
        link=f"/pairings/{pairing.id}",
    )


async def list_pairings(
    session: AsyncSession, *, actor: Actor, stage: PairingStage | None = None, opportunity_id: int | None = None
) -> list[tuple[Pairing, Opportunity]]:
    """The board: staff see every pairing, organisations the ones they are part of."""
    require_signed_in(actor)
    query = select(Pairing, Opportunity).join(Opportunity, col(Opportunity.id) == col(Pairing.opportunity_id))
    if not actor.is_staff:
        if actor.organisation_id is None:
            return []
        query = query.where(
            (Pairing.organisation_id == actor.organisation_id) | (Opportunity.organisation_id == actor.organisation_id)
        )
    if stage is not None:
        query = query.where(Pairing.stage == stage)
    if opportunity_id is not None:
        query = query.where(Pairing.opportunity_id == opportunity_id)
    return list(
        (await session.exec(query.order_by(col(Pairing.modified_at).desc(), col(Pairing.id).desc()).limit(500))).all()
    )


async def stage_counts(session: AsyncSession, *, actor: Actor) -> dict[str, int]:
    require_staff(actor, "只有撮合专员可以查看对接看板统计")
    rows = (await session.exec(select(Pairing.stage, func.count()).group_by(Pairing.stage))).all()
    counts = {stage.value: 0 for stage in PairingStage}
    counts.update(dict(rows))
    return counts


async def steps(session: AsyncSession, *, pairing_id: int) -> list[PairingStep]:
    return list(
        (
            await session.exec(
                select(PairingStep).where(PairingStep.pairing_id == pairing_id).order_by(col(PairingStep.id))
            )
        ).all()
    )


async def _existing(session: AsyncSession, opportunity_id: int, organisation_id: int) -> Pairing | None:
    return (
        await session.exec(
            select(Pairing).where(Pairing.opportunity_id == opportunity_id, Pairing.organisation_id == organisation_id)
        )
    ).first()


async def _system_set_stage(
    session: AsyncSession, actor: Actor | None, pairing: Pairing, to: PairingStage, note: str
) -> Pairing:
    """A move the platform makes itself (never a matchmaker's stale form): bumps the version."""
    from_stage = pairing.stage
    pairing.stage = to
    pairing.version += 1
    pairing.modified_at = utcnow()
    session.add(pairing)
    await session.flush()
    await _step(session, actor, pairing, from_stage, note)
    return pairing


async def open_for_answer(
    session: AsyncSession, *, actor: Actor, opportunity_id: int, organisation_id: int, answer_id: int
) -> Pairing:
    """A selected answer's pairing: a new one at 推荐, or the existing one joined (never a 409)."""
    pairing = await _existing(session, opportunity_id, organisation_id)
    if pairing is None:
        return await create(
            session,
            actor=actor,
            opportunity_id=opportunity_id,
            organisation_id=organisation_id,
            answer_id=answer_id,
            source=PairingSource.answer,
            note="答题中选，自动创建对接",
            system=True,
        )
    pairing.answer_id = answer_id
    if pairing.stage == PairingStage.declined:
        # The issuer chose this enterprise after all: the pairing starts again at 推荐.
        pairing.decline_reason = ""
        return await _system_set_stage(
            session, actor, pairing, PairingStage.recommended, f"答题 #{answer_id} 中选，重新开启对接"
        )
    pairing.modified_at = utcnow()
    pairing.version += 1
    session.add(pairing)
    await session.flush()
    # The stage stays where it is; the history records that the answer joined the pairing.
    await _step(session, actor, pairing, pairing.stage, f"答题 #{answer_id} 中选，已关联到本对接")
    return pairing


async def advance_for_result(
    session: AsyncSession, *, actor: Actor | None, opportunity_id: int, organisation_id: int, note: str
) -> Pairing | None:
    """The result is final: a pairing still at 推荐 moves on to 意向; one further along keeps its stage."""
    pairing = await _existing(session, opportunity_id, organisation_id)
    if pairing is None or pairing.stage != PairingStage.recommended:
        return pairing
    return await _system_set_stage(session, actor, pairing, PairingStage.intent, note)
