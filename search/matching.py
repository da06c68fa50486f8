"""Two-way matching: opportunity → offerings and offering → opportunities.

Pure logic over any `SearchEngine`: pick a listing's few most telling words (tf × idf,
with the engine's document frequencies; boilerplate such as 建设/平台/体系 and the
listing's own place names count for little), ask the engine for listings of the other kind
that contain them, then re-rank. The text score mixes the engine's score with how much of
the listing's whole idf-weighted vocabulary a candidate shares (the engine only saw the
few key terms); on top come what the text cannot see: shared tracks, shared domains, the
same city, and an offering's maturity. Queries stay at eight words or fewer because
Meilisearch ignores words past the tenth.

Meaning, not only words: when the engine keeps listing vectors (`vectors.py`, computed
by the sync worker with a sentence-embedding model), the nearest listings by vector are
candidates too, and each candidate's text score and cosine similarity are min-max
normalised over the candidates and mixed by `SEMANTIC_SHARE` (a weighted sum, which
measured better than reciprocal-rank fusion). A candidate without a vector yet keeps its
text score in place of the semantic one, so it is neither helped nor hurt; a listing
without a vector is matched by text alone. When a match is mainly semantic, its reasons
name the two closest sentences ("语义相近"). With Meilisearch the vectors live in its
documents (`meili_vectors.py`): the nearest listings come from a semantic-only search
there, the fusion is the same, and there is no sentence pair (sentence vectors and the
shared-sentence counts are not stored there).

Key terms leave out the boilerplate of these lists (`BOILERPLATE_WORDS`: 我省, 培育, 基地,
年底, 品牌 …), and the words of a sentence count less the more listings carry that same
sentence: a context sentence that a whole imported list shares says nothing about any
one entry (the counts come from the sentence keys stored beside the index).

`bench/relevance.py` measures the ranking on the labelled set in `seeds/relevance/`
(nDCG@10 and Recall@10 against a plain BM25 baseline); rerun it after changing weights.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal, Protocol

import numpy as np

from .embedding import sentence_key, split_sentences, store_name
from .engine import ListingDocument, SearchEngine, SearchQuery
from .text import has_cjk, index_tokens, normalise, search_subtokens, synonyms_of, vocabulary_words, words
from .vectors import ListingVectors, store_of

MAX_KEY_TERMS = 8
# Source weights for candidate words: the title says most about a listing.
TITLE_WEIGHT = 3.0
LABEL_WEIGHT = 2.0
BODY_WEIGHT = 1.0
EXTRA_WEIGHT = 0.5
# A word in more than this share of listings does not discriminate.
MAX_DOC_SHARE = 0.5
# Words every listing uses (建设, 平台, 体系, 改造…) and the listing's own place names
# (the region is scored on its own) keep this share of their weight as key-term candidates.
GENERIC_WEIGHT = 0.25

# The boilerplate of 机会清单 / 产品清单 texts: what any project says about itself, not what
# it is about. Normalised (Simplified) forms; compared after normalisation.
# fmt: off
GENERIC_WORDS = frozenset(
    [
        "建设",
        "建立",
        "搭建",
        "打造",
        "构建",
        "开展",
        "推进",
        "推动",
        "推广",
        "实施",
        "实现",
        "提供",
        "提升",
        "提高",
        "支持",
        "支撑",
        "满足",
        "保障",
        "加强",
        "加快",
        "促进",
        "完善",
        "优化",
        "改造",
        "升级",
        "整合",
        "融合",
        "打通",
        "形成",
        "围绕",
        "面向",
        "基于",
        "利用",
        "结合",
        "采用",
        "覆盖",
        "助力",
        "赋能",
        "引入",
        "部署",
        "平台",
        "系统",
        "服务",
        "服务平台",
        "方案",
        "解决方案",
        "项目",
        "工程",
        "体系",
        "中心",
        "设施",
        "设备",
        "产品",
        "功能",
        "模块",
        "应用",
        "场景",
        "示范",
        "试点",
        "行业",
        "领域",
        "产业",
        "企业",
        "单位",
        "部门",
        "机构",
        "用户",
        "群众",
        "市民",
        "客户",
        "全省",
        "全市",
        "全县",
        "省级",
        "市级",
        "县级",
        "乡镇",
        "城区",
        "辖区",
        "区域",
        "一张",
        "一体",
        "一体化",
        "一站式",
        "综合",
        "统一",
        "全程",
        "全过程",
        "全流程",
        "多种",
        "各类",
        "重点",
        "主要",
        "有效",
        "及时",
        "实时",
        "自动",
        "快速",
        "精准",
        "智能",
        "智慧",
        "数字",
        "数字化",
        "信息",
        "信息化",
        "智能化",
        "网络化",
        "在线",
        "线上",
        "线下",
        "技术",
        "能力",
        "水平",
        "效率",
        "质量",
        "成本",
        "问题",
        "需求",
        "降低",
        "减少",
        "增加",
        "提升",
        "运营",
        "运维",
        "管理",
        "管控",
        "监管",
        "决策",
        "分析",
        "数据",
        "信息系统",
        "万元",
        "年度",
    ]
)

# Words that carry no meaning in a 机会清单 / 产品清单 entry at all: how a department
# introduces a list, exhorts or schedules, not what the entry is about. Ignored entirely.
BOILERPLATE_WORDS = frozenset(
    [
        "我省",
        "我市",
        "我区",
        "我县",
        "本省",
        "本市",
        "全区",
        "培育",
        "基地",
        "年底",
        "年初",
        "年内",
        "品牌",
        "力争",
        "一批",
        "标杆",
        "可复制",
        "复制",
        "可推广",
        "案例",
        "鼓励",
        "欢迎",
        "揭榜",
        "挂帅",
        "揭榜挂帅",
        "征集",
        "本土",
        "新经济",
        "公开",
        "发布",
        "清单",
        "机会",
        "条目",
        "列入",
        "纳入",
        "先行先试",
        "目标",
        "计划",
        "首个",
        "具备",
        "相关",
        "对接",
        "参与",
        "方式",
        "希望",
        "需要",
        "拟",
        "以上",
        "左右",
        "一系列",
        "进一步",
        "大力",
        "积极",
        "着力",
        "全面",
        "深入",
        "持续",
        "不断",
        "逐步",
        "高质量",
        "新型",
        "重点项目",
        "项目建设",
        "试点示范",
        "示范基地",
        "示范项目",
    ]
)
# fmt: on

# Text carries most of the score: a shared track or domain is broad (物联网 covers half the
# listings) and only lifts candidates whose text already fits, or surfaces differently
# worded ones; it must not put an unrelated listing of the same track above a close fit
# that happens to be filed under another track.
W_TEXT = 0.70
# Part of the text score that comes from vocabulary coverage rather than the engine's score.
COVERAGE_SHARE = 0.5
W_TRACK = 0.15
W_EXTRA_TRACK = 0.05
W_DOMAIN = 0.05
W_REGION = 0.05
W_MATURITY = 0.05
# Share of the fused text-and-meaning score that comes from vector similarity. Chosen on the
# restated part of seeds/relevance (0.4: 0.9142, 0.5: 0.9144, 0.6: 0.9153, 0.7: 0.9076 nDCG@10),
# then checked on the blind part, which did not take part in choosing it (bench/README.md).
SEMANTIC_SHARE = 0.6
# A match whose meaning score outweighs its words score this much (both normalised over the
# candidates, before the share mixes them) shows the closest sentences.
SEMANTIC_REASON_RATIO = 1.0
SEMANTIC_REASON_SENTENCES = 1

# Offering maturity, worst to best. Keys are normalised; the backend's codes and the
# Chinese labels used in imported lists both map here.
MATURITY_SCORES: dict[str, float] = {
    "concept": 0.2, "概念": 0.2, "研发": 0.2,
    "prototype": 0.4, "样机": 0.4, "原型": 0.4,
    "pilot": 0.6, "试点": 0.6, "试用": 0.6,
    "commercial": 0.8, "mature": 0.8, "商用": 0.8, "成熟": 0.8,
    "scaled": 1.0, "规模化": 1.0, "推广": 1.0,
}  # fmt: skip


class TermStats(Protocol):
    def doc_count(self) -> int: ...

    def term_doc_freq(self, terms: Iterable[str]) -> dict[str, int]: ...

    def get(self, ids: Iterable[str]) -> dict[str, ListingDocument]: ...


@dataclass(frozen=True, slots=True)
class MatchReasons:
    matched_terms: list[str] = field(default_factory=list)
    shared_tracks: list[str] = field(default_factory=list)
    shared_domains: list[str] = field(default_factory=list)
    same_region: bool = False
    # Cosine similarity of the two listings' vectors (None: one of them has none yet).
    semantic: float | None = None
    # For a mainly semantic match: (sentence of the listing, closest sentence of the
    # match), the "语义相近" reason.
    similar_sentences: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Match:
    id: str
    listing_id: int
    kind: str
    score: float
    reasons: MatchReasons


SentenceShare = dict[str, float]  # sentence key → weight factor (1.0: the listing's own)


def candidate_terms(doc: ListingDocument, shared: SentenceShare | None = None) -> dict[str, float]:
    """Weighted term frequency of each useful word of `doc`; the words of a sentence
    that other listings carry too count `shared[key]` times as much."""
    weighted: dict[str, float] = {}

    def add(tokens: Iterable[str], weight: float) -> None:
        for token in tokens:
            if _useful(token):
                weighted[token] = weighted.get(token, 0.0) + weight

    def add_text(text: str, weight: float) -> None:
        if not shared:
            add(words(text), weight)
            return
        for sentence in split_sentences(normalise(text)):
            add(words(sentence, normalised=True), weight * shared.get(sentence_key(sentence), 1.0))

    add(words(doc.title), TITLE_WEIGHT)
    for label in [*doc.tracks, *doc.domains, *doc.tags]:
        whole = normalise(label).strip()
        label_words = words(whole, normalised=True)
        add(label_words if label_words == [whole] else [whole, *label_words], LABEL_WEIGHT)
    add_text(doc.description, BODY_WEIGHT)
    add_text(doc.extra_text, EXTRA_WEIGHT)
    place = normalise(doc.place or "")
    for token in weighted:
        if token in GENERIC_WORDS or (place and len(token) >= 2 and token in place):
            weighted[token] *= GENERIC_WEIGHT
    return weighted


def _useful(token: str) -> bool:
    if " " in token or token.isdigit() or token in BOILERPLATE_WORDS:
        return False
    # A single Chinese character (物, 链) is too ambiguous to match on.
    return len(token) >= 2 or not has_cjk(token)


def sentence_share(doc: ListingDocument, store: ListingVectors | None) -> SentenceShare:
    """For each sentence of `doc` that other stored listings carry too, the factor its
    words keep: 1 / (number of listings carrying it)."""
    if store is None:
        return {}
    keys = [sentence_key(s) for text in (doc.description, doc.extra_text) for s in split_sentences(normalise(text))]
    counts = store.sentence_share(keys) if keys else {}
    if not any(counts.values()):
        return {}  # none shared (or, in Meilisearch, not counted)
    itself = doc.id in store
    out = {}
    for key, count in counts.items():
        carriers = count if itself and count else count + 1
        if carriers > 1:
            out[key] = 1.0 / carriers
    return out


def weighted_terms(
    doc: ListingDocument, term_stats: TermStats, shared: SentenceShare | None = None
) -> list[tuple[float, str]]:
    """Every useful word of `doc` scored tf × idf, heaviest first (ties by word)."""
    candidates = candidate_terms(doc, shared)
    if not candidates:
        return []
    # Frequencies count the listing itself when it is indexed; a word only it contains
    # would look rare and match nothing.
    itself = 1 if doc.id in term_stats.get([doc.id]) else 0
    total = max(term_stats.doc_count() - itself, 1)
    freqs = term_stats.term_doc_freq(list(candidates))
    scored = []
    for term, tf in candidates.items():
        # A word of the listing that the index does not hold as a token (a label the
        # search-mode cut splits differently) counts as missing, not as negative.
        df = freqs.get(term, 0) - itself
        if df <= 0 or (total >= 20 and df / total > MAX_DOC_SHARE):
            continue  # matches nothing, or matches everything
        idf = math.log(1.0 + (total - df + 0.5) / (df + 0.5))
        scored.append((math.log1p(tf) * idf, term))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return scored


def extract_key_terms(
    doc: ListingDocument,
    term_stats: TermStats,
    limit: int = MAX_KEY_TERMS,
    *,
    scored: list[tuple[float, str]] | None = None,
) -> list[tuple[str, float]]:
    """At most `limit` (term, weight) pairs, heaviest first, weights scaled to 1.0."""
    limit = min(limit, MAX_KEY_TERMS)
    if limit <= 0:
        return []
    if scored is None:
        scored = weighted_terms(doc, term_stats)

    chosen: list[tuple[float, str]] = []
    for score, term in scored:
        # 智慧 adds nothing once 智慧农业 is in the query.
        if any(term in other for _, other in chosen):
            continue
        chosen.append((score, term))
        if len(chosen) == limit:
            break
    if not chosen:
        return []
    top = chosen[0][0] or 1.0
    return [(term, round(score / top, 4)) for score, term in chosen]


Semantic = ListingVectors | None | Literal["auto"]


def semantic_store(engine: SearchEngine) -> ListingVectors | None:
    """The store of the configured model's vectors (or of sentence keys only) for `engine`."""
    return store_of(engine, store_name())


