"""Parameter types shared by routers: database ids are 32-bit and positive."""

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**31 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]

# The same bound for ids that arrive in a JSON body.
from pydantic import Field  # noqa: E402

DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
