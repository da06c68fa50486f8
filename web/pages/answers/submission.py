"""答题 pages for enterprises: the answer form, drafts, attachments, submission, withdrawal,
consortium invitations, and "我的答题"."""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData

from backend.accounts import service as accounts
from backend.accounts.schemas import ConsortiumInvitationCreate
from backend.answers import service
from backend.answers.models import ANSWER_STATUS_LABELS, Answer, MemberStatus
from backend.answers.ownership import own_answer_to
from backend.answers.presenter import present_answers
from backend.answers.schemas import AnswerCreate, AnswerUpdate
from backend.auth.actor import Actor
from backend.auth.models import Role
from backend.dependencies import ActorDep, SessionDep, SettingsDep, require_roles
from backend.kit.errors import NotFound
from backend.kit.params import MAX_ID, IdPath, whole_number
from backend.listings import service as listings
from backend.listings.models import ListingKind, ListingStatus, Offering, Opportunity
from backend.organisations import service as organisation_service
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt, see_other
from web.kit.forms import FormErrors, confirmed, text, validate
from web.kit.orgpicker import resolve_organisations
from web.kit.templating import render
from web.kit.uploads import store_upload
from web.kit.urls import url_to
from web.pages.answers.presenter import MEMBER_STATUS_LABELS, answer_page

router = APIRouter()
EnterpriseDep = Annotated[Actor, Depends(require_roles(Role.enterprise))]

TEXT_FIELDS = ("title", "summary", "solution", "price_text", "delivery_plan")
FIELD_LABELS = {
    "title": "答题标题",
    "summary": "摘要",
    "solution": "解决方案",
    "price_text": "报价说明",
    "price_amount": "报价金额",
    "delivery_plan": "交付计划",
    "offering_ids": "依托产品",
    "members": "联合体成员",
    "status": "状态",
    "deadline": "截止日期",
}
# Service and schema field names → the form's own input names.
ALIASES = {"member_organisation_ids": "members"}
_MEMBER_SEPARATORS = re.compile(r"[\r\n,，、;；]+")
LIST_NOTICES = {"declined": "已拒绝参与该联合体答题。", "withdrawn": "答题已撤回。"}


FORM_FIELDS = {*TEXT_FIELDS, "price_amount", "offering_ids", "members"}


def _add(errors: FormErrors, field: str | None, message: str) -> None:
    """Next to its input when the form has one, otherwise at the top of the form."""
    name = ALIASES.get(field or "", field)
    errors.add(name if name in FORM_FIELDS else None, message)


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: text(form, name, 100_000) for name in TEXT_FIELDS}
    values["price_amount"] = text(form, "price_amount", 40)
    values["offering_ids"] = [v for v in form.getlist("offering_ids") if isinstance(v, str) and v]
    values["members"] = text(form, "members", 5000)
    return values


async def _schema_input(
    session: AsyncSession, actor: Actor, values: dict[str, Any], errors: FormErrors
) -> dict[str, Any]:
    data = {name: values[name] for name in TEXT_FIELDS}
    data["price_amount"] = values["price_amount"] or None
    data["offering_ids"] = values["offering_ids"]
    # Member enterprises are named the way people know them: (part of) the name or 统一社会信用代码.
    data["member_organisation_ids"] = await resolve_organisations(
        session, actor=actor, typed=values["members"], errors=errors, field="members", separators=_MEMBER_SEPARATORS
    )
    return data


def _validate(schema: type, data: dict[str, Any], errors: FormErrors) -> Any:
    checked = FormErrors()
    result = validate(schema, data, checked, required={"title": "请填写答题标题"})
    for field, message in checked.items():
        _add(errors, field, message)
    return None if errors else result


async def _open_opportunity(session: AsyncSession, actor: Actor, opportunity_id: int) -> Opportunity:
    opportunity = await listings.get_visible(
        session, actor=actor, kind=ListingKind.opportunity, listing_id=opportunity_id
    )
    if opportunity.status not in (ListingStatus.published, ListingStatus.closed):
        raise NotFound("机会不存在")
    return opportunity


async def _offering_options(session: AsyncSession, organisation_id: int, chosen: list[int]) -> list[tuple[str, str]]:
    """The enterprise's own offerings, plus any already chosen (a consortium member's, say)."""
    rows = await session.exec(
        select(Offering.id, Offering.title)
        .where(
            ((Offering.organisation_id == organisation_id) & (Offering.status != ListingStatus.withdrawn))
            | col(Offering.id).in_(chosen or [0])
        )
        .order_by(col(Offering.id).desc())
    )
    return [(str(i), title) for i, title in rows.all()]


async def _form_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    opportunity: Opportunity,
    *,
    values: dict[str, Any],
    errors: FormErrors,
    answer_id: int | None,
    status: int = 200,
    pending: str | None = None,
) -> Response:
    chosen = [n for v in values.get("offering_ids", []) if (n := whole_number(str(v), 1, MAX_ID)) is not None]
    context = {
        "opportunity": opportunity,
        "values": values,
        "errors": errors,
        "answer_id": answer_id,
        "labels": FIELD_LABELS,
        "offering_options": await _offering_options(session, actor.organisation_id or 0, chosen),
        "deadline_passed": service.deadline_passed(opportunity),
        "awaiting_approval": pending,
    }
    return render(request, "answers/form.html", context, status=status)


