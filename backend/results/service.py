"""结果公示 / 异议: the selected answers are published for a notice period before they count.

Who may do what:
- The issuer (an issuer account of the opportunity's organisation) or a matchmaker publishes
  the result once at least one answer is 中选, choosing the period in working days (1–30,
  default 5). Answers still at 已提交 or 入围 become 未中选 at that moment (their enterprises are
  told). Only one notice per opportunity may be open, and none once a result is final.
- During the period (until `ends_at`, the end of its last working day in China time) anyone
  signed in may file an objection: a reason of at least 10 characters and their real name.
  Visitors may read the notice but not object; after the period nobody may object.
- The issuer or a matchmaker answers each objection in writing, as upheld or not upheld.
  An upheld objection reopens the decision at once: the selected answers go back to 入围, the
  answers closed by the publication get their status back, the result leaves the public page,
  and the other pending objections need no answer any more.
- The result becomes final only when the period has ended and every objection is answered
  (none upheld, or the notice would have been reopened). The worker finalises due notices on
  its own; the issuer may also confirm on the page. Then each winner's pairing moves on from
  推荐 to 意向.
- Objections (names, phones, reasons) are read by the issuer's organisation and matchmakers,
  and each objector reads their own; the public page shows how many there are and their state.

Working days skip Saturdays and Sundays. Statutory holidays and 调休 workdays are not known to
the platform; an issuer who publishes before a holiday should choose a longer period.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers import review
from backend.answers import service as answers
from backend.answers.models import Answer, AnswerMember, AnswerStatus, MemberStatus
from backend.audit import service as audit
from backend.auth.actor import Actor, require_signed_in
from backend.auth.models import Role, User
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from backend.listings.models import ListingKind, Opportunity
from backend.notifications import mail
from backend.notifications import service as notifications
from backend.organisations import service as organisation_service
from backend.organisations.models import Organisation
from backend.outbox.service import record_listings_shown
from backend.pairings import service as pairings
from backend.results.models import NoticeStatus, Objection, ObjectionStatus, ResultNotice
from backend.settings import Settings

CHINA = ZoneInfo("Asia/Shanghai")
DEFAULT_WORKING_DAYS = 5
MAX_WORKING_DAYS = 30
MIN_REASON = 10
# The issuer is reminded this long before the period ends.
ENDING_REMINDER = timedelta(days=1)
ENTITY_KIND = "result_notice"


def add_working_days(start: datetime, days: int) -> datetime:
    """The end (24:00 China time, as UTC) of the `days`-th working day after `start`'s day."""
    day = start.astimezone(CHINA).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if day.weekday() < 5:
            counted += 1
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA).astimezone(start.tzinfo)


def notice_link(notice_id: int) -> str:
    return f"/results/{notice_id}"


def is_running(notice: ResultNotice, now: datetime | None = None) -> bool:
    """Open and still within its period: objections may be filed."""
    return notice.status == NoticeStatus.open and (now or utcnow()) < notice.ends_at


@dataclass(frozen=True)
class Entry:
    """One published answer as the public sees it: title, summary and the enterprises' names."""

    answer_id: int
    title: str
    summary: str
    lead: str
    members: list[str]


async def _staff_ids(session: AsyncSession) -> list[int]:
    rows = await session.exec(
        select(User.id).where(col(User.role).in_([Role.matchmaker]), col(User.is_active)).order_by(col(User.id))
    )
    return [i for i in rows.all() if i is not None]


def _may_manage(actor: Actor, opportunity: Opportunity) -> bool:
    return actor.is_staff or (actor.role == Role.issuer and actor.belongs_to(opportunity.organisation_id))


async def _load(session: AsyncSession, notice_id: int) -> tuple[ResultNotice, Opportunity]:
    notice = await session.get(ResultNotice, notice_id)
    opportunity = await session.get(Opportunity, notice.opportunity_id) if notice else None
    if notice is None or opportunity is None:
        raise NotFound("公示不存在")
    return notice, opportunity


async def get_public(session: AsyncSession, *, notice_id: int) -> tuple[ResultNotice, Opportunity]:
    """Every notice is public (also a reopened one, so that the record stays honest)."""
    return await _load(session, notice_id)


async def current_for(session: AsyncSession, *, opportunity_id: int) -> ResultNotice | None:
    """The newest notice of an opportunity, whatever its state."""
    return (
        await session.exec(
            select(ResultNotice)
            .where(ResultNotice.opportunity_id == opportunity_id)
            .order_by(col(ResultNotice.id).desc())
            .limit(1)
        )
    ).first()


