"""Requests admitted in arrival order, a few at a time per process.

Without a bound, every request a process has accepted runs at once: at 200 connections on
two cores that is about a hundred requests per process taking turns at the GIL, the
database threads and the search threads, each finishing only when all have progressed, so
the slowest waited past 10 s and timed out while the median was 1 s (bench/load.py). With a
few admitted at a time and the rest waiting in line (asyncio's semaphore wakes waiters in
the order they came), a request's wait is the queue ahead of it divided by the throughput,
so the tail stays near the median and nothing starves. Admitted requests still overlap
their waits on SQL and search threads, which is what keeps both cores busy.
"""

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send


class AdmitInOrder:
    """At most `limit` HTTP requests of this process run at a time; the others wait in line."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        # Made in the serving loop on first use (a semaphore belongs to one loop; tests may run
        # one app in several).
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._slots, self._loop = asyncio.Semaphore(self.limit), loop
        async with self._slots:
            await self.app(scope, receive, send)
