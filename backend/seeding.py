"""Seed data: taxonomies and organisations from the seed documents, plus the demo accounts and listings."""

from dataclasses import dataclass
from importlib import resources

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.auth.models import Role, User
from backend.auth.passwords import hash_password
from backend.demonstration.service import seed_targets as seed_demonstration_targets
from backend.imports.parsing import parse_listing_file
from backend.imports.service import ImportReport, import_rows
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
    DemoAccount("enterprise@demo.scenematch.cn", "企业用户", Role.enterprise, None),
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
    return report
