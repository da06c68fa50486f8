"""Paging parameters, the list wrapper every list endpoint answers with, and `paginate`:
the one count-then-page query every list uses."""

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")

MAX_PAGE_SIZE = 100


class PageParams(BaseModel):
    page: int = 1
    page_size: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def page_params(
    page: Annotated[int, Query(ge=1, le=100000, description="页码，从 1 开始")] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="每页条数")] = 20,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


R = TypeVar("R")


async def paginate(
    session: AsyncSession, query: SelectOfScalar[R], page: PageParams, *order: Any
) -> tuple[list[R], int]:
    """One page of `query` (in `order`) and the number of rows it matches.

    `order` must end in a unique column (usually the id), so that pages never overlap or skip.
    """
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await session.exec(query.order_by(*order).offset(page.offset).limit(page.page_size))
    return list(rows.all()), total
