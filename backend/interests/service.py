"""Expressions of interest and introductions.

An enterprise expresses interest in a published opportunity; the opportunity's issuer or a
matchmaker approves the introduction (releasing the opportunity's contact details to that
enterprise) or declines it with a reason. Who sees an interest: the enterprise that
expressed it, the issuer of the opportunity, and the matchmakers — nobody else.
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.auth.actor import Actor, require_signed_in
from backend.auth.models import Role
from backend.interests.models import INTEREST_STATUS_LABELS, OPEN_STATUSES, Interest, InterestStatus
from backend.interests.permissions import get_readable, visible_clause
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, Forbidden, NotFound
from backend.kit.pagination import PageParams, paginate
from backend.listings import hooks as listing_hooks
from backend.listings.models import ListingStatus, Opportunity
from backend.notifications import mail
from backend.notifications import service as notifications
from backend.notifications.models import NotificationKind
from backend.organisations.models import Organisation, OrganisationStatus
from backend.organisations.service import names_of as organisation_names_of
from backend.settings import Settings

ENTITY_KIND = "interest"


def opportunity_link(opportunity_id: int) -> str:
    return f"/opportunities/{opportunity_id}"


async def _audit(
    session: AsyncSession,
    actor: Actor | None,
    interest: Interest,
    action: str,
    *,
    from_state: str | None,
    note: str = "",
) -> None:
    await audit.record(
        session,
        actor=actor,
        entity_kind=ENTITY_KIND,
        entity_id=interest.id,
        action=action,
        from_state=from_state,
        to_state=interest.status,
        note=note,
    )


async def express(session: AsyncSession, *, actor: Actor, opportunity_id: int, message: str) -> Interest:
    """An enterprise account says it wants an introduction to a published opportunity."""
    require_signed_in(actor)
    if actor.role != Role.enterprise or actor.organisation_id is None:
        raise Forbidden("只有企业账号可以表达合作意向")
    organisation = await session.get(Organisation, actor.organisation_id)
    # The answering side (答题方) includes state-owned enterprises and labs with enterprise accounts.
    if organisation is None or organisation.status != OrganisationStatus.active:
        raise Forbidden("账号所属组织不存在或已撤销，不能表达合作意向")
    opportunity = await session.get(Opportunity, opportunity_id)
    # Drafts and submissions are invisible to other organisations: report them as missing.
    if opportunity is None or opportunity.status in (ListingStatus.draft, ListingStatus.pending_review):
        raise NotFound("机会不存在或尚未发布", field="opportunity_id")
    if opportunity.status == ListingStatus.closed:
        raise Conflict("该机会已截止，不能再表达意向", field="opportunity_id")
    if opportunity.deadline is not None and opportunity.deadline < date.today():
        raise Conflict("该机会的截止日期已过，不能再表达意向", field="opportunity_id")
    if opportunity.organisation_id == actor.organisation_id:
        raise Conflict("不能对本单位发布的机会表达意向", field="opportunity_id")
    existing = (
        await session.exec(
            select(Interest).where(
                Interest.opportunity_id == opportunity_id,
                Interest.organisation_id == actor.organisation_id,
                col(Interest.status).in_(OPEN_STATUSES),
            )
        )
    ).first()
    if existing is not None:
        label = INTEREST_STATUS_LABELS[InterestStatus(existing.status)]
        raise Conflict(
            f"本企业已对该机会表达过意向（{label}），请勿重复提交", field="opportunity_id", interest_id=existing.id
        )
    interest = Interest(
        opportunity_id=opportunity_id,
        organisation_id=actor.organisation_id,
        created_by_id=actor.user_id,
        message=message,
    )
    session.add(interest)
    await session.flush()
    await _audit(session, actor, interest, "created", from_state=None)
    await notifications.notify(
        session,
        user_ids=await notifications.organisation_user_ids(session, opportunity.organisation_id),
        kind=NotificationKind.interest_received,
        title=f"新的合作意向：{opportunity.title}",
        body=f"{organisation.name} 对贵单位发布的机会“{opportunity.title}”表达了合作意向，请审批是否引荐。"
        + (f"\n\n留言：{message}" if message else ""),
        link=opportunity_link(opportunity.id),
        # The issuer is emailed by the reminder if the interest waits; no mail for every click.
        email=False,
    )
    return interest


async def get(session: AsyncSession, *, actor: Actor, interest_id: int) -> Interest:
    """One interest the actor may see; anything else is reported as missing."""
    interest, _ = await get_readable(session, actor=actor, id=interest_id)
    return interest


async def list_interests(
    session: AsyncSession,
    *,
    actor: Actor,
    page: PageParams,
    opportunity_id: int | None = None,
    statuses: Sequence[InterestStatus] = (),
) -> tuple[list[Interest], int]:
    """The interests the actor may see, newest first."""
    require_signed_in(actor)
    if not actor.is_staff and actor.organisation_id is None:
        return [], 0
    query = select(Interest)
    visible = visible_clause(actor)
    if visible is not None:
        query = query.where(visible)
    if opportunity_id is not None:
        query = query.where(Interest.opportunity_id == opportunity_id)
    if statuses:
        query = query.where(col(Interest.status).in_(list(statuses)))
    return await paginate(session, query, page, col(Interest.created_at).desc(), col(Interest.id).desc())


async def _decide(
    session: AsyncSession, *, actor: Actor, interest_id: int, to: InterestStatus, reason: str = ""
) -> Interest:
    interest, opportunity = await get_readable(session, actor=actor, id=interest_id)
    if not (actor.is_staff or actor.belongs_to(opportunity.organisation_id)):
        raise Forbidden("只有发布该机会的单位或撮合专员可以审批意向")
    if interest.status != InterestStatus.pending:
        label = INTEREST_STATUS_LABELS[InterestStatus(interest.status)]
        raise Conflict(f"该意向当前为“{label}”，只有待审批的意向可以处理", field="status")
    previous = interest.status
    now = utcnow()
    interest.status = to
    interest.decision_reason = reason
    interest.decided_by_id = actor.user_id
    interest.decided_at = now
    interest.modified_at = now
    session.add(interest)
    await session.flush()
    await _audit(session, actor, interest, f"status:{to.value}", from_state=previous, note=reason)
    if to == InterestStatus.approved:
        title = f"合作意向已获同意：{opportunity.title}"
        body = (
            f"贵企业对机会“{opportunity.title}”的合作意向已获同意引荐。\n\n"
            f"联系方式：{opportunity.contact or '（发布单位未填写，请联系撮合专员）'}"
        )
        kind = NotificationKind.interest_approved
    else:
        title = f"合作意向未获同意：{opportunity.title}"
        body = f"贵企业对机会“{opportunity.title}”的合作意向未获同意。\n\n原因：{reason}"
        kind = NotificationKind.interest_declined
    await notifications.notify(
        session,
        user_ids=await notifications.organisation_user_ids(session, interest.organisation_id),
        kind=kind,
        title=title,
        body=body,
        link=opportunity_link(opportunity.id),
    )
    return interest


async def approve(session: AsyncSession, *, actor: Actor, interest_id: int) -> Interest:
    """The issuer or a matchmaker approves the introduction; the contact details are released."""
    return await _decide(session, actor=actor, interest_id=interest_id, to=InterestStatus.approved)


async def decline(session: AsyncSession, *, actor: Actor, interest_id: int, reason: str) -> Interest:
    """The issuer or a matchmaker declines the introduction, with a reason the enterprise reads."""
    return await _decide(session, actor=actor, interest_id=interest_id, to=InterestStatus.declined, reason=reason)


async def withdraw(session: AsyncSession, *, actor: Actor, interest_id: int) -> Interest:
    """The enterprise takes back an interest still waiting for a decision."""
    interest, _ = await get_readable(session, actor=actor, id=interest_id)
    if not actor.belongs_to(interest.organisation_id):
        raise Forbidden("只有表达意向的企业可以撤回")
    if interest.status != InterestStatus.pending:
        raise Conflict("只有待审批的意向可以撤回", field="status")
    previous = interest.status
    interest.status = InterestStatus.withdrawn
    interest.modified_at = utcnow()
    session.add(interest)
    await session.flush()
    await _audit(session, actor, interest, "status:withdrawn", from_state=previous)
    return interest


@listing_hooks.released_contacts.register
async def released_contact_ids(session: AsyncSession, *, actor: Actor, opportunity_ids: Sequence[int]) -> set[int]:
    """The opportunities among `opportunity_ids` whose contact the actor's organisation may see
    because an introduction was approved (one query for a whole page)."""
    if actor.organisation_id is None or not opportunity_ids:
        return set()
    rows = await session.exec(
        select(Interest.opportunity_id).where(
            Interest.organisation_id == actor.organisation_id,
            Interest.status == InterestStatus.approved,
            col(Interest.opportunity_id).in_(list(opportunity_ids)),
        )
    )
    return set(rows.all())


async def send_reminders(session: AsyncSession, *, days: int, now: datetime | None = None, limit: int = 200) -> int:
    """Remind issuers of interests waiting more than `days` without a decision, at most once per period.

    Returns how many interests were reminded. Rows are claimed with SKIP LOCKED so two
    workers never remind the same interest twice.
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=days)
    rows = (
        await session.exec(
            select(Interest)
            .where(
                Interest.status == InterestStatus.pending,
                Interest.created_at <= cutoff,
                or_(col(Interest.reminded_at).is_(None), col(Interest.reminded_at) <= cutoff),
            )
            .order_by(col(Interest.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not rows:
        return 0
    opportunities = {
        o.id: o
        for o in (
            await session.exec(select(Opportunity).where(col(Opportunity.id).in_({i.opportunity_id for i in rows})))
        ).all()
    }
    enterprises = await organisation_names_of(session, {i.organisation_id for i in rows})
    recipients: dict[int, list[int]] = {}
    for interest in rows:
        opportunity = opportunities[interest.opportunity_id]
        if opportunity.organisation_id not in recipients:
            recipients[opportunity.organisation_id] = await notifications.organisation_user_ids(
                session, opportunity.organisation_id
            )
        waited = (now - interest.created_at).days
        await notifications.notify(
            session,
            user_ids=recipients[opportunity.organisation_id],
            kind=NotificationKind.interest_reminder,
            title=f"待审批的合作意向：{opportunity.title}",
            body=(
                f"{enterprises.get(interest.organisation_id, '一家企业')} 对贵单位发布的机会“{opportunity.title}”"
                f"表达的合作意向已等待 {waited} 天，请尽快同意引荐或婉拒。"
            ),
            link=opportunity_link(opportunity.id),
        )
        interest.reminded_at = now
        session.add(interest)
    await session.flush()
    return len(rows)


async def load_for_presenting(
    session: AsyncSession, interests: Sequence[Interest]
) -> tuple[dict[int, Opportunity], dict[int, Organisation]]:
    """The opportunities and organisations a page of interests refers to, in two queries."""
    opportunity_ids = {i.opportunity_id for i in interests}
    opportunities = (
        {
            o.id: o
            for o in (await session.exec(select(Opportunity).where(col(Opportunity.id).in_(opportunity_ids)))).all()
        }
        if opportunity_ids
        else {}
    )
    organisation_ids = {i.organisation_id for i in interests} | {o.organisation_id for o in opportunities.values()}
    organisations = (
        {
            o.id: o
            for o in (await session.exec(select(Organisation).where(col(Organisation.id).in_(organisation_ids)))).all()
        }
        if organisation_ids
        else {}
    )
    return opportunities, organisations


@mail.periodic_jobs.register
async def _remind_with_the_mail_worker(session: AsyncSession, settings: Settings) -> int:
    """The mail worker's periodic round: reminders for interests waiting too long."""
    return await send_reminders(session, days=settings.interest_reminder_days)