async def list_public(session: AsyncSession, *, limit: int = 100) -> list[tuple[ResultNotice, Opportunity]]:
    """Open and final notices, newest first."""
    rows = await session.exec(
        select(ResultNotice, Opportunity)
        .join(Opportunity, col(Opportunity.id) == col(ResultNotice.opportunity_id))
        .where(col(ResultNotice.status).in_([NoticeStatus.open, NoticeStatus.final]))
        .order_by(col(ResultNotice.created_at).desc(), col(ResultNotice.id).desc())
        .limit(limit)
    )
    return list(rows.all())


async def entries(session: AsyncSession, notice: ResultNotice) -> list[Entry]:
    if not notice.answer_ids:
        return []
    rows = (
        await session.exec(
            select(Answer, Organisation.name)
            .join(Organisation, col(Organisation.id) == col(Answer.lead_organisation_id))
            .where(col(Answer.id).in_(notice.answer_ids))
            .order_by(col(Answer.id))
        )
    ).all()
    out = []
    for answer, lead in rows:
        members = (
            await session.exec(
                select(Organisation.name)
                .join(AnswerMember, col(AnswerMember.organisation_id) == col(Organisation.id))
                .where(AnswerMember.answer_id == answer.id, AnswerMember.status == MemberStatus.confirmed)
            )
        ).all()
        out.append(Entry(answer.id or 0, answer.title, answer.summary, lead, list(members)))
    return out


async def objection_counts(session: AsyncSession, notice_id: int) -> dict[str, int]:
    rows = await session.exec(
        select(Objection.status, func.count()).where(Objection.notice_id == notice_id).group_by(Objection.status)
    )
    counts = {s.value: 0 for s in ObjectionStatus}
    counts.update(dict(rows.all()))
    return counts


async def publish(
    session: AsyncSession,
    *,
    actor: Actor,
    opportunity_id: int,
    working_days: int = DEFAULT_WORKING_DAYS,
    note: str = "",
    now: datetime | None = None,
) -> ResultNotice:
    """Open the 公示 of the selected answers; the still-open answers become 未中选."""
    opportunity = await review.issuer_opportunity(session, actor, opportunity_id)
    if not 1 <= working_days <= MAX_WORKING_DAYS:
        raise Unprocessable(f"公示期应为 1 到 {MAX_WORKING_DAYS} 个工作日", field="working_days")
    latest = await current_for(session, opportunity_id=opportunity_id)
    if latest is not None and latest.status == NoticeStatus.open:
        raise Conflict("该机会已有公示中的结果", field="status")
    if latest is not None and latest.status == NoticeStatus.final:
        raise Conflict("该机会的中选结果已生效，不能再次公示", field="status")
    rows = list(
        (
            await session.exec(
                select(Answer)
                .where(Answer.opportunity_id == opportunity_id, col(Answer.submitted_at).is_not(None))
                .order_by(col(Answer.id))
            )
        ).all()
    )
    selected = [a for a in rows if a.status == AnswerStatus.selected]
    if not selected:
        raise Conflict("还没有中选的答题", field="status")
    now = now or utcnow()
    notice = ResultNotice(
        opportunity_id=opportunity_id,
        working_days=working_days,
        starts_at=now,
        ends_at=add_working_days(now, working_days),
        answer_ids=[a.id for a in selected if a.id is not None],
        note=note.strip()[:2000],
        published_by_id=actor.user_id,
    )
    closed: dict[str, str] = {}
    for answer in rows:
        if answer.status in (AnswerStatus.submitted, AnswerStatus.shortlisted):
            closed[str(answer.id)] = answer.status
            answer.decided_at = now
            await answers._set_status(session, actor, answer, AnswerStatus.not_selected, "结果公示：未列入中选名单")
            await review.tell_answerers(session, answer, opportunity, AnswerStatus.not_selected)
    notice.closed_answers = closed
    for answer in selected:
        answer.winner_published = True
        session.add(answer)
    session.add(notice)
    await session.flush()
    # The opportunity's public page now lists the winners (visitors' kept copies are dropped).
    await record_listings_shown(session, kind=ListingKind.opportunity.value, listing_ids=[opportunity_id])
    assert notice.id is not None
    await audit.record(
        session,
        actor=actor,
        entity_kind=ENTITY_KIND,
        entity_id=notice.id,
        action="published",
        to_state=NoticeStatus.open.value,
        note=f"公示期 {working_days} 个工作日",
    )
    until = notice.ends_at.astimezone(CHINA).strftime("%Y年%m月%d日 %H:%M")
    for answer in selected:
        await notifications.notify(
            session,
            user_ids=await review.party_user_ids(session, answer),
            kind="result_notice_published",
            title=f"中选结果公示中：{opportunity.title}",
            body=f"您的答题“{answer.title}”已列入中选公示，公示期至 {until}（北京时间）。期满无异议成立即生效。",
            link=notice_link(notice.id),
        )
    await notifications.notify(
        session,
        user_ids=await notifications.organisation_user_ids(session, opportunity.organisation_id),
        kind="result_notice_published",
        title=f"中选结果公示中：{opportunity.title}",
        body=f"中选结果已公示，公示期至 {until}（北京时间）。收到异议时请书面答复。",
        link=notice_link(notice.id),
    )
    return notice


