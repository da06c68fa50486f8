"""答题: drafting, consortium confirmation, submission before the deadline, withdrawal, attachments.

Confidentiality is enforced here: an answer is readable by its own enterprise(s), the
issuer of its opportunity (once submitted) and matchmakers. Everyone else is told it
does not exist.
"""

from datetime import date

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers.models import (
    Answer,
    AnswerAttachment,
    AnswerMember,
    AnswerOffering,
    AnswerStatus,
    MemberStatus,
)
from backend.answers.permissions import (  # noqa: F401 -- re-exported for web/; permissions.py owns them
    NOT_FOUND,
    can_read,
    get_readable,
    is_party,
    members_of,
)
from backend.answers.schemas import AnswerCreate, AnswerUpdate
from backend.audit import service as audit
from backend.auth.actor import Actor, require_signed_in
from backend.auth.models import Role
from backend.kit import files
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from backend.listings.models import ListingStatus, Offering, Opportunity
from backend.notifications import service as notifications
from backend.organisations import service as organisation_service
from backend.organisations.models import Organisation, OrganisationKind, OrganisationStatus

# Statuses in which an organisation is taking part in an opportunity (blocks a second answer).
ACTIVE = {
    AnswerStatus.draft,
    AnswerStatus.submitted,
    AnswerStatus.shortlisted,
    AnswerStatus.selected,
    AnswerStatus.not_selected,
}


def deadline_passed(opportunity: Opportunity, today: date | None = None) -> bool:
    """The deadline day itself is still open."""
    return opportunity.deadline is not None and (today or date.today()) > opportunity.deadline


async def load_readable(
    session: AsyncSession, *, actor: Actor, answer_id: int
) -> tuple[Answer, Opportunity, list[AnswerMember]]:
    """Compatibility name (web/ calls it): `permissions.get_readable` is the loader."""
    return await get_readable(session, actor=actor, id=answer_id)


async def _load_own(session: AsyncSession, actor: Actor, answer_id: int) -> tuple[Answer, Opportunity]:
    """An answer the actor's organisation leads; members and others may not change it."""
    answer, opportunity, _members = await get_readable(session, actor=actor, id=answer_id)
    if actor.organisation_id != answer.lead_organisation_id:
        raise Forbidden("只有牵头企业可以修改答题")
    return answer, opportunity


async def _participating(
    session: AsyncSession, opportunity_id: int, organisation_ids: set[int], exclude_answer: int | None
) -> set[int]:
    """Which of these organisations already take part in another answer to the opportunity."""
    if not organisation_ids:
        return set()
    active = [s.value for s in ACTIVE]
    leads = select(Answer.lead_organisation_id).where(
        Answer.opportunity_id == opportunity_id,
        col(Answer.status).in_(active),
        col(Answer.lead_organisation_id).in_(organisation_ids),
    )
    memberships = (
        select(AnswerMember.organisation_id)
        .join(Answer, col(Answer.id) == col(AnswerMember.answer_id))
        .where(
            Answer.opportunity_id == opportunity_id,
            col(Answer.status).in_(active),
            AnswerMember.status != MemberStatus.declined,
            col(AnswerMember.organisation_id).in_(organisation_ids),
        )
    )
    if exclude_answer is not None:
        leads = leads.where(Answer.id != exclude_answer)
        memberships = memberships.where(Answer.id != exclude_answer)
    return set((await session.exec(leads)).all()) | set((await session.exec(memberships)).all())


async def _check_open(opportunity: Opportunity | None) -> Opportunity:
    if opportunity is None or opportunity.status not in (ListingStatus.published, ListingStatus.closed):
        raise NotFound("机会不存在")
    if opportunity.status != ListingStatus.published or deadline_passed(opportunity):
        raise Conflict("该机会已截止，不能再答题", field="deadline")
    return opportunity


