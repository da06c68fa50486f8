"""Words and choices several page areas share (listing kinds and their URL slugs, the taxonomy pickers)."""

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.listings.labels import KIND_NAMES
from backend.listings.models import MATURITY_LABELS, ListingKind, Maturity
from backend.taxonomy import service as taxonomy_service

__all__ = ["KIND_NAMES", "KIND_SLUGS", "SLUG_KINDS", "taxonomy_options"]

KIND_SLUGS = {ListingKind.opportunity: "opportunities", ListingKind.offering: "offerings"}
SLUG_KINDS = {slug: kind for kind, slug in KIND_SLUGS.items()}


async def taxonomy_options(session: AsyncSession) -> dict[str, Any]:
    """The choices of the listing forms: tracks, domains, cities (counties roll up), maturity."""
    regions = await taxonomy_service.list_regions(session)
    return {
        "track_options": [(t.code, t.name) for t in await taxonomy_service.list_tracks(session)],
        "domain_options": [(d.code, d.name) for d in await taxonomy_service.list_domains(session)],
        "region_options": [(r.code, r.name) for r in regions if r.level != "county"],
        "maturity_options": [(m.value, MATURITY_LABELS[m]) for m in Maturity],
    }
