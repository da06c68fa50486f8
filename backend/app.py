"""The application factory and its lifespan."""

import gc
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from anyio import to_thread
from fastapi import Depends, FastAPI
from starlette.routing import NoMatchFound
from starlette.types import Scope

from backend.accounts.router import router as accounts_router
from backend.answers.models import AnswerAttachment
from backend.answers.router import router as answers_router
from backend.audit.router import router as audit_router
from backend.auth.csrf import refuse_cross_site
from backend.auth.router import router as auth_router
from backend.batches.router import router as batches_router
from backend.demonstration.models import MilestoneEvidence
from backend.demonstration.router import router as demonstration_router
from backend.duplicates.router import router as duplicates_router
from backend.duplicates.router import similar_router
from backend.events.router import router as events_router
from backend.imports.router import router as imports_router
from backend.interests.router import router as interests_router
from backend.kit.admission import AdmitInOrder
from backend.kit.busy import CountRequests
from backend.kit.caching import NoStore
from backend.kit.db import create_engine, create_sessionmaker, session_scope
from backend.kit.election import WriterLock, WriterRole
from backend.kit.errors import install_error_handlers
from backend.kit.files import refuse_missing_local_files
from backend.kit.limits import BodySizeLimit
from backend.kit.openapi import install_openapi
from backend.kit.textguard import TextGuard
from backend.kit.visitor_answers import KeepVisitorAnswers
from backend.listings.models import ListingAttachment
from backend.listings.public_cache import KEEP_SECONDS, LOOKED, PublicListings, as_visitors_see_them
from backend.listings.router import offerings_router, opportunities_router, revisions_router
from backend.notifications.router import router as notifications_router
from backend.opendata.router import router as exports_router
from backend.organisations.router import router as organisations_router
from backend.pairings.router import router as pairings_router
from backend.results.router import router as results_router
from backend.searching.router import router as search_router
from backend.settings import Settings
from backend.statistics.router import router as statistics_router
from backend.subscriptions.router import router as subscriptions_router
from backend.taxonomy.openapi import add_code_enums
from backend.taxonomy.router import router as taxonomy_router
from backend.wiring import build_workers, install_hooks
from search import SearchEngine, SearchUnavailable
from search import create_engine as create_search_engine

API_PREFIX = "/api/v1"
# Every table that records an uploaded file (backend/kit/files.py).
FILE_MODELS = (AnswerAttachment, MilestoneEvidence, ListingAttachment)
logger = logging.getLogger(__name__)


def open_search_engine(settings: Settings) -> SearchEngine:
    return create_search_engine(
        settings.search_engine,
        data_dir=settings.search_dir,
        meili_url=settings.meili_url,
        meili_key=settings.meili_master_key,
        index_name=settings.search_index,
    )


