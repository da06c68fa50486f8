"""The organisation picker: people type (part of) a name, the server finds the organisation.

The page shows a text field (or, for several organisations, one per line) that `orgpicker.js`
turns into search-as-you-type over `organisations:suggest`. Without JavaScript the typed text
is posted as it is and resolved here: the exact name or 统一社会信用代码 wins, else the one
organisation whose name contains the text; none or several is a form error in plain Chinese.
"""

import re

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import Actor
from backend.organisations import service as organisations
from web.kit.forms import FormErrors

_LINES = re.compile(r"[\r\n]+")

# Shown to name the candidates when a typed text matches several organisations.
_SHOWN_CANDIDATES = 5


async def resolve_organisation(
    session: AsyncSession, *, actor: Actor, typed: str, errors: FormErrors, field: str
) -> int | None:
    """The id of the organisation `typed` names, or None with a message on `field`."""
    typed = typed.strip()
    if not typed:
        return None
    found = await organisations.resolve(session, actor=actor, text=typed)
    if len(found) == 1:
        return found[0].id
    if not found:
        errors.add(field, f"找不到组织「{typed}」：请输入平台上登记的名称或统一社会信用代码，并从提示中选择")
        return None
    names = "、".join(f"「{o.name}」" for o in found[:_SHOWN_CANDIDATES])
    errors.add(field, f"「{typed}」对应多个组织：{names}，请填写完整名称或从提示中选择")
    return None


async def resolve_organisations(
    session: AsyncSession,
    *,
    actor: Actor,
    typed: str,
    errors: FormErrors,
    field: str,
    separators: re.Pattern[str] = _LINES,
) -> list[int]:
    """One organisation per line, in order; the first line that names none or several is reported."""
    ids: list[int] = []
    for line in separators.split(typed):
        if not line.strip():
            continue
        found = await resolve_organisation(session, actor=actor, typed=line, errors=errors, field=field)
        if found is None:
            return []
        if found not in ids:
            ids.append(found)
    return ids
