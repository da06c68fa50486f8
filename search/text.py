"""Chinese text normalisation and segmentation, shared by indexing and querying.

Both sides of the index must see exactly the same transformation, otherwise a
Traditional document and a Simplified query (or a pinyin-annotated source and a plain
query) never meet. `normalise_with_offsets` exists for highlighting: it maps every
normalised character back to the input so marks land on the original text.
"""

from __future__ import annotations

import html
import re
import threading
from functools import cache, lru_cache
from importlib import resources

import opencc
import pypinyin
import rjieba

# Tone-marked vowels and ü are what tell an inline pinyin annotation such as `數(shù)`
# apart from real bracketed content like `(NB-IoT)` or `(IPv6)`.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"
# The bracket comes first (then a look-behind for the Chinese character before it) so the
# regex engine can skip ahead to brackets instead of testing every position.
_PINYIN_ANNOTATION = (
    r"[(（](?<=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff][(（])"
    rf"\s*(?=[^()（）]*[{_TONED}])[a-z{_TONED}]+(?:\s+[a-z{_TONED}]+)*\s*[)）]"
)
_TAG = r"<!--.*?-->|</?[a-zA-Z][^<>]*>"
_ENTITY = r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});"
_ANNOTATION_RE = re.compile(_PINYIN_ANNOTATION)
_REMOVABLE_RE = re.compile(f"(?P<py>{_PINYIN_ANNOTATION})|(?P<tag>{_TAG})|(?P<ent>{_ENTITY})", re.S)

# Only the full-width ASCII block and the ideographic space: wider NFKC would also fold
# characters such as ① or ㎡, and would stop being a char-for-char mapping.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_FULLWIDTH_RE = re.compile("[\uff01-\uff5e\u3000]")
_HALFWIDTH_OF = {chr(cp): chr(half) for cp, half in _FULLWIDTH.items()}
# A pinyin annotation needs a bracket, a tag `<`, an entity `&`: text without any of them
# (most text) skips the removal regex, which is slow on long Chinese text.
_REMOVABLE_MARKERS = ("(", "（", "<", "&")

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_RE = re.compile(r"^[a-z0-9][a-z0-9.+#_-]*$")

_converters = threading.local()


def _t2s() -> opencc.OpenCC:
    # The binding gives no thread-safety guarantee, and the web layer calls us from a
    # thread pool, so each thread gets its own converter (cheap, built once per thread).
    converter = getattr(_converters, "t2s", None)
    if converter is None:
        converter = _converters.t2s = opencc.OpenCC("t2s")
    return converter


def strip_pinyin_annotations(text: str) -> str:
    """`數(shù)字` → `數字`; the form shown to users, still in the author's script."""
    return _ANNOTATION_RE.sub("", text)


def normalise(text: str) -> str:
    """The searchable form: no annotations/HTML, half-width, Simplified, lower case."""
    return normalise_with_offsets(text, with_offsets=False)[0]


def normalise_with_offsets(text: str, *, with_offsets: bool = True) -> tuple[str, list[int]]:
    """Normalise and return, for each output character, its index in `text`."""
    if not any(marker in text for marker in _REMOVABLE_MARKERS) or _REMOVABLE_RE.search(text) is None:
        # The common case (plain text) skips the span bookkeeping.
        return _fold(text, list(range(len(text))) if with_offsets else [])
    parts: list[str] = []
    offsets: list[int] = []
    last = 0
    for m in _REMOVABLE_RE.finditer(text):
        parts.append(text[last : m.start()])
        if with_offsets:
            offsets.extend(range(last, m.start()))
        if m.lastgroup == "ent":
            replacement = html.unescape(m.group())
            parts.append(replacement)
            if with_offsets:
                offsets.extend([m.start()] * len(replacement))
        last = m.end()
    parts.append(text[last:])
    if with_offsets:
        offsets.extend(range(last, len(text)))
    return _fold("".join(parts), offsets)


def normalise_for_marks(text: str) -> tuple[str, list[int] | None]:
    """`normalise_with_offsets`, with None for offsets that are the identity (the common
    case: nothing removed, every step one character for one), without building them."""
    if not any(marker in text for marker in _REMOVABLE_MARKERS) or _REMOVABLE_RE.search(text) is None:
        norm = _fold(text, [])[0]
        if len(norm) == len(text):
            # No step changed the length, so each went character for character.
            return norm, None
    norm, offsets = normalise_with_offsets(text)
    identity = len(offsets) == len(text) and offsets == list(range(len(text)))
    return norm, None if identity else offsets