def create_app(settings: Settings | None = None, *, served: bool = False) -> FastAPI:
    """The app. `served` (backend/main.py), for a process that lives to answer requests; not for
    tests, which start many apps in one process. At start-up it then:
    - builds what it would otherwise build on the first request through each part: FastAPI makes
      an included router's routes (dependencies, response models) when a request first goes
      through it, and the first page request went through them all, and Jinja compiles a template
      when it is first rendered. Under load that held the process for about a second, in which
      it answered nothing (the list pages' p99 of about a second, bench/README.md, issue 14);
    - then moves what the process made so far out of the garbage collector's sight (`gc.freeze`):
      it lives as long as the process, and a full collection that went over it again and again
      stalled every request of the process for 200-300 ms at 100k listings."""
    settings = settings or Settings()
    install_hooks()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        async with session_scope(app.state.sessionmaker, write=False) as session:
            await refuse_missing_local_files(session, settings.upload_dir, FILE_MODELS)
        search_engine = open_search_engine(settings)
        app.state.search_engine = search_engine
        # What visitors see of published listings, kept by this process (backend/listings/public_cache.py).
        app.state.public_listings = PublicListings()
        try:
            await to_thread.run_sync(search_engine.ensure_ready)
        except SearchUnavailable as exc:
            # Writes and browsing keep working; search answers 503 until the engine is back.
            logger.warning("search engine not ready at start-up: %s", exc)
        workers = build_workers(app.state.sessionmaker, settings, search_engine)
        app.state.sync_worker = workers.sync
        app.state.mail_worker = workers.mail

        async def start_writing() -> None:
            if settings.run_sync_worker:
                workers.sync.start()
            if settings.run_mail_worker:
                workers.mail.start()

        async def stop_writing() -> None:
            await workers.mail.stop()
            await workers.sync.stop()
            release = getattr(search_engine, "release_writer", None)
            if release is not None:
                await to_thread.run_sync(release)

        # Of all the processes serving this database, one at a time runs the workers
        # (backend/kit/election.py); the others serve requests only.
        role = WriterRole(WriterLock(engine, settings.database_url), start=start_writing, stop=stop_writing)
        app.state.writer_role = role
        if settings.run_sync_worker or settings.run_mail_worker:
            await role.start()
        if served:
            with suppress(NoMatchFound):  # a name no route has: the look-up goes through every router
                app.url_path_for("\N{NULL}")
            for build in app.state.build_at_start:
                build()
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await role.close()
            search_engine.close()
            await engine.dispose()

    app = FastAPI(
        title="scenematch 场景供需对接平台",
        description="江西省数字经济应用场景“政府搭台、各方出卷、企业答题”平台的开放接口。错误以 application/problem+json 返回。",
        version="0.1.0",
        lifespan=lifespan,
        # The docs page is the site's own (web/pages/opendata): Swagger UI from local files, under the CSP.
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.settings = settings
    # What else a served process builds before its first request (the pages' templates).
    app.state.build_at_start = []
    install_error_handlers(app)
    install_openapi(app, refinements=[add_code_enums])

    routers = (
        auth_router,
        accounts_router,
        organisations_router,
        taxonomy_router,
        search_router,
        similar_router,  # before opportunities_router: /opportunities/similar is not an id
        opportunities_router,
        offerings_router,
        revisions_router,
        answers_router,
        pairings_router,
        results_router,
        audit_router,
        imports_router,
        interests_router,
        subscriptions_router,
        notifications_router,
        events_router,
        batches_router,
        duplicates_router,
        statistics_router,
        exports_router,
        demonstration_router,
    )
    for router in routers:
        app.include_router(router, prefix=API_PREFIX, dependencies=[Depends(refuse_cross_site)])

    def body_limit(scope: Scope) -> int:
        path = scope.get("path", "")
        if (
            path.startswith((f"{API_PREFIX}/imports", "/review/import"))
            or path.endswith(("/attachments", "/milestones"))
            or "/attachments/" in path
        ):
            return settings.max_upload_bytes
        return settings.max_json_body_bytes

    # Inside the size limit: the guard reads API bodies only once they are known to be bounded.
    app.add_middleware(TextGuard, api_prefix=f"{API_PREFIX}/")
    # Visitors' searches, list and listing pages answered as before while nothing they show has changed.
    # Inside no-store, which marks every JSON answer as it leaves, kept or not: the app's own
    # no-store (a page whose form carries this browser's CSRF token) is what keeps one from being kept.
    app.add_middleware(
        KeepVisitorAnswers,
        paths=re.compile(rf"{API_PREFIX}/search|/(?:opportunities|offerings)(?:/\d+)?"),
        session_cookie=settings.session_cookie,
        look=lambda: as_visitors_see_them(app.state.sessionmaker, app.state.search_engine),
        keep_bytes=settings.visitor_answers_mb << 20,
        keep_seconds=KEEP_SECONDS,
        state_key=LOOKED,
    )
    app.add_middleware(NoStore, session_cookie=settings.session_cookie)
    app.add_middleware(BodySizeLimit, limit_for=body_limit)
    # Background work in this process waits while it answers requests (backend/kit/busy.py).
    app.add_middleware(CountRequests)
    # Outermost: a request waiting its turn holds nothing and counts as no work yet.
    app.add_middleware(AdmitInOrder, limit=settings.requests_in_flight)

    from web.pages import install_web

    install_web(app)
    return app
