"""评审 pages for the issuer: the submitted answers to an opportunity, weighted criteria, the
review panel, scoring and recusal, decisions, publishing winners, and pending interests."""

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers import invitations, review
from backend.answers import service as answers
from backend.answers.models import ANSWER_STATUS_LABELS, AnswerStatus
from backend.answers.presenter import present_answers
from backend.answers.schemas import CriteriaUpdate
from backend.auth.actor import Actor
from backend.auth.models import Role, User
from backend.dependencies import ActorDep, SessionDep, SignedInDep
from backend.interests import service as interests
from backend.interests.models import InterestStatus
from backend.kit.errors import NotFound
from backend.kit.pagination import PageParams
from backend.kit.params import MAX_ID, IdPath, whole_number
from backend.listings.models import Opportunity
from backend.results import service as results
from backend.results.models import NOTICE_STATUS_LABELS
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt, see_other
from web.kit.forms import confirmed, text
from web.kit.templating import render
from web.kit.urls import url_to
from web.pages.answers.presenter import DECISION_LABELS, answer_page

router = APIRouter()


@router.post("/opportunities/{opportunity_id}/invite", name="answers:invite_to_answer")
async def invite_to_answer(
    opportunity_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    """The issuer invites a recommended enterprise (from the opportunity's matches) to answer."""
    offering_id = whole_number(text(form, "offering_id", 12), 1, MAX_ID)
    if offering_id is None:
        raise NotFound("产品不存在")
    _done, refused = await attempt(
        session,
        lambda: invitations.invite(
            session, actor=actor, opportunity_id=opportunity_id, offering_id=offering_id, note=text(form, "note", 500)
        ),
    )
    target = url_to(request, "listings:opportunity_detail", listing_id=opportunity_id)
    if refused is not None:
        return render(
            request,
            "error.html",
            {"status": refused.status_code, "title": "未能发送邀请", "detail": refused.detail},
            status=refused.status_code,
        )
    return see_other(target + "?done=invited")


NOTICES = {
    "criteria": "评审标准已保存。",
    "invited": "已邀请评审人。",
    "published": "中选结果已公示：公示期内任何登录用户可实名提出异议，期满无异议成立即生效。",
    "approved": "已同意引荐，企业现在可以看到联系方式。",
    "declined": "已婉拒，企业会看到您填写的原因。",
}
BLANK_CRITERIA_ROWS = 2


def _can_manage(actor: Actor) -> bool:
    return actor.is_staff or actor.role == Role.issuer


async def _panel_progress(session: AsyncSession, answer_ids: list[int], panel: set[int]) -> dict[int, dict[str, Any]]:
    """Per answer: how many of the panel have scored or recused, and the average weighted total."""
    progress: dict[int, dict[str, Any]] = {}
    for answer_id in answer_ids:
        rows = await review.reviews_of(session, answer_id=answer_id)
        done = {r.reviewer_id for r, _ in rows if r.reviewer_id in panel}
        totals = [r.total for r, _ in rows if not r.recused and r.total is not None]
        average = (sum(totals, Decimal(0)) / len(totals)).quantize(Decimal("0.01")) if totals else None
        progress[answer_id] = {"done": len(done), "average": average}
    return progress


async def judging_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    opportunity_id: int,
    *,
    error: str | None = None,
    criteria_rows: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> Response:
    # The service answers "not found" to anyone outside the issuer's organisation and the matchmakers.
    rows = await answers.list_for_opportunity(session, actor=actor, opportunity_id=opportunity_id)
    opportunity = await session.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise NotFound("机会不存在")
    items = await present_answers(session, rows)
    panel = await review.reviewers(session, opportunity_id=opportunity_id)
    criteria = await review.criteria(session, opportunity_id=opportunity_id)
    invited = {user.id for _, user in panel}
    colleagues = (
        await session.exec(
            select(User)
            .where(User.organisation_id == opportunity.organisation_id, col(User.is_active))
            .order_by(col(User.id))
        )
    ).all()
    pending, _ = await interests.list_interests(
        session,
        actor=actor,
        page=PageParams(page=1, page_size=100),
        opportunity_id=opportunity_id,
        statuses=(InterestStatus.pending,),
    )
    _, organisations = await interests.load_for_presenting(session, pending)
    notice = await results.current_for(session, opportunity_id=opportunity_id)
    if criteria_rows is None:
        criteria_rows = [(c.name, str(c.weight)) for c in criteria]
    criteria_rows = criteria_rows + [("", "")] * BLANK_CRITERIA_ROWS
    context = {
        "opportunity": opportunity,
        "items": items,
        "progress": await _panel_progress(session, [a.id for a in items], invited),
        "panel": panel,
        "criteria": criteria,
        "criteria_rows": criteria_rows,
        "weight_total": sum(c.weight for c in criteria),
        "invite_options": [(str(u.id), f"{u.display_name}（{u.email}）") for u in colleagues if u.id not in invited],
        "pending_interests": [(i, organisations[i.organisation_id].name) for i in pending],
        "winners": await review.winners(session, opportunity_id=opportunity_id),
        "has_selected": any(a.status == AnswerStatus.selected for a in items),
        "steps": _steps(criteria, panel, items),
        "result_notice": notice,
        "notice_status_labels": {k.value: v for k, v in NOTICE_STATUS_LABELS.items()},
        "default_working_days": results.DEFAULT_WORKING_DAYS,
        "max_working_days": results.MAX_WORKING_DAYS,
        "can_manage": _can_manage(actor),
        "status_labels": {k.value: v for k, v in ANSWER_STATUS_LABELS.items()},
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "error": error,
    }
    return render(request, "answers/judging.html", context, status=status)


@router.get("/opportunities/{opportunity_id}/answers", name="answers:opportunity_answers")
async def opportunity_answers(
    opportunity_id: IdPath, request: Request, session: SessionDep, actor: SignedInDep
) -> Response:
    """The submitted answers (never drafts) and the review set-up, for the issuer and matchmakers."""
    return await judging_page(request, session, actor, opportunity_id)


def _steps(criteria: list[Any], panel: list[Any], items: list[Any]) -> list[dict[str, Any]]:
    """The order the review must follow; the first unfinished step is where the issuer acts next."""
    decided = {AnswerStatus.shortlisted, AnswerStatus.selected, AnswerStatus.not_selected}
    steps = [
        {"label": "设置评审标准", "done": bool(criteria), "anchor": "criteria-heading"},
        {"label": "邀请评审人", "done": bool(panel), "anchor": "panel-heading"},
        {
            "label": "评审人评分或回避，作出入围、中选、未中选结论",
            "done": bool(items) and all(a.status in decided for a in items),
            "anchor": "answers-heading",
        },
        {
            "label": "公示中选结果",
            "done": any(a.winner_published for a in items),
            "anchor": "publish-heading",
        },
    ]
    first_open = next((i for i, step in enumerate(steps) if not step["done"]), None)
    for i, step in enumerate(steps):
        step["current"] = i == first_open
    return steps


def _criteria_from(form: Any) -> tuple[list[tuple[str, str]], list[tuple[str, int]], str | None]:
    """(rows as typed, parsed items, the first problem) from the editor's name/weight columns."""
    names = [v if isinstance(v, str) else "" for v in form.getlist("criterion_name")]
    weights = [v if isinstance(v, str) else "" for v in form.getlist("criterion_weight")]
    typed, items, problem = [], [], None
    for number, (name, weight) in enumerate(zip(names, weights, strict=False), start=1):
        name, weight = name.strip(), weight.strip()
        if not name and not weight:
            continue
        typed.append((name, weight))
        if problem:
            continue
        if not name:
            problem = f"第 {number} 行：请填写标准名称"
        elif len(name) > 100:
            problem = f"第 {number} 行：标准名称最多 100 字"
        elif whole_number(weight, 1, 100) is None:
            problem = f"第 {number} 行：权重应为 1 到 100 之间的整数"
        else:
            items.append((name, int(weight)))
    if not typed and problem is None:
        problem = "请至少填写一项评审标准"
    elif len(typed) > 20 and problem is None:
        problem = "评审标准最多 20 项"
    return typed, items, problem


@router.post("/opportunities/{opportunity_id}/criteria", name="answers:save_criteria")
async def save_criteria(
    opportunity_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    typed, items, problem = _criteria_from(form)
    if problem is None:
        CriteriaUpdate.model_validate({"criteria": [{"name": n, "weight": w} for n, w in items]})
        _done, refused = await attempt(
            session, lambda: review.set_criteria(session, actor=actor, opportunity_id=opportunity_id, items=items)
        )
        if refused is None:
            return see_other(
                url_to(request, "answers:opportunity_answers", opportunity_id=opportunity_id) + "?done=criteria"
            )
        return await judging_page(
            request,
            session,
            actor,
            opportunity_id,
            error=refused.detail,
            criteria_rows=typed,
            status=refused.status_code,
        )
    return await judging_page(request, session, actor, opportunity_id, error=problem, criteria_rows=typed, status=422)


@router.post("/opportunities/{opportunity_id}/reviewers", name="answers:invite_reviewer")
async def invite_reviewer(
    opportunity_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    raw = text(form, "user_id", 20)
    if whole_number(raw, 1, MAX_ID) is None:
        return await judging_page(request, session, actor, opportunity_id, error="请选择要邀请的评审人", status=422)
    _done, refused = await attempt(
        session, lambda: review.invite(session, actor=actor, opportunity_id=opportunity_id, user_id=int(raw))
    )
    if refused is not None:
        return await judging_page(
            request, session, actor, opportunity_id, error=refused.detail, status=refused.status_code
        )
    return see_other(url_to(request, "answers:opportunity_answers", opportunity_id=opportunity_id) + "?done=invited")


@router.post("/opportunities/{opportunity_id}/winners/publish", name="answers:publish_winners")
async def publish_winners(
    opportunity_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    """Start the 公示 of the selected answers for the chosen number of working days."""
    raw = text(form, "working_days", 10) or str(results.DEFAULT_WORKING_DAYS)
    if whole_number(raw, 1, results.MAX_WORKING_DAYS) is None:
        message = f"公示期应为 1 到 {results.MAX_WORKING_DAYS} 个工作日"
        return await judging_page(request, session, actor, opportunity_id, error=message, status=422)
    note = text(form, "note", 2000)
    # Irreversible and it tells people at once: the winners go public, every answer still
    # 已提交 or 入围 becomes 未中选 and its enterprise is told.
    if not confirmed(form):
        message = "公示开始后不能撤回，未中选的企业会立即收到通知，请先勾选确认"
        return await judging_page(request, session, actor, opportunity_id, error=message, status=422)
    _done, refused = await attempt(
        session,
        lambda: results.publish(session, actor=actor, opportunity_id=opportunity_id, working_days=int(raw), note=note),
    )
    if refused is not None:
        return await judging_page(
            request, session, actor, opportunity_id, error=refused.detail, status=refused.status_code
        )
    return see_other(url_to(request, "answers:opportunity_answers", opportunity_id=opportunity_id) + "?done=published")


@router.post("/answers/{answer_id}/review", name="answers:score_answer")
async def score_answer(
    answer_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    """Scores 0–100 per criterion and a required comment."""
    answer, opportunity, _ = await answers.load_readable(session, actor=actor, answer_id=answer_id)
    criteria = await review.criteria(session, opportunity_id=opportunity.id)
    values = {f"score_{c.id}": text(form, f"score_{c.id}", 10) for c in criteria} | {
        "comment": text(form, "comment", 5000)
    }
    errors: dict[str, str] = {}
    scores: dict[str, int] = {}
    for c in criteria:
        raw = values[f"score_{c.id}"]
        if whole_number(raw, 0, 100) is not None:
            scores[str(c.id)] = int(raw)
        else:
            errors.setdefault(f"score_{c.id}", f"「{c.name}」的分数应为 0 到 100 之间的整数")
    if not values["comment"]:
        errors["comment"] = "评分必须填写评语"
    elif len(values["comment"]) > 2000:
        errors["comment"] = "评语最多 2000 字"
    if errors:
        first = next(iter(errors.values()))
        return await answer_page(
            request, session, actor, answer_id, error=first, errors=errors, values=values, status=422
        )
    _done, refused = await attempt(
        session,
        lambda: review.score(session, actor=actor, answer_id=answer.id, scores=scores, comment=values["comment"]),
    )
    if refused is not None:
        return await answer_page(
            request, session, actor, answer_id, error=refused.detail, values=values, status=refused.status_code
        )
    return see_other(url_to(request, "answers:show_answer", answer_id=answer_id) + "?done=reviewed")


@router.post("/answers/{answer_id}/recuse", name="answers:recuse")
async def recuse(
    answer_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    reason = text(form, "reason", 5000)
    if not reason or len(reason) > 2000:
        message = "回避时请填写理由（利益冲突说明）" if not reason else "回避理由最多 2000 字"
        return await answer_page(
            request, session, actor, answer_id, error=message, errors={"reason": message}, status=422
        )
    _done, refused = await attempt(
        session, lambda: review.recuse(session, actor=actor, answer_id=answer_id, reason=reason)
    )
    if refused is not None:
        return await answer_page(request, session, actor, answer_id, error=refused.detail, status=refused.status_code)
    return see_other(url_to(request, "answers:show_answer", answer_id=answer_id) + "?done=recused")


FINAL_DECISIONS = {AnswerStatus.selected.value, AnswerStatus.not_selected.value}


@router.post("/answers/{answer_id}/decision", name="answers:decide")
async def decide(
    answer_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: ActorDep
) -> Response:
    """入围 / 中选 / 未中选 — refused with "评审尚未完成" until every reviewer has scored or recused."""
    choice = text(form, "status", 20)
    if choice not in {s.value for s in DECISION_LABELS}:
        return await answer_page(request, session, actor, answer_id, error="请选择评审结论", status=422)
    note = text(form, "note", 2000)
    # 中选 and 未中选 are final (only an upheld objection reopens them) and are sent to the
    # answerers at once: the page asks for the same tick as other irreversible steps. 入围 is not final.
    if choice in FINAL_DECISIONS and not confirmed(form):
        return await answer_page(
            request, session, actor, answer_id, error="中选和未中选是最终结论，请先勾选确认", status=422
        )
    _done, refused = await attempt(
        session, lambda: review.decide(session, actor=actor, answer_id=answer_id, to=AnswerStatus(choice), note=note)
    )
    if refused is not None:
        return await answer_page(request, session, actor, answer_id, error=refused.detail, status=refused.status_code)
    return see_other(url_to(request, "answers:show_answer", answer_id=answer_id) + "?done=decided")