def _fold(cleaned: str, offsets: list[int]) -> tuple[str, list[int]]:
    folded = _halfwidth(cleaned).lower()
    if len(folded) != len(cleaned):
        folded, offsets = _per_char(cleaned, offsets, lambda ch: ch.translate(_FULLWIDTH).lower())
    simplified = _t2s().convert(folded)
    if len(simplified) != len(folded):
        # Phrase-level conversion changed the length; per-character conversion keeps
        # the alignment at the cost of the odd phrase-only mapping.
        converter = _t2s()
        simplified, offsets = _per_char(folded, offsets, converter.convert)
    return simplified, offsets


def _halfwidth(text: str) -> str:
    # `str.translate` with a mapping is slow on long non-ASCII text; Chinese text has only
    # a few distinct full-width characters (，（）：), each replaced in one C-level pass.
    for ch in set(_FULLWIDTH_RE.findall(text)):
        text = text.replace(ch, _HALFWIDTH_OF[ch])
    return text


def _per_char(text: str, offsets: list[int], convert) -> tuple[str, list[int]]:
    out: list[str] = []
    new_offsets: list[int] = []
    for i, ch in enumerate(text):
        converted = convert(ch)
        out.append(converted)
        if offsets:
            new_offsets.extend([offsets[i]] * len(converted))
    return "".join(out), new_offsets


def _data_lines(name: str) -> list[str]:
    raw = resources.files("search").joinpath("data", name).read_text(encoding="utf-8")
    return [line.strip() for line in raw.splitlines() if line.strip() and not line.startswith("#")]


@cache
def stopwords() -> frozenset[str]:
    return frozenset(normalise(word) for word in _data_lines("stopwords.txt"))


@cache
def synonym_groups() -> tuple[tuple[str, ...], ...]:
    groups = []
    for line in _data_lines("synonyms.txt"):
        words = tuple(dict.fromkeys(normalise(word) for word in line.split()))
        if len(words) > 1:
            groups.append(words)
    return tuple(groups)


@cache
def _synonym_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for group in synonym_groups():
        for word in group:
            index.setdefault(word, []).extend(w for w in group if w != word)
    return {word: tuple(dict.fromkeys(others)) for word, others in index.items()}


def synonyms_of(term: str) -> tuple[str, ...]:
    """The other words of `term`'s synonym groups (normalised), or ()."""
    return _synonym_index().get(term, ())


@cache
def lexicon() -> tuple[str, ...]:
    words = [normalise(word) for word in _data_lines("lexicon.txt")]
    words += [word for group in synonym_groups() for word in group]
    return tuple(dict.fromkeys(word for word in words if word and " " not in word))


_jieba_lock = threading.Lock()
_jieba: rjieba.Jieba | None = None

# High enough that a lexicon word beats the general dictionary's split (物/联网),
# low enough not to swallow neighbouring words.
_LEXICON_FREQ = 30000


def _segmenter() -> rjieba.Jieba:
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                # A private instance: the module-level rjieba dictionary is global state
                # that other code may also touch.
                segmenter = rjieba.Jieba()
                for word in lexicon():
                    segmenter.add_word(word, _LEXICON_FREQ, None)
                _jieba = segmenter
    return _jieba


def is_meaningful(token: str) -> bool:
    if token in stopwords():
        return False
    if not any(ch.isalnum() for ch in token):
        return False
    # A lone latin letter or digit is noise; a lone Chinese character may still matter.
    return not (len(token) == 1 and token.isascii())


# Segmenter output token → the token kept for it ("" when dropped). Tokens repeat a lot
# across documents, so deciding once per distinct token makes indexing several times
# faster; bounded so that a flood of unique tokens cannot grow it without limit.
_KEEP: dict[str, str] = {}
_KEEP_MAX = 500_000


def _clean(tokens: list[str]) -> list[str]:
    keep = _KEEP
    out = []
    for tok in tokens:
        kept = keep.get(tok)
        if kept is None:
            stripped = tok.strip()
            kept = stripped if stripped and is_meaningful(stripped) else ""
            if len(keep) < _KEEP_MAX:
                keep[tok] = kept
        if kept:
            out.append(kept)
    return out


def index_tokens(text: str, *, normalised: bool = False) -> list[str]:
    """Tokens to index: search-mode cut, so `待处理` also yields `处理`."""
    norm = text if normalised else normalise(text)
    return _clean(_segmenter().cut_for_search(norm)) if norm else []


