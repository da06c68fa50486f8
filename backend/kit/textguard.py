"""Refuse text that the database (or an XML feed) cannot hold, before any handler sees it.

Rules, the same for the API and the pages:
- every text a client sends — query parameters, JSON bodies (keys and values, at any depth),
  form fields (url-encoded or multipart, but not the content of uploaded files) — must be valid
  UTF-8 and must not contain NUL, other C0 control characters except tab, line feed and
  carriage return, lone surrogates (JSON "\\ud800"), U+FFFE or U+FFFF. PostgreSQL refuses NUL
  in text and JSON columns, asyncpg cannot encode a lone surrogate, and the Atom feed and the
  XML in .xlsx exports cannot carry the other control characters;
- a refusal is a 422 that names the field ("domains.0", "title", "region") and says why.

`TextGuard` checks query strings and API bodies in the ASGI stack; page forms are checked by the
web layer's CSRF check with `form_problem`, so that the refusal renders as the site's own page.
A path with such characters is answered 404 (no object has such a name).
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.kit.errors import PROBLEM_MEDIA_TYPE, Unprocessable

FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
CONTROL_MESSAGE = "含有不允许的控制字符（如 NUL），请删除后重试"
ENCODING_MESSAGE = "不是有效的 UTF-8 文本"
# Bodies larger than this are not JSON or form posts the guard needs to read (uploads are bounded elsewhere).
_MAX_INSPECTED_BODY = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class TextProblem:
    field: str
    reason: str

    @property
    def detail(self) -> str:
        return f"{self.field}：{self.reason}" if self.field else self.reason

    def error(self) -> Unprocessable:
        return Unprocessable(self.detail, field=self.field or None)


def text_problem(value: str, field: str) -> TextProblem | None:
    return TextProblem(field, CONTROL_MESSAGE) if FORBIDDEN.search(value) else None


def _decode(raw: bytes, field: str) -> tuple[str | None, TextProblem | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, TextProblem(field, ENCODING_MESSAGE)


def _pairs(raw: bytes) -> Iterator[tuple[bytes, bytes]]:
    for chunk in raw.split(b"&"):
        if not chunk:
            continue
        key, _, value = chunk.partition(b"=")
        yield unquote_to_bytes(key.replace(b"+", b" ")), unquote_to_bytes(value.replace(b"+", b" "))


def urlencoded_problem(raw: bytes) -> TextProblem | None:
    """The first bad key or value of a query string or url-encoded form."""
    for raw_key, raw_value in _pairs(raw):
        key, problem = _decode(raw_key, "")
        if problem is not None:
            return TextProblem(raw_key.decode("latin-1")[:50], ENCODING_MESSAGE)
        assert key is not None
        value, problem = _decode(raw_value, key)
        if problem is None:
            assert value is not None
            problem = text_problem(key, key) or text_problem(value, key)
        if problem is not None:
            return problem
    return None


def json_problem(value: Any, path: str = "") -> TextProblem | None:
    """The first bad string in a parsed JSON document, with its path ("domains.0")."""
    if isinstance(value, str):
        return text_problem(value, path)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if problem := json_problem(item, f"{path}.{index}" if path else str(index)):
                return problem
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if FORBIDDEN.search(str(key)):
                return TextProblem(path or "（字段名）", CONTROL_MESSAGE)
            if problem := json_problem(item, child):
                return problem
    return None


def multipart_problem(content_type: bytes, body: bytes) -> TextProblem | None:
    """The first bad text field of a multipart form (uploaded files are not text and are not checked)."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        return None
    found: list[TextProblem] = []
    state: dict[str, Any] = {"header_field": b"", "header_value": b"", "headers": {}, "data": bytearray()}

    def on_part_begin() -> None:
        state["headers"] = {}
        state["data"] = bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header_field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["header_value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["header_field"].lower()] = state["header_value"]
        state["header_field"] = b""
        state["header_value"] = b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if b"filename" not in state["headers"].get(b"content-disposition", b""):
            state["data"] += data[start:end]

    def on_part_end() -> None:
        disposition = state["headers"].get(b"content-disposition", b"")
        _, params = parse_options_header(disposition)
        raw_name = params.get(b"name", b"")
        name, problem = _decode(raw_name, "")
        if problem is not None:
            found.append(TextProblem(raw_name.decode("latin-1")[:50], ENCODING_MESSAGE))
            return
        assert name is not None
        if b"filename" in params:
            filename, problem = _decode(params[b"filename"], name)
            problem = problem or (text_problem(filename, name) if filename is not None else None)
        else:
            value, problem = _decode(bytes(state["data"]), name)
            problem = problem or (text_problem(value, name) if value is not None else None)
        if problem is not None:
            found.append(problem)

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception:  # a malformed body: the form parser behind the handler reports it
        return found[0] if found else None
    return found[0] if found else None


def body_problem(content_type: bytes, body: bytes) -> TextProblem | None:
    media_type = content_type.split(b";", 1)[0].strip().lower()
    if media_type == b"application/x-www-form-urlencoded":
        return urlencoded_problem(body)
    if media_type == b"multipart/form-data":
        return multipart_problem(content_type, body)
    if media_type == b"application/json" or media_type.endswith(b"+json"):
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return None  # not JSON (or not UTF-8): FastAPI's own validation answers 422
        return json_problem(document)
    return None


def _path_is_bad(scope: Scope) -> bool:
    return bool(FORBIDDEN.search(scope.get("path", "")))


class TextGuard:
    """Query strings of every request, and the bodies of API requests, are checked before the app reads them."""

    def __init__(self, app: ASGIApp, *, api_prefix: str) -> None:
        self.app = app
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _path_is_bad(scope):
            await self._refuse(scope, receive, send, 404, "请求的地址不存在", None)
            return
        problem = urlencoded_problem(scope.get("query_string", b""))
        if problem is not None:
            await self._refuse(scope, receive, send, 422, problem.detail, problem.field)
            return
        is_api = scope.get("path", "").startswith(self.api_prefix)
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
        if not is_api or scope.get("method") in ("GET", "HEAD", "OPTIONS") or not content_type:
            await self.app(scope, receive, send)
            return

        body = bytearray()
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False) or len(body) > _MAX_INSPECTED_BODY:
                break
        problem = body_problem(content_type, bytes(body))
        if problem is not None:
            await self._refuse(scope, receive, send, 422, problem.detail, problem.field)
            return

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, detail: str, field: str | None
    ) -> None:
        from starlette.requests import Request

        from backend.kit.errors import NotFound, problem_response

        error = Unprocessable if status == 422 else NotFound
        request = Request(scope, receive)
        render = getattr(scope["app"].state, "render_error_page", None) if "app" in scope else None
        if render is not None and not scope.get("path", "").startswith(self.api_prefix):
            response = await render(request, status, error.title, detail)
        else:
            response = problem_response(status, error.slug, error.title, detail, field=field)
        await response(scope, receive, send)


__all__ = ["PROBLEM_MEDIA_TYPE", "TextGuard", "TextProblem", "body_problem", "json_problem", "text_problem"]
