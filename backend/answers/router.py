from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from backend.answers import invitations, permissions, review, service
from backend.answers.presenter import present_answers
from backend.answers.schemas import (
    AnswerCreate,
    AnswerDecision,
    AnswerPublic,
    AnswerUpdate,
    AttachmentPublic,
    CriteriaUpdate,
    CriterionPublic,
    MembershipResponse,
    Recusal,
    ReviewerInvite,
    ReviewPublic,
    ReviewSubmit,
    WinnerPublic,
)
from backend.dependencies import ActorDep, SessionDep, SettingsDep, SignedInDep
from backend.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unprocessable,
    error_responses,
)
from backend.kit.files import download_response
from backend.kit.params import DbId, IdPath

router = APIRouter(tags=["答题与评审"])
_ERRORS = error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable)


async def _one(session: SessionDep, answer) -> AnswerPublic:  # type: ignore[no-untyped-def]
    return (await present_answers(session, [answer]))[0]


@router.post("/opportunities/{opportunity_id}/answers", response_model=AnswerPublic, status_code=201, responses=_ERRORS)
async def create_answer(
    opportunity_id: IdPath, data: AnswerCreate, session: SessionDep, actor: ActorDep
) -> AnswerPublic:
    """Start a draft answer (alone, or leading a consortium 联合体)."""
    return await _one(session, await service.create(session, actor=actor, opportunity_id=opportunity_id, data=data))


@router.get("/opportunities/{opportunity_id}/answers", response_model=list[AnswerPublic], responses=_ERRORS)
async def list_answers(opportunity_id: IdPath, session: SessionDep, actor: ActorDep) -> list[AnswerPublic]:
    """Submitted answers, for the issuer and matchmakers."""
    return await present_answers(
        session, await service.list_for_opportunity(session, actor=actor, opportunity_id=opportunity_id)
    )


class InvitationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    offering_id: DbId = Field(description="被推荐的产品（其企业收到邀请）")
    note: str = Field(default="", max_length=500, description="附言")


class InvitationPublic(BaseModel):
    notified: int = Field(description="收到通知的人数")


@router.post(
    "/opportunities/{opportunity_id}/invitations",
    response_model=InvitationPublic,
    status_code=201,
    responses=_ERRORS,
)
async def invite_to_answer(
    opportunity_id: IdPath, data: InvitationRequest, session: SessionDep, actor: ActorDep
) -> InvitationPublic:
    """邀请答题：出卷方邀请推荐的企业为本机会答题（企业收到带链接的通知；每家企业一次）。"""
    people = await invitations.invite(
        session, actor=actor, opportunity_id=opportunity_id, offering_id=data.offering_id, note=data.note
    )
    return InvitationPublic(notified=len(people))


@router.get("/answers", response_model=list[AnswerPublic], responses=error_responses(Unauthorized))
async def my_answers(session: SessionDep, actor: SignedInDep) -> list[AnswerPublic]:
    """Answers my enterprise leads or is a consortium member of."""
    return await present_answers(session, await service.list_mine(session, actor=actor))


@router.get("/answers/{answer_id}", response_model=AnswerPublic, responses=_ERRORS)
async def get_answer(answer_id: IdPath, session: SessionDep, actor: ActorDep) -> AnswerPublic:
    answer, _, _ = await permissions.get_readable(session, actor=actor, id=answer_id)
    return await _one(session, answer)


@router.patch("/answers/{answer_id}", response_model=AnswerPublic, responses=_ERRORS)
async def update_answer(answer_id: IdPath, data: AnswerUpdate, session: SessionDep, actor: ActorDep) -> AnswerPublic:
    return await _one(session, await service.update(session, actor=actor, answer_id=answer_id, data=data))


@router.post("/answers/{answer_id}/submit", response_model=AnswerPublic, responses=_ERRORS)
async def submit_answer(answer_id: IdPath, session: SessionDep, actor: ActorDep) -> AnswerPublic:
    """Submit before the deadline (the server's clock decides)."""
    return await _one(session, await service.submit(session, actor=actor, answer_id=answer_id))


@router.post("/answers/{answer_id}/withdraw", response_model=AnswerPublic, responses=_ERRORS)
async def withdraw_answer(answer_id: IdPath, session: SessionDep, actor: ActorDep) -> AnswerPublic:
    return await _one(session, await service.withdraw(session, actor=actor, answer_id=answer_id))


@router.post("/answers/{answer_id}/membership", response_model=AnswerPublic, responses=_ERRORS)
async def respond_to_membership(
    answer_id: IdPath, data: MembershipResponse, session: SessionDep, actor: ActorDep
) -> AnswerPublic:
    """A consortium member confirms or declines taking part."""
    return await _one(
        session, await service.respond_to_membership(session, actor=actor, answer_id=answer_id, accept=data.accept)
    )


@router.post(
    "/answers/{answer_id}/attachments",
    response_model=AttachmentPublic,
    status_code=201,
    responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, PayloadTooLarge),
)
async def upload_attachment(
    answer_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="PDF、Office 文档或图片")],
) -> AttachmentPublic:
    """Attach a file; its type is checked by content, and it is stored outside the web root."""
    data = await file.read(settings.max_attachment_bytes + 1)
    attachment = await service.add_attachment(
        session,
        actor=actor,
        answer_id=answer_id,
        data=data,
        filename=file.filename or "",
        max_bytes=settings.max_attachment_bytes,
    )
    return AttachmentPublic(
        id=attachment.id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        created_at=attachment.created_at,
        url=f"/api/v1/answers/{answer_id}/attachments/{attachment.id}",
    )


