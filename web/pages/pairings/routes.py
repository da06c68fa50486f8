"""The pairing board: pairings grouped by stage 推荐 → 意向 → 洽谈 → 首试首用/试点 → 签约 → 示范
(and 未达成), each pairing's steps, and the matchmaker's form to move it on or decline it.

The move form carries the version the matchmaker read, so that of two people moving the same
pairing, the second is told to refresh instead of silently overwriting the first."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.answers.models import Answer
from backend.answers.service import can_read as can_read_answer
from backend.answers.service import members_of
from backend.auth.actor import Actor
from backend.auth.models import User
from backend.dependencies import SessionDep, SignedInDep
from backend.kit.params import MAX_ID, IdPath, whole_number
from backend.listings.browse import province_label
from backend.listings.models import Offering, OpportunityTrack
from backend.organisations.models import Organisation
from backend.pairings import service
from backend.pairings.models import PIPELINE, STAGE_LABELS, PairingStage, next_stage
from backend.taxonomy.models import Region
from backend.taxonomy.service import load_index
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt, see_other
from web.kit.forms import text
from web.kit.history import history
from web.kit.templating import render
from web.kit.urls import url_to

router = APIRouter()

BOARD_STAGES = [*PIPELINE, PairingStage.declined]
SOURCE_LABELS = {"match": "匹配推荐", "answer": "答题中选", "manual": "人工创建"}
NOTICES = {"moved": "对接阶段已更新。", "declined": "已标记为未达成。"}


async def _names(session: AsyncSession, organisation_ids: set[int]) -> dict[int, str]:
    if not organisation_ids:
        return {}
    rows = await session.exec(
        select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(organisation_ids))
    )
    return dict(rows.all())


@router.get("/pairings", name="pairings:board")
async def board(request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    """Matchmakers see every pairing; an organisation sees the pairings it is part of.

    The board narrows by opportunity, city, track and stage, and by words in the opportunity's
    title or the organisations' names; filters are plain query parameters (a GET form)."""
    get = request.query_params.get
    opportunity_id = whole_number(get("opportunity", ""), 1, MAX_ID)
    rows = await service.list_pairings(session, actor=actor, opportunity_id=opportunity_id)
    names = await _names(session, {p.organisation_id for p, _ in rows} | {o.organisation_id for _, o in rows})
    taxonomy = await load_index(session)
    city = get("city") if get("city") in taxonomy.regions else None
    track = get("track") if get("track") in taxonomy.tracks else None
    stage = get("stage") if get("stage") in {s.value for s in BOARD_STAGES} else None
    words = " ".join((get("q") or "").split())[:100]
    tracks_of: dict[int, set[str]] = {}
    if track:
        ids = [o.id for _, o in rows]
        links = await session.exec(
            select(OpportunityTrack.listing_id, OpportunityTrack.track_code).where(
                col(OpportunityTrack.listing_id).in_(ids)
            )
        )
        for listing_id, code in links.all():
            tracks_of.setdefault(listing_id, set()).add(code)

    def kept(pairing: Any, opportunity: Any) -> bool:
        if stage and pairing.stage != stage:
            return False
        if city and taxonomy.cities.get(opportunity.region_code or "", opportunity.region_code) != city:
            return False
        if track and track not in tracks_of.get(opportunity.id, set()):
            return False
        haystack = (
            f"{opportunity.title} {names.get(pairing.organisation_id, '')} {names.get(opportunity.organisation_id, '')}"
        )
        return all(word.lower() in haystack.lower() for word in words.split())

    filtered = opportunity_id is not None or bool(city or track or stage or words)
    shown = [(p, o) for p, o in rows if kept(p, o)]
    columns: dict[str, list[dict[str, Any]]] = {stage.value: [] for stage in BOARD_STAGES}
    for pairing, opportunity in shown:
        columns[pairing.stage].append(
            {
                "pairing": pairing,
                "opportunity": opportunity,
                "enterprise": names.get(pairing.organisation_id, ""),
                "issuer": names.get(opportunity.organisation_id, ""),
                "region": taxonomy.regions.get(opportunity.region_code or "", ""),
            }
        )
    # Staff counts come from the whole table; everyone else (and a filtered board) counts what is shown.
    counts = (
        await service.stage_counts(session, actor=actor)
        if actor.is_staff and not filtered
        else {stage: len(items) for stage, items in columns.items()}
    )
    cities = sorted({c for c in taxonomy.cities.values() if c in taxonomy.regions})
    # The province as a choice means its province-level opportunities: named as the list pages name it.
    provinces = set((await session.exec(select(Region.code).where(Region.level == "province"))).all())
    context = {
        "stages": [(stage.value, STAGE_LABELS[stage]) for stage in BOARD_STAGES],
        "columns": columns,
        "counts": counts,
        "total": len(shown),
        "filtered": filtered,
        "source_labels": SOURCE_LABELS,
        "filters": {"q": words, "city": city, "track": track, "stage": stage, "opportunity": opportunity_id},
        "city_options": [
            (c, province_label(taxonomy.regions[c]) if c in provinces else taxonomy.regions[c]) for c in cities
        ],
        "track_options": sorted(taxonomy.tracks.items(), key=lambda item: item[1]),
    }
    return render(request, "pairings/board.html", context)


