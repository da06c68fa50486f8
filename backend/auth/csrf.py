"""Cross-site request protection for the cookie-authenticated, state-changing API.

SameSite=Lax keeps the session cookie off cross-*site* POSTs, but a page on another origin of
the same site (a sibling subdomain) still sends it, and a plain HTML form can post
`application/x-www-form-urlencoded`, `multipart/form-data` or `text/plain` anywhere without
asking. So a POST, PUT, PATCH or DELETE under /api/v1 that carries the session cookie is refused
(403) when:

- the browser says it comes from elsewhere: an `Origin` other than this site's, or
  `Sec-Fetch-Site: cross-site`/`same-site`;
- or its body is a form or plain text (`application/x-www-form-urlencoded`, `text/plain`) and it
  has no `X-Requested-With` header.

JSON bodies (`application/json`) and custom headers cannot be sent cross-origin without a CORS
preflight, which this API never grants, so they prove the request comes from our pages or a
program holding the cookie. Multipart uploads from programs (no Origin) keep working; from a
browser on another origin they carry an Origin and are refused by the first rule. Requests
without the session cookie (sign-in, registration) have no ambient authority to abuse.
"""

from urllib.parse import urlsplit

from fastapi import Request

from backend.kit.errors import Forbidden

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
FORM_TYPES = ("application/x-www-form-urlencoded", "text/plain")
REFUSED = "跨站请求被拒绝：接口写操作请以 JSON 提交，或带上 X-Requested-With 请求头"


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def refuse_cross_site(request: Request) -> None:
    """A dependency on every API router (see module docstring)."""
    if request.method not in UNSAFE:
        return
    settings = request.app.state.settings
    if settings.session_cookie not in request.cookies:
        return
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() not in {_origin_of(str(request.base_url)), _origin_of(settings.site_url)}:
        raise Forbidden(REFUSED)
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden(REFUSED)
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type in FORM_TYPES and "x-requested-with" not in request.headers:
        raise Forbidden(REFUSED)
