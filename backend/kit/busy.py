"""How busy this process is with requests, for background work that should give way to them.

The index writer runs inside one of the web processes of `scenematch serve` (backend/kit/election.py).
Its embedding work (search/vectorize.py) is pure CPU and, at 100k listings after a bulk import,
hours of it: run beside requests, it took the GIL and a core from them. It now runs only when
this process has had no request in flight for `QUIET_SECONDS`, so under load it waits and it
catches up when the load drops (a listing without a vector is still matched by text). A writer
run on its own (`scenematch worker`) serves no requests and is always quiet.
"""

import time

from starlette.types import ASGIApp, Receive, Scope, Send

QUIET_SECONDS = 1.0

_in_flight = 0
_last_seen = 0.0


def is_quiet() -> bool:
    """No request in flight now, and none finished within the last QUIET_SECONDS."""
    return _in_flight == 0 and time.monotonic() - _last_seen >= QUIET_SECONDS


class CountRequests:
    """Counts the HTTP requests this process is answering (pure ASGI, no per-request allocation)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        global _in_flight, _last_seen
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        _in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            _in_flight -= 1
            _last_seen = time.monotonic()