async def pairing_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    pairing_id: int,
    *,
    error: str | None = None,
    note: str = "",
    status: int = 200,
) -> Response:
    pairing, opportunity = await service.get_readable(session, actor=actor, pairing_id=pairing_id)
    steps = await service.steps(session, pairing_id=pairing.id)
    actor_ids = {s.actor_id for s in steps if s.actor_id is not None}
    people = (
        dict((await session.exec(select(User.id, User.display_name).where(col(User.id).in_(actor_ids)))).all())
        if actor_ids
        else {}
    )
    names = await _names(session, {pairing.organisation_id, opportunity.organisation_id})
    offering = await session.get(Offering, pairing.offering_id) if pairing.offering_id else None
    # Link the answer only for those who may read it (the service's own rule).
    answer_link = None
    if pairing.answer_id is not None:
        answer = await session.get(Answer, pairing.answer_id)
        if answer is not None and can_read_answer(
            actor, answer, opportunity, (await members_of(session, [answer.id]))[answer.id]
        ):
            answer_link = url_to(request, "answers:show_answer", answer_id=answer.id)
    following = next_stage(pairing.stage)
    open_ = pairing.stage not in (PairingStage.declined, PairingStage.demonstration)
    context = {
        "pairing": pairing,
        "opportunity": opportunity,
        "enterprise": names.get(pairing.organisation_id, ""),
        "issuer": names.get(opportunity.organisation_id, ""),
        "offering": offering,
        "answer_link": answer_link,
        "stage_label": STAGE_LABELS[PairingStage(pairing.stage)],
        "pipeline": [(stage.value, STAGE_LABELS[stage]) for stage in PIPELINE],
        "reached": PIPELINE.index(PairingStage(pairing.stage)) if pairing.stage in PIPELINE else -1,
        "steps": [
            {
                "step": s,
                "who": people.get(s.actor_id, "系统") if s.actor_id else "系统",
                "from": STAGE_LABELS[PairingStage(s.from_stage)] if s.from_stage else "",
                "to": STAGE_LABELS[PairingStage(s.to_stage)],
            }
            for s in steps
        ],
        "next_stage": (following.value, STAGE_LABELS[following]) if following and open_ else None,
        "can_move": actor.is_staff and open_,
        "source_label": SOURCE_LABELS.get(pairing.source, pairing.source),
        "history": await history(session, entity_kind="pairing", entity_id=pairing.id),
        "note": note,
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "error": error,
    }
    return render(request, "pairings/detail.html", context, status=status)


@router.get("/pairings/{pairing_id}", name="pairings:show_pairing")
async def show_pairing(pairing_id: IdPath, request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    return await pairing_page(request, session, actor, pairing_id)


@router.post("/pairings/{pairing_id}/move", name="pairings:move")
async def move(
    pairing_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep
) -> Response:
    """Advance to the next stage, or decline with a reason; a stale version is refused with 409."""
    stage, raw_version, note = text(form, "stage", 20), text(form, "version", 12), text(form, "note", 5000)
    if stage not in {s.value for s in PairingStage} or whole_number(raw_version, 1, MAX_ID) is None:
        return await pairing_page(
            request, session, actor, pairing_id, error="请求无效，请刷新页面后重试", note=note, status=422
        )
    if len(note) > 2000:
        return await pairing_page(request, session, actor, pairing_id, error="备注最多 2000 字", note=note, status=422)
    current, _ = await service.get_readable(session, actor=actor, pairing_id=pairing_id)
    if actor.is_staff and current.version != int(raw_version):
        # The form was read before someone else moved the pairing: whatever it asks for is out of
        # date (the service's stage check would otherwise speak first and confuse the reader).
        return await pairing_page(
            request, session, actor, pairing_id, error="该对接已被他人更新，请刷新后重试", note=note, status=409
        )
    _done, refused = await attempt(
        session,
        lambda: service.move(
            session,
            actor=actor,
            pairing_id=pairing_id,
            to=PairingStage(stage),
            expected_version=int(raw_version),
            note=note,
        ),
    )
    if refused is not None:
        return await pairing_page(
            request, session, actor, pairing_id, error=refused.detail, note=note, status=refused.status_code
        )
    return see_other(
        url_to(request, "pairings:show_pairing", pairing_id=pairing_id)
        + f"?done={'declined' if stage == PairingStage.declined else 'moved'}"
    )
