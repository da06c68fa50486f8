"""Issuers invite a recommended enterprise to answer their opportunity (邀请答题).

Who may do what:
- the opportunity's own organisation (and staff) invite, while the opportunity is published;
- the invited party is the enterprise of a published offering (the page offers the offerings
  recommended for the opportunity, i.e. its matches); its active people get a notice (kind
  `answer_invitation`) linking to the opportunity, where "我要答题" starts the answer;
- once per enterprise and opportunity (a second invitation is refused, not sent twice), and not
  to an enterprise that already answers it.
Every invitation is an audit entry on the opportunity (`answer_invited`, note = organisation id).
"""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers.models import Answer
from backend.answers.service import ACTIVE
from backend.audit import service as audit
from backend.audit.models import AuditEntry
from backend.auth.actor import Actor, require_signed_in
from backend.auth.models import User
from backend.kit.errors import Conflict, NotFound, Unprocessable
from backend.listings.models import ListingKind, ListingStatus, Offering, Opportunity
from backend.listings.permissions import can_see_private_fields
from backend.notifications.service import notify
from backend.organisations.service import names_of

INVITED = "answer_invited"


async def invite(
    session: AsyncSession, *, actor: Actor, opportunity_id: int, offering_id: int, note: str = ""
) -> list[int]:
    """Send the invitation; the ids of the people told."""
    require_signed_in(actor)
    opportunity = await session.get(Opportunity, opportunity_id)
    if opportunity is None or not can_see_private_fields(actor, opportunity):
        raise NotFound("机会不存在")
    if opportunity.status != ListingStatus.published:
        raise Conflict("只有已发布的机会可以邀请企业答题", field="status")
    offering = await session.get(Offering, offering_id)
    if offering is None or offering.status != ListingStatus.published:
        raise NotFound("产品不存在")
    organisation_id = offering.organisation_id
    if organisation_id == opportunity.organisation_id:
        raise Unprocessable("不能邀请本单位答题", field="offering_id")
    answering = (
        await session.exec(
            select(Answer.id).where(
                Answer.opportunity_id == opportunity_id,
                Answer.lead_organisation_id == organisation_id,
                col(Answer.status).in_([s.value for s in ACTIVE]),
            )
        )
    ).first()
    if answering is not None:
        raise Conflict("该企业已在答题", field="offering_id")
    already = (
        await session.exec(
            select(AuditEntry.id).where(
                AuditEntry.entity_kind == ListingKind.opportunity.value,
                AuditEntry.entity_id == opportunity_id,
                AuditEntry.action == INVITED,
                AuditEntry.note == str(organisation_id),
            )
        )
    ).first()
    if already is not None:
        raise Conflict("已邀请过该企业", field="offering_id")
    people = [
        i
        for i in (
            await session.exec(
                select(User.id)
                .where(User.organisation_id == organisation_id, col(User.is_active))
                .order_by(col(User.id))
            )
        ).all()
        if i is not None
    ]
    if not people:
        raise Conflict("该企业还没有平台账号，暂时无法邀请", field="offering_id")
    issuer = (await names_of(session, {opportunity.organisation_id})).get(opportunity.organisation_id, "出卷单位")
    body = (
        f"{issuer}看到贵企业的“{offering.title}”，邀请贵企业为机会“{opportunity.title}”答题"
        + (f"（截止 {opportunity.deadline.isoformat()}）" if opportunity.deadline else "")
        + "。"
        + (f"\n附言：{note.strip()[:500]}" if note.strip() else "")
    )
    await notify(
        session,
        user_ids=people,
        kind="answer_invitation",
        title=f"邀请答题：{opportunity.title}",
        body=body,
        link=f"/opportunities/{opportunity.id}",
    )
    await audit.record(
        session,
        actor=actor,
        entity_kind=ListingKind.opportunity.value,
        entity_id=opportunity_id,
        action=INVITED,
        note=str(organisation_id),
    )
    return people


async def invited_organisations(session: AsyncSession, *, opportunity_id: int) -> set[int]:
    """The enterprises already invited to answer the opportunity."""
    rows = await session.exec(
        select(AuditEntry.note).where(
            AuditEntry.entity_kind == ListingKind.opportunity.value,
            AuditEntry.entity_id == opportunity_id,
            AuditEntry.action == INVITED,
        )
    )
    return {int(n) for n in rows.all() if n.isdigit()}
