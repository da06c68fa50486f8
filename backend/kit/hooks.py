"""Registered hooks: how a lower layer lets higher ones react without importing them.

A lower domain owns a `Hook` and calls its handlers at the point where something happened
(an opportunity published, a page of listings presented); a higher domain registers a handler
when its module is imported. `backend.wiring` imports every registering module, so the app,
the CLI and the workers all see the same handlers. STYLE.md: "a domain that must react to
another's change does it through the outbox or a registered hook, not an upward import".
"""

from collections.abc import Callable
from typing import Generic, TypeVar

H = TypeVar("H", bound=Callable[..., object])


class Hook(Generic[H]):
    """An ordered set of handlers of one signature; registering the same handler twice keeps one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[H] = []

    def register(self, handler: H) -> H:
        """Add a handler (usable as a decorator); returns it unchanged."""
        if handler not in self._handlers:
            self._handlers.append(handler)
        return handler

    @property
    def handlers(self) -> tuple[H, ...]:
        return tuple(self._handlers)

    def __repr__(self) -> str:
        return f"Hook({self.name!r}, {len(self._handlers)} handler(s))"