async def _check_members(session: AsyncSession, lead_id: int, member_ids: list[int]) -> list[int]:
    unique = list(dict.fromkeys(member_ids))
    if lead_id in unique:
        raise Unprocessable("牵头企业不能同时作为联合体成员", field="member_organisation_ids")
    for organisation_id in unique:
        organisation = await session.get(Organisation, organisation_id)
        # A pending member (invited, its registration awaiting approval) may be named; it can only
        # confirm once approved, and the answer cannot be submitted before it confirms.
        if organisation is None or organisation.status not in (OrganisationStatus.active, OrganisationStatus.pending):
            raise Unprocessable(f"联合体成员不存在：{organisation_id}", field="member_organisation_ids")
        if organisation.kind != OrganisationKind.enterprise:
            raise Unprocessable(f"联合体成员必须是企业：{organisation.name}", field="member_organisation_ids")
    return unique


async def _check_offerings(session: AsyncSession, organisation_ids: set[int], offering_ids: list[int]) -> list[int]:
    unique = list(dict.fromkeys(offering_ids))
    if not unique:
        return unique
    rows = (await session.exec(select(Offering).where(col(Offering.id).in_(unique)))).all()
    found = {o.id: o for o in rows}
    for offering_id in unique:
        offering = found.get(offering_id)
        if (
            offering is None
            or offering.organisation_id not in organisation_ids
            or offering.status == ListingStatus.withdrawn
        ):
            raise Unprocessable(f"只能引用本企业或联合体成员的产品：{offering_id}", field="offering_ids")
    return unique


async def _replace_links(
    session: AsyncSession, answer: Answer, *, offering_ids: list[int] | None, member_ids: list[int] | None
) -> None:
    if offering_ids is not None:
        await session.exec(delete(AnswerOffering).where(col(AnswerOffering.answer_id) == answer.id))  # type: ignore[call-overload]
        for offering_id in offering_ids:
            session.add(AnswerOffering(answer_id=answer.id, offering_id=offering_id))
    if member_ids is not None:
        existing = {m.organisation_id: m for m in (await members_of(session, [answer.id]))[answer.id]}
        for organisation_id, member in existing.items():
            if organisation_id not in member_ids:
                await session.delete(member)
        added = [organisation_id for organisation_id in member_ids if organisation_id not in existing]
        for organisation_id in added:
            session.add(AnswerMember(answer_id=answer.id, organisation_id=organisation_id))
        await session.flush()
        await _invite_members(session, answer, added)
    await session.flush()


async def _invite_members(session: AsyncSession, answer: Answer, organisation_ids: list[int]) -> None:
    """Each newly named member enterprise is asked to confirm (the answer waits for it)."""
    if not organisation_ids:
        return
    opportunity = await session.get(Opportunity, answer.opportunity_id)
    lead = await session.get(Organisation, answer.lead_organisation_id)
    title = opportunity.title if opportunity else ""
    for organisation_id in organisation_ids:
        await notifications.notify(
            session,
            user_ids=await notifications.organisation_user_ids(session, organisation_id),
            kind="consortium_invitation",
            title=f"联合体邀请待确认：{title}",
            body=(
                f"{lead.name if lead else '一家企业'} 邀请贵企业作为联合体成员，共同答题“{answer.title}”"
                f"（机会：{title}）。请确认参与或拒绝；全部成员确认后牵头企业才能提交。"
            ),
            link=f"/answers/{answer.id}",
        )


async def create(session: AsyncSession, *, actor: Actor, opportunity_id: int, data: AnswerCreate) -> Answer:
    """Start a draft answer for the actor's enterprise (alone, or leading a consortium)."""
    require_signed_in(actor)
    if actor.role != Role.enterprise or actor.organisation_id is None:
        raise Forbidden("只有企业账号可以答题")
    await organisation_service.require_approved(session, actor)
    opportunity = await _check_open(await session.get(Opportunity, opportunity_id))
    member_ids = await _check_members(session, actor.organisation_id, data.member_organisation_ids)
    taken = await _participating(session, opportunity.id, {actor.organisation_id, *member_ids}, exclude_answer=None)
    if actor.organisation_id in taken:
        raise Conflict("贵企业已对该机会答题（单独或作为联合体成员），不能重复答题")
    if taken:
        raise Conflict("部分联合体成员已参与该机会的其他答题", field="member_organisation_ids")
    offering_ids = await _check_offerings(session, {actor.organisation_id, *member_ids}, data.offering_ids)
    answer = Answer(
        opportunity_id=opportunity.id,
        lead_organisation_id=actor.organisation_id,
        created_by_id=actor.user_id,
        **data.model_dump(exclude={"offering_ids", "member_organisation_ids"}),
    )
    session.add(answer)
    await session.flush()
    await _replace_links(session, answer, offering_ids=offering_ids, member_ids=member_ids)
    await audit.record(
        session, actor=actor, entity_kind="answer", entity_id=answer.id, action="created", to_state=answer.status
    )
    return answer


