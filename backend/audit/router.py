from typing import Literal

from fastapi import APIRouter

from backend.audit import service, visibility
from backend.audit.schemas import AuditEntryPublic
from backend.auth.actor import require_signed_in
from backend.dependencies import ActorDep, SessionDep
from backend.kit.errors import NotFound, Unauthorized, error_responses
from backend.kit.params import IdPath

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
    # Each domain registers who may read its objects' history (backend/<domain>/permissions.py).
    await visibility.require_history_readable(session, actor=actor, entity_kind=entity_kind, entity_id=entity_id)
    return [
        AuditEntryPublic(
            action=e.action, from_state=e.from_state, to_state=e.to_state, note=e.note, actor=name, at=e.at
        )
        for e, name in await service.history(session, entity_kind=entity_kind, entity_id=entity_id)
    ]
