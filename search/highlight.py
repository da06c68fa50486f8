"""`<mark>` highlighting computed in Python, identical for every engine.

Matching happens on the normalised text (Simplified, lower case) and the spans are
mapped back to the text as written, so a Traditional title is marked in Traditional.
Everything outside the marks is HTML-escaped: listing text is user input.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from .engine import ListingDocument
from .text import (
    edit_distance,
    fuzzy_distance,
    index_tokens,
    looks_like_pinyin,
    normalise,
    normalise_for_marks,
    pinyin_of,
    strip_pinyin_annotations,
)

SNIPPET_CHARS = 120
_LEAD_CHARS = 30
_WORD_RE = re.compile(r"[a-z0-9]+")
_CJK_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@dataclass(frozen=True, slots=True)
class HighlightPlan:
    """What a query asks to mark: exact terms, and latin probes that may match fuzzily
    (`blockchian`) or as pinyin (`zhihuinongye`)."""

    terms: frozenset[str] = frozenset()
    probes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.terms and not self.probes


@dataclass(slots=True)
class Highlighted:
    title_html: str
    snippet_html: str
    matched_terms: list[str] = field(default_factory=list)


# One text prepared for highlighting: the form shown (annotations stripped), its
# normalised form, and for each normalised character its index in the shown form
# (None when that is the identity, as it is for most text).
PreparedText = tuple[str, str, list[int] | None]


def prepare_text(text: str) -> PreparedText:
    shown = strip_pinyin_annotations(text)
    norm, offsets = normalise_for_marks(shown)
    return shown, norm, offsets


def label_text(doc: ListingDocument) -> str:
    return normalise(" ".join([*doc.tracks, *doc.domains, *doc.tags, doc.organisation, doc.place]))


@dataclass(frozen=True, slots=True)
class Prepared:
    """What `highlight` needs of one document, computed once at indexing time so that a
    search does not normalise its hits again."""

    title: PreparedText
    body: PreparedText
    extra: PreparedText
    labels: str

    @classmethod
    def of(cls, doc: ListingDocument) -> Prepared:
        return cls(
            prepare_text(doc.title), prepare_text(doc.description), prepare_text(doc.extra_text), label_text(doc)
        )

    def to_json(self, doc: ListingDocument) -> dict:
        """Compact form for the stored document: the shown form only where it differs from
        the original, offsets only where they are not the identity."""

        def one(text: str, prepared: PreparedText) -> list:
            shown, norm, offsets = prepared
            return [None if shown == text else shown, None if norm == shown else norm, offsets]

        return {
            "t": one(doc.title, self.title),
            "b": one(doc.description, self.body),
            "e": one(doc.extra_text, self.extra),
            "l": self.labels,
        }

    @classmethod
    def from_json(cls, doc: ListingDocument, data: dict) -> Prepared:
        def one(text: str, item: list) -> PreparedText:
            shown = text if item[0] is None else item[0]
            return shown, shown if item[1] is None else item[1], item[2]

        return cls(
            one(doc.title, data["t"]), one(doc.description, data["b"]), one(doc.extra_text, data["e"]), data["l"]
        )


def highlight(
    doc: ListingDocument,
    plan: HighlightPlan,
    *,
    snippet_chars: int = SNIPPET_CHARS,
    prepared: Prepared | None = None,
) -> Highlighted:
    if prepared is None:
        if plan.empty:
            title = strip_pinyin_annotations(doc.title)
            body = strip_pinyin_annotations(doc.description)
            return Highlighted(_render(title, []), _render_window(body, [], snippet_chars), [])
        prepared = Prepared.of(doc)
    title, t_norm, t_off = prepared.title
    body, b_norm, b_off = prepared.body
    extra, e_norm, e_off = prepared.extra
    if plan.empty:
        return Highlighted(_render(title, []), _render_window(body, [], snippet_chars), [])

    labels = prepared.labels
    combined = "\n".join((t_norm, b_norm, e_norm, labels))

    pattern = _pattern(plan.terms | _probe_matches(plan.probes, combined, doc.words))
    if pattern is None:
        return Highlighted(_render(title, []), _render_window(body, [], snippet_chars), [])

    matched = list(dict.fromkeys(m.group() for m in pattern.finditer(combined)))
    title_spans = _map_spans(pattern, t_norm, t_off)
    body_spans = _map_spans(pattern, b_norm, b_off)
    snippet_text, snippet_spans = body, body_spans
    if not body_spans and extra and pattern.search(e_norm):
        snippet_text = extra
        snippet_spans = _map_spans(pattern, e_norm, e_off)
    return Highlighted(_render(title, title_spans), _render_window(snippet_text, snippet_spans, snippet_chars), matched)


def _probe_matches(probes: Iterable[str], text: str, indexed_words: str = "") -> frozenset[str]:
    """Document words that a latin probe reaches through typo tolerance or pinyin.

    `indexed_words` are the document's words as the engine indexed them
    (`ListingDocument.words`); when given, pinyin is compared on them instead of
    segmenting the text again."""
    found: set[str] = set()
    words = None
    chinese: list[str] | None = None
    for probe in probes:
        if re.search(rf"(?<![a-z0-9]){re.escape(probe)}(?![a-z0-9])", text):
            continue
        limit = fuzzy_distance(probe)
        if limit:
            words = words if words is not None else set(_WORD_RE.findall(text))
            found.update(w for w in words if edit_distance(probe, w, limit) <= limit)
        if looks_like_pinyin(probe):
            if chinese is None and indexed_words:
                chinese = indexed_words.split()
            elif chinese is None:
                chinese = [t for run in _CJK_RUN_RE.findall(text) for t in index_tokens(run, normalised=True)]
            found.update(t for t in chinese if pinyin_of(t) == probe)
    return frozenset(found)


@lru_cache(maxsize=512)
def _pattern(terms: frozenset[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = []
    # Longest first so 智慧农业 wins over 农业 at the same position.
    for term in sorted(terms, key=lambda t: (-len(t), t)):
        escaped = re.escape(term)
        if term.isascii():
            # Whole latin words only. The look-behind comes after the word (checking the
            # character before it) so that the pattern still starts with a literal, which
            # lets the regex engine skip ahead instead of trying every position.
            escaped = rf"{escaped}(?<![a-z0-9]{escaped})(?![a-z0-9])"
        alternatives.append(escaped)
    return re.compile("|".join(alternatives))


def _map_spans(pattern: re.Pattern[str], norm: str, offsets: list[int] | None) -> list[tuple[int, int]]:
    if offsets is None:
        return [m.span() for m in pattern.finditer(norm) if m.end() > m.start()]
    spans = []
    for m in pattern.finditer(norm):
        if m.end() > m.start():
            spans.append((offsets[m.start()], offsets[m.end() - 1] + 1))
    return spans


def _render(text: str, spans: list[tuple[int, int]]) -> str:
    out: list[str] = []
    pos = 0
    for start, end in spans:
        if start < pos:
            start = pos
        if end <= start:
            continue
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _render_window(text: str, spans: list[tuple[int, int]], size: int) -> str:
    if len(text) <= size:
        return _render(text, spans)
    start = max(0, spans[0][0] - _LEAD_CHARS) if spans else 0
    end = min(len(text), start + size)
    start = max(0, end - size)
    inside = [(max(s, start) - start, min(e, end) - start) for s, e in spans if s < end and e > start]
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return prefix + _render(text[start:end], inside) + suffix
