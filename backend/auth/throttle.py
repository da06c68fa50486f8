"""Throttling, not lockout: failed sign-ins slow the guesser down without shutting the owner out.

Counts live in the `throttle_counter` table, so every web process (and every host behind a load
balancer) sees the same numbers; the row is updated with one atomic upsert. A counter expires
one `WINDOW` after its last hit.

Sign-in failures are counted under three keys:

- `login-account:<email>`: attempts *without* a trusted device cookie for that account;
- `login-address:<ip>`: every failed attempt from one client address (trusted proxies are
  looked through, see `client_address`);
- `login-device:<device>`: attempts from a browser that signed in to that account before.

Past a number of free failures each key imposes a progressive delay (5 s, 10 s, 20 s … capped):
an attempt inside the delay is refused (429) *before* the password is checked and is not
counted, so guessing is slowed to a trickle: four guesses an hour per account once the
15-minute cap is reached. The owner is not shut out:

- a browser that signed in successfully before carries a signed device cookie; its attempts
  are counted under its own key only, so an attacker failing elsewhere (even behind the same
  address) never delays the owner's right password (OWASP's "device cookies");
- on a new device the owner can ask for a one-time sign-in link by email (the pages offer it
  when the delay applies).

Other endpoints that send mail or create accounts (registration, password reset, sign-in links,
invitations) count every request under `hit()`, a plain limit per window.

Why no library: `limits`/`slowapi` keep their counters in memory, Redis, Memcached or MongoDB;
none of those is part of this deployment, and in-memory counters are what this module replaces.
A table and one upsert is all the shared state needs.
"""

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.models import ThrottleCounter
from backend.kit.db import utcnow
from backend.kit.errors import AppError

WINDOW = timedelta(hours=1)
# Failures allowed before the delay starts, per kind of key.
FREE_FAILURES = {"login-account": 5, "login-address": 20, "login-device": 10}
# The first delay; each further failure (made after the delay) doubles it, up to the cap.
FIRST_DELAY_SECONDS = 5
MAX_DELAY_SECONDS = {"login-account": 15 * 60, "login-address": 15 * 60, "login-device": 60}
DEVICE_COOKIE = "sm_device"


class TooManyAttempts(AppError):
    status_code = 429
    slug = "too-many-requests"
    title = "尝试次数过多"


@dataclass(frozen=True)
class Wait:
    key: str
    seconds: int


def delay_for(kind: str, failures: int) -> int:
    """Seconds to wait after `failures` failures under a key of this kind (0 while free)."""
    excess = failures - FREE_FAILURES[kind]
    if excess < 0:
        return 0
    return min(MAX_DELAY_SECONDS[kind], FIRST_DELAY_SECONDS * 2 ** min(excess, 20))


def wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} 秒"
    return f"{(seconds + 59) // 60} 分钟"


async def _row(session: AsyncSession, key: str) -> ThrottleCounter | None:
    row = await session.get(ThrottleCounter, key, populate_existing=True)
    if row is not None and row.last_at <= utcnow() - WINDOW:
        return None
    return row


async def _increment(session: AsyncSession, key: str, now: datetime) -> None:
    """count += 1 in one statement (a fresh window when the last hit is older than WINDOW)."""
    dialect = session.get_bind().dialect.name
    insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    table = ThrottleCounter.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(key=key[:300], count=1, window_started_at=now, last_at=now)
    stale = table.c.last_at <= now - WINDOW
    statement = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "count": case((stale, 1), else_=table.c.count + 1),
            "window_started_at": case((stale, now), else_=table.c.window_started_at),
            "last_at": now,
        },
    )
    await session.exec(statement)


async def login_wait(session: AsyncSession, keys: list[str]) -> Wait | None:
    """The longest delay any of the keys still imposes, or None when the attempt may go ahead."""
    now = utcnow()
    longest: Wait | None = None
    for key in keys:
        row = await _row(session, key)
        if row is None:
            continue
        delay = delay_for(key.split(":", 1)[0], row.count)
        remaining = int((row.last_at + timedelta(seconds=delay) - now).total_seconds()) + 1
        if delay and remaining > 0 and (longest is None or remaining > longest.seconds):
            longest = Wait(key, remaining)
    return longest


async def login_failed(session: AsyncSession, keys: list[str]) -> None:
    now = utcnow()
    for key in keys:
        await _increment(session, key, now)
    await session.flush()


async def login_succeeded(session: AsyncSession, keys: list[str]) -> None:
    """The given keys (the owner's device) start afresh; account and address counts are left to expire."""
    await session.exec(delete(ThrottleCounter).where(ThrottleCounter.key.in_(keys)))  # type: ignore[attr-defined]
    await session.flush()


async def hit(session: AsyncSession, key: str, *, limit: int, message: str) -> None:
    """Count one request under `key`; refuse (429) once more than `limit` came within the window."""
    row = await _row(session, key)
    if row is not None and row.count >= limit:
        retry = int((row.window_started_at + WINDOW - utcnow()).total_seconds()) + 1
        raise TooManyAttempts(f"{message}，请 {wait_text(max(retry, 1))}后再试")
    await _increment(session, key, utcnow())
    await session.flush()


async def count(session: AsyncSession, key: str) -> int:
    row = await _row(session, key)
    return row.count if row else 0


def normalise_account(email: str) -> str:
    return email.strip().lower()[:254]


def client_address(request: Request) -> str:
    """The client's address; X-Forwarded-For is believed only when the peer is a configured proxy.

    Walking the header from the right, the first address that is not one of our proxies is the
    client (addresses further left were written by the client itself and prove nothing).
    """
    peer = request.client.host if request.client else "unknown"
    proxies = request.app.state.settings.trusted_proxy_networks
    if not proxies or not _in(peer, proxies):
        return peer
    forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if not _in(address, proxies):
            return address[:64]
    return peer


def _in(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


# Device cookies: "<nonce>.<hmac(secret, account, nonce)>", set after a successful sign-in.


def _device_mac(secret: str, account: str, nonce: str) -> str:
    return hmac.new(secret.encode(), f"device:{account}:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def new_device_cookie(secret: str, account: str) -> str:
    nonce = secrets.token_urlsafe(12)
    return f"{nonce}.{_device_mac(secret, account, nonce)}"


def trusted_device(secret: str, account: str, cookie: str | None) -> str | None:
    """The device's nonce when the cookie was issued to this account's successful sign-in."""
    if not cookie or len(cookie) > 100 or "." not in cookie:
        return None
    nonce, mac = cookie.split(".", 1)
    return nonce if hmac.compare_digest(mac, _device_mac(secret, account, nonce)) else None


def login_keys(request: Request, account: str) -> list[str]:
    """The counters a sign-in attempt for `account` from this request is charged to."""
    settings = request.app.state.settings
    device = trusted_device(settings.secret_key, account, request.cookies.get(DEVICE_COOKIE))
    if device is not None:
        return [f"login-device:{device}"]
    return [f"login-account:{account}", f"login-address:{client_address(request)}"]


async def purge_expired(session: AsyncSession) -> None:
    """Drop counters whose window is over (called now and then; expired rows are ignored anyway)."""
    await session.exec(delete(ThrottleCounter).where(ThrottleCounter.last_at <= utcnow() - WINDOW))  # type: ignore[arg-type]
