"""/opportunities and /offerings: the same lifecycle, two lists."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from backend.dependencies import ActorDep, SessionDep, SettingsDep
from backend.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unprocessable,
    error_responses,
)
from backend.kit.files import download_response
from backend.kit.pagination import Page, PageParams, page_params
from backend.kit.params import IdPath, IdQuery
from backend.listings import attachments, changes, service
from backend.listings.models import ListingKind, ListingRevision, ListingStatus
from backend.listings.presenter import present
from backend.listings.ranges import (
    BudgetFromQuery,
    BudgetToQuery,
    DeadlineFromQuery,
    DeadlineToQuery,
    OpenQuery,
    range_filters,
)
from backend.listings.schemas import (
    CloseRequest,
    DeadlineChange,
    ListingAttachmentPublic,
    OfferingCreate,
    OfferingEditRequest,
    OfferingPublic,
    OfferingUpdate,
    OpportunityCreate,
    OpportunityEditRequest,
    OpportunityPublic,
    OpportunityUpdate,
    PublishRequest,
    ReturnRequest,
    RevisionDecision,
    RevisionPublic,
    WithdrawRequest,
)

_WRITE_ERRORS = error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable)
_MOVED_RESPONSE: dict[str, Any] = {
    "description": "已合并到另一条目：Location 指向合并后的条目（仅当调用方看得到该条目时；否则为 404）",
    "headers": {"Location": {"description": "合并后条目的地址", "schema": {"type": "string"}}},
    "content": {"application/json": {"example": {"detail": "机会 #12 已合并到 #7", "merged_into_id": 7}}},
}

_DOWNLOAD_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "文件本身，总是作为下载（Content-Disposition: attachment）",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _build(
    kind: ListingKind,
    *,
    prefix: str,
    tag: str,
    create_schema: type[Any],
    update_schema: type[Any],
    public_schema: type[Any],
    edit_schema: type[Any],
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
        budget_from: BudgetFromQuery = None,
        budget_to: BudgetToQuery = None,
        deadline_from: DeadlineFromQuery = None,
        deadline_to: DeadlineToQuery = None,
        still_open: OpenQuery = False,
        sort: Annotated[
            Literal["newest", "deadline", "updated", "maturity"],
            Query(
                description="排序：newest 最新发布，deadline 截止日期（机会清单），updated 最近更新，maturity 成熟度（产品清单）"
            ),
        ] = "newest",
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
            **range_filters(budget_from, budget_to, deadline_from, deadline_to, still_open),
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
        "/{listing_id}/take-back", response_model=public_schema, responses=_WRITE_ERRORS, name=f"take_back_{kind}"
    )
    async def take_back_listing(listing_id: IdPath, session: SessionDep, actor: ActorDep) -> Any:
        """Take a pending submission back to a draft (its organisation), e.g. to correct it."""
        listing = await changes.take_back(session, actor=actor, kind=kind, listing_id=listing_id)
        return await _one(session, actor, listing)

    @router.post(
        "/{listing_id}/withdraw",
        response_model=public_schema,
        responses=_WRITE_ERRORS,
        name=f"withdraw_{kind}",
        summary="Withdraw (撤回) with a reason shown publicly",
    )
    async def withdraw_listing(
        listing_id: IdPath, session: SessionDep, actor: ActorDep, data: WithdrawRequest | None = None
    ) -> Any:
        """撤回：条目不再出现在清单和搜索中，页面保留并公开显示撤回原因（其组织或撮合专员）。

        机会撤回时，已有答题（草稿或已提交）的企业会收到通知。产品撤回可不带请求体（旧客户端），此时不显示原因。
        """
        if data is None:
            if kind == ListingKind.opportunity:
                raise Unprocessable("请填写撤回原因，它会公开显示在该条目页面上", field="reason")
            listing = await service.finish(session, actor=actor, kind=kind, listing_id=listing_id)
        else:
            listing = await changes.withdraw(session, actor=actor, kind=kind, listing_id=listing_id, reason=data.reason)
        return await _one(session, actor, listing)

    @router.post(
        "/{listing_id}/revisions",
        response_model=RevisionPublic,
        status_code=201,
        responses=_WRITE_ERRORS,
        name=f"request_edit_{kind}",
    )
    async def request_edit(listing_id: IdPath, data: edit_schema, session: SessionDep, actor: ActorDep) -> Any:  # type: ignore[valid-type]
        """修改申请：已发布条目的修改先存为待审核，撮合专员批准后才生效；批准前公开的仍是已发布版本。"""
        revision = await changes.request_edit(
            session,
            actor=actor,
            kind=kind,
            listing_id=listing_id,
            data=data.changes,  # type: ignore[attr-defined]
            note=data.note,  # type: ignore[attr-defined]
        )
        return present_revision(revision)

    @router.get(
        "/{listing_id}/revisions",
        response_model=list[RevisionPublic],
        responses=error_responses(Unauthorized, NotFound),
        name=f"list_revisions_{kind}",
    )
    async def list_revisions(listing_id: IdPath, session: SessionDep, actor: ActorDep) -> Any:
        """Every edit request of the listing, newest first (its organisation and staff)."""
        rows = await changes.revisions_of(session, actor=actor, kind=kind, listing_id=listing_id)
        return [present_revision(r) for r in rows]

    @router.get(
        "/{listing_id}/attachments",
        response_model=list[ListingAttachmentPublic],
        responses=error_responses(NotFound),
        name=f"list_attachments_{kind}",
        summary="List the attachments (附件)",
    )
    async def list_attachments(listing_id: IdPath, session: SessionDep, actor: ActorDep) -> Any:
        """The listing's documents and images (whoever may read the listing: everyone once published)."""
        return await attachments.list_readable(session, actor=actor, kind=kind, listing_id=listing_id)

    @router.post(
        "/{listing_id}/attachments",
        response_model=ListingAttachmentPublic,
        status_code=201,
        responses=error_responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, PayloadTooLarge),
        name=f"upload_attachment_{kind}",
        summary="Attach a document or image (上传附件)",
    )
    async def upload_attachment(
        listing_id: IdPath,
        session: SessionDep,
        settings: SettingsDep,
        actor: ActorDep,
        file: Annotated[UploadFile, File(description="PDF、Office 文档或图片，不超过 10 MB")],
    ) -> Any:
        """Attach a document or image to a draft (its organisation) or any listing (staff); its type
        is checked by content, and disguised or oversize files are refused."""
        data = await file.read(settings.max_attachment_bytes + 1)
        attachment = await attachments.add(
            session,
            actor=actor,
            kind=kind,
            listing_id=listing_id,
            data=data,
            filename=file.filename or "",
            max_bytes=settings.max_attachment_bytes,
        )
        return attachments.present(attachment)

    @router.get(
        "/{listing_id}/attachments/{attachment_id}",
        responses={**_DOWNLOAD_RESPONSE, **error_responses(NotFound)},
        name=f"download_attachment_{kind}",
        summary="Download an attachment (附件下载)",
        response_class=Response,
    )
    async def download_attachment(
        listing_id: IdPath, attachment_id: IdPath, session: SessionDep, settings: SettingsDep, actor: ActorDep
    ) -> Response:
        """The file, always as a download, to whoever may read the listing."""
        attachment = await attachments.get(
            session, actor=actor, kind=kind, listing_id=listing_id, attachment_id=attachment_id
        )
        return await download_response(
            session,
            settings.upload_dir,
            storage_key=attachment.storage_key,
            filename=attachment.filename,
            content_type=attachment.content_type,
            missing="附件文件已丢失，请联系撮合专员",
        )

    @router.delete(
        "/{listing_id}/attachments/{attachment_id}",
        status_code=204,
        responses=_WRITE_ERRORS,
        name=f"delete_attachment_{kind}",
        summary="Remove an attachment (删除附件)",
        response_class=Response,
    )
    async def delete_attachment(
        listing_id: IdPath, attachment_id: IdPath, session: SessionDep, actor: ActorDep
    ) -> Response:
        """Remove an attachment (the listing's organisation while it is a draft; staff at any stage)."""
        await attachments.remove(session, actor=actor, kind=kind, listing_id=listing_id, attachment_id=attachment_id)
        return Response(status_code=204)

    return router


