"""`Cache-Control: no-store` where a shared or browser cache must not keep an answer.

Rules: every JSON answer (API data may be private to the asker and changes with every write),
and every answer to a request that carries the session cookie (a signed-in person's pages,
exports and files), except static assets. A response that sets its own Cache-Control keeps it.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_NO_STORE = (b"cache-control", b"no-store")
_JSON_TYPES = (b"application/json", b"application/problem+json")


def carries_cookie(scope: Scope, name_and_equals: bytes) -> bool:
    """Whether the request sends the cookie (`b"name="`): the session cookie means signed in."""
    cookies = b";".join(value for name, value in scope.get("headers") or [] if name == b"cookie")
    return any(part.strip().startswith(name_and_equals) for part in cookies.split(b";"))


class NoStore:
    def __init__(self, app: ASGIApp, *, session_cookie: str, exempt_prefixes: tuple[str, ...] = ("/static/",)) -> None:
        self.app = app
        self.cookie = session_cookie.encode() + b"="
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        signed_in = carries_cookie(scope, self.cookie)

        async def send_with_cache_control(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
                is_json = content_type.split(b";", 1)[0].strip().lower() in _JSON_TYPES
                if b"cache-control" not in names and (signed_in or is_json):
                    message["headers"] = [*headers, _NO_STORE]
            await send(message)

        await self.app(scope, receive, send_with_cache_control)
