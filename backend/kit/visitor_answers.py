"""Whole answers to visitors' searches, list and listing pages, kept per process while what they show stays as it was.

Visitors ask the same popular searches, the first pages of the two lists and the listings
everyone is reading over and over, and every visitor gets the same answer. Even with the
listings' presentation kept (backend/listings/public_cache.py), such a request cost 6-9 ms of
CPU at 50 connections: FastAPI's parameter and dependency work about 30 %, the endpoint about
half, serialisation and templates the rest (bench/README.md, issue 14). A kept answer costs one
look at what it depends on.

Rules (a shared cache's, as a reverse proxy would keep them, but told exactly when to let go):
- Only GET requests without the session cookie, to the paths the app names (a pattern).
- Only 200 answers that set no cookie, that no `Cache-Control` keeps private (a page with a form
  is marked `no-store`: its CSRF token is the browser's own, web/kit/templating.py) and that
  are at most `MAX_ANSWER_BYTES`; kept per path, query string and the htmx headers, which
  change what a page renders. Kept from the first asking while there is room; to make room (the
  least recently used go first) only an answer asked for the second time, so one-off URLs (a
  crawler, a cache-buster) never push the popular answers out. Answers made under an earlier
  word are dropped as soon as a new word is seen.
- Before each use the app's `look()` says what the answers depend on as it is now (for listings:
  the outbox's change mark and the search index's generation,
  backend/listings/public_cache.as_visitors_see_them). A kept answer
  is used only under the same word, and for at most `keep_seconds`, the bound for what changes
  without a word (README "Several hosts" lists it with the other per-process caches). `None`
  means "cannot tell": then nothing is kept or used.
- Requests that arrived while a look was under way wait for the next one, which starts after
  them and which they all share: a write committed before a request arrived is always seen,
  and under load one look serves many requests.
"""

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.kit.caching import carries_cookie

MAX_ANSWER_BYTES = 1 << 20
ASKED_AT_MOST = 10_000  # requests remembered as asked once, the oldest forgotten first
# Headers a page may answer differently (htmx fragments); today's pages answer htmx whole.
_VARY = (b"hx-request", b"hx-target")

Look = Callable[[], Awaitable[Hashable | None]]


def _shareable(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        name = name.lower()
        if name == b"set-cookie" or (name == b"cache-control" and (b"no-store" in value or b"private" in value)):
            return False
    return True


@dataclass(frozen=True, slots=True)
class _Answer:
    word: Hashable
    kept_at: float
    start: Message
    body: bytes


class SharedLook:
    """`look()` shared by the requests that arrived before it started: a request that finds a look
    under way that started earlier waits for it to end and then joins the next one, which the
    first of the waiters starts. At most one look runs per process, however many requests come."""

    def __init__(self, look: Look) -> None:
        self._look = look
        self._running: asyncio.Future[Hashable | None] | None = None
        self._started = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, arrived: float) -> Hashable | None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): what ran in the old one is gone
            self._running, self._loop = None, loop
        while True:
            running = self._running
            if running is None:
                self._started = time.monotonic()
                running = self._running = asyncio.ensure_future(self._look())
                running.add_done_callback(self._finished)
            if self._started >= arrived:
                try:
                    return await asyncio.shield(running)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database is away: the request itself will say so
                    return None
            await asyncio.wait([running])  # began before this request: it may not see its writes

    def _finished(self, done: asyncio.Future[Hashable | None]) -> None:
        if self._running is done:
            self._running = None
        if not done.cancelled():
            done.exception()  # retrieved here, so asyncio does not log it as never retrieved


class KeepVisitorAnswers:
    def __init__(
        self,
        app: ASGIApp,
        *,
        paths: re.Pattern[str],
        session_cookie: str,
        look: Look,
        keep_bytes: int,
        keep_seconds: float,
        state_key: str | None = None,
    ) -> None:
        self.app = app
        self.paths = paths
        self.cookie = session_cookie.encode() + b"="
        self.look = SharedLook(look)
        self.keep_bytes = keep_bytes
        self.keep_seconds = keep_seconds
        self.state_key = state_key
        self._answers: OrderedDict[tuple[bytes, ...], _Answer] = OrderedDict()
        self._asked: OrderedDict[tuple[bytes, ...], None] = OrderedDict()
        self._bytes = 0
        self._word: Hashable | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.keep_bytes <= 0
            or scope["type"] != "http"
            or scope["method"] != "GET"
            or not self.paths.fullmatch(scope["path"])
            or carries_cookie(scope, self.cookie)
        ):
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()
        word = await self.look(arrived)
        if word is None:
            await self.app(scope, receive, send)
            return
        if word != self._word:
            # What was kept under the earlier word can never be used again: room for the new.
            self._answers.clear()
            self._bytes = 0
            self._word = word
        if self.state_key is not None:
            # For the request to reuse rather than read again (request.state.<state_key>).
            scope.setdefault("state", {})[self.state_key] = word
        key = self._key(scope)
        kept = self._answers.get(key)
        if kept is not None and kept.word == word and arrived - kept.kept_at <= self.keep_seconds:
            self._answers.move_to_end(key)
            # Fresh message dicts: a server or middleware may change the ones it is given.
            await send({**kept.start, "headers": list(kept.start["headers"])})
            await send({"type": "http.response.body", "body": kept.body})
            return
        asked_before = key in self._asked
        if not asked_before:
            self._asked[key] = None
            if len(self._asked) > ASKED_AT_MOST:
                self._asked.popitem(last=False)
        await self.app(scope, receive, self._keeping(key, word, arrived, send, may_push_out=asked_before))

    @staticmethod
    def _key(scope: Scope) -> tuple[bytes, ...]:
        headers = dict((name, value) for name, value in scope["headers"] if name in _VARY)
        return (scope["path"].encode(), scope["query_string"], *(headers.get(name, b"") for name in _VARY))

    def _keeping(
        self, key: tuple[bytes, ...], word: Hashable, arrived: float, send: Send, *, may_push_out: bool
    ) -> Send:
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0

        async def keep_and_send(message: Message) -> None:
            nonlocal start, size
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if message["status"] == 200 and _shareable(headers):
                    start = {**message, "headers": list(headers)}
            elif message["type"] == "http.response.body" and start is not None:
                body = message.get("body", b"")
                size += len(body)
                if size > MAX_ANSWER_BYTES:
                    start = None
                else:
                    chunks.append(body)
                    if not message.get("more_body", False):
                        self._keep(key, _Answer(word, arrived, start, b"".join(chunks)), may_push_out)
            await send(message)

        return keep_and_send

    def _keep(self, key: tuple[bytes, ...], answer: _Answer, may_push_out: bool) -> None:
        if answer.word != self._word:
            return  # made under a word already replaced: it could never be used
        if not may_push_out and self._bytes + len(answer.body) > self.keep_bytes:
            return  # asked once: kept only where it fits
        old = self._answers.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._answers[key] = answer
        self._bytes += len(answer.body)
        while self._bytes > self.keep_bytes and self._answers:
            _, dropped = self._answers.popitem(last=False)
            self._bytes -= len(dropped.body)