opportunities_router = _build(
    ListingKind.opportunity,
    prefix="/opportunities",
    tag="机会清单",
    create_schema=OpportunityCreate,
    update_schema=OpportunityUpdate,
    public_schema=OpportunityPublic,
    edit_schema=OpportunityEditRequest,
)


@opportunities_router.post(
    "/{listing_id}/close",
    response_model=OpportunityPublic,
    responses=_WRITE_ERRORS,
    name="close_opportunity",
    summary="Close an opportunity early (提前截止)",
)
async def close_opportunity(
    listing_id: IdPath, session: SessionDep, actor: ActorDep, data: CloseRequest | None = None
) -> Any:
    """Stop taking answers now (its organisation or staff); enterprises with a draft or submitted answer are told."""
    listing = await changes.close_early(session, actor=actor, listing_id=listing_id, note=data.note if data else "")
    return (await present(session, actor=actor, kind=ListingKind.opportunity, listings=[listing]))[0]


@opportunities_router.post(
    "/{listing_id}/deadline",
    response_model=OpportunityPublic,
    responses=_WRITE_ERRORS,
    name="change_deadline_opportunity",
)
async def change_deadline(listing_id: IdPath, data: DeadlineChange, session: SessionDep, actor: ActorDep) -> Any:
    """Extend or shorten the answer deadline of a published opportunity; answerers are told."""
    listing = await changes.change_deadline(
        session, actor=actor, listing_id=listing_id, deadline=data.deadline, note=data.note
    )
    return (await present(session, actor=actor, kind=ListingKind.opportunity, listings=[listing]))[0]


