"""Small async factories: `await create_organisation(session, kind="enterprise")`."""

import itertools
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.models import Role, User
from backend.auth.passwords import hash_password
from backend.kit.db import utcnow
from backend.listings.models import ListingStatus, Offering, OfferingTrack, Opportunity, OpportunityTrack
from backend.organisations.credit_code import make_credit_code
from backend.organisations.models import Organisation, OrganisationKind
from backend.outbox.service import record_listing_change

PASSWORD = "correct-horse-9"
_PASSWORD_HASH = hash_password(PASSWORD)
_counter = itertools.count(1)


def credit_code(n: int | None = None) -> str:
    """A valid 统一社会信用代码 (check character computed), unique per call."""
    n = next(_counter) if n is None else n
    return make_credit_code(f"91360100{n:09d}")


async def create_organisation(session: AsyncSession, **overrides: Any) -> Organisation:
    n = next(_counter)
    fields: dict[str, Any] = {"name": f"测试单位{n}", "kind": OrganisationKind.government, "region_code": "360100"}
    fields.update(overrides)
    if fields["kind"] == OrganisationKind.enterprise and "credit_code" not in overrides:
        fields["credit_code"] = credit_code()
    organisation = Organisation(**fields)
    session.add(organisation)
    await session.flush()
    return organisation


async def create_user(
    session: AsyncSession, *, role: Role, organisation: Organisation | None = None, **overrides: Any
) -> User:
    n = next(_counter)
    fields: dict[str, Any] = {
        "email": f"user{n}@example.com",
        "password_hash": _PASSWORD_HASH,
        "display_name": f"用户{n}",
        "role": role,
        "organisation_id": organisation.id if organisation else None,
    }
    fields.update(overrides)
    user = User(**fields)
    session.add(user)
    await session.flush()
    return user


async def create_opportunity(
    session: AsyncSession, organisation: Organisation, *, tracks: list[str] = (), **overrides: Any
) -> Opportunity:
    fields: dict[str, Any] = {
        "title": "智慧交通信号优化场景",
        "description": "面向南昌市主城区路口的信号配时优化需求",
        "organisation_id": organisation.id,
        "region_code": "360100",
        "place": "南昌市",
        "contact": "李工 0791-00000000",
        "status": ListingStatus.draft,
    }
    fields.update(overrides)
    if fields["status"] == ListingStatus.published and "published_at" not in fields:
        fields["published_at"] = utcnow()
    opportunity = Opportunity(**fields)
    session.add(opportunity)
    await session.flush()
    for code in tracks:
        session.add(OpportunityTrack(listing_id=opportunity.id, track_code=code))
    await session.flush()
    await record_listing_change(session, kind="opportunity", listing_id=opportunity.id)
    return opportunity


async def create_offering(
    session: AsyncSession, organisation: Organisation, *, tracks: list[str] = (), **overrides: Any
) -> Offering:
    fields: dict[str, Any] = {
        "title": "城市交通信号自适应控制系统",
        "description": "基于视频检测的路口信号自适应控制",
        "organisation_id": organisation.id,
        "region_code": "360100",
        "place": "南昌市",
        "contact": "王经理 13800000000",
        "maturity": "mature",
        "status": ListingStatus.draft,
    }
    fields.update(overrides)
    if fields["status"] == ListingStatus.published and "published_at" not in fields:
        fields["published_at"] = utcnow()
    offering = Offering(**fields)
    session.add(offering)
    await session.flush()
    for code in tracks:
        session.add(OfferingTrack(listing_id=offering.id, track_code=code))
    await session.flush()
    await record_listing_change(session, kind="offering", listing_id=offering.id)
    return offering


async def login(client: httpx.AsyncClient, user: User, password: str = PASSWORD) -> httpx.AsyncClient:
    response = await client.post("/api/v1/auth/login", json={"email": user.email, "password": password})
    assert response.status_code == 200, response.text
    return client
