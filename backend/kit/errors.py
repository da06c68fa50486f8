"""One error family, rendered as RFC 9457 problem objects (application/problem+json)."""

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

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


async def _page_or_problem(
    request: Request,
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """Pages get an HTML error page (when the web layer registered one); the API gets a problem object."""
    render = getattr(request.app.state, "render_error_page", None)
    if render is not None and not request.url.path.startswith("/api/"):
        response: Response = await render(request, status, title, detail)
    else:
        response = problem_response(status, slug, title, detail, **extra)
    if headers:
        response.headers.update(headers)
    return response


# Chinese words for the statuses the routing layer raises by itself (no such page, wrong method …).
_HTTP_TITLES = {
    400: "请求有误",
    401: "需要登录",
    403: "没有权限",
    404: "未找到",
    405: "不支持的请求方法",
    406: "无法提供所要求的格式",
    413: "提交的内容过大",
    415: "不支持的内容类型",
    429: "请求过于频繁",
}
_HTTP_DETAILS = {
    404: "请求的地址不存在",
    405: "此地址不支持该请求方法",
    406: "此地址无法以所要求的格式回答",
    415: "不支持所提交内容的类型",
}
# SQLSTATE classes: 22 data exception (a value the column cannot hold), 23 integrity violation;
# 08 connection, 40 rollback (serialization, deadlock), 53 resources, 55/57 operator state: try again.
_RETRYABLE_SQLSTATE_CLASSES = ("08", "40", "53", "55", "57")


def _leaf_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """The routes themselves: FastAPI keeps an included router as one entry with its routes inside."""
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if callable(candidates):
            yield from _leaf_routes(candidates())
        else:
            yield route


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this address (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in _leaf_routes(request.app.router.routes):
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def _sqlstate(exc: DBAPIError) -> str:
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        for name in ("sqlstate", "pgcode"):
            code = getattr(candidate, name, None)
            if isinstance(code, str) and len(code) == 5:
                return code
    return ""


def describe_database_refusal(exc: DBAPIError) -> str:
    """Why the database refused a write, as a sentence for the person who sent it (import reports)."""
    code = _sqlstate(exc)
    text = str(exc.orig or exc).lower()
    if isinstance(exc, IntegrityError) or code.startswith("23"):
        if "unique" in text or code == "23505":
            return "该行与已有记录重复（编号或名称已存在），未导入"
        if "foreign key" in text or code == "23503":
            return "该行引用的地区、单位或批次不存在，未导入"
        if "not null" in text or code == "23502":
            return "该行缺少必填内容，未导入"
        return "该行不符合数据约束，未导入"
    if code.startswith("22") or isinstance(exc, DataError):
        if "0x00" in text or "nul" in text or code in ("22021", "22P05"):
            return "该行含有数据库不接受的字符（如 NUL 控制字符），未导入"
        return "该行有数值超出允许范围或格式不被数据库接受，未导入"
    if isinstance(exc, OperationalError) or code.startswith(_RETRYABLE_SQLSTATE_CLASSES):
        if "locked" in text or "busy" in text:
            return "数据库正忙（被其他操作占用），该行未能保存，请稍后重新导入"
        return "数据库暂时无法写入，该行未能保存，请稍后重新导入"
    return "数据库拒绝保存该行，请检查内容后重新导入"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return await _page_or_problem(
            request, exc.status_code, exc.slug, exc.title, exc.detail, field=exc.field, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": _field_name(tuple(e.get("loc", ()))), "message": _message(e)} for e in exc.errors()]
        first = errors[0] if errors else {"field": None, "message": "输入无效"}
        detail = f"{first['field']}：{first['message']}" if first["field"] else str(first["message"])
        is_page = getattr(request.app.state, "render_error_page", None) is not None and not request.url.path.startswith(
            "/api/"
        )
        if is_page and any((e.get("loc") or ("",))[0] == "path" for e in exc.errors()):
            # /opportunities/abc is an address that names no page, not a form to correct.
            return await _page_or_problem(request, 404, NotFound.slug, NotFound.title, "请求的地址不存在")
        return await _page_or_problem(
            request, 422, Unprocessable.slug, Unprocessable.title, detail, field=first["field"], errors=errors
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

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        # The last line behind validation: classify what the driver reports by its SQLSTATE.
        code = _sqlstate(exc)
        if code.startswith("22"):
            return await _page_or_problem(
                request,
                422,
                Unprocessable.slug,
                Unprocessable.title,
                "输入的内容无法保存（含有数据库不接受的字符或数值）",
            )
        if code.startswith("23"):
            return await _integrity(request, IntegrityError(exc.statement, exc.params, exc.orig))  # type: ignore[arg-type]
        if isinstance(exc, OperationalError) or code.startswith(_RETRYABLE_SQLSTATE_CLASSES):
            logger.warning("database busy on %s %s: %s", request.method, request.url.path, exc.orig)
            return await _page_or_problem(
                request,
                503,
                ServiceUnavailable.slug,
                ServiceUnavailable.title,
                "数据库暂时繁忙，请稍后再试",
                headers={"Retry-After": "5"},
            )
        return await _unexpected(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = _HTTP_TITLES.get(exc.status_code, "请求有误")
        detail = _HTTP_DETAILS.get(exc.status_code) or (exc.detail if isinstance(exc.detail, str) else title)
        # 405 answers carry Allow (the methods the address does support); keep whatever the exception set.
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        return await _page_or_problem(
            request, exc.status_code, f"http-{exc.status_code}", title, detail, headers=headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return await _page_or_problem(
            request, 500, "internal-error", "服务器内部错误", "服务器出现意外错误，已记录，请稍后再试"
        )
