"""/opportunities and /offerings: the same lifecycle, two lists."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from backend.dependencies import ActorDep, SessionDep
from backend.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable, error_responses
from backend.kit.pagination import Page, PageParams, page_params
from backend.kit.params import IdPath, IdQuery
from backend.listings import service
from backend.listings.models import ListingKind, ListingStatus
from backend.listings.presenter import present
from backend.listings.schemas import (
    OfferingCreate,
    OfferingPublic,
    OfferingUpdate,
    OpportunityCreate,
    OpportunityPublic,
    OpportunityUpdate,
    PublishRequest,
    ReturnRequest,
)

_WRITE_ERRORS = error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable)
_MOVED_RESPONSE: dict[str, Any] = {
    "description": "已合并到另一条目：Location 指向合并后的条目（仅当调用方看得到该条目时；否则为 404）",
    "headers": {"Location": {"description": "合并后条目的地址", "schema": {"type": "string"}}},
    "content": {"application/json": {"example": {"detail": "机会 #12 已合并到 #7", "merged_into_id": 7}}},
}


def _build(
    kind: ListingKind,
    *,
    prefix: str,
    tag: str,
    create_schema: type[Any],
    update_schema: type[Any],
    public_schema: type[Any],
    finish_path: str,
    finish_summary: str,
) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=[tag])

    async def _one(session: Any, actor: Any, listing: Any) -> Any:
        return (await present(session, actor=actor, kind=kind, listings=[listing]))[0]

    @router.get("", response_model=Page[public_schema], name=f"list_{kind}s")
    async def list_listings(
        session: SessionDep,
        actor: ActorDep,
        page: Annotated[PageParams, Depends(page_params)],
        status: Annotated[list[ListingStatus] | None, Query(description="状态，可多选")] = None,
        organisation_id: IdQuery = None,
        track: Annotated[str | None, Query(max_length=40, description="赛道代码")] = None,
        domain: Annotated[str | None, Query(max_length=40, description="场景领域代码")] = None,
        region: Annotated[str | None, Query(max_length=12, description="地区代码（设区市含下辖县区）")] = None,
        batch: Annotated[int | None, Query(ge=1, le=10000, description="批次号")] = None,
        mine: Annotated[bool, Query(description="只看本组织")] = False,
        sort: Literal["newest", "deadline"] = "newest",
    ) -> Any:
        """Published items for visitors; signed-in organisations also see their own drafts."""
        rows, total = await service.list_listings(
            session,
            actor=actor,
            kind=kind,
            page=page,
            statuses=status or (),
            organisation_id=organisation_id,
            track=track,
            domain=domain,
            region=region,
            batch=batch,
            mine=mine,
            sort=sort,
        )
        items = await present(session, actor=actor, kind=kind, listings=rows)
        return Page(items=items, total=total, page=page.page, page_size=page.page_size)

    @router.post("", response_model=public_schema, status_code=201, responses=_WRITE_ERRORS, name=f"create_{kind}")
    async def create_listing(data: create_schema, session: SessionDep, actor: ActorDep) -> Any:  # type: ignore[valid-type]
        """Create a draft."""
        return await _one(session, actor, await service.create(session, actor=actor, kind=kind, data=data))

    @router.get(
        "/{listing_id}",
        response_model=public_schema,
        responses={301: _MOVED_RESPONSE, **error_responses(NotFound)},
        name=f"get_{kind}",
    )
    async def get_listing(listing_id: IdPath, request: Request, session: SessionDep, actor: ActorDep) -> Any:
        """取一条清单。

        已合并到另一条目（已合并到 #A）的条目：调用方看不到它本身、但看得到合并后的条目时，
        答 301，`Location` 指向合并后的条目，正文给出 `merged_into_id`；本单位和撮合专员仍看到它本身
        （含 `merged_into_id`）。合并后的条目也看不到（未发布、已截止或已撤回）时答 404，与不存在无异。
        """
        found = await service.locate(session, actor=actor, kind=kind, listing_id=listing_id)
        if isinstance(found, service.MergedInto):
            # 301 rather than 308: only GET arrives here, where the two mean the same and every
            # client follows 301; a 404 naming the new id would make clients drop a listing that
            # lives on. Not cacheable: the answer depends on who asks (the owner gets B itself).
            target = found.listing_id
            return JSONResponse(
                {"detail": f"{service.KIND_LABELS[kind]} #{listing_id} 已合并到 #{target}", "merged_into_id": target},
                status_code=301,
                headers={
                    "Location": request.app.url_path_for(f"get_{kind}", listing_id=str(target)),
                    "Cache-Control": "no-store",
                },
            )
        return await _one(session, actor, found)

    @router.patch("/{listing_id}", response_model=public_schema, responses=_WRITE_ERRORS, name=f"update_{kind}")
    async def update_listing(listing_id: IdPath, data: update_schema, session: SessionDep, actor: ActorDep) -> Any:  # type: ignore[valid-type]
        """Edit a draft (its organisation) or any listing (matchmakers)."""
        listing = await service.update(session, actor=actor, kind=kind, listing_id=listing_id, data=data)
        return await _one(session, actor, listing)

    @router.post("/{listing_id}/submit", response_model=public_schema, responses=_WRITE_ERRORS, name=f"submit_{kind}")
    async def submit_listing(listing_id: IdPath, session: SessionDep, actor: ActorDep) -> Any:
        """Send a draft for review."""
        return await _one(session, actor, await service.submit(session, actor=actor, kind=kind, listing_id=listing_id))

    @router.post("/{listing_id}/publish", response_model=public_schema, responses=_WRITE_ERRORS, name=f"publish_{kind}")
    async def publish_listing(
        listing_id: IdPath, session: SessionDep, actor: ActorDep, data: PublishRequest | None = None
    ) -> Any:
        """Publish (matchmakers only)."""
        listing = await service.publish(
            session, actor=actor, kind=kind, listing_id=listing_id, batch_number=data.batch_number if data else None
        )
        return await _one(session, actor, listing)

    @router.post("/{listing_id}/return", response_model=public_schema, responses=_WRITE_ERRORS, name=f"return_{kind}")
    async def return_listing(listing_id: IdPath, data: ReturnRequest, session: SessionDep, actor: ActorDep) -> Any:
        """Send a submission back to its organisation with a reason (matchmakers only)."""
        listing = await service.send_back(session, actor=actor, kind=kind, listing_id=listing_id, reason=data.reason)
        return await _one(session, actor, listing)

    @router.post(
        f"/{{listing_id}}/{finish_path}",
        response_model=public_schema,
        responses=_WRITE_ERRORS,
        name=f"{finish_path}_{kind}",
        summary=finish_summary,
    )
    async def finish_listing(listing_id: IdPath, session: SessionDep, actor: ActorDep) -> Any:
        return await _one(session, actor, await service.finish(session, actor=actor, kind=kind, listing_id=listing_id))

    return router


opportunities_router = _build(
    ListingKind.opportunity,
    prefix="/opportunities",
    tag="机会清单",
    create_schema=OpportunityCreate,
    update_schema=OpportunityUpdate,
    public_schema=OpportunityPublic,
    finish_path="close",
    finish_summary="Close an opportunity (截止)",
)
offerings_router = _build(
    ListingKind.offering,
    prefix="/offerings",
    tag="产品清单",
    create_schema=OfferingCreate,
    update_schema=OfferingUpdate,
    public_schema=OfferingPublic,
    finish_path="withdraw",
    finish_summary="Withdraw an offering (撤回)",
)
