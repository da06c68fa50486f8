"""Seed data: taxonomies and organisations from the seed documents, plus the demo accounts and listings."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.auth.models import Role, User
from backend.auth.passwords import hash_password
from backend.demonstration import service as demonstration
from backend.demonstration.models import DemoZone, ProjectStatus
from backend.demonstration.schemas import EnterpriseCreate, ProjectCreate, ZoneCreate
from backend.demonstration.service import seed_targets as seed_demonstration_targets
from backend.imports.parsing import parse_listing_file
from backend.imports.service import ImportReport, import_rows
from backend.kit.china_time import china_today
from backend.listings.models import ListingStatus, Offering, OfferingTrack, Opportunity, OpportunityTrack
from backend.organisations.models import Organisation
from backend.taxonomy.mapping import load_taxonomy
from backend.taxonomy.service import load_seed_taxonomy

DEMO_PASSWORD = "demo-2026"  # noqa: S105 -- the published password of the demo accounts, not a secret


@dataclass(frozen=True)
class DemoAccount:
    email: str
    display_name: str
    role: Role
    organisation: str | None


DEMO_ACCOUNTS = (
    DemoAccount("admin@demo.scenematch.cn", "平台管理员", Role.admin, None),
    DemoAccount(
        "matchmaker@demo.scenematch.cn", "省数字经济办 撮合专员", Role.matchmaker, "江西省发展数字经济领导小组办公室"
    ),
    DemoAccount("issuer@demo.scenematch.cn", "省交通运输厅 场景联络员", Role.issuer, "江西省交通运输厅"),
    DemoAccount("enterprise@demo.scenematch.cn", "王工（企业对接人）", Role.enterprise, None),
)


async def seed_reference_data(session: AsyncSession) -> dict[str, int]:
    """Tracks, domains, regions and the public bodies named in the seed documents; idempotent."""
    taxonomy = load_taxonomy()
    counts = await load_seed_taxonomy(session, taxonomy)
    created = 0
    for item in taxonomy["organisations"]:
        existing = (await session.exec(select(Organisation).where(Organisation.name == item["name"]))).first()
        if existing is None:
            session.add(
                Organisation(
                    name=item["name"],
                    short_name=item.get("short_name", ""),
                    kind=item["kind"],
                    region_code=item.get("region"),
                )
            )
            created += 1
    await session.flush()
    counts["organisations"] = created
    counts["demonstration_targets"] = await seed_demonstration_targets(session)
    return counts


async def _ensure_account(session: AsyncSession, account: DemoAccount, organisation_id: int | None) -> User:
    user = (await session.exec(select(User).where(User.email == account.email))).first()
    if user is None:
        user = User(
            email=account.email,
            password_hash=hash_password(DEMO_PASSWORD),
            display_name=account.display_name,
            role=account.role,
            organisation_id=organisation_id,
        )
        session.add(user)
        await session.flush()
    return user


async def seed_demo(session: AsyncSession) -> ImportReport:
    """Demo listings (published) and one account per role, all with the demo password."""
    matchmaker = None
    for account in DEMO_ACCOUNTS:
        if account.organisation is None:
            continue
        organisation = (
            await session.exec(select(Organisation).where(Organisation.name == account.organisation))
        ).first()
        user = await _ensure_account(session, account, organisation.id if organisation else None)
        if account.role == Role.matchmaker:
            matchmaker = user
    data = resources.files("seeds").joinpath("demo_listings.jsonl").read_bytes()
    rows, errors = parse_listing_file(data, "demo_listings.jsonl")
    report = await import_rows(session, actor=Actor(user=matchmaker), rows=rows, parse_errors=errors, publish=True)

    # The enterprise and admin accounts need the listings' organisations to exist first.
    first_enterprise = (
        await session.exec(select(Organisation).where(Organisation.kind == "enterprise").order_by(Organisation.id))
    ).first()
    await _ensure_account(session, DEMO_ACCOUNTS[3], first_enterprise.id if first_enterprise else None)
    await _ensure_account(session, DEMO_ACCOUNTS[0], None)
    if matchmaker is not None:
        await seed_demonstration_demo(session, Actor(user=matchmaker))
    return report


# 十百千 demo registry: marked （演示） in every name, so nobody takes it for real designations.
DEMO_ZONES = (
    ("南昌VR产业示范区（演示）", "360100", ["vr", "metaverse_digital_twin"]),
    ("赣州数字农业示范区（演示）", "360700", ["smart_agriculture", "iot"]),
    ("鹰潭物联网示范区（演示）", "360600", ["iot", "connected_vehicles"]),
    ("九江数字港航示范区（演示）", "360400", ["iot", "software_it_services"]),
    ("上饶大数据示范区（演示）", "361100", ["infosec_data_services", "software_it_services"]),
    ("吉安电子信息示范区（演示）", "360800", ["electronic_components", "smart_terminals"]),
    ("赣江新区工业互联网示范区（演示）", "GJXQ", ["industrial_internet"]),
    ("景德镇数字文创示范区（演示）", "360200", ["digital_creative"]),
)
DEMO_PROJECT_COUNT = 24
DEMO_ENTERPRISE_COUNT = 40


async def seed_demonstration_demo(session: AsyncSession, actor: Actor) -> dict[str, int]:
    """Demo zones, projects (at 申报 … 推广) and high-growth enterprises dated over this year; once only.

    Built through the registry's own services (validation, audit entries), from the demo listings:
    projects come from published opportunities, enterprises from the offerings' companies.
    """
    if (await session.exec(select(DemoZone.id))).first() is not None:
        return {}
    today = china_today()
    start = date(today.year, 1, 1)
    span = max((today - start).days, 1)

    def spread(i: int, n: int) -> date:
        # Dates from January to today, so the monthly trend grows through the year.
        return start + timedelta(days=span * (i + 1) // (n + 1))

    zones = []
    for i, (name, region, tracks) in enumerate(DEMO_ZONES):
        data = ZoneCreate(
            name=name,
            region_code=region,
            tracks=tracks,
            description="演示数据：示范区名称与认定日期均为虚构，用于展示十百千登记与进度。",
            designated_on=spread(i, len(DEMO_ZONES)),
        )
        zones.append(await demonstration.create_zone(session, actor=actor, data=data))

    # Companies with offerings, with the tracks of what they offer.
    company_tracks: dict[int, list[str]] = {}
    offered = await session.exec(
        select(Offering.organisation_id, OfferingTrack.track_code)
        .join(OfferingTrack, OfferingTrack.listing_id == Offering.id)
        .join(Organisation, Organisation.id == Offering.organisation_id)
        .where(Offering.status == ListingStatus.published, Organisation.kind == "enterprise")
        .order_by(Offering.organisation_id)
    )
    for organisation_id, track in offered.all():
        company_tracks.setdefault(organisation_id, [])
        if track not in company_tracks[organisation_id]:
            company_tracks[organisation_id].append(track)
    companies = list(company_tracks)

    opportunities = (
        await session.exec(
            select(Opportunity).where(Opportunity.status == ListingStatus.published).order_by(Opportunity.id)
        )
    ).all()[:DEMO_PROJECT_COUNT]
    steps = [ProjectStatus.selected, ProjectStatus.building, ProjectStatus.accepted, ProjectStatus.promoted]
    for i, opportunity in enumerate(opportunities):
        tracks = list(
            (
                await session.exec(
                    select(OpportunityTrack.track_code).where(OpportunityTrack.listing_id == opportunity.id)
                )
            ).all()
        )
        zone = next((z for z in zones if z.region_code == opportunity.region_code), None)
        partners = [c for c in companies if set(company_tracks[c]) & set(tracks)][:2] or companies[
            i % len(companies) :
        ][:1]
        project = await demonstration.create_project(
            session,
            actor=actor,
            data=ProjectCreate(
                title=f"{opportunity.title}（演示）",
                summary="演示数据：由机会清单中的场景虚构的示范项目，用于展示项目登记与进度。",
                zone_id=zone.id if zone else None,
                opportunity_id=opportunity.id,
                enterprise_ids=partners,
                tracks=tracks,
                investment_wan=Decimal(200 + 50 * (i % 9)),
            ),
        )
        # Most are selected (入选) and counted; a few are still at 申报; some have gone further.
        moves = 0 if i % 6 == 5 else 1 + (i % 4)
        for step in steps[:moves]:
            on = spread(i, len(opportunities)) if step == ProjectStatus.selected else None
            await demonstration.move_project(session, actor=actor, project_id=project.id, to=step, on=on)

    for i, organisation_id in enumerate(companies[:DEMO_ENTERPRISE_COUNT]):
        recognised_on = spread(i, min(len(companies), DEMO_ENTERPRISE_COUNT))
        await demonstration.create_enterprise(
            session,
            actor=actor,
            data=EnterpriseCreate(
                organisation_id=organisation_id,
                tracks=company_tracks[organisation_id][:3],
                year_recognised=recognised_on.year,
                recognised_on=recognised_on,
                indicators={"营业收入（万元）": float(1200 + 350 * (i % 11)), "研发投入占比（%）": float(5 + i % 8)},
                note="演示数据：虚构的高成长性企业认定，用于展示登记与进度。",
            ),
        )
    return {
        "zones": len(zones),
        "projects": len(opportunities),
        "enterprises": min(len(companies), DEMO_ENTERPRISE_COUNT),
    }
