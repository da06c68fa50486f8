"""An Atom 1.0 feed (RFC 4287) of the newest published opportunities and offerings."""

from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.actor import ANONYMOUS
from backend.kit.db import utcnow
from backend.listings.models import LISTING_MODELS, ListingKind, ListingStatus
from backend.listings.presenter import present
from backend.opendata.service import LIST_SLUGS
from backend.opendata.tabular import clean_text

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50
SUMMARY_CHARS = 300
FEED_TITLE = "江西省数字经济应用场景供需对接平台：最新发布"
_KIND_PREFIX = {ListingKind.opportunity: "【机会】", ListingKind.offering: "【产品】"}


@dataclass(frozen=True)
class FeedEntry:
    kind: ListingKind
    id: int
    title: str
    organisation: str
    summary: str
    categories: list[tuple[str, str]]  # (code, name)
    published: datetime
    updated: datetime


async def newest_entries(session: AsyncSession, *, limit: int = FEED_SIZE) -> list[FeedEntry]:
    """The newest `limit` published items of both lists, newest first."""
    entries: list[FeedEntry] = []
    for kind, model in LISTING_MODELS.items():
        rows = list(
            (
                await session.exec(
                    select(model)
                    .where(model.status == ListingStatus.published, col(model.published_at).is_not(None))
                    .order_by(col(model.published_at).desc(), col(model.id).desc())
                    .limit(limit)
                )
            ).all()
        )
        for listing, item in zip(rows, await present(session, actor=ANONYMOUS, kind=kind, listings=rows), strict=True):
            assert listing.published_at is not None
            summary = " ".join(item.description.split())
            entries.append(
                FeedEntry(
                    kind=kind,
                    id=item.id,
                    title=item.title,
                    organisation=item.organisation.name,
                    summary=summary[:SUMMARY_CHARS] + ("…" if len(summary) > SUMMARY_CHARS else ""),
                    categories=[(t.code, t.name) for t in item.tracks] + [(d.code, d.name) for d in item.domains],
                    published=listing.published_at,
                    updated=max(listing.published_at, listing.modified_at),
                )
            )
    entries.sort(key=lambda e: (e.published, e.id), reverse=True)
    return entries[:limit]


def _rfc3339(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attributes)
    element.text = clean_text(text)  # ElementTree escapes; only characters XML cannot hold are dropped
    return element


def render_atom(entries: list[FeedEntry], *, base_url: str, now: datetime | None = None) -> bytes:
    """The feed document. Entry ids are the items' permanent addresses, which never change."""
    ET.register_namespace("", ATOM_NS)
    base = base_url.rstrip("/")
    feed = ET.Element(f"{{{ATOM_NS}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "zh-CN"})
    _text(feed, "id", f"{base}/feed.atom")
    _text(feed, "title", FEED_TITLE)
    _text(feed, "subtitle", "政府搭台、各方出卷、企业答题：新发布的机会清单与产品清单")
    updated = max((e.updated for e in entries), default=now or utcnow())
    _text(feed, "updated", _rfc3339(updated))
    ET.SubElement(
        feed, f"{{{ATOM_NS}}}link", {"rel": "self", "type": "application/atom+xml", "href": f"{base}/feed.atom"}
    )
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", {"rel": "alternate", "type": "text/html", "href": f"{base}/"})
    author = ET.SubElement(feed, f"{{{ATOM_NS}}}author")
    _text(author, "name", "江西省数字经济应用场景供需对接平台")
    for entry in entries:
        url = f"{base}/{LIST_SLUGS[entry.kind]}/{entry.id}"
        element = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        _text(element, "id", url)
        _text(element, "title", _KIND_PREFIX[entry.kind] + entry.title, type="text")
        ET.SubElement(element, f"{{{ATOM_NS}}}link", {"rel": "alternate", "type": "text/html", "href": url})
        _text(element, "published", _rfc3339(entry.published))
        _text(element, "updated", _rfc3339(entry.updated))
        entry_author = ET.SubElement(element, f"{{{ATOM_NS}}}author")
        _text(entry_author, "name", entry.organisation)
        for code, name in entry.categories:
            ET.SubElement(element, f"{{{ATOM_NS}}}category", {"term": code, "label": clean_text(name)})
        if entry.summary:
            _text(element, "summary", entry.summary, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