async def file_objection(
    session: AsyncSession,
    *,
    actor: Actor,
    notice_id: int,
    real_name: str,
    reason: str,
    phone: str = "",
    answer_id: int | None = None,
    now: datetime | None = None,
) -> Objection:
    """A signed-in person objects during the period, with a reason and their real name."""
    user_id = require_signed_in(actor)
    notice, opportunity = await _load(session, notice_id)
    if notice.status != NoticeStatus.open:
        raise Conflict("该公示已结束，不能再提出异议", field="status")
    if not is_running(notice, now):
        raise Conflict("公示期已结束，不能再提出异议", field="status")
    real_name, reason, phone = real_name.strip(), reason.strip(), phone.strip()
    if not real_name:
        raise Unprocessable("异议须实名提出：请填写真实姓名", field="real_name")
    if len(real_name) > 60:
        raise Unprocessable("姓名最多 60 字", field="real_name")
    if len(phone) > 30:
        raise Unprocessable("联系电话最多 30 字", field="phone")
    if len(reason) < MIN_REASON:
        raise Unprocessable(f"请说明异议的事实和理由（至少 {MIN_REASON} 字）", field="reason")
    if len(reason) > 5000:
        raise Unprocessable("异议理由最多 5000 字", field="reason")
    if answer_id is not None and answer_id not in notice.answer_ids:
        raise Unprocessable("所选答题不在本次公示中", field="answer_id")
    objection = Objection(
        notice_id=notice_id,
        user_id=user_id,
        real_name=real_name,
        phone=phone,
        answer_id=answer_id,
        reason=reason,
    )
    session.add(objection)
    await session.flush()
    await audit.record(session, actor=actor, entity_kind=ENTITY_KIND, entity_id=notice_id, action="objection:filed")
    recipients = await notifications.organisation_user_ids(session, opportunity.organisation_id)
    await notifications.notify(
        session,
        user_ids=recipients + await _staff_ids(session),
        kind="objection_filed",
        title=f"收到异议：{opportunity.title}",
        body=f"{real_name} 对“{opportunity.title}”的中选公示提出了异议，请书面答复；答复前结果不会生效。",
        link=notice_link(notice_id),
    )
    return objection


async def list_objections(session: AsyncSession, *, actor: Actor, notice_id: int) -> list[tuple[Objection, str]]:
    """The issuer's organisation and matchmakers read every objection; others only their own."""
    require_signed_in(actor)
    notice, opportunity = await _load(session, notice_id)
    query = select(Objection, User.display_name).join(User, col(User.id) == col(Objection.user_id))
    query = query.where(Objection.notice_id == notice.id)
    if not (actor.is_staff or actor.belongs_to(opportunity.organisation_id)):
        query = query.where(Objection.user_id == actor.user_id)
    return list((await session.exec(query.order_by(col(Objection.id)))).all())


