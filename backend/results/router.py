"""/result-notices: 结果公示 and 异议. Reading a notice is public; everything else needs an account."""

from fastapi import APIRouter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.dependencies import ActorDep, SessionDep
from backend.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable, error_responses
from backend.kit.params import IdPath
from backend.listings.models import Opportunity
from backend.results import service
from backend.results.models import NOTICE_STATUS_LABELS, NoticeStatus, Objection, ResultNotice
from backend.results.schemas import (
    NoticeCreate,
    NoticeEntry,
    NoticePublic,
    ObjectionAnswer,
    ObjectionCreate,
    ObjectionPublic,
)

router = APIRouter(tags=["结果公示与异议"])
_ERRORS = error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable)


async def present(session: AsyncSession, notice: ResultNotice, opportunity: Opportunity) -> NoticePublic:
    return NoticePublic(
        id=notice.id or 0,
        opportunity_id=notice.opportunity_id,
        opportunity_title=opportunity.title,
        status=NoticeStatus(notice.status),
        status_label=NOTICE_STATUS_LABELS[NoticeStatus(notice.status)],
        working_days=notice.working_days,
        starts_at=notice.starts_at,
        ends_at=notice.ends_at,
        finalized_at=notice.finalized_at,
        note=notice.note,
        entries=[
            NoticeEntry(
                answer_id=e.answer_id,
                title=e.title,
                summary=e.summary,
                lead_organisation_name=e.lead,
                member_organisation_names=e.members,
            )
            for e in await service.entries(session, notice)
        ],
        objections=await service.objection_counts(session, notice.id or 0),
    )


def _objection(objection: Objection, user_name: str) -> ObjectionPublic:
    return ObjectionPublic.model_validate({**objection.model_dump(), "user_name": user_name})


@router.post(
    "/opportunities/{opportunity_id}/result-notice", response_model=NoticePublic, status_code=201, responses=_ERRORS
)
async def publish_notice(
    opportunity_id: IdPath, data: NoticeCreate, session: SessionDep, actor: ActorDep
) -> NoticePublic:
    """Publish the selected answers for a 公示期 of `working_days` working days (issuer or matchmaker)."""
    notice = await service.publish(
        session, actor=actor, opportunity_id=opportunity_id, working_days=data.working_days, note=data.note
    )
    return await present(session, *await service.get_public(session, notice_id=notice.id or 0))


@router.post("/opportunities/{opportunity_id}/winners/publish", response_model=NoticePublic, responses=_ERRORS)
async def publish_winners(opportunity_id: IdPath, session: SessionDep, actor: ActorDep) -> NoticePublic:
    """The earlier name of `result-notice`: publishes with the default 公示期 of 5 working days."""
    return await publish_notice(opportunity_id, NoticeCreate(), session, actor)


@router.get("/result-notices", response_model=list[NoticePublic])
async def list_notices(session: SessionDep) -> list[NoticePublic]:
    """Notices under way and final results, newest first (public)."""
    return [await present(session, n, o) for n, o in await service.list_public(session)]


@router.get("/result-notices/{notice_id}", response_model=NoticePublic, responses=error_responses(NotFound))
async def get_notice(notice_id: IdPath, session: SessionDep) -> NoticePublic:
    return await present(session, *await service.get_public(session, notice_id=notice_id))


@router.post(
    "/result-notices/{notice_id}/objections", response_model=ObjectionPublic, status_code=201, responses=_ERRORS
)
async def file_objection(
    notice_id: IdPath, data: ObjectionCreate, session: SessionDep, actor: ActorDep
) -> ObjectionPublic:
    """A reasoned, real-name objection during the 公示期 (any signed-in person)."""
    objection = await service.file_objection(
        session,
        actor=actor,
        notice_id=notice_id,
        real_name=data.real_name,
        phone=data.phone,
        reason=data.reason,
        answer_id=data.answer_id,
    )
    return _objection(objection, actor.user.display_name if actor.user else "")


@router.get("/result-notices/{notice_id}/objections", response_model=list[ObjectionPublic], responses=_ERRORS)
async def list_objections(notice_id: IdPath, session: SessionDep, actor: ActorDep) -> list[ObjectionPublic]:
    """All objections for the issuer's organisation and matchmakers; one's own for anyone else."""
    return [_objection(o, name) for o, name in await service.list_objections(session, actor=actor, notice_id=notice_id)]


@router.post("/objections/{objection_id}/response", response_model=ObjectionPublic, responses=_ERRORS)
async def answer_objection(
    objection_id: IdPath, data: ObjectionAnswer, session: SessionDep, actor: ActorDep
) -> ObjectionPublic:
    """Answer in writing; `upheld: true` reopens the decision."""
    objection = await service.answer_objection(
        session, actor=actor, objection_id=objection_id, upheld=data.upheld, response=data.response
    )
    rows = await service.list_objections(session, actor=actor, notice_id=objection.notice_id)
    return next(_objection(o, name) for o, name in rows if o.id == objection.id)


@router.post("/result-notices/{notice_id}/finalize", response_model=NoticePublic, responses=_ERRORS)
async def finalize(notice_id: IdPath, session: SessionDep, actor: ActorDep) -> NoticePublic:
    """Confirm the result once the period has ended and every objection is answered (the worker also does it)."""
    notice = await service.finalize(session, actor=actor, notice_id=notice_id)
    return await present(session, *await service.get_public(session, notice_id=notice.id or 0))
