"""Answers in their API shape, with member names and attachment links."""

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers.models import Answer, AnswerAttachment, AnswerOffering
from backend.answers.schemas import AnswerPublic, AttachmentPublic, ContactPerson, MemberPublic
from backend.answers.service import members_of
from backend.auth.models import User
from backend.kit.china_time import in_china
from backend.listings.models import Opportunity
from backend.organisations.service import names_of as organisation_names_of


async def present_answers(session: AsyncSession, answers: Sequence[Answer]) -> list[AnswerPublic]:
    if not answers:
        return []
    ids = [a.id for a in answers]
    members = await members_of(session, ids)
    organisation_ids = {a.lead_organisation_id for a in answers} | {
        m.organisation_id for ms in members.values() for m in ms
    }
    names = await organisation_names_of(session, organisation_ids)
    titles = dict(
        (
            await session.exec(
                select(Opportunity.id, Opportunity.title).where(
                    col(Opportunity.id).in_({a.opportunity_id for a in answers})
                )
            )
        ).all()
    )
    offerings: dict[int, list[int]] = {i: [] for i in ids}
    for answer_id, offering_id in (
        await session.exec(
            select(AnswerOffering.answer_id, AnswerOffering.offering_id).where(col(AnswerOffering.answer_id).in_(ids))
        )
    ).all():
        offerings[answer_id].append(offering_id)
    # The answerer's contact person: whoever wrote the answer, if still an active account.
    # Only readers of the answer get here (answerer, issuer, staff: see answers.permissions).
    writer_ids = {a.created_by_id for a in answers if a.created_by_id is not None}
    writers = (
        {
            u.id: u
            for u in (await session.exec(select(User).where(col(User.id).in_(writer_ids), col(User.is_active)))).all()
        }
        if writer_ids
        else {}
    )
    attachments: dict[int, list[AnswerAttachment]] = {i: [] for i in ids}
    for attachment in (
        await session.exec(
            select(AnswerAttachment).where(col(AnswerAttachment.answer_id).in_(ids)).order_by(col(AnswerAttachment.id))
        )
    ).all():
        attachments[attachment.answer_id].append(attachment)
    return [
        AnswerPublic(
            id=a.id,
            receipt_number=receipt_number(a),
            opportunity_id=a.opportunity_id,
            opportunity_title=titles.get(a.opportunity_id, ""),
            lead_organisation_id=a.lead_organisation_id,
            lead_organisation_name=names.get(a.lead_organisation_id, ""),
            title=a.title,
            summary=a.summary,
            solution=a.solution,
            price_text=a.price_text,
            price_amount=a.price_amount,
            delivery_plan=a.delivery_plan,
            status=a.status,
            is_consortium=bool(members[a.id]),
            members=[
                MemberPublic(
                    organisation_id=m.organisation_id,
                    organisation_name=names.get(m.organisation_id, ""),
                    status=m.status,
                )
                for m in members[a.id]
            ],
            offering_ids=offerings[a.id],
            attachments=[
                AttachmentPublic(
                    id=f.id,
                    filename=f.filename,
                    content_type=f.content_type,
                    size=f.size,
                    created_at=f.created_at,
                    url=f"/api/v1/answers/{a.id}/attachments/{f.id}",
                )
                for f in attachments[a.id]
            ],
            submitted_at=a.submitted_at,
            decided_at=a.decided_at,
            winner_published=a.winner_published,
            created_at=a.created_at,
            modified_at=a.modified_at,
            contact_person=ContactPerson(
                name=writers[a.created_by_id].display_name, email=writers[a.created_by_id].email
            )
            if a.created_by_id in writers
            else None,
        )
        for a in answers
    ]


def receipt_number(answer: Answer) -> str | None:
    """The submission's receipt: the China date it was submitted and the answer's number (DT-20261207-000123)."""
    if answer.submitted_at is None or answer.id is None:
        return None
    return f"DT-{in_china(answer.submitted_at):%Y%m%d}-{answer.id:06d}"
