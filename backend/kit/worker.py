"""The polling loop shared by the background workers (search sync, mail)."""

import asyncio
import contextlib
import logging

logger = logging.getLogger(__name__)


class PollingWorker:
    """Calls `run_once` until stopped: straight again while it finds work, else waits `poll_seconds` or a wake-up."""

    name = "worker"

    def __init__(self, *, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    async def run_once(self) -> int:
        raise NotImplementedError

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                done = await self.run_once()
            except Exception:
                logger.exception("%s round failed", self.name)
                done = 0
            if done:
                continue  # more may be waiting
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