def match(
    engine: SearchEngine,
    doc: ListingDocument,
    target_kind: str,
    *,
    limit: int = 20,
    exclude_ids: Iterable[str] = (),
    statuses: Iterable[str] = ("published",),
    now: int | None = None,
    vectors: Semantic = "auto",
    semantic: bool = True,
) -> list[Match]:
    """Listings of `target_kind` that suit `doc`, best first, each with its reasons.

    `vectors`: the store of listing vectors and sentence keys ("auto": the engine's, for
    the configured model; None: nothing stored). `semantic=False` uses the store's
    sentence keys but not its vectors (text matching alone, for comparison).
    """
    now = int(time.time()) if now is None else now
    store = semantic_store(engine) if vectors == "auto" else vectors
    statuses = list(statuses)
    excluded = [doc.id, *exclude_ids]
    pool = min(100, max(30, limit * 3))
    # An opportunity can only be answered while it is open.
    open_at = now if target_kind == "opportunity" else None
    base: dict[str, Any] = dict(
        kind=target_kind, statuses=statuses, exclude_ids=excluded, page_size=pool, facets=False, open_at=open_at,
        highlight=False,
    )  # fmt: skip

    text_scores: dict[str, float] = {}
    candidates: dict[str, ListingDocument] = {}
    scored = weighted_terms(doc, engine, sentence_share(doc, store))
    terms = extract_key_terms(doc, engine, scored=scored)
    if terms:
        for hit in engine.search(SearchQuery(terms=terms, **base)).hits:
            text_scores[hit.id] = hit.score
            if hit.document is not None:
                candidates[hit.id] = hit.document
    own_vector = store.vector(doc.id) if store is not None and semantic else None
    if doc.tracks:
        # Listings on the same track are candidates even when worded differently. With a
        # vector, the nearest listings by meaning do that job better, and the newest of a
        # track are few of its best: a third as many are taken (each candidate costs a
        # stored-document load and a vocabulary comparison; see bench/README.md).
        track_base = base if own_vector is None else {**base, "page_size": max(10, pool // 3)}
        for hit in engine.search(SearchQuery(tracks=list(doc.tracks), sort="newest", **track_base)).hits:
            text_scores.setdefault(hit.id, 0.0)
            if hit.document is not None:
                candidates.setdefault(hit.id, hit.document)
    if own_vector is not None and store is not None:
        # The nearest listings by meaning are candidates whatever their words.
        nearest = store.nearest(own_vector, target_kind, pool, exclude=excluded, statuses=statuses, open_at=open_at)
        for cid, _ in nearest:
            text_scores.setdefault(cid, 0.0)

    missing = [cid for cid in text_scores if cid not in candidates]
    if missing:
        candidates.update(engine.get(missing))
    top_text = max(text_scores.values(), default=0.0) or 1.0
    # The engine only saw the few key terms; how much of the listing's whole vocabulary
    # (idf-weighted) a candidate shares tells worded-alike from merely topic-alike.
    vocabulary = _Vocabulary(scored)
    present = {cid: _vocabulary(c) for cid, c in candidates.items()}
    coverage = {cid: vocabulary.coverage(present[cid]) for cid in candidates}
    top_coverage = max(coverage.values(), default=0.0) or 1.0
    eligible = {
        cid: c
        for cid, c in candidates.items()
        if c.status in statuses and not (open_at and c.deadline and c.deadline < open_at) and cid not in excluded
    }
    text = {
        cid: (1 - COVERAGE_SHARE) * text_scores.get(cid, 0.0) / top_text + COVERAGE_SHARE * coverage[cid] / top_coverage
        for cid in eligible
    }
    cosine: dict[str, float] = {}
    if own_vector is not None and store is not None:
        for cid, vector in store.vectors(eligible).items():
            cosine[cid] = float(np.dot(own_vector, vector))
    fused = _fuse(text, cosine)
    matches = []
    parts: dict[str, tuple[float, float]] = {}
    for cid, candidate in eligible.items():
        reasons = MatchReasons(
            shared_tracks=[t for t in dict.fromkeys(doc.tracks) if t in candidate.tracks],
            shared_domains=[d for d in dict.fromkeys(doc.domains) if d in candidate.domains],
            same_region=same_region(doc.region, candidate.region),
            semantic=round(cosine[cid], 4) if cid in cosine else None,
        )
        score = W_TEXT * fused[cid][0] + _facet_score(reasons)
        parts[cid] = fused[cid][1]
        if target_kind == "offering":
            score += W_MATURITY * maturity_score(candidate.maturity)
        matches.append(Match(cid, candidate.listing_id, candidate.kind, round(score, 6), reasons))
    matches.sort(key=lambda m: (-m.score, m.id))
    # Only the kept ones are explained: which of the key terms each of them uses, and,
    # for the mainly semantic ones, the closest sentences.
    key_terms = [term for term, _ in terms]
    kept = []
    for m in matches[:limit]:
        reasons = replace(m.reasons, matched_terms=matched_terms(key_terms, present[m.id]))
        by_words, by_meaning = parts[m.id]
        if store is not None and m.id in cosine and by_meaning > SEMANTIC_REASON_RATIO * by_words:
            reasons = replace(reasons, similar_sentences=closest_sentences(store, doc.id, m.id))
        kept.append(Match(m.id, m.listing_id, m.kind, m.score, reasons))
    return kept


def _fuse(text: dict[str, float], cosine: dict[str, float]) -> dict[str, tuple[float, tuple[float, float]]]:
    """Each candidate's fused score in 0–1 and its (text, semantic) scores, each min-max
    normalised over the candidates before `SEMANTIC_SHARE` mixes them (so whether a match
    is "mainly by meaning" does not depend on the share). A candidate without a vector
    keeps its text score for both; without any vector the result is the text score alone.
    """
    if not cosine:
        # Text only: the text score as matching has always used it.
        return {cid: (value, (value, 0.0)) for cid, value in text.items()}
    text_n = _min_max(text)
    cosine_n = _min_max(cosine)
    out = {}
    for cid, value in text_n.items():
        semantic = cosine_n.get(cid, value)
        out[cid] = ((1 - SEMANTIC_SHARE) * value + SEMANTIC_SHARE * semantic, (value, semantic))
    return out


def _min_max(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high - low < 1e-9:
        return {cid: 1.0 if high > 0 else 0.0 for cid in scores}
    return {cid: (value - low) / (high - low) for cid, value in scores.items()}


def closest_sentences(
    store: ListingVectors, a: str, b: str, n: int = SEMANTIC_REASON_SENTENCES
) -> list[tuple[str, str]]:
    """The `n` closest pairs (sentence of `a`, sentence of `b`) by their stored vectors,
    each sentence used once (none with Meilisearch, which keeps no sentence vectors)."""
    texts_a, vectors_a = store.sentences(a)
    texts_b, vectors_b = store.sentences(b)
    if vectors_a is None or vectors_b is None or not texts_a or not texts_b:
        return []
    sims = vectors_a @ vectors_b.T
    pairs = []
    used_a: set[int] = set()
    used_b: set[int] = set()
    for flat in np.argsort(-sims, axis=None):
        i, j = divmod(int(flat), sims.shape[1])
        if i in used_a or j in used_b:
            continue
        pairs.append((texts_a[i], texts_b[j]))
        used_a.add(i)
        used_b.add(j)
        if len(pairs) == n:
            break
    return pairs


class _Vocabulary:
    """A listing's idf-weighted words with their synonyms, set up once per match so that
    each candidate costs one set intersection."""

    def __init__(self, scored: list[tuple[float, str]]) -> None:
        self.scores = [score for score, _ in scored]
        self.total = sum(self.scores)
        self.entries_of: dict[str, list[int]] = {}
        for index, (_, term) in enumerate(scored):
            for form in (term, *synonyms_of(term)):
                if _useful(form):
                    self.entries_of.setdefault(form, []).append(index)
        self.forms = frozenset(self.entries_of)

    def coverage(self, present: frozenset[str]) -> float:
        """Share of the weight whose word (or a synonym of it) `present` holds (0–1)."""
        if not self.total:
            return 0.0
        hit = {index for form in self.forms & present for index in self.entries_of[form]}
        return sum(self.scores[index] for index in hit) / self.total


def matched_terms(key_terms: list[str], present: frozenset[str]) -> list[str]:
    """The key terms a candidate's words hold: each term itself or its synonyms as the
    candidate words them, else all the parts of it (智慧 and 农业 for 智慧农业)."""
    found: list[str] = []
    for term in key_terms:
        forms = [form for form in (term, *synonyms_of(term)) if form in present]
        if not forms:
            parts = search_subtokens(term)
            forms = parts if parts and all(part in present for part in parts) else []
        found.extend(forms)
    return list(dict.fromkeys(found))


# For documents stored without their words. Candidates recur across matches (the same
# offerings suit many opportunities), and segmenting their text is most of a match's cost.
# Keyed by content, so an edit misses.
_VOCABULARY_CACHE_SIZE = 20000
_vocabularies: OrderedDict[tuple[str, int], frozenset[str]] = OrderedDict()
_vocabulary_lock = threading.Lock()


def _vocabulary(doc: ListingDocument) -> frozenset[str]:
    """The words of `doc` as the engine indexed them (`ListingDocument.words`), or, for a
    document stored without them, segmented here the same way."""
    # Unfiltered: the vocabulary it is compared with holds only useful words (`_expanded`).
    if doc.words:
        return frozenset(doc.words.split(" "))
    key = (
        doc.id,
        hash((doc.title, doc.description, doc.extra_text, tuple(doc.tracks), tuple(doc.domains), tuple(doc.tags))),
    )
    with _vocabulary_lock:
        found = _vocabularies.get(key)
        if found is not None:
            _vocabularies.move_to_end(key)
            return found
    labels = index_tokens("。".join([*doc.tracks, *doc.domains, *doc.tags]))
    stored = vocabulary_words(
        index_tokens(doc.title), labels, index_tokens(doc.description), index_tokens(doc.extra_text)
    )
    terms = frozenset(stored.split(" "))
    with _vocabulary_lock:
        _vocabularies[key] = terms
        if len(_vocabularies) > _VOCABULARY_CACHE_SIZE:
            _vocabularies.popitem(last=False)
    return terms


def _facet_score(reasons: MatchReasons) -> float:
    score = 0.0
    if reasons.shared_tracks:
        score += W_TRACK + W_EXTRA_TRACK * min(len(reasons.shared_tracks) - 1, 1)
    if reasons.shared_domains:
        score += W_DOMAIN
    if reasons.same_region:
        score += W_REGION
    return score


def same_region(a: str | None, b: str | None) -> bool:
    """Same prefecture: region codes share their first four digits (360702 ~ 360700)."""
    if not a or not b:
        return False
    if a == b:
        return True
    return len(a) == len(b) == 6 and a[:4] == b[:4] and not a.endswith("0000")


@lru_cache(maxsize=256)
def maturity_score(maturity: str | None) -> float:
    # Cached: a handful of codes and labels, asked for every candidate of every match.
    return MATURITY_SCORES.get(normalise(maturity).strip(), 0.0) if maturity else 0.0
