"""Shared helpers for the search tests (imported explicitly: the suite runs with --noconftest)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

from search import ListingDocument, SearchEngine, create_engine

ENGINES = ["embedded", "meilisearch"]
NOW = 1_800_000_000


def make_doc(listing_id: int, kind: str = "opportunity", **overrides) -> ListingDocument:
    values = dict(
        id=ListingDocument.make_id(kind, listing_id),
        kind=kind,
        listing_id=listing_id,
        title=f"场景 {listing_id}",
        description="",
        organisation="省发改委",
        status="published",
        created_at=NOW - 10_000 + listing_id,
        published_at=NOW - 5_000 + listing_id,
    )
    values.update(overrides)
    return ListingDocument(**values)


@pytest.fixture(params=ENGINES)
def engine(request, tmp_path) -> Iterator[SearchEngine]:
    if request.param == "meilisearch":
        url = os.environ.get("MEILI_URL")
        if not url:
            pytest.skip("MEILI_URL not set: Meilisearch engine not reachable on this machine")
        name = f"test_{uuid.uuid4().hex[:10]}"
        eng = create_engine(
            "meilisearch", data_dir=tmp_path, meili_url=url, meili_key=os.environ.get("MEILI_KEY"), index_name=name
        )
    else:
        eng = create_engine("embedded", data_dir=tmp_path, meili_url=None, meili_key=None, index_name="listings")
    eng.ensure_ready()
    yield eng
    if request.param == "meilisearch":
        for uid in (eng.index_name, f"{eng.index_name}_tmp"):
            with contextlib.suppress(Exception):
                eng.client.delete_index(uid)
    eng.close()
