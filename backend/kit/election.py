"""Electing the one process that writes the search index (and sends the mail).

`scenematch serve --workers N` runs N web processes on one database; exactly one of them
at a time is the writer: it runs the search sync worker and the mail worker. The others
only serve requests, and with the embedded engine they open the index read-only and see
each commit of the writer within about half a second (tantivy reloads on commit), so every
process answers the same and none builds an index of its own from part of the outbox.

The writer is whoever holds a lock that dies with its process:
- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection kept
  open for the purpose; if that connection breaks, the lock is gone and the process stops
  writing at its next check.
- SQLite: an exclusive `flock` on `<database file>.writer.lock` beside the database.

Every other process tries again every `RETRY_SECONDS`, so when the writer is killed another
one takes over within that time; outbox rows the dead writer had not marked done are simply
applied again (applying is idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

# "scenematch writer" as a number; distinct from the sync worker's per-transaction lock key.
WRITER_LOCK_KEY = 0x5C3E_3017
RETRY_SECONDS = 1.0


def sqlite_lock_path(database_url: str) -> Path | None:
    """The lock file beside a SQLite database file (None for an in-memory database)."""
    database = make_url(database_url).database
    if not database or database == ":memory:":
        return None
    return Path(database).resolve().with_name(Path(database).name + ".writer.lock")


class WriterLock:
    """One attempt at being the writer; `acquire` never waits."""

    def __init__(self, engine: AsyncEngine, database_url: str) -> None:
        self.engine = engine
        self.database_url = database_url
        self._connection: AsyncConnection | None = None
        self._file: IO[Any] | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None or self._file is not None

    async def acquire(self) -> bool:
        if self.held:
            return True
        if self.engine.dialect.name == "postgresql":
            connection = await self.engine.connect()
            try:
                got = (
                    await connection.execute(text("SELECT pg_try_advisory_lock(:key)").bindparams(key=WRITER_LOCK_KEY))
                ).scalar()
                await connection.commit()  # the lock is the session's, not the transaction's
            except BaseException:
                await connection.close()
                raise
            if not got:
                await connection.close()
                return False
            self._connection = connection
            return True
        path = sqlite_lock_path(self.database_url)
        if path is None:
            return True  # an in-memory database has one process by definition
        path.parent.mkdir(parents=True, exist_ok=True)
        # A tiny local file, opened once per election round: not worth a thread.
        handle = open(path, "a+")  # noqa: SIM115, ASYNC230 — held open for as long as we are the writer
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    async def still_held(self) -> bool:
        """False once the lock is lost (PostgreSQL: the connection holding it broke)."""
        if self._connection is None:
            return self.held
        try:
            await self._connection.execute(text("SELECT 1"))
            await self._connection.commit()
        except Exception as exc:  # the connection is gone, and the lock with it
            logger.warning("writer lock lost: %s", exc)
            await self._drop_connection()
            return False
        return True

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # already broken
                await connection.close()

    async def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # closing the connection releases it anyway
                await self._connection.execute(text("SELECT pg_advisory_unlock(:key)").bindparams(key=WRITER_LOCK_KEY))
                await self._connection.commit()
            await self._drop_connection()
        if self._file is not None:
            handle, self._file = self._file, None
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()


class WriterRole:
    """Keeps trying to become the writer; while it is, runs `start` once, and `stop` when it ends.

    `start` and `stop` are the app's: they start and stop the sync and mail workers.
    """

    def __init__(
        self,
        lock: WriterLock,
        *,
        start: Callable[[], Awaitable[None]],
        stop: Callable[[], Awaitable[None]],
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.lock = lock
        self._start, self._stop = start, stop
        self.retry_seconds = retry_seconds
        self.is_writer = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def try_once(self) -> bool:
        """One round: become the writer if free, or notice that we no longer are."""
        if self.is_writer:
            if not await self.lock.still_held():
                self.is_writer = False
                await self._stop()
            return self.is_writer
        try:
            got = await self.lock.acquire()
        except Exception as exc:  # the database is down: try again later
            logger.warning("writer election failed: %s", exc)
            return False
        if got:
            self.is_writer = True
            # Logged as a warning so that it shows in the default log: who writes matters.
            logger.warning("process %d is the index writer", os.getpid())
            await self._start()
        return self.is_writer

    async def run(self) -> None:
        while not self._stopping.is_set():
            await self.try_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.retry_seconds)

    async def start(self) -> None:
        """A first round now (so a single process is the writer from its first request), then in the background."""
        self._stopping.clear()
        await self.try_once()
        self._task = asyncio.create_task(self.run(), name="writer-election")

    async def close(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self.is_writer:
            self.is_writer = False
            await self._stop()
        await self.lock.release()
