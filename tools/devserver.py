"""Run the site in a background thread against a prepared database (browser tests, screenshots)."""

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import uvicorn
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.app import create_app
from backend.auth.actor import Actor
from backend.auth.models import User
from backend.kit.db import create_engine, create_sessionmaker, session_scope
from backend.kit.migrate import upgrade
from backend.listings import service
from backend.listings.models import ListingKind
from backend.listings.schemas import OpportunityCreate
from backend.seeding import DEMO_ACCOUNTS, seed_demo, seed_reference_data
from backend.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_EMAILS = {account.role.value: account.email for account in DEMO_ACCOUNTS}


def prepare_demo_database(database_url: str) -> None:
    """Migrate, then load the taxonomies, the demo accounts and lists, and one submission awaiting review."""
    upgrade(database_url)
    asyncio.run(_load_demo(database_url))


async def _load_demo(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            await seed_reference_data(session)
            await seed_demo(session)
            await _one_pending_submission(session)
    finally:
        await engine.dispose()


async def _one_pending_submission(session: AsyncSession) -> None:
    issuer = (await session.exec(select(User).where(User.email == DEMO_EMAILS["issuer"]))).one()
    actor = Actor(user=issuer)
    data = OpportunityCreate(
        title="全省普通国省道桥梁健康监测物联网平台",
        description="为全省200座重点桥梁布设振动、位移和裂缝传感器，建设健康监测与预警平台。",
        region_code="360000",
        tracks=["iot"],
        domains=["transport"],
        budget_text="800万元",
        deadline=date.today() + timedelta(days=60),
        contact="桥梁处 0791-8XXX0000",
    )
    listing = await service.create(session, actor=actor, kind=ListingKind.opportunity, data=data)
    await service.submit(session, actor=actor, kind=ListingKind.opportunity, listing_id=listing.id)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_site(settings: Settings) -> Iterator[str]:
    """The site served on a free local port; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the site did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
