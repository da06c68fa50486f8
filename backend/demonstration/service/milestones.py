"""Milestones of a demonstration project and their evidence files."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import service as audit
from backend.auth.actor import Actor
from backend.demonstration.models import (
    DemoProject,
    Milestone,
    MilestoneEvidence,
)
from backend.demonstration.permissions import get_readable
from backend.demonstration.schemas import (
    MilestoneCreate,
    MilestoneUpdate,
)
from backend.demonstration.service._common import _write
from backend.kit import files
from backend.kit.errors import NotFound

# ---------------------------------------------------------------- milestones and evidence


async def add_milestone(session: AsyncSession, *, actor: Actor, project_id: int, data: MilestoneCreate) -> Milestone:
    _write(actor)
    if await session.get(DemoProject, project_id) is None:
        raise NotFound("示范项目不存在")
    milestone = Milestone(project_id=project_id, created_by_id=actor.user_id, **data.model_dump())
    session.add(milestone)
    await session.flush()
    await audit.record(
        session, actor=actor, entity_kind="demo_project", entity_id=project_id, action="milestone", note=milestone.title
    )
    return milestone


async def update_milestone(
    session: AsyncSession, *, actor: Actor, milestone_id: int, data: MilestoneUpdate
) -> Milestone:
    _write(actor)
    milestone = await session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound("里程碑不存在")
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is not None or name in ("due_on", "done_on"):
            setattr(milestone, name, value)
    session.add(milestone)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="demo_project",
        entity_id=milestone.project_id,
        action="milestone:update",
        note=milestone.title,
    )
    return milestone


async def milestones_of(session: AsyncSession, project_id: int) -> list[tuple[Milestone, list[MilestoneEvidence]]]:
    milestones = list(
        (
            await session.exec(
                select(Milestone)
                .where(Milestone.project_id == project_id)
                .order_by(col(Milestone.due_on).nulls_last(), col(Milestone.id))
            )
        ).all()
    )
    evidence: dict[int, list[MilestoneEvidence]] = {m.id: [] for m in milestones}
    if milestones:
        rows = (
            await session.exec(
                select(MilestoneEvidence)
                .where(col(MilestoneEvidence.milestone_id).in_(list(evidence)))
                .order_by(col(MilestoneEvidence.id))
            )
        ).all()
        for row in rows:
            evidence[row.milestone_id].append(row)
    return [(m, evidence[m.id]) for m in milestones]


async def add_evidence(
    session: AsyncSession,
    *,
    actor: Actor,
    milestone_id: int,
    data: bytes,
    filename: str,
    max_bytes: int,
) -> MilestoneEvidence:
    """Attach an evidence file; checked by content, stored outside the web root under a random key."""
    _write(actor)
    milestone = await session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound("里程碑不存在")
    evidence = await files.store(
        session,
        MilestoneEvidence,
        data,
        filename,
        max_bytes=max_bytes,
        uploaded_by_id=actor.user_id,
        milestone_id=milestone.id,
    )
    await audit.record(
        session,
        actor=actor,
        entity_kind="demo_project",
        entity_id=milestone.project_id,
        action="evidence",
        note=evidence.filename,
    )
    return evidence


async def get_evidence(
    session: AsyncSession, *, actor: Actor, milestone_id: int, evidence_id: int
) -> MilestoneEvidence:
    """Served only to those who may read the project."""
    milestone = await session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound("里程碑不存在")
    await get_readable(session, actor=actor, id=milestone.project_id)
    evidence = await session.get(MilestoneEvidence, evidence_id)
    if evidence is None or evidence.milestone_id != milestone_id:
        raise NotFound("佐证材料不存在")
    return evidence


async def remove_evidence(session: AsyncSession, *, actor: Actor, milestone_id: int, evidence_id: int) -> None:
    _write(actor)
    evidence = await session.get(MilestoneEvidence, evidence_id)
    if evidence is None or evidence.milestone_id != milestone_id:
        raise NotFound("佐证材料不存在")
    milestone = await session.get(Milestone, milestone_id)
    await files.discard(session, evidence)
    if milestone is not None:
        await audit.record(
            session,
            actor=actor,
            entity_kind="demo_project",
            entity_id=milestone.project_id,
            action="evidence:remove",
            note=evidence.filename,
        )
