from typing import Literal

from fastapi import APIRouter

from backend.answers.service import load_readable
from backend.audit import service
from backend.audit.schemas import AuditEntryPublic
from backend.auth.actor import require_signed_in
from backend.dependencies import ActorDep, SessionDep
from backend.kit.errors import NotFound, Unauthorized, error_responses
from backend.kit.params import IdPath
from backend.listings.models import LISTING_MODELS, ListingKind
from backend.listings.service import can_see_private_fields
from backend.pairings.service import get_readable

router = APIRouter(tags=["审计日志"])


@router.get(
    "/history/{entity_kind}/{entity_id}",
    response_model=list[AuditEntryPublic],
    responses=error_responses(Unauthorized, NotFound),
)
async def history(
    entity_kind: Literal["opportunity", "offering", "answer", "pairing"],
    entity_id: IdPath,
    session: SessionDep,
    actor: ActorDep,
) -> list[AuditEntryPublic]:
    """Every state change of an object (who, what, when, from → to), for those allowed to see the object's workings."""
    require_signed_in(actor)
    if entity_kind in ("opportunity", "offering"):
        listing = await session.get(LISTING_MODELS[ListingKind(entity_kind)], entity_id)
        if listing is None or not can_see_private_fields(actor, listing):
            raise NotFound("记录不存在")
    elif entity_kind == "answer":
        await load_readable(session, actor=actor, answer_id=entity_id)
    else:
        await get_readable(session, actor=actor, pairing_id=entity_id)
    return [
        AuditEntryPublic(
            action=e.action, from_state=e.from_state, to_state=e.to_state, note=e.note, actor=name, at=e.at
        )
        for e, name in await service.history(session, entity_kind=entity_kind, entity_id=entity_id)
    ]