async def answer_objection(
    session: AsyncSession, *, actor: Actor, objection_id: int, upheld: bool, response: str
) -> Objection:
    """The issuer or a matchmaker answers in writing; an upheld objection reopens the decision."""
    require_signed_in(actor)
    objection = await session.get(Objection, objection_id)
    if objection is None:
        raise NotFound("异议不存在")
    notice, opportunity = await _load(session, objection.notice_id)
    if not (actor.is_staff or actor.belongs_to(opportunity.organisation_id)):
        raise NotFound("异议不存在")
    if not _may_manage(actor, opportunity):
        raise Forbidden("只有出卷方或撮合专员可以答复异议")
    if objection.status != ObjectionStatus.pending:
        raise Conflict("该异议已答复", field="status")
    response = response.strip()
    if not response:
        raise Unprocessable("请书面答复异议（说明核查情况和结论）", field="response")
    if len(response) > 5000:
        raise Unprocessable("答复最多 5000 字", field="response")
    objection.status = ObjectionStatus.upheld if upheld else ObjectionStatus.rejected
    objection.response = response
    objection.responded_by_id = actor.user_id
    objection.responded_at = utcnow()
    session.add(objection)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind=ENTITY_KIND,
        entity_id=notice.id or 0,
        action=f"objection:{objection.status}",
        note=response,
    )
    verdict = "异议成立，中选结果将重新评审" if upheld else "异议不成立"
    await notifications.notify(
        session,
        user_ids=[objection.user_id],
        kind="objection_answered",
        title=f"您的异议已答复：{opportunity.title}",
        body=f"您对“{opportunity.title}”中选公示提出的异议已答复：{verdict}。\n答复：{response}",
        link=notice_link(notice.id or 0),
    )
    if upheld:
        await _reopen(session, actor, notice, opportunity)
    return objection


async def _reopen(session: AsyncSession, actor: Actor, notice: ResultNotice, opportunity: Opportunity) -> None:
    """Undo the publication: winners back to 入围, closed answers restored, the rest moot."""
    notice.status = NoticeStatus.reopened
    notice.reopened_at = utcnow()
    session.add(notice)
    affected: list[Answer] = []
    for answer_id in notice.answer_ids:
        answer = await session.get(Answer, answer_id)
        if answer is not None and answer.status == AnswerStatus.selected:
            answer.winner_published = False
            await answers._set_status(session, actor, answer, AnswerStatus.shortlisted, "异议成立，重新评审")
            affected.append(answer)
    for closed_id, before in notice.closed_answers.items():
        answer = await session.get(Answer, int(closed_id))
        if answer is not None and answer.status == AnswerStatus.not_selected:
            await answers._set_status(session, actor, answer, AnswerStatus(before), "异议成立，恢复评审前状态")
            affected.append(answer)
    for other in (
        await session.exec(
            select(Objection).where(Objection.notice_id == notice.id, Objection.status == ObjectionStatus.pending)
        )
    ).all():
        other.status = ObjectionStatus.moot
        session.add(other)
    await session.flush()
    await record_listings_shown(session, kind=ListingKind.opportunity.value, listing_ids=[notice.opportunity_id])
    await audit.record(
        session,
        actor=actor,
        entity_kind=ENTITY_KIND,
        entity_id=notice.id or 0,
        action="reopened",
        from_state=NoticeStatus.open.value,
        to_state=NoticeStatus.reopened.value,
    )
    users = await notifications.organisation_user_ids(session, opportunity.organisation_id)
    for answer in affected:
        users += await review.party_user_ids(session, answer)
    await notifications.notify(
        session,
        user_ids=users,
        kind="result_reopened",
        title=f"异议成立，中选结果重新评审：{opportunity.title}",
        body=f"“{opportunity.title}”的中选公示因异议成立而撤回，出卷方将重新作出评审结论。",
        link=notice_link(notice.id or 0),
    )


async def why_not_final(session: AsyncSession, notice: ResultNotice, now: datetime | None = None) -> str | None:
    """None when the result may become final now, else the reason in words."""
    if notice.status != NoticeStatus.open:
        return "该公示不在公示中"
    if (now or utcnow()) < notice.ends_at:
        return "公示期尚未结束"
    pending = (
        await session.exec(
            select(func.count())
            .select_from(Objection)
            .where(Objection.notice_id == notice.id, Objection.status == ObjectionStatus.pending)
        )
    ).one()
    if pending:
        return f"还有 {pending} 条异议未答复，答复后结果才能生效"
    return None


async def _finalize(session: AsyncSession, actor: Actor | None, notice: ResultNotice, opportunity: Opportunity) -> None:
    notice.status = NoticeStatus.final
    notice.finalized_at = utcnow()
    session.add(notice)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind=ENTITY_KIND,
        entity_id=notice.id or 0,
        action="final",
        from_state=NoticeStatus.open.value,
        to_state=NoticeStatus.final.value,
    )
    users = await notifications.organisation_user_ids(session, opportunity.organisation_id)
    for answer_id in notice.answer_ids:
        answer = await session.get(Answer, answer_id)
        if answer is None:
            continue
        await pairings.advance_for_result(
            session,
            actor=actor,
            opportunity_id=opportunity.id or 0,
            organisation_id=answer.lead_organisation_id,
            note="中选结果公示期满、无异议成立，结果生效",
        )
        users += await review.party_user_ids(session, answer)
    objectors = (await session.exec(select(Objection.user_id).where(Objection.notice_id == notice.id))).all()
    await notifications.notify(
        session,
        user_ids=users + list(objectors),
        kind="result_final",
        title=f"中选结果已生效：{opportunity.title}",
        body=f"“{opportunity.title}”的中选结果公示期满，无异议成立，结果已生效；对接将进入意向阶段。",
        link=notice_link(notice.id or 0),
    )


