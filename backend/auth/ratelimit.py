"""An in-memory limit on failed logins, per account and per client address.

Both the page login and the API login consult the same limiter (one per app). Only failed
attempts count; a successful login clears the account's record. In-memory is enough for one
process; a multi-process deployment would move the counters to the database or Redis.
"""

import time
from collections import defaultdict, deque
from collections.abc import Callable
from threading import Lock

from fastapi import FastAPI, Request

from backend.kit.errors import AppError

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_SECONDS = 15 * 60


class TooManyAttempts(AppError):
    status_code = 429
    slug = "too-many-requests"
    title = "尝试次数过多"


class LoginLimiter:
    def __init__(
        self,
        *,
        account_limit: int = ACCOUNT_LIMIT,
        address_limit: int = ADDRESS_LIMIT,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"account": account_limit, "address": address_limit}
        self.window = window
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        stamps = self._failures[key]
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        return stamps

    def check(self, *, account: str, address: str) -> None:
        """Refuse the attempt (429) while either the account or the address is over its limit."""
        now = self.clock()
        with self._lock:
            for scope, value in (("account", account), ("address", address)):
                stamps = self._recent((scope, value), now)
                if len(stamps) >= self.limits[scope]:
                    minutes = max(1, int((stamps[0] + self.window - now) // 60) + 1)
                    raise TooManyAttempts(f"登录失败次数过多，请 {minutes} 分钟后再试")

    def failed(self, *, account: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            self._failures[("account", account)].append(now)
            self._failures[("address", address)].append(now)

    def succeeded(self, *, account: str) -> None:
        with self._lock:
            self._failures.pop(("account", account), None)


def login_limiter(app: FastAPI) -> LoginLimiter:
    limiter = getattr(app.state, "login_limiter", None)
    if limiter is None:
        limiter = app.state.login_limiter = LoginLimiter()
    return limiter


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def normalise_account(email: str) -> str:
    return email.strip().lower()[:254]
