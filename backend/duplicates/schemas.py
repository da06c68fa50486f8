from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.kit.params import DbId

Kind = Literal["opportunity", "offering"]


class ListingRef(BaseModel):
    id: int
    kind: Kind
    title: str
    organisation: str
    status: str
    batch: int | None
    merged_into_id: int | None


class SimilarityPublic(BaseModel):
    score: float = Field(description="0–1，综合文本、标题、赛道与地区")
    text: float = Field(description="标题与描述的词语加权 Jaccard 相似度")
    title: float = Field(description="标题字符二元组重合度")
    tracks: float | None = Field(description="赛道重合度；任一方未填赛道时为空")
    region: float | None = Field(description="同一设区市为 1；任一方无地区时为空")
    shared_words: list[str] = Field(description="共同的词语，最重要的在前")
    likely_duplicate: bool


class SimilarListing(BaseModel):
    listing: ListingRef
    similarity: SimilarityPublic


class DuplicatePairPublic(BaseModel):
    first: ListingRef
    second: ListingRef
    similarity: SimilarityPublic


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind = "opportunity"
    keep_id: DbId = Field(description="保留的条目 A")
    merge_id: DbId = Field(description="并入 A 的重复条目 B（将被截止或撤回）")


class MergeResult(BaseModel):
    kept: ListingRef
    merged: ListingRef


class DismissRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Kind = "opportunity"
    first_id: DbId
    second_id: DbId
    reason: str = Field(default="", max_length=2000)


class DismissalPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    first_id: int
    second_id: int
    reason: str
    created_at: datetime
