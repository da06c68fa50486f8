"""/statistics: the public summary, fuller for matchmakers."""

from fastapi import APIRouter

from backend.dependencies import ActorDep, SessionDep
from backend.statistics import service
from backend.statistics.schemas import Statistics

router = APIRouter(prefix="/statistics", tags=["统计"])


@router.get("", response_model=Statistics)
async def get_statistics(session: SessionDep, actor: ActorDep) -> Statistics:
    """Published listings per track, domain and city and the pairing funnel for everyone; answers per
    issuer, response times and the 供需缺口 for matchmakers and admins."""
    return await service.compute(session, actor=actor)
