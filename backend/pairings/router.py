from fastapi import APIRouter

from backend.dependencies import ActorDep, SessionDep
from backend.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable, error_responses
from backend.kit.params import IdPath, IdQuery
from backend.listings.models import Opportunity
from backend.organisations.service import names_of as organisation_names_of
from backend.pairings import service
from backend.pairings.models import STAGE_LABELS, Pairing, PairingSource, PairingStage
from backend.pairings.schemas import PairingBoard, PairingCreate, PairingMove, PairingPublic, PairingStepPublic

router = APIRouter(prefix="/pairings", tags=["对接"])
_ERRORS = error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable)


async def _present(
    session: SessionDep, rows: list[tuple[Pairing, Opportunity]], *, with_steps: bool = False
) -> list[PairingPublic]:
    names = await organisation_names_of(session, {p.organisation_id for p, _ in rows})
    out = []
    for pairing, opportunity in rows:
        steps = await service.steps(session, pairing_id=pairing.id) if with_steps else []
        out.append(
            PairingPublic(
                id=pairing.id,
                opportunity_id=pairing.opportunity_id,
                opportunity_title=opportunity.title,
                organisation_id=pairing.organisation_id,
                organisation_name=names.get(pairing.organisation_id, ""),
                offering_id=pairing.offering_id,
                answer_id=pairing.answer_id,
                source=pairing.source,
                stage=pairing.stage,
                stage_label=STAGE_LABELS[PairingStage(pairing.stage)],
                decline_reason=pairing.decline_reason,
                version=pairing.version,
                created_at=pairing.created_at,
                modified_at=pairing.modified_at,
                steps=[
                    PairingStepPublic(
                        from_stage=s.from_stage, to_stage=s.to_stage, note=s.note, actor_id=s.actor_id, at=s.at
                    )
                    for s in steps
                ],
            )
        )
    return out


@router.post("", response_model=PairingPublic, status_code=201, responses=_ERRORS)
async def create_pairing(data: PairingCreate, session: SessionDep, actor: ActorDep) -> PairingPublic:
    """Open a pairing at 推荐 (from a match suggestion when an offering is given)."""
    pairing = await service.create(
        session,
        actor=actor,
        opportunity_id=data.opportunity_id,
        offering_id=data.offering_id,
        organisation_id=data.organisation_id,
        source=PairingSource.match if data.offering_id else PairingSource.manual,
        note=data.note,
    )
    opportunity = await session.get(Opportunity, pairing.opportunity_id)
    return (await _present(session, [(pairing, opportunity)], with_steps=True))[0]


@router.get("", response_model=PairingBoard, responses=error_responses(Unauthorized))
async def board(
    session: SessionDep,
    actor: ActorDep,
    stage: PairingStage | None = None,
    opportunity_id: IdQuery = None,
) -> PairingBoard:
    """The board: pairings by stage, with counts (counts for matchmakers only)."""
    rows = await service.list_pairings(session, actor=actor, stage=stage, opportunity_id=opportunity_id)
    counts = await service.stage_counts(session, actor=actor) if actor.is_staff else {}
    return PairingBoard(counts=counts, items=await _present(session, rows))


@router.get("/{pairing_id}", response_model=PairingPublic, responses=_ERRORS)
async def get_pairing(pairing_id: IdPath, session: SessionDep, actor: ActorDep) -> PairingPublic:
    pairing, opportunity = await service.get_readable(session, actor=actor, pairing_id=pairing_id)
    return (await _present(session, [(pairing, opportunity)], with_steps=True))[0]


@router.post("/{pairing_id}/stage", response_model=PairingPublic, responses=_ERRORS)
async def move_pairing(pairing_id: IdPath, data: PairingMove, session: SessionDep, actor: ActorDep) -> PairingPublic:
    """Advance one stage or decline with a reason; send the version you read (409 if someone moved it first)."""
    pairing = await service.move(
        session, actor=actor, pairing_id=pairing_id, to=data.stage, expected_version=data.version, note=data.note
    )
    opportunity = await session.get(Opportunity, pairing.opportunity_id)
    return (await _present(session, [(pairing, opportunity)], with_steps=True))[0]