async def update(session: AsyncSession, *, actor: Actor, answer_id: int, data: AnswerUpdate) -> Answer:
    """Edit a draft (the lead enterprise only)."""
    answer, opportunity = await _load_own(session, actor, answer_id)
    if answer.status != AnswerStatus.draft:
        raise Conflict("只有草稿可以修改", field="status")
    changes = data.model_dump(exclude_unset=True)
    offering_ids = changes.pop("offering_ids", None)
    member_ids = changes.pop("member_organisation_ids", None)
    if member_ids is not None:
        member_ids = await _check_members(session, answer.lead_organisation_id, member_ids)
        if await _participating(session, opportunity.id, set(member_ids), exclude_answer=answer.id):
            raise Conflict("部分联合体成员已参与该机会的其他答题", field="member_organisation_ids")
    if offering_ids is not None:
        current = (
            member_ids
            if member_ids is not None
            else [m.organisation_id for m in (await members_of(session, [answer.id]))[answer.id]]
        )
        offering_ids = await _check_offerings(session, {answer.lead_organisation_id, *current}, offering_ids)
    if changes.get("title", "") is None:
        raise Unprocessable("标题不能为空", field="title")
    for key, value in changes.items():
        setattr(answer, key, "" if value is None and key != "price_amount" else value)
    answer.modified_at = utcnow()
    session.add(answer)
    await _replace_links(session, answer, offering_ids=offering_ids, member_ids=member_ids)
    await audit.record(
        session,
        actor=actor,
        entity_kind="answer",
        entity_id=answer.id,
        action="edited",
        note="、".join(sorted(changes)),
    )
    return answer


async def _set_status(session: AsyncSession, actor: Actor, answer: Answer, to: AnswerStatus, note: str = "") -> Answer:
    await audit.record(
        session,
        actor=actor,
        entity_kind="answer",
        entity_id=answer.id,
        action=f"status:{to.value}",
        from_state=answer.status,
        to_state=to.value,
        note=note,
    )
    answer.status = to
    answer.modified_at = utcnow()
    session.add(answer)
    await session.flush()
    return answer


async def submit(session: AsyncSession, *, actor: Actor, answer_id: int) -> Answer:
    """Submit before the deadline; a consortium answer counts only once every member confirmed."""
    answer, opportunity = await _load_own(session, actor, answer_id)
    if answer.status != AnswerStatus.draft:
        raise Conflict("该答题已提交或已撤回", field="status")
    await organisation_service.require_approved(session, actor)
    await _check_open(opportunity)
    if not answer.summary.strip():
        raise Unprocessable("提交前请填写摘要", field="summary")
    members = (await members_of(session, [answer.id]))[answer.id]
    waiting = [m for m in members if m.status != MemberStatus.confirmed]
    if waiting:
        raise Conflict("联合体成员尚未全部确认参与，暂不能提交", field="member_organisation_ids")
    answer.submitted_at = utcnow()
    await _set_status(session, actor, answer, AnswerStatus.submitted)
    lead = await session.get(Organisation, answer.lead_organisation_id)
    await notifications.notify(
        session,
        user_ids=await notifications.organisation_user_ids(session, opportunity.organisation_id),
        kind="answer_submitted",
        title=f"收到新的答题：{opportunity.title}",
        body=(
            f"{lead.name if lead else '一家企业'} 提交了答题“{answer.title}”。"
            "请先设置评审标准并邀请评审人，再开始评审。"
        ),
        link=f"/opportunities/{opportunity.id}/answers",
    )
    return answer