@router.get("/opportunities/{opportunity_id}/answer", name="answers:new_answer")
async def new_answer(opportunity_id: IdPath, request: Request, session: SessionDep, actor: EnterpriseDep) -> Response:
    """我要答题: the form, or the answer the enterprise already has."""
    opportunity = await _open_opportunity(session, actor, opportunity_id)
    existing = await own_answer_to(session, actor, opportunity.id)
    if existing is not None:
        return see_other(url_to(request, "answers:show_answer", answer_id=existing))
    values: dict[str, Any] = {name: "" for name in (*TEXT_FIELDS, "price_amount", "members")} | {"offering_ids": []}
    # Said before anything is typed: the server refuses even a draft answer until approval.
    pending = await organisation_service.awaiting_approval(session, actor)
    return await _form_page(
        request, session, actor, opportunity, values=values, errors=FormErrors(), answer_id=None, pending=pending
    )


@router.post("/opportunities/{opportunity_id}/answer", name="answers:create_answer")
async def create_answer(
    opportunity_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: EnterpriseDep
) -> Response:
    opportunity = await _open_opportunity(session, actor, opportunity_id)
    values, errors, status = _form_values(form), FormErrors(), 422
    data = _validate(AnswerCreate, await _schema_input(session, actor, values, errors), errors)
    if data is not None:
        answer, refused = await attempt(
            session, lambda: service.create(session, actor=actor, opportunity_id=opportunity.id, data=data)
        )
        if refused is None and answer is not None:
            return see_other(url_to(request, "answers:show_answer", answer_id=answer.id) + "?done=created")
        if refused is not None:
            _add(errors, refused.field, refused.detail)
            status = refused.status_code
    return await _form_page(
        request, session, actor, opportunity, values=values, errors=errors, answer_id=None, status=status
    )


@router.get("/answers", name="answers:my_answers")
async def my_answers(request: Request, session: SessionDep, actor: EnterpriseDep) -> Response:
    """我的答题: answers we lead, consortium invitations waiting for us, answers we take part in."""
    items = await present_answers(session, await service.list_mine(session, actor=actor))
    led: list[Any] = []
    invitations: list[Any] = []
    joined: list[Any] = []
    for item in items:
        if item.lead_organisation_id == actor.organisation_id:
            led.append(item)
            continue
        mine = next((m for m in item.members if m.organisation_id == actor.organisation_id), None)
        (invitations if mine and mine.status == MemberStatus.pending and item.status == "draft" else joined).append(
            item
        )
    context = {
        "led": led,
        "invitations": invitations,
        "joined": joined,
        "status_labels": {k.value: v for k, v in ANSWER_STATUS_LABELS.items()},
        "member_labels": {k.value: v for k, v in MEMBER_STATUS_LABELS.items()},
        "notice": LIST_NOTICES.get(request.query_params.get("done", "")),
        "error": None,
    }
    return render(request, "answers/mine.html", context)


