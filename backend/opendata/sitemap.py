"""/sitemap.xml and /robots.txt: what search engines may crawl, with absolute addresses.

Addresses are built from SCENEMATCH_SITE_URL (the public address), never from the request's
Host header, which a client controls. Only published listings are listed; everything behind a
login, the workspace and the API are disallowed in robots.txt.
"""

from datetime import datetime
from xml.sax.saxutils import escape

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.listings.models import LISTING_MODELS, ListingKind, ListingStatus
from backend.opendata.service import LIST_SLUGS

# Paths a crawler has no business in: signed-in work, forms, the API, file downloads.
DISALLOWED = (
    "/workspace",
    "/review",
    "/answers",
    "/interests",
    "/pairings",
    "/inbox",
    "/subscriptions",
    "/login",
    "/api/",
)


def robots_txt(site_url: str) -> str:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in DISALLOWED), "", f"Sitemap: {site_url}/sitemap.xml", ""]
    return "\n".join(lines)


async def sitemap_xml(session: AsyncSession, *, site_url: str, pages: list[str]) -> str:
    """The public pages given (site paths) and every published listing, with its last change."""
    urls: list[tuple[str, datetime | None]] = [(f"{site_url}{path}", None) for path in pages]
    for kind in ListingKind:
        model = LISTING_MODELS[kind]
        rows = await session.exec(
            select(model.id, model.modified_at).where(model.status == ListingStatus.published).order_by(col(model.id))
        )
        urls += [(f"{site_url}/{LIST_SLUGS[kind]}/{listing_id}", modified) for listing_id, modified in rows.all()]
    body = ['<?xml version="1.0" encoding="UTF-8"?>', '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for loc, modified in urls:
        lastmod = f"<lastmod>{modified.date().isoformat()}</lastmod>" if modified else ""
        body.append(f"  <url><loc>{escape(loc)}</loc>{lastmod}</url>")
    body.append("</urlset>")
    return "\n".join(body) + "\n"
