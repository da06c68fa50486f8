"""A file posted from a page's upload form (answer attachments, listing attachments, milestone
evidence), read and handed to the service that checks and stores it.

At most one byte more than the limit is read, so an oversize file is refused by the service's
size check without the whole of it being held in memory.
"""

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData, UploadFile

from backend.kit.errors import AppError, Unprocessable
from web.kit.flow import RAISED, attempt

FIELD = "file"
NO_FILE = "请选择要上传的文件"


async def read_upload(form: FormData, max_bytes: int) -> tuple[bytes, str] | None:
    """(bytes, the person's file name) of the posted file; None when no file was chosen."""
    upload = form.get(FIELD)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    return await upload.read(max_bytes + 1), upload.filename


async def store_upload(
    session: AsyncSession,
    form: FormData,
    max_bytes: int,
    store: Callable[[bytes, str], Awaitable[Any]],
    *,
    raised: Collection[int] = RAISED,
) -> AppError | None:
    """Hand the posted file to `store(data, filename)` inside a savepoint; the refusal to show on
    the page (no file chosen, or the service's), or None once it is stored."""
    upload = await read_upload(form, max_bytes)
    if upload is None:
        return Unprocessable(NO_FILE, field=FIELD)
    _done, refused = await attempt(session, lambda: store(*upload), raised=raised)
    return refused