@router.get("/answers/{answer_id}/attachments/{attachment_id}", responses=error_responses(Unauthorized, NotFound))
async def download_attachment(
    answer_id: IdPath, attachment_id: IdPath, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    """Served only to those who may read the answer, always as a download."""
    attachment = await service.get_attachment(session, actor=actor, answer_id=answer_id, attachment_id=attachment_id)
    return await download_response(
        session,
        settings.upload_dir,
        storage_key=attachment.storage_key,
        filename=attachment.filename,
        content_type=attachment.content_type,
        missing="附件文件已丢失，请联系撮合专员",
    )


@router.delete("/answers/{answer_id}/attachments/{attachment_id}", status_code=204, responses=_ERRORS)
async def delete_attachment(answer_id: IdPath, attachment_id: IdPath, session: SessionDep, actor: ActorDep) -> Response:
    await service.remove_attachment(session, actor=actor, answer_id=answer_id, attachment_id=attachment_id)
    return Response(status_code=204)


@router.get("/opportunities/{opportunity_id}/criteria", response_model=list[CriterionPublic], responses=_ERRORS)
async def get_criteria(opportunity_id: IdPath, session: SessionDep, actor: SignedInDep) -> list[CriterionPublic]:
    return [
        CriterionPublic(id=c.id, name=c.name, weight=c.weight)
        for c in await review.criteria(session, opportunity_id=opportunity_id)
    ]


@router.put("/opportunities/{opportunity_id}/criteria", response_model=list[CriterionPublic], responses=_ERRORS)
async def set_criteria(
    opportunity_id: IdPath, data: CriteriaUpdate, session: SessionDep, actor: ActorDep
) -> list[CriterionPublic]:
    """The issuer's weighted review criteria."""
    rows = await review.set_criteria(
        session, actor=actor, opportunity_id=opportunity_id, items=[(c.name, c.weight) for c in data.criteria]
    )
    return [CriterionPublic(id=c.id, name=c.name, weight=c.weight) for c in rows]


@router.post("/opportunities/{opportunity_id}/reviewers", status_code=204, responses=_ERRORS)
async def invite_reviewer(
    opportunity_id: IdPath, data: ReviewerInvite, session: SessionDep, actor: ActorDep
) -> Response:
    """Invite a reviewer from the issuer's own organisation."""
    await review.invite(session, actor=actor, opportunity_id=opportunity_id, user_id=data.user_id)
    return Response(status_code=204)


def _review_public(row: tuple) -> ReviewPublic:  # type: ignore[type-arg]
    r, user = row
    return ReviewPublic(
        id=r.id,
        answer_id=r.answer_id,
        reviewer_id=r.reviewer_id,
        reviewer_name=user.display_name,
        scores=r.scores,
        total=r.total,
        comment=r.comment,
        recused=r.recused,
        submitted_at=r.submitted_at,
    )


@router.put("/answers/{answer_id}/review", response_model=ReviewPublic, responses=_ERRORS)
async def score_answer(answer_id: IdPath, data: ReviewSubmit, session: SessionDep, actor: ActorDep) -> ReviewPublic:
    """Score every criterion (0–100) with a required comment."""
    saved = await review.score(session, actor=actor, answer_id=answer_id, scores=data.scores, comment=data.comment)
    return _review_public((saved, actor.user))


@router.post("/answers/{answer_id}/recuse", response_model=ReviewPublic, responses=_ERRORS)
async def recuse(answer_id: IdPath, data: Recusal, session: SessionDep, actor: ActorDep) -> ReviewPublic:
    """Step aside from reviewing this answer for a conflict of interest."""
    saved = await review.recuse(session, actor=actor, answer_id=answer_id, reason=data.reason)
    return _review_public((saved, actor.user))


@router.get("/answers/{answer_id}/reviews", response_model=list[ReviewPublic], responses=_ERRORS)
async def list_reviews(answer_id: IdPath, session: SessionDep, actor: ActorDep) -> list[ReviewPublic]:
    return [_review_public(row) for row in await review.list_reviews(session, actor=actor, answer_id=answer_id)]


@router.post("/answers/{answer_id}/decision", response_model=AnswerPublic, responses=_ERRORS)
async def decide(answer_id: IdPath, data: AnswerDecision, session: SessionDep, actor: ActorDep) -> AnswerPublic:
    """Shortlist, select or turn down (only once every reviewer has scored or recused)."""
    return await _one(
        session, await review.decide(session, actor=actor, answer_id=answer_id, to=data.status, note=data.note)
    )


@router.get("/opportunities/{opportunity_id}/winners", response_model=list[WinnerPublic])
async def winners(opportunity_id: IdPath, session: SessionDep) -> list[WinnerPublic]:
    """The selected answers under 公示 or final (published with `POST …/result-notice`): public."""
    return [
        WinnerPublic(
            answer_id=a.id,
            title=a.title,
            summary=a.summary,
            lead_organisation_name=lead,
            member_organisation_names=members,
        )
        for a, lead, members in await review.winners(session, opportunity_id=opportunity_id)
    ]