offerings_router = _build(
    ListingKind.offering,
    prefix="/offerings",
    tag="产品清单",
    create_schema=OfferingCreate,
    update_schema=OfferingUpdate,
    public_schema=OfferingPublic,
    edit_schema=OfferingEditRequest,
)


def present_revision(revision: ListingRevision) -> RevisionPublic:
    assert revision.id is not None
    return RevisionPublic(
        id=revision.id,
        kind=revision.listing_kind,  # type: ignore[arg-type]
        listing_id=revision.listing_id,
        changes=revision.changes,
        note=revision.note,
        status=revision.status,  # type: ignore[arg-type]
        decision_note=revision.decision_note,
        created_at=revision.created_at,
        decided_at=revision.decided_at,
    )


revisions_router = APIRouter(prefix="/revisions", tags=["修改申请"])


@revisions_router.get("", response_model=list[RevisionPublic], responses=error_responses(Unauthorized, Forbidden))
async def list_pending_revisions(session: SessionDep, actor: ActorDep) -> Any:
    """Pending edit requests of published listings, oldest first (matchmakers)."""
    return [present_revision(r) for r in await changes.pending_revisions(session, actor=actor)]


@revisions_router.get(
    "/{revision_id}", response_model=RevisionPublic, responses=error_responses(Unauthorized, NotFound)
)
async def get_revision(revision_id: IdPath, session: SessionDep, actor: ActorDep) -> Any:
    return present_revision(await changes.get_revision(session, actor=actor, revision_id=revision_id))


@revisions_router.post("/{revision_id}/approve", response_model=RevisionPublic, responses=_WRITE_ERRORS)
async def approve_revision(
    revision_id: IdPath, session: SessionDep, actor: ActorDep, data: RevisionDecision | None = None
) -> Any:
    """Apply the edit to the published listing (matchmakers); the organisation is told."""
    revision = await changes.approve_revision(
        session, actor=actor, revision_id=revision_id, note=data.note if data else ""
    )
    return present_revision(revision)


@revisions_router.post("/{revision_id}/reject", response_model=RevisionPublic, responses=_WRITE_ERRORS)
async def reject_revision(revision_id: IdPath, data: RevisionDecision, session: SessionDep, actor: ActorDep) -> Any:
    """Refuse the edit with a reason (matchmakers); the published version stays; the organisation is told."""
    return present_revision(
        await changes.reject_revision(session, actor=actor, revision_id=revision_id, note=data.note)
    )


@revisions_router.post("/{revision_id}/cancel", response_model=RevisionPublic, responses=_WRITE_ERRORS)
async def cancel_revision(revision_id: IdPath, session: SessionDep, actor: ActorDep) -> Any:
    """The organisation withdraws its pending edit request."""
    return present_revision(await changes.cancel_revision(session, actor=actor, revision_id=revision_id))
