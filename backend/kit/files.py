"""Uploaded files (answer attachments, milestone evidence): checked by content, not by name,
stored outside the web root, and served back only as downloads."""

import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath
from urllib.parse import quote

from fastapi.responses import FileResponse

from backend.kit.errors import NotFound, PayloadTooLarge, Unprocessable

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


def store(upload_dir: Path, data: bytes) -> str:
    """Write the bytes under a random key; the key, never the person's file name, is the path."""
    key = f"{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}"
    path = upload_dir / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return key


def resolve(upload_dir: Path, key: str) -> Path:
    path = (upload_dir / key).resolve()
    if upload_dir.resolve() not in path.parents:
        raise Unprocessable("附件路径无效")
    return path


def download_response(
    upload_dir: Path, *, storage_key: str, filename: str, content_type: str, missing: str
) -> FileResponse:
    """A stored file as a private download that browsers will not sniff or render inline."""
    path = resolve(upload_dir, storage_key)
    if not path.exists():
        raise NotFound(missing)
    return FileResponse(
        path,
        media_type=content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