def vocabulary_words(*token_lists: list[str]) -> str:
    """The distinct index tokens of a listing's title, labels and texts, space-separated:
    what engines store as `ListingDocument.words` (organisation and place left out, as
    matching scores the region on its own)."""
    return " ".join(dict.fromkeys(t for tokens in token_lists for t in tokens))


def words(text: str, *, normalised: bool = False) -> list[str]:
    """Precise-mode words in order, repeats kept, stop words and punctuation removed."""
    norm = text if normalised else normalise(text)
    return _clean(_segmenter().cut(norm)) if norm else []


def query_tokens(text: str, *, normalised: bool = False) -> list[str]:
    """Tokens of a query: precise cut, de-duplicated."""
    return list(dict.fromkeys(words(text, normalised=normalised)))


def search_subtokens(token: str) -> list[str]:
    """The shorter dictionary words that `token` is made of (`智慧农业` → 智慧, 农业).

    None unless together they cover every character: `数字文创` holds only the dictionary
    word `数字`, and "every document that mentions 数字" is not what was asked.

    Words laid end to end (the fewest, lone characters last), when the dictionary has such a
    cut: words that straddle a join ask for what the listing need not say. `水质监测` is 水质 + 监测, and 质监 (an
    abbreviation of 质量监督) across the join would keep a listing about 水质在线监测 out.
    A word inside another (`互联` inside `互联网`) adds nothing either: the search-mode cut
    that built the index stores the shorter words of every word it stores, and each extra
    word is one more long posting list to intersect. Without such a cut, the longest words
    that cover it.
    """
    inside = [t for t in dict.fromkeys(_clean(_segmenter().cut_for_search(token))) if t != token]
    # best[i]: the words laid end to end that spell token[:i] with the fewest lone characters
    # (a lone 联 says little), then the fewest words; None when the dictionary has no such cut.
    best: list[list[str] | None] = [[]] + [None] * len(token)

    def cost(cut: list[str]) -> tuple[int, int]:
        return sum(len(w) == 1 for w in cut), len(cut)

    for start in range(len(token)):
        so_far = best[start]
        if so_far is None:
            continue
        for sub in inside:
            end = start + len(sub)
            if token.startswith(sub, start):
                cut = [*so_far, sub]
                known = best[end]
                if known is None or cost(cut) < cost(known):
                    best[end] = cut
    if best[-1]:
        return best[-1]
    covered = [False] * len(token)
    for sub in inside:
        start = token.find(sub)
        while start >= 0:
            covered[start : start + len(sub)] = [True] * len(sub)
            start = token.find(sub, start + 1)
    if not all(covered):
        return []
    return [t for t in inside if not any(t != other and t in other for other in inside)]


def has_cjk(token: str) -> bool:
    return _CJK_RE.search(token) is not None


def is_latin(token: str) -> bool:
    return _LATIN_RE.match(token) is not None


_SYLLABLE = (
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ang|eng|ing|ong|uai|uan|ian|iao|van|ai|ei|ao|ou|an|en|in|un|vn"
    r"|ia|ie|iu|ua|uo|ui|ue|ve|er|a|o|e|i|u|v)"
)
_PINYIN_WORD_RE = re.compile(rf"(?:{_SYLLABLE})+")


def looks_like_pinyin(word: str) -> bool:
    """Could `word` be toneless pinyin of a word? Keeps `vr`, `ai` or `blockchain` out of
    pinyin lookups (`ai` would otherwise find every 爱)."""
    return len(word) >= 4 and _PINYIN_WORD_RE.fullmatch(word) is not None


@lru_cache(maxsize=200_000)
def pinyin_of(token: str) -> str:
    """Toneless pinyin of the Chinese characters in `token`, concatenated."""
    if len(_CJK_RE.findall(token)) < 2:
        return ""  # one character's pinyin is shared by dozens of characters
    return "".join(pypinyin.lazy_pinyin(token, errors="ignore")).lower()


def pinyin_tokens(tokens: list[str]) -> list[str]:
    """`智慧农业, 智慧, 农业` → `zhihuinongye, zhihui, nongye`, for the pinyin field."""
    out: dict[str, None] = {}
    for token in tokens:
        p = pinyin_of(token)
        if len(p) > 1:
            out[p] = None
    return list(out)


def fuzzy_distance(token: str) -> int:
    """Edit distance tolerated for a latin word: none below 5 letters (`ai` ≠ `al`)."""
    if not token.isascii() or not token.isalpha() or len(token) < 5:
        return 0
    return 1 if len(token) < 8 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap costs 1, as in the index), capped at limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return min(prev[-1], limit + 1)
