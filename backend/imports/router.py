from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel

from backend.dependencies import SessionDep, SettingsDep, StaffDep
from backend.imports import service
from backend.imports.parsing import ImportFileError, parse_off_loop
from backend.kit.errors import Forbidden, PayloadTooLarge, Unauthorized, Unprocessable, error_responses

router = APIRouter(prefix="/imports", tags=["批量导入"])


class RowErrorPublic(BaseModel):
    row: int
    field: str | None
    reason: str


class ImportReportPublic(BaseModel):
    total_rows: int
    created: int
    updated: int
    organisations_created: int
    errors: list[RowErrorPublic]
    import_id: int | None = None


@router.post(
    "",
    response_model=ImportReportPublic,
    responses=error_responses(Unauthorized, Forbidden, Unprocessable, PayloadTooLarge),
)
async def import_listings(
    session: SessionDep,
    settings: SettingsDep,
    actor: StaffDep,
    file: Annotated[UploadFile, File(description=".jsonl、.csv 或 .xlsx")],
    publish: Annotated[bool, Form(description="导入后直接发布")] = False,
) -> ImportReportPublic:
    """Import listings from a file; each bad row is reported with its row number, good rows are kept.

    Without `publish`, new listings wait in the review queue (待审核), marked with this import.
    """
    data = await file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"文件超过上限 {settings.max_upload_bytes // (1024 * 1024)} MB")
    try:
        rows, errors = await parse_off_loop(data, file.filename or "", max_rows=settings.max_import_rows)
    except ImportFileError as exc:
        raise Unprocessable(str(exc), field="file") from exc
    report = await service.import_rows(
        session, actor=actor, rows=rows, parse_errors=errors, publish=publish, filename=file.filename or ""
    )
    return ImportReportPublic(
        total_rows=report.total_rows,
        created=report.created,
        updated=report.updated,
        organisations_created=report.organisations_created,
        import_id=report.import_id,
        errors=[RowErrorPublic(row=e.row_number, field=e.field, reason=e.reason) for e in report.errors],
    )
