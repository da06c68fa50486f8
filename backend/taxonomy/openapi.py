"""Reference-data codes in the OpenAPI document: a body's region, track and domain codes must be
ones the taxonomy knows (the services answer 422 otherwise), so the schema lists them."""

from typing import Any

from backend.taxonomy.mapping import load_taxonomy

_CODE_FIELDS = {"region_code": "regions", "tracks": "tracks", "domains": "domains"}
_DESCRIPTIONS = {
    "regions": "地区代码，须为 GET /api/v1/regions 所列之一",
    "tracks": "赛道代码，须为 GET /api/v1/tracks 所列之一",
    "domains": "场景领域代码，须为 GET /api/v1/domains 所列之一",
}


def _restrict(schema: dict[str, Any], codes: list[str]) -> bool:
    """Add the enum to a string schema (directly, in an anyOf, or as array items); True when one was found."""
    if schema.get("type") == "string" and "enum" not in schema:
        schema["enum"] = codes
        schema.pop("maxLength", None)
        return True
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return _restrict(schema["items"], codes)
    return any(_restrict(option, codes) for option in schema.get("anyOf", []) if isinstance(option, dict))


def add_code_enums(openapi: dict[str, Any]) -> None:
    """Request bodies only: response schemas describe stored rows, which may hold codes retired since."""
    taxonomy = load_taxonomy()
    codes = {key: [entry["code"] for entry in taxonomy[key]] for key in _DESCRIPTIONS}
    request_schemas: set[str] = set()
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody", {}) if isinstance(operation, dict) else {}
            for media in body.get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                if ref.startswith("#/components/schemas/"):
                    request_schemas.add(ref.rsplit("/", 1)[1])
    components = openapi.get("components", {}).get("schemas", {})
    for name in request_schemas:
        for field, key in _CODE_FIELDS.items():
            prop = components.get(name, {}).get("properties", {}).get(field)
            if isinstance(prop, dict) and _restrict(prop, codes[key]):
                prop.setdefault("description", _DESCRIPTIONS[key])