@router.get("/answers/{answer_id}", name="answers:show_answer")
async def show_answer(answer_id: IdPath, request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return await answer_page(request, session, actor, answer_id)


async def _own_draft(session: AsyncSession, actor: Actor, answer_id: int) -> tuple[Answer, Opportunity]:
    answer, opportunity, _ = await service.load_readable(session, actor=actor, answer_id=answer_id)
    if answer.lead_organisation_id != actor.organisation_id:
        raise NotFound("答题不存在")
    return answer, opportunity


@router.get("/answers/{answer_id}/edit", name="answers:edit_answer")
async def edit_answer(answer_id: IdPath, request: Request, session: SessionDep, actor: EnterpriseDep) -> Response:
    answer, opportunity = await _own_draft(session, actor, answer_id)
    if answer.status != "draft":
        return await answer_page(request, session, actor, answer_id, error="只有草稿可以修改", status=409)
    item = (await present_answers(session, [answer]))[0]
    values: dict[str, Any] = {name: getattr(answer, name) or "" for name in TEXT_FIELDS}
    values["price_amount"] = "" if answer.price_amount is None else f"{answer.price_amount:f}".rstrip("0").rstrip(".")
    values["offering_ids"] = [str(i) for i in item.offering_ids]
    values["members"] = "\n".join(m.organisation_name for m in item.members)
    return await _form_page(
        request, session, actor, opportunity, values=values, errors=FormErrors(), answer_id=answer.id
    )


@router.post("/answers/{answer_id}/edit", name="answers:update_answer")
async def update_answer(
    answer_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: EnterpriseDep
) -> Response:
    _, opportunity = await _own_draft(session, actor, answer_id)
    values, errors, status = _form_values(form), FormErrors(), 422
    data = _validate(AnswerUpdate, await _schema_input(session, actor, values, errors), errors)
    if data is not None:
        _done, refused = await attempt(
            session, lambda: service.update(session, actor=actor, answer_id=answer_id, data=data)
        )
        if refused is None:
            return see_other(url_to(request, "answers:show_answer", answer_id=answer_id) + "?done=updated")
        _add(errors, refused.field, refused.detail)
        status = refused.status_code
    return await _form_page(
        request, session, actor, opportunity, values=values, errors=errors, answer_id=answer_id, status=status
    )


@router.post("/answers/{answer_id}/attachments", name="answers:upload_attachment")
async def upload_attachment(
    answer_id: IdPath,
    request: Request,
    form: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    actor: EnterpriseDep,
) -> Response:
    refused = await store_upload(
        session,
        form,
        settings.max_attachment_bytes,
        lambda data, filename: service.add_attachment(
            session,
            actor=actor,
            answer_id=answer_id,
            data=data,
            filename=filename,
            max_bytes=settings.max_attachment_bytes,
        ),
    )
    if refused is not None:
        return await answer_page(request, session, actor, answer_id, error=refused.detail, status=refused.status_code)
    return see_other(url_to(request, "answers:show_answer", answer_id=answer_id) + "?done=uploaded")


@router.post("/answers/{answer_id}/attachments/{attachment_id}/delete", name="answers:delete_attachment")
async def delete_attachment(
    answer_id: IdPath,
    attachment_id: IdPath,
    request: Request,
    _: CheckedForm,
    session: SessionDep,
    actor: EnterpriseDep,
) -> Response:
    _done, refused = await attempt(
        session,
        lambda: service.remove_attachment(session, actor=actor, answer_id=answer_id, attachment_id=attachment_id),
    )
    if refused is not None:
        return await answer_page(request, session, actor, answer_id, error=refused.detail, status=refused.status_code)
    return see_other(url_to(request, "answers:show_answer", answer_id=answer_id) + "?done=removed")


@router.post("/answers/{answer_id}/invite-member", name="answers:invite_member")
async def invite_member(
    answer_id: IdPath,
    request: Request,
    form: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    actor: EnterpriseDep,
) -> Response:
    """Invite a consortium member that is not on the platform yet (name, credit code, email)."""
    values = {n: text(form, n, 254) for n in ("organisation_name", "credit_code", "email", "display_name")}
    errors = FormErrors()
    data = validate(
        ConsortiumInvitationCreate,
        values,
        errors,
        required={
            "organisation_name": "请填写成员企业全称",
            "credit_code": "请填写统一社会信用代码",
            "email": "请填写联系人邮箱",
        },
    )
    if data is None:
        message = next(iter(errors.values()))
        return await answer_page(request, session, actor, answer_id, error=message, status=422)
    _done, refused = await attempt(
        session,
        lambda: accounts.invite_consortium_member(
            session, actor=actor, answer_id=answer_id, data=data, settings=settings
        ),
    )
    if refused is not None:
        return await answer_page(request, session, actor, answer_id, error=refused.detail, status=refused.status_code)
    return see_other(url_to(request, "answers:show_answer", answer_id=answer_id) + "?done=invited")


@router.post("/answers/{answer_id}/submit", name="answers:submit_answer")
async def submit_answer(
    answer_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: EnterpriseDep
) -> Response:
    """Late, incomplete or unconfirmed-consortium submissions are refused with the reason on the page."""
    if not confirmed(form):
        return await answer_page(
            request, session, actor, answer_id, error="提交后不能再修改，请勾选确认后再提交", status=422
        )
    _done, refused = await attempt(session, lambda: service.submit(session, actor=actor, answer_id=answer_id))
    if refused is not None:
        return await answer_page(request, session, actor, answer_id, error=refused.detail, status=refused.status_code)
    return see_other(url_to(request, "answers:show_answer", answer_id=answer_id) + "?done=submitted")


@router.post("/answers/{answer_id}/withdraw", name="answers:withdraw_answer")
async def withdraw_answer(
    answer_id: IdPath, request: Request, _: CheckedForm, session: SessionDep, actor: EnterpriseDep
) -> Response:
    _done, refused = await attempt(session, lambda: service.withdraw(session, actor=actor, answer_id=answer_id))
    if refused is not None:
        return await answer_page(request, session, actor, answer_id, error=refused.detail, status=refused.status_code)
    return see_other(url_to(request, "answers:show_answer", answer_id=answer_id) + "?done=withdrawn")


@router.post("/answers/{answer_id}/membership", name="answers:respond_to_membership")
async def respond_to_membership(
    answer_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: EnterpriseDep
) -> Response:
    """确认参与 / 拒绝 a consortium invitation."""
    accept = text(form, "accept") == "yes"
    _done, refused = await attempt(
        session, lambda: service.respond_to_membership(session, actor=actor, answer_id=answer_id, accept=accept)
    )
    if refused is not None:
        return await answer_page(request, session, actor, answer_id, error=refused.detail, status=refused.status_code)
    # After declining, the answer is no longer ours to read.
    return see_other(
        url_to(request, "answers:show_answer", answer_id=answer_id) + "?done=confirmed"
        if accept
        else url_to(request, "answers:my_answers") + "?done=declined"
    )
