"""Choosing an engine from settings."""

from __future__ import annotations

from pathlib import Path

from .engine import SearchEngine

ENGINE_KINDS = ("embedded", "meilisearch", "auto")


def create_engine(
    kind: str,
    *,
    data_dir: Path,
    meili_url: str | None = None,
    meili_key: str | None = None,
    index_name: str = "listings",
) -> SearchEngine:
    """`auto` means Meilisearch when a URL is configured, the embedded engine otherwise."""
    if kind == "auto":
        kind = "meilisearch" if meili_url else "embedded"
    if kind == "embedded":
        from .embedded import EmbeddedEngine

        return EmbeddedEngine(Path(data_dir), index_name)
    if kind == "meilisearch":
        if not meili_url:
            raise ValueError("the meilisearch engine needs meili_url")
        from .meili import MeiliEngine

        return MeiliEngine(meili_url, meili_key, index_name)
    raise ValueError(f"unknown search engine {kind!r}; expected one of {ENGINE_KINDS}")