async def withdraw(session: AsyncSession, *, actor: Actor, answer_id: int) -> Answer:
    """Withdraw before the deadline."""
    answer, opportunity = await _load_own(session, actor, answer_id)
    if answer.status not in (AnswerStatus.draft, AnswerStatus.submitted):
        raise Conflict("评审已开始，不能撤回", field="status")
    if deadline_passed(opportunity):
        raise Conflict("已过截止日期，不能撤回", field="deadline")
    return await _set_status(session, actor, answer, AnswerStatus.withdrawn)


async def respond_to_membership(session: AsyncSession, *, actor: Actor, answer_id: int, accept: bool) -> Answer:
    """A member enterprise confirms (or declines) taking part in a consortium answer."""
    answer, _, members = await get_readable(session, actor=actor, id=answer_id)
    member = next((m for m in members if m.organisation_id == actor.organisation_id), None)
    if member is None or actor.role != Role.enterprise:
        raise Forbidden("只有被邀请的联合体成员可以确认")
    if accept:
        await organisation_service.require_approved(session, actor)
    if answer.status != AnswerStatus.draft:
        raise Conflict("答题已提交，成员关系不能再变更")
    member.status = MemberStatus.confirmed if accept else MemberStatus.declined
    member.responded_at = utcnow()
    member.responded_by_id = actor.user_id
    session.add(member)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="answer",
        entity_id=answer.id,
        action="member:confirmed" if accept else "member:declined",
        note=str(actor.organisation_id),
    )
    return answer


async def list_for_opportunity(session: AsyncSession, *, actor: Actor, opportunity_id: int) -> list[Answer]:
    """The issuer's (and matchmakers') view: every answer that has been submitted."""
    require_signed_in(actor)
    opportunity = await session.get(Opportunity, opportunity_id)
    if opportunity is None or not (actor.is_staff or actor.belongs_to(opportunity.organisation_id)):
        raise NotFound("机会不存在")
    query = select(Answer).where(Answer.opportunity_id == opportunity_id, col(Answer.submitted_at).is_not(None))
    return list((await session.exec(query.order_by(col(Answer.submitted_at)))).all())


async def list_mine(session: AsyncSession, *, actor: Actor) -> list[Answer]:
    """Answers the actor's enterprise leads or is a member of."""
    if actor.organisation_id is None:
        return []
    member_of = select(AnswerMember.answer_id).where(
        AnswerMember.organisation_id == actor.organisation_id, AnswerMember.status != MemberStatus.declined
    )
    query = select(Answer).where((Answer.lead_organisation_id == actor.organisation_id) | col(Answer.id).in_(member_of))
    return list((await session.exec(query.order_by(col(Answer.id).desc()))).all())


async def add_attachment(
    session: AsyncSession, *, actor: Actor, answer_id: int, data: bytes, filename: str, max_bytes: int
) -> AnswerAttachment:
    answer, _ = await _load_own(session, actor, answer_id)
    if answer.status != AnswerStatus.draft:
        raise Conflict("只有草稿可以添加附件", field="status")
    return await files.store(
        session,
        AnswerAttachment,
        data,
        filename,
        max_bytes=max_bytes,
        uploaded_by_id=actor.user_id,
        answer_id=answer.id,
    )


async def get_attachment(
    session: AsyncSession, *, actor: Actor, answer_id: int, attachment_id: int
) -> AnswerAttachment:
    await get_readable(session, actor=actor, id=answer_id)
    attachment = await session.get(AnswerAttachment, attachment_id)
    if attachment is None or attachment.answer_id != answer_id:
        raise NotFound("附件不存在")
    return attachment


async def remove_attachment(session: AsyncSession, *, actor: Actor, answer_id: int, attachment_id: int) -> None:
    answer, _ = await _load_own(session, actor, answer_id)
    if answer.status != AnswerStatus.draft:
        raise Conflict("只有草稿可以删除附件", field="status")
    attachment = await session.get(AnswerAttachment, attachment_id)
    if attachment is None or attachment.answer_id != answer_id:
        raise NotFound("附件不存在")
    await files.discard(session, attachment)
