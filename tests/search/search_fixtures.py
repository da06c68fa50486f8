"""Shared helpers for the search tests (imported explicitly: the suite runs with --noconftest)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

from search import ListingDocument, SearchEngine, create_engine
from search.embedding import DEFAULT_MODEL, get_embedder

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


@pytest.fixture(scope="session")
def embedder():
    """The bundled default model, loaded once per test session (a few seconds)."""
    model = get_embedder(DEFAULT_MODEL)
    if model is None:
        pytest.skip(f"embedding model {DEFAULT_MODEL!r} not installed (see pyproject.toml): nothing to test")
    return model


# Matching by meaning: a need, an offering that fits it in other words, and offerings that
# share its words but not its purpose (test_search_embeddings.py, test_search_meili_vectors.py).
NEED = make_doc(
    1,
    title="井下煤矿少人化无人化改造",
    description="井下采掘、运输环节作业人员多、环境恶劣。希望把井下设备接入稳定网络，实现远程操控和集中调度，减少下井人数。",
    deadline=NOW + 86_400,
)
# Fits the need but shares none of its words: mining equipment driven from the surface.
FITTING = make_doc(
    10,
    "offering",
    title="矿用隔爆型5G基站与综采工作面遥控系统",
    description="在巷道部署隔爆兼本安型基站，液压支架和采煤机由地面集控室遥控，工作面安全高效开采。",
)
# Share the need's words, not its purpose.
DISTRACTORS = [
    make_doc(
        11,
        "offering",
        title="煤矿安全培训网络课程平台",
        description="为煤矿企业作业人员提供网络课程和在线考试，减少集中培训。",
    ),
    make_doc(12, "offering", title="城市环卫作业调度系统", description="环卫车辆作业调度与人员考勤，改善城市环境。"),
    make_doc(13, "offering", title="物流运输车辆远程调度平台", description="货运车辆运输轨迹监控与远程调度。"),
    make_doc(14, "offering", title="校园网络设备集中运维", description="高校网络设备接入与集中运维管理。"),
]


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
