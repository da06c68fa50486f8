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
        _delete_scoped_keys(os.environ["MEILI_URL"], os.environ.get("MEILI_KEY"), eng.index_name)
    eng.close()


def _delete_scoped_keys(url: str, master_key: str | None, index_name: str) -> None:
    """The keys `MeiliEngine.ensure_ready` made for a test's index (given the master key),
    so that runs against a real server do not pile them up."""
    import meilisearch

    from search.meili import ADMIN_KEY_NAME, SEARCH_KEY_NAME

    names = {ADMIN_KEY_NAME.format(index=index_name), SEARCH_KEY_NAME.format(index=index_name)}
    with contextlib.suppress(Exception):  # not the master key: no keys were made
        client = meilisearch.Client(url, master_key)
        for key in client.get_keys({"limit": 1000}).results:
            if key.name in names:
                client.delete_key(key.key)
