"""What the served app (backend/main.py) does at start that tests' apps do not."""

import gc

import fastapi.routing
import httpx

from backend.app import create_app
from tests.conftest import joined_sessionmaker
from web.kit.templating import environment


async def test_the_served_app_takes_its_start_up_heap_out_of_the_collectors_sight(settings):
    """A full collection over everything made at start stalled each process for 200-300 ms under
    load (bench/README.md); the served app freezes it once started."""
    assert gc.get_freeze_count() == 0
    app = create_app(settings.model_copy(update={"run_sync_worker": False}), served=True)
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


async def test_the_served_app_builds_its_routes_and_templates_before_the_first_request(
    settings, connection, monkeypatch
):
    """Built on a process's first requests, they held it for about a second under load (the list
    pages' p99, bench/README.md)."""
    built: list[str] = []
    populate = fastapi.routing._populate_api_route_state
    monkeypatch.setattr(
        fastapi.routing,
        "_populate_api_route_state",
        lambda *args, **kwargs: built.append("route") or populate(*args, **kwargs),
    )
    read_source = environment.loader.get_source
    monkeypatch.setattr(
        environment.loader,
        "get_source",
        lambda env, name: built.append(name) or read_source(env, name),
    )
    environment.cache.clear()  # compiled by earlier tests' apps: the module's environment is shared
    app = create_app(settings, served=True)
    try:
        async with app.router.lifespan_context(app):
            app.state.sessionmaker = joined_sessionmaker(connection)
            assert built  # at start
            built.clear()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as visitor:
                for path in ("/opportunities", "/api/v1/search?q=智慧农业", "/offerings/1", "/login", "/nowhere"):
                    assert (await visitor.get(path)).status_code in (200, 404)
            assert built == []
    finally:
        gc.unfreeze()
