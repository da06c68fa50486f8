"""The OpenAPI document as the API really behaves.

FastAPI documents every error response as `application/json` (and 422 as its own
`HTTPValidationError`); this API answers every error as an RFC 9457 problem object in
`application/problem+json`. The generated document is corrected once, when first asked for:
- every 4xx/5xx response is `application/problem+json` with the `Problem` schema;
- what any operation can answer is declared on every operation: 422 (input refused) where it
  takes parameters or a body, 413 where it takes a body (the size limit), 404 where its path
  names an object, 503 when the database is momentarily busy;
- further corrections (reference-data codes as enums …) are passed in as `refinements` by
  the application, since lower layers may not know the domain packages.
"""

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from backend.kit.errors import PROBLEM_MEDIA_TYPE, Problem

Refinement = Callable[[dict[str, Any]], None]
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_ALWAYS = {
    "503": "服务暂不可用（数据库繁忙或搜索引擎未就绪），请稍后再试",
}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}}


def correct(schema: dict[str, Any]) -> None:
    """Rewrite the error responses of every operation in place (see the module rules)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            has_body = "requestBody" in operation
            if parameters or has_body:
                responses.setdefault("422", {"description": "输入校验未通过"})
            if has_body:
                responses.setdefault("413", {"description": "提交的内容过大"})
            if any(p.get("in") == "path" for p in parameters):
                responses.setdefault("404", {"description": "未找到"})
            for status, description in _ALWAYS.items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if status == "default" or status.startswith(("4", "5")):
                    responses[status] = _problem_response(response.get("description") or "错误")
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def install_openapi(app: FastAPI, *, refinements: Iterable[Refinement] = ()) -> None:
    """Serve the corrected document at the app's openapi_url."""
    steps = tuple(refinements)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            correct(schema)
            for step in steps:
                step(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
