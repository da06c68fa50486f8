"""Uploaded files (answer attachments, milestone evidence, listing attachments): checked by
content, not by name, stored outside the web root, and served back only as downloads.

The bytes live in the database (`stored_file`, a bytea column on PostgreSQL), so every app
host behind a load balancer reaches every file with nothing else to share or configure,
and a file is saved or lost with the transaction that records it. Files are at most
`max_attachment_bytes` (10 MB), which the database holds without trouble. Keys of files
saved before this (under `data/uploads/`, without the `db/` prefix) are still served from
the local folder.
"""

import hashlib
import io
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi.responses import FileResponse, Response
from pydantic import BaseModel
from sqlalchemy import LargeBinary
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.kit.db import created_at_field
from backend.kit.errors import NotFound, PayloadTooLarge, Unprocessable

DATABASE_PREFIX = "db/"


class StoredFile(SQLModel, table=True):
    """The bytes of one uploaded file, under a random key (never the person's file name)."""

    __tablename__ = "stored_file"

    key: str = Field(primary_key=True, max_length=200)
    data: bytes = Field(sa_type=LargeBinary, nullable=False)
    size: int
    created_at: datetime = created_at_field()


class UploadedFile(SQLModel):
    """What every table of uploaded files records about one (answer attachments, milestone
    evidence, listing attachments); each table adds its id and what the file belongs to."""

    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200)
    uploaded_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()


class UploadedFilePublic(BaseModel):
    """An uploaded file as the API shows it; `url` downloads it (never shown inline)."""

    id: int
    filename: str
    content_type: str
    size: int
    created_at: datetime
    url: str


# extension → (content type, family); the family is what the bytes must prove.
ALLOWED = {
    ".pdf": ("application/pdf", "pdf"),
    ".png": ("image/png", "png"),
    ".jpg": ("image/jpeg", "jpeg"),
    ".jpeg": ("image/jpeg", "jpeg"),
    ".gif": ("image/gif", "gif"),
    ".webp": ("image/webp", "webp"),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
    ".doc": ("application/msword", "ole"),
    ".xls": ("application/vnd.ms-excel", "ole"),
    ".ppt": ("application/vnd.ms-powerpoint", "ole"),
}
_OOXML_PART = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
_MAX_NAME = 200


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    size: int
    sha256: str


def _family(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" not in names:
            return None
        for family, prefix in _OOXML_PART.items():
            if any(name.startswith(prefix) for name in names):
                return family
    return None


def safe_filename(name: str) -> str:
    """Keep the person's file name for display, without any path or control characters."""
    base = PurePath(name.replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"/\\|?*').strip(" .")
    return cleaned[-_MAX_NAME:] or "附件"


def check(data: bytes, filename: str, *, max_bytes: int) -> CheckedFile:
    """Refuse oversize files and files whose bytes do not match their extension."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"附件超过上限 {max_bytes // (1024 * 1024)} MB", field="file")
    if not data:
        raise Unprocessable("附件是空文件", field="file")
    name = safe_filename(filename)
    extension = PurePath(name).suffix.lower()
    if extension not in ALLOWED:
        raise Unprocessable(
            "只接受 PDF、Office 文档（doc/docx/xls/xlsx/ppt/pptx）和图片（png/jpg/gif/webp）", field="file"
        )
    content_type, family = ALLOWED[extension]
    if _family(data) != family:
        raise Unprocessable(f"文件内容与扩展名 {extension} 不符，已拒绝", field="file")
    return CheckedFile(name, content_type, len(data), hashlib.sha256(data).hexdigest())


async def save(session: AsyncSession, data: bytes) -> str:
    """Keep the bytes in the database under a random key, in the caller's transaction."""
    key = f"{DATABASE_PREFIX}{uuid.uuid4().hex}"
    session.add(StoredFile(key=key, data=data, size=len(data)))
    await session.flush()
    return key


Record = TypeVar("Record", bound=UploadedFile)


async def store(
    session: AsyncSession,
    model: type[Record],
    data: bytes,
    filename: str,
    *,
    max_bytes: int,
    uploaded_by_id: int | None,
    **owner: Any,
) -> Record:
    """Check a file by content, keep its bytes, and record it as a `model` row of `owner`; all in
    the caller's transaction, so a refusal after this (or of this) keeps nothing."""
    checked = check(data, filename, max_bytes=max_bytes)
    record = model(
        **owner,
        filename=checked.filename,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        storage_key=await save(session, data),
        uploaded_by_id=uploaded_by_id,
    )
    session.add(record)
    await session.flush()
    return record


async def discard(session: AsyncSession, record: Any) -> None:
    """Delete a file's record and its bytes (a file still in a local folder is left there: its
    record is what made it reachable)."""
    stored = await session.get(StoredFile, record.storage_key)
    await session.delete(record)
    if stored is not None:
        await session.delete(stored)
    await session.flush()


def resolve(upload_dir: Path, key: str) -> Path:
    path = (upload_dir / key).resolve()
    if upload_dir.resolve() not in path.parents:
        raise Unprocessable("附件路径无效")
    return path


_DOWNLOAD_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}


async def download_response(
    session: AsyncSession, upload_dir: Path, *, storage_key: str, filename: str, content_type: str, missing: str
) -> Response:
    """A stored file as a private download that browsers will not sniff or render inline."""
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}", **_DOWNLOAD_HEADERS}
    if storage_key.startswith(DATABASE_PREFIX):
        stored = await session.get(StoredFile, storage_key)
        if stored is None:
            raise NotFound(missing)
        return Response(stored.data, media_type=content_type, headers=headers)
    path = resolve(upload_dir, storage_key)  # saved before files moved into the database
    if not path.exists():
        raise NotFound(missing)
    return FileResponse(path, media_type=content_type, headers=headers)


# The tables that record uploaded files (answer attachments, milestone evidence), each with
# `id` and `storage_key`; given by the caller, because kit imports no domain package.
FileModels = Sequence[Any]


async def local_files(session: AsyncSession, models: FileModels) -> list[tuple[Any, int, str]]:
    """Recorded files that still live in a local folder (saved before files moved into the
    database): (model, row id, storage key)."""
    from sqlmodel import col, select

    found: list[tuple[Any, int, str]] = []
    for model in models:
        statement = select(model.id, model.storage_key).where(~col(model.storage_key).startswith(DATABASE_PREFIX))
        found += [(model, int(row_id), key) for row_id, key in (await session.exec(statement)).all() if row_id]
    return found


async def refuse_missing_local_files(session: AsyncSession, upload_dir: Path, models: FileModels) -> None:
    """Refuse to start a host that cannot reach files recorded in a local folder (another
    host's): it would answer 404 for them. `scenematch move-files` on the host that has
    them moves them into the database, after which every host reaches them."""
    missing = [key for _, _, key in await local_files(session, models) if not resolve(upload_dir, key).exists()]
    if missing:
        raise RuntimeError(
            f"{len(missing)} uploaded files are recorded in a local folder this host does not have "
            f"({upload_dir}); run `scenematch move-files` on the host that has them, then start this one"
        )


async def move_to_database(session: AsyncSession, upload_dir: Path, models: FileModels) -> tuple[int, int]:
    """Move files from the local folder into the database; returns (moved, missing)."""
    moved = missing = 0
    for model, row_id, key in await local_files(session, models):
        path = resolve(upload_dir, key)
        if not path.exists():
            missing += 1
            continue
        row = await session.get(model, row_id)
        if row is None:  # deleted meanwhile
            continue
        row.storage_key = await save(session, path.read_bytes())
        session.add(row)
        moved += 1
    await session.flush()
    return moved, missing