async def finalize(session: AsyncSession, *, actor: Actor, notice_id: int, now: datetime | None = None) -> ResultNotice:
    """The issuer or a matchmaker confirms a result whose period has ended with every objection answered."""
    notice, opportunity = await _load(session, notice_id)
    require_signed_in(actor)
    if not _may_manage(actor, opportunity):
        raise Forbidden("只有出卷方或撮合专员可以确认结果生效")
    problem = await why_not_final(session, notice, now)
    if problem:
        raise Conflict(problem, field="status")
    await _finalize(session, actor, notice, opportunity)
    return notice


async def finalize_due(session: AsyncSession, *, now: datetime | None = None, limit: int = 100) -> int:
    """The worker's part: every open notice past its period with no objection pending becomes final."""
    now = now or utcnow()
    due = (
        await session.exec(
            select(ResultNotice)
            .where(ResultNotice.status == NoticeStatus.open, col(ResultNotice.ends_at) <= now)
            .order_by(col(ResultNotice.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    done = 0
    for notice in due:
        if await why_not_final(session, notice, now) is None:
            opportunity = await session.get(Opportunity, notice.opportunity_id)
            if opportunity is not None:
                await _finalize(session, None, notice, opportunity)
                done += 1
    return done


async def remind_ending(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Once per notice, a day before its period ends: the issuer hears, with the objections still open."""
    now = now or utcnow()
    rows = (
        await session.exec(
            select(ResultNotice).where(
                ResultNotice.status == NoticeStatus.open,
                col(ResultNotice.ends_at) > now,
                col(ResultNotice.ends_at) <= now + ENDING_REMINDER,
            )
        )
    ).all()
    sent = 0
    for notice in rows:
        if not await notifications.claim_reminder(session, f"result_notice_ending:{notice.id}"):
            continue
        opportunity = await session.get(Opportunity, notice.opportunity_id)
        if opportunity is None:
            continue
        pending = (await objection_counts(session, notice.id or 0))[ObjectionStatus.pending]
        waiting = f"尚有 {pending} 条异议待答复，答复前结果不会生效。" if pending else "目前没有待答复的异议。"
        until = notice.ends_at.astimezone(CHINA).strftime("%Y年%m月%d日 %H:%M")
        await notifications.notify(
            session,
            user_ids=await notifications.organisation_user_ids(session, opportunity.organisation_id),
            kind="result_notice_ending",
            title=f"公示期即将结束：{opportunity.title}",
            body=f"“{opportunity.title}”的中选公示将于 {until}（北京时间）结束。{waiting}",
            link=notice_link(notice.id or 0),
        )
        sent += 1
    return sent


async def run_periodic(session: AsyncSession, *, now: datetime | None = None) -> int:
    """What the worker loop does for this domain: reminders first, then the results that fall due."""
    return await remind_ending(session, now=now) + await finalize_due(session, now=now)


@mail.periodic_jobs.register
async def _with_the_mail_worker(session: AsyncSession, settings: Settings) -> int:
    return await run_periodic(session)


@organisation_service.renamed.register
async def _winners_under_the_new_name(session: AsyncSession, organisation_id: int) -> None:
    """Opportunities whose published winners name a renamed enterprise (as lead or confirmed
    member) show the new name: visitors' kept copies of those pages are dropped."""
    as_member = select(AnswerMember.answer_id).where(
        AnswerMember.organisation_id == organisation_id, AnswerMember.status == MemberStatus.confirmed
    )
    opportunities = await session.exec(
        select(Answer.opportunity_id)
        .where(
            col(Answer.winner_published).is_(True),
            or_(col(Answer.lead_organisation_id) == organisation_id, col(Answer.id).in_(as_member)),
        )
        .distinct()
    )
    await record_listings_shown(session, kind=ListingKind.opportunity.value, listing_ids=list(opportunities.all()))


def working_day_count(start: date, end: date) -> int:
    """Working days in (start, end]: for the page's "还剩 N 个工作日"."""
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days += 1
    return days
