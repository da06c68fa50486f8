"""From a `SearchQuery` to engine-neutral clauses.

Each clause is one query word with the ways it may match: itself, its synonyms, the
shorter words inside it, a typo-tolerant form for latin words, and the pinyin field.
Engines translate clauses into their own query language; the highlighter uses the same
plan, so what is marked is what was searched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum
from functools import lru_cache

from .engine import SearchQuery
from .highlight import HighlightPlan
from .text import fuzzy_distance, has_cjk, looks_like_pinyin, normalise, query_tokens, search_subtokens, synonyms_of


class Mode(Enum):
    BROWSE = "browse"  # no text: everything that passes the filters, newest first
    TEXT = "text"  # user words, most of them must match
    TERMS = "terms"  # weighted key terms from matching, any may match
    NOTHING = "nothing"  # text that normalised to nothing (stop words, punctuation)


@dataclass(frozen=True, slots=True)
class Clause:
    term: str
    weight: float = 1.0
    synonyms: tuple[str, ...] = ()
    subtokens: tuple[str, ...] = ()
    fuzzy: int = 0
    pinyin: bool = False
    # Fallbacks set by the engine for a word its index rarely holds whole (see
    # `with_fallbacks`): match it inside longer indexed words (a new compound the
    # dictionary segments differently), and a run-together pinyin query as the indexed
    # pinyin words it is made of (`shuiwujiance` → `shuiwu` + `jiance`).
    substring: bool = False
    pinyin_parts: tuple[str, ...] = ()
    # A single character the dictionary cut off a word written whole in the query, joined
    # again with the character beside it (`智能网联` is cut 智能网 + 联, while listings about
    # 智能网联汽车 are indexed with 智能 / 网联 / 智能网: so 联 also matches 网联).
    joined: tuple[str, ...] = ()

    @property
    def exact_terms(self) -> tuple[str, ...]:
        return (self.term, *self.synonyms)


@dataclass(frozen=True, slots=True)
class QueryPlan:
    mode: Mode
    clauses: tuple[Clause, ...] = ()
    min_match: int = 0
    highlight: HighlightPlan = HighlightPlan()  # noqa: RUF009 -- frozen, so one shared default is safe

    @property
    def words(self) -> list[str]:
        return [c.term for c in self.clauses]


def plan_query(query: SearchQuery) -> QueryPlan:
    # Plans depend only on the words, so they are cached: the same query text (and the
    # same key terms of a listing) come back often, and planning means segmenting.
    if query.terms:
        return _terms_plan(tuple((raw, float(weight)) for raw, weight in query.terms))
    if query.is_browse:
        return QueryPlan(Mode.BROWSE)
    return _text_plan(query.text)


@lru_cache(maxsize=4096)
def _terms_plan(terms: tuple[tuple[str, float], ...]) -> QueryPlan:
    weighted: dict[str, float] = {}
    for raw, weight in terms:
        for token in query_tokens(raw):
            weighted[token] = max(weighted.get(token, 0.0), weight)
    clauses = tuple(make_clause(t, w) for t, w in weighted.items() if w > 0)
    if not clauses:
        return QueryPlan(Mode.NOTHING)
    return QueryPlan(Mode.TERMS, clauses, 1, _highlight_plan(clauses))


@lru_cache(maxsize=4096)
def _text_plan(text: str) -> QueryPlan:
    norm = normalise(text)
    tokens = query_tokens(norm, normalised=True)
    joined = joined_neighbours(norm, tokens)
    clauses = tuple(replace(make_clause(t), joined=joined[t]) if t in joined else make_clause(t) for t in tokens)
    if not clauses:
        return QueryPlan(Mode.NOTHING)
    return QueryPlan(Mode.TEXT, clauses, min_match(len(clauses)), _highlight_plan(clauses))


def without_subtokens(plan: QueryPlan, terms: set[str]) -> QueryPlan:
    """`plan` with the clauses of `terms` matching only the words themselves, not their parts."""
    if not terms or not any(c.subtokens and c.term in terms for c in plan.clauses):
        return plan
    clauses = tuple(replace(c, subtokens=()) if c.term in terms else c for c in plan.clauses)
    return QueryPlan(plan.mode, clauses, plan.min_match, _highlight_plan(clauses))


def with_fallbacks(plan: QueryPlan, substring: set[str], pinyin_parts: dict[str, tuple[str, ...]]) -> QueryPlan:
    """`plan` with the recall fallbacks the engine chose for some of its words."""
    if not substring and not pinyin_parts:
        return plan
    clauses = tuple(
        replace(c, substring=c.term in substring, pinyin_parts=pinyin_parts.get(c.term, ())) for c in plan.clauses
    )
    return QueryPlan(plan.mode, clauses, plan.min_match, _highlight_plan(clauses))


def joined_neighbours(norm: str, tokens: list[str]) -> dict[str, tuple[str, ...]]:
    """For each single Chinese character among `tokens`, the two-character words it forms with
    the Chinese characters written right beside it in the (normalised) query."""
    out: dict[str, tuple[str, ...]] = {}
    for token in tokens:
        if len(token) != 1 or not has_cjk(token):
            continue
        pairs: list[str] = []
        at = norm.find(token)
        while at >= 0:
            if at > 0 and has_cjk(norm[at - 1]):
                pairs.append(norm[at - 1] + token)
            if at + 1 < len(norm) and has_cjk(norm[at + 1]):
                pairs.append(token + norm[at + 1])
            at = norm.find(token, at + 1)
        if pairs:
            out[token] = tuple(dict.fromkeys(pairs))
    return out


def min_match(n: int) -> int:
    """All words up to three; beyond that a quarter may be missing (long pasted queries)."""
    return n if n <= 3 else math.ceil(n * 0.75)


def make_clause(term: str, weight: float = 1.0) -> Clause:
    subtokens: tuple[str, ...] = ()
    if has_cjk(term) and len(term) >= 3:
        subtokens = tuple(search_subtokens(term))
    return Clause(
        term=term,
        weight=weight,
        synonyms=synonyms_of(term),
        subtokens=subtokens,
        fuzzy=fuzzy_distance(term),
        pinyin=term.isascii() and looks_like_pinyin(term),
    )


def _highlight_plan(clauses: tuple[Clause, ...]) -> HighlightPlan:
    terms: set[str] = set()
    for clause in clauses:
        terms.update(clause.exact_terms)
        terms.update(clause.subtokens)
        terms.update(clause.joined)
    probes = tuple(c.term for c in clauses if c.fuzzy or c.pinyin)
    probes += tuple(part for c in clauses for part in c.pinyin_parts)
    return HighlightPlan(frozenset(terms), probes)
