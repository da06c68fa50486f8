"""Registry rows → response bodies, with names joined in one query per kind."""

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.demonstration import service
from backend.demonstration.models import (
    PROJECT_STATUS_LABELS,
    TARGET_SCOPE_LABELS,
    DemoProject,
    DemoZone,
    GrowthEnterprise,
    Milestone,
    MilestoneEvidence,
    ProjectStatus,
    Target,
    TargetScope,
)
from backend.demonstration.schemas import (
    EnterprisePublic,
    EvidencePublic,
    MilestonePublic,
    NamedRef,
    OrganisationRef,
    ProjectPublic,
    TargetPublic,
    ZonePublic,
)
from backend.listings.models import Opportunity


def evidence_url(milestone_id: int, evidence_id: int) -> str:
    return f"/api/v1/demonstration/milestones/{milestone_id}/attachments/{evidence_id}"


def _region(places: service.Places, code: str | None) -> NamedRef | None:
    return NamedRef(code=code, name=places.names.get(code, code)) if code else None


def _tracks(names: dict[str, str], codes: Sequence[str]) -> list[NamedRef]:
    return [NamedRef(code=c, name=names.get(c, c)) for c in codes]


async def zones(session: AsyncSession, rows: Sequence[DemoZone]) -> list[ZonePublic]:
    places = await service.load_places(session)
    tracks = await service.track_names(session)
    organisations = await service.organisation_names(session, (z.lead_organisation_id for z in rows))
    counts = await service.zone_project_counts(session)
    return [
        ZonePublic(
            id=z.id,
            name=z.name,
            region=_region(places, z.region_code),
            tracks=_tracks(tracks, z.track_codes),
            lead_organisation=OrganisationRef(
                id=z.lead_organisation_id, name=organisations.get(z.lead_organisation_id, "")
            )
            if z.lead_organisation_id
            else None,
            description=z.description,
            designated_on=z.designated_on,
            project_count=counts.get(z.id, 0),
            created_at=z.created_at,
            modified_at=z.modified_at,
        )
        for z in rows
    ]


def milestone(m: Milestone, evidence: Sequence[MilestoneEvidence]) -> MilestonePublic:
    return MilestonePublic(
        id=m.id,
        project_id=m.project_id,
        title=m.title,
        due_on=m.due_on,
        done_on=m.done_on,
        note=m.note,
        created_at=m.created_at,
        evidence=[
            EvidencePublic(
                id=e.id,
                filename=e.filename,
                content_type=e.content_type,
                size=e.size,
                created_at=e.created_at,
                url=evidence_url(m.id, e.id),
            )
            for e in evidence
        ],
    )


async def projects(
    session: AsyncSession, rows: Sequence[DemoProject], *, with_milestones: bool = False
) -> list[ProjectPublic]:
    places = await service.load_places(session)
    tracks = await service.track_names(session)
    enterprise_ids = await service.project_enterprise_ids(session, [p.id for p in rows])
    organisations = await service.organisation_names(session, (i for ids in enterprise_ids.values() for i in ids))
    zone_ids = {p.zone_id for p in rows if p.zone_id}
    zone_names = (
        dict((await session.exec(select(DemoZone.id, DemoZone.name).where(col(DemoZone.id).in_(zone_ids)))).all())
        if zone_ids
        else {}
    )
    opportunity_ids = {p.opportunity_id for p in rows if p.opportunity_id}
    titles = (
        dict(
            (
                await session.exec(
                    select(Opportunity.id, Opportunity.title).where(col(Opportunity.id).in_(opportunity_ids))
                )
            ).all()
        )
        if opportunity_ids
        else {}
    )
    out = []
    for p in rows:
        milestones = await service.milestones_of(session, p.id) if with_milestones else []
        out.append(
            ProjectPublic(
                id=p.id,
                title=p.title,
                summary=p.summary,
                zone=OrganisationRef(id=p.zone_id, name=zone_names.get(p.zone_id, "")) if p.zone_id else None,
                opportunity=OrganisationRef(id=p.opportunity_id, name=titles.get(p.opportunity_id, ""))
                if p.opportunity_id
                else None,
                pairing_id=p.pairing_id,
                enterprises=[
                    OrganisationRef(id=i, name=organisations.get(i, "")) for i in enterprise_ids.get(p.id, [])
                ],
                region=_region(places, p.region_code),
                tracks=_tracks(tracks, p.track_codes),
                status=ProjectStatus(p.status),
                status_label=PROJECT_STATUS_LABELS[ProjectStatus(p.status)],
                selected_on=p.selected_on,
                investment_wan=p.investment_wan,
                output_value_wan=p.output_value_wan,
                outcome=p.outcome,
                milestones=[milestone(m, e) for m, e in milestones],
                created_at=p.created_at,
                modified_at=p.modified_at,
            )
        )
    return out


async def enterprises(session: AsyncSession, rows: Sequence[GrowthEnterprise]) -> list[EnterprisePublic]:
    places = await service.load_places(session)
    tracks = await service.track_names(session)
    organisations = await service.organisation_names(session, (e.organisation_id for e in rows))
    return [
        EnterprisePublic(
            id=e.id,
            organisation=OrganisationRef(id=e.organisation_id, name=organisations.get(e.organisation_id, "")),
            region=_region(places, e.region_code),
            tracks=_tracks(tracks, e.track_codes),
            year_recognised=e.year_recognised,
            recognised_on=e.recognised_on,
            indicators=e.indicators,
            note=e.note,
            created_at=e.created_at,
            modified_at=e.modified_at,
        )
        for e in rows
    ]


async def targets(session: AsyncSession, rows: Sequence[Target]) -> list[TargetPublic]:
    places = await service.load_places(session)
    tracks = await service.track_names(session)

    def scope_name(t: Target) -> str:
        if t.scope == TargetScope.province:
            return TARGET_SCOPE_LABELS[TargetScope.province]
        if t.scope == TargetScope.city:
            return places.names.get(t.scope_code, t.scope_code)
        return tracks.get(t.scope_code, t.scope_code)

    return [
        TargetPublic(
            id=t.id,
            scope=TargetScope(t.scope),
            scope_code=t.scope_code,
            scope_name=scope_name(t),
            year=t.year,
            metric=t.metric,
            value=t.value,
            modified_at=t.modified_at,
        )
        for t in rows
    ]
