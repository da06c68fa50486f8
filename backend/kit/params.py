"""Parameter types shared by routers: database ids are 32-bit and positive."""

import re
from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**31 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]

# The same bound for ids that arrive in a JSON body.
from pydantic import Field  # noqa: E402

DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


_ASCII_NUMBER = re.compile(r"[0-9]{1,18}")


def whole_number(text: object, low: int, high: int) -> int | None:
    """`text` as an integer in [low, high], or None for anything else.

    For numbers typed into forms and URLs, which FastAPI does not validate. `str.isdigit`
    is the wrong test for them: it accepts "²" and "①", on which `int()` raises, and any
    length, on which `int()` is slow or raises too.
    """
    if not isinstance(text, str) or not _ASCII_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if low <= number <= high else None
