"""`web.kit.flow.attempt`: a refused service call keeps nothing of what it flushed, and the rest of the request goes on."""

import pytest
from sqlmodel import select

from backend.kit.errors import Conflict, Forbidden, NotFound
from backend.organisations.models import Organisation
from tests.factories import create_organisation
from web.kit.flow import RAISED_WITH_FORBIDDEN, attempt


async def _names(session, *names: str) -> set[str]:
    rows = await session.exec(select(Organisation.name).where(Organisation.name.in_(names)))  # type: ignore[attr-defined]
    return set(rows.all())


async def test_a_refusal_after_a_flush_keeps_nothing_and_the_transaction_goes_on(session):
    async def flush_then_refuse() -> Organisation:
        await create_organisation(session, name="半途而废的单位（flow）")
        assert await _names(session, "半途而废的单位（flow）")  # really written, inside the savepoint
        raise Conflict("该单位已存在", field="name")

    result, refused = await attempt(session, flush_then_refuse)

    assert result is None
    assert isinstance(refused, Conflict) and refused.detail == "该单位已存在" and refused.field == "name"
    assert not await _names(session, "半途而废的单位（flow）")
    # The request's own transaction is still usable: later writes are kept.
    await create_organisation(session, name="之后保存的单位（flow）")
    assert await _names(session, "半途而废的单位（flow）", "之后保存的单位（flow）") == {"之后保存的单位（flow）"}


async def test_a_successful_call_keeps_its_writes(session):
    organisation, refused = await attempt(session, lambda: create_organisation(session, name="保存成功的单位（flow）"))
    assert refused is None and organisation is not None and organisation.id is not None
    assert await _names(session, "保存成功的单位（flow）") == {"保存成功的单位（flow）"}


@pytest.mark.parametrize(
    ("error", "raised", "propagates"),
    [
        (NotFound("单位不存在"), None, True),
        (Forbidden("无权操作"), None, False),
        (Forbidden("无权操作"), RAISED_WITH_FORBIDDEN, True),
        (NotFound("所选单位不存在", field="organisation_id"), (401, 403), False),
    ],
)
async def test_chosen_statuses_propagate_and_still_keep_nothing(session, error, raised, propagates):
    name = f"被撤销的单位（flow {error.status_code} {raised}）"

    async def flush_then_fail() -> None:
        await create_organisation(session, name=name)
        raise error

    options = {} if raised is None else {"raised": raised}
    if propagates:
        with pytest.raises(type(error)):
            await attempt(session, flush_then_fail, **options)
    else:
        assert await attempt(session, flush_then_fail, **options) == (None, error)
    assert not await _names(session, name)
