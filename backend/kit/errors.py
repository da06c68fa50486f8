"""One error family, rendered as RFC 9457 problem objects (application/problem+json)."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger(__name__)


class AppError(Exception):
    status_code = 400
    slug = "bad-request"
    title = "请求有误"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class BadRequest(AppError):
    pass


class Unprocessable(AppError):
    status_code = 422
    slug = "validation-error"
    title = "输入校验未通过"


class Unauthorized(AppError):
    status_code = 401
    slug = "unauthorized"
    title = "需要登录"


class Forbidden(AppError):
    status_code = 403
    slug = "forbidden"
    title = "没有权限"


class NotFound(AppError):
    status_code = 404
    slug = "not-found"
    title = "未找到"


class Conflict(AppError):
    status_code = 409
    slug = "conflict"
    title = "与现有数据冲突"


class PayloadTooLarge(AppError):
    status_code = 413
    slug = "payload-too-large"
    title = "提交的内容过大"


class ServiceUnavailable(AppError):
    status_code = 503
    slug = "service-unavailable"
    title = "服务暂不可用"


class Problem(BaseModel):
    """The error body every endpoint can answer with."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    errors: list[dict[str, Any]] | None = None


def problem_response(
    status: int, slug: str, title: str, detail: str, *, field: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    if field is not None:
        body["field"] = field
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def error_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entry so that a route documents the problems it can return."""
    return {
        e.status_code: {"model": Problem, "description": e.title, "content": {PROBLEM_MEDIA_TYPE: {}}} for e in errors
    }


_PYDANTIC_MESSAGES = {
    "missing": "此项为必填项",
    "string_too_short": "内容太短",
    "string_too_long": "内容太长（最多 {max_length} 个字符）",
    "string_type": "应为文本",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "decimal_parsing": "应为数字",
    "bool_parsing": "应为是或否",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "datetime_parsing": "时间格式无法识别",
    "enum": "取值无效，可选：{expected}",
    "literal_error": "取值无效，可选：{expected}",
    "value_error": "{error}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "greater_than": "必须大于 {gt}",
    "json_invalid": "请求体不是有效的 JSON",
    "model_attributes_type": "请求体应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为列表",
    "too_long": "条目太多（最多 {max_length} 项）",
    "extra_forbidden": "不认识的字段",
    "value_error.email": "邮箱地址无效",
}


def _message(error: dict[str, Any]) -> str:
    template = _PYDANTIC_MESSAGES.get(error.get("type", ""))
    if template is None:
        return str(error.get("msg", "输入无效"))
    ctx = dict(error.get("ctx") or {})
    if "error" in ctx:
        ctx["error"] = str(ctx["error"]).removeprefix("Value error, ")
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return str(error.get("msg", "输入无效"))


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0]) if loc else ""


async def _page_or_problem(request: Request, status: int, slug: str, title: str, detail: str, **extra: Any) -> Response:
    """Pages get an HTML error page (when the web layer registered one); the API gets a problem object."""
    render = getattr(request.app.state, "render_error_page", None)
    if render is not None and not request.url.path.startswith("/api/"):
        return await render(request, status, title, detail)
    return problem_response(status, slug, title, detail, **extra)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return await _page_or_problem(
            request, exc.status_code, exc.slug, exc.title, exc.detail, field=exc.field, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_name(tuple(e.get("loc", ()))), "message": _message(e)} for e in exc.errors()]
        first = errors[0] if errors else {"field": None, "message": "输入无效"}
        detail = f"{first['field']}：{first['message']}" if first["field"] else first["message"]
        return problem_response(
            422, Unprocessable.slug, Unprocessable.title, detail, field=first["field"], errors=errors
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        # Services check uniqueness first; this catches the race where two requests insert at once.
        return await _page_or_problem(
            request, 409, Conflict.slug, Conflict.title, "数据与已有记录冲突（可能已存在相同记录）"
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        # Validation should stop these first; a value the database cannot hold is still the caller's error.
        return await _page_or_problem(request, 422, Unprocessable.slug, Unprocessable.title, "输入的数值超出允许范围")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "未找到", 405: "不支持的请求方法", 401: "需要登录", 403: "没有权限"}
        title = titles.get(exc.status_code, "请求有误")
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else title
        if exc.status_code == 404:
            detail = "请求的地址不存在"
        return await _page_or_problem(request, exc.status_code, f"http-{exc.status_code}", title, detail)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return await _page_or_problem(
            request, 500, "internal-error", "服务器内部错误", "服务器出现意外错误，已记录，请稍后再试"
        )
