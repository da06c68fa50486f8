"""Helpers for page tests: read the CSRF token from a page and post forms like a browser."""

import re

import httpx

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf_from(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    match = _TOKEN.search(response.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict | list, *, token_from: str | None = None, files: dict | None = None
) -> httpx.Response:
    """Post a form the way the page at `token_from` (default: `path`) would."""
    token = await csrf_from(client, token_from or path)
    fields: dict[str, list[str]] = {}
    for name, value in data.items() if isinstance(data, dict) else data:
        fields.setdefault(name, []).extend(value if isinstance(value, list) else [value])
    fields["csrf_token"] = [token]
    return await client.post(path, data=fields, files=files)


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await post_form(client, "/login", {"email": email, "password": password})
