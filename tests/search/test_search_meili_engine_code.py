"""What Meilisearch's own engine code matches for the adapter's documents and queries.

No Meilisearch server runs here, so these tests index the adapter's `to_meili()`
documents with `milli` (Meilisearch's engine, Python bindings from PyPI) and tokenise
with `charabia-py` (its tokenizer), and run the `q` strings the adapter sends.

Version limits, stated once for every test below:
- `milli` 1.8.1 is Meilisearch v1.8's engine with charabia 0.8.11; production runs
  ≥ v1.16 (charabia 0.9.x; `charabia-py` 0.1.0 is charabia 0.9.6, as in v1.16). Like
  v1.12, v1.8 counts word length for typos in UTF-8 bytes: the adapter must not rely on
  the length rule to keep typos off Chinese words, and these tests show it does not.
- The bindings apply no settings: default ranking rules, typo rules and prefix search,
  matching strategy `last`, every attribute searchable (the harness indexes only the
  adapter's searchable attributes, in their order), no `dictionary`, no synonyms, no
  filters, no `localizedAttributes`, no `attributesToSearchOn`. So what is tested is
  that the adapter's requests behave right *without* depending on those settings: its
  words are phrases, which no matching strategy drops (`last` included: see
  `removal_order_for_terms_matching_strategy` in milli's query graph) and which get no
  typo or prefix derivation; `q` ends with a space, so its last word is no prefix.
  The `dictionary` setting cannot be applied by either binding; its absence is the
  worst case, tested below over the whole lexicon.
- Federated multi-search is not in the bindings: the harness runs each query of a
  federated request and unions the documents, which is what Meilisearch's federation
  does with the queries of one index (`federated/perform.rs`: candidates are OR-ed).
"""

from __future__ import annotations

import itertools

import charabia_py
import milli
import pytest
from search_fixtures import make_doc

from search import SearchQuery, create_engine
from search.meili import (
    SEARCHABLE,
    TEXT_ATTRIBUTES,
    build_federated,
    build_search_params,
    meili_token,
    needs_federation,
    prepare_plan,
    term_count_query,
    to_meili,
)
from search.plan import plan_query
from search.text import index_tokens, lexicon, normalise, search_subtokens, synonyms_of


class Milli:
    """An index of the adapter's documents in Meilisearch's engine."""

    def __init__(self, path, docs, attributes=SEARCHABLE) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.index = milli.Index(str(path), 256 * 1024 * 1024)
        rows = []
        for doc in docs:
            stored = to_meili(doc)
            rows.append({"id": stored["id"], **{a: stored[a] for a in attributes}})
        self.index.add_documents(rows)

    def ids(self, q: str) -> set[str]:
        return {self.index.get_document(i)["id"] for i in self.index.search(q)}

    def requests(self, query: SearchQuery) -> list[str]:
        """The `q` strings the adapter sends for `query` (its word counts from this index:
        its phrase count over every searchable attribute here, `syn_zh` included, which
        only matters near the threshold of 100 listings)."""
        plan = plan_query(query)
        with_parts = [c.term for c in plan.clauses if c.subtokens]
        plan = prepare_plan(plan, {t: len(self.ids(term_count_query("listings", t)["q"])) for t in with_parts})
        if needs_federation(plan):
            return [sub["q"] for sub in build_federated("listings", query, plan)["queries"]]
        q, params = build_search_params(query, plan)
        assert params["matchingStrategy"] == "all"
        return [q]

    def find(self, text: str = "", **kw) -> set[str]:
        found: set[str] = set()
        for q in self.requests(SearchQuery(text=text, **kw)):
            found |= self.ids(q)
        return found


def embedded(tmp_path, docs):
    engine = create_engine("embedded", data_dir=tmp_path / "embedded", index_name="listings")
    engine.ensure_ready()
    engine.upsert(docs)
    return engine


def embedded_ids(engine, text: str = "", **kw) -> set[str]:
    return {h.id for h in engine.search(SearchQuery(text=text, page_size=100, **kw)).hits}


FACET_DOCS = [
    make_doc(1, title="智慧农业大棚", tracks=["智慧农业", "物联网"], region="360700"),
    make_doc(2, title="智慧农业灌溉", tracks=["智慧农业"], domains=["现代农业"], region="360100"),
    make_doc(3, title="智慧交通信号", tracks=["物联网"], region="360700"),
    make_doc(4, title="省外智慧农业示范", tracks=["智慧农业"], region=None),
]


def test_a_word_meilisearch_splits_still_has_to_match_whole(tmp_path):
    """Point 1: `智慧农业` must not find `智慧交通信号` (facets would count four)."""
    index = Milli(tmp_path / "m", FACET_DOCS)
    found = index.find("智慧农业")
    assert found == {"opportunity-1", "opportunity-2", "opportunity-4"}
    tracks: dict[str, int] = {}
    for doc in FACET_DOCS:
        if doc.id in found:
            for track in doc.tracks:
                tracks[track] = tracks.get(track, 0) + 1
    assert tracks == {"智慧农业": 3, "物联网": 1}
    # The request as it was (`q=智慧农业`, strategy `last`) is what the audit saw.
    assert "opportunity-3" in index.ids("智慧农业")


def test_several_words_all_have_to_match(tmp_path):
    docs = [
        make_doc(1, title="智慧农业 物联网 平台"),
        make_doc(2, title="智慧农业 平台"),
        make_doc(3, title="物联网 传感器"),
    ]
    index = Milli(tmp_path / "m", docs)
    assert index.find("智慧农业 物联网") == {"opportunity-1"}
    assert index.find("智慧农业 物联网") == embedded_ids(embedded(tmp_path, docs), "智慧农业 物联网")


def test_no_typos_on_chinese_words(tmp_path):
    """Point 3: in bytes `智慧` is six long and `物联网` nine, enough for one and two typos
    in v1.8 (and v1.12); the adapter's phrases get none at any version."""
    docs = [make_doc(1, title="智力测评"), make_doc(2, title="物流园区"), make_doc(3, title="智慧 物联网")]
    index = Milli(tmp_path / "m", docs)
    assert index.find("智慧") == {"opportunity-3"}
    assert index.find("物联网") == {"opportunity-3"}
    # Unquoted, as before, the engine takes the typo.
    assert "opportunity-1" in index.ids("智慧")
    assert "opportunity-2" in index.ids("物联网")


def test_a_word_starting_with_a_digit_matches_after_chinese_text(tmp_path):
    """Charabia glues a digit to the script before it (`智慧 5g` is `智慧` `5` `g`, but `5g`
    alone is `5g`); the adapter writes such words with a letter in front on both sides."""
    tokenizer = charabia_py.PyTokenizerBuilder().build()
    assert [t.lemma for t in tokenizer.tokenize("智慧 5g") if t.is_word()] == ["智慧", "5", "g"]
    docs = [
        make_doc(1, title="智慧园区 5G 基站"),
        make_doc(2, title="2024年 数据报告"),
        make_doc(3, title="数据 2024年"),
    ]
    index = Milli(tmp_path / "m", docs)
    assert index.find("5G") == {"opportunity-1"}
    assert index.find("2024年") == {"opportunity-2", "opportunity-3"}
    assert index.ids('"5g" ') == set()  # without the letter


def test_words_with_plus_or_sharp_stay_apart(tmp_path):
    """`c++`, `c#` and `c` are different words to the embedded engine. Charabia 0.9 (the
    tokenizer of v1.16 and later, `charabia-py`) reads `+` and `#` as separators, so all
    three would be the word `c`; the adapter spells the signs out in the documents and the
    queries (`cplusplus`, `csharp`)."""
    tokenizer = charabia_py.PyTokenizerBuilder().build()

    def words(text: str) -> list[str]:
        return [t.lemma for t in tokenizer.tokenize(text) if t.is_word()]

    assert words("c++") == words("c#") == ["c"]  # the signs as written
    spelt = {w: words(meili_token(w)) for w in ["c++", "c#", "notepad++", "f#"]}
    assert spelt == {"c++": ["cplusplus"], "c#": ["csharp"], "notepad++": ["notepadplusplus"], "f#": ["fsharp"]}
    docs = [make_doc(1, title="c++ 开发"), make_doc(2, title="c# 开发"), make_doc(3, title="notepad++ 插件")]
    index = Milli(tmp_path / "m", docs)
    engine = embedded(tmp_path, docs)
    for text, found in [("c++", {"opportunity-1"}), ("c#", {"opportunity-2"}), ("notepad++", {"opportunity-3"})]:
        assert index.find(text) == found == embedded_ids(engine, text), text


def test_latin_words_keep_their_typos(tmp_path):
    docs = [make_doc(1, title="基于 blockchain 的溯源"), make_doc(2, title="区块")]
    index = Milli(tmp_path / "m", docs)
    assert index.find("blockchian") == {"opportunity-1"}


def test_no_prefix_matches(tmp_path):
    """Point 8: `block` must not find `blockchain`, nor `数` find `数据` (the embedded engine
    matches whole words). Milli 1.8.1 cannot switch prefix search off (`prefixSearch` is
    a v1.12 setting): the trailing space of `q` does it at any version."""
    docs = [
        make_doc(1, title="基于 blockchain 的溯源"),
        make_doc(2, title="数据分析"),
        make_doc(3, title="block 编辑器"),
    ]
    index = Milli(tmp_path / "m", docs)
    assert index.find("block") == {"opportunity-3"}
    assert index.find("数") == set()
    assert index.ids("block") >= {"opportunity-1"} and index.ids("数") == {"opportunity-2"}  # as before
    engine = embedded(tmp_path, docs)
    assert embedded_ids(engine, "block") == {"opportunity-3"} and embedded_ids(engine, "数") == set()


def test_a_phrase_is_one_word_of_the_ten(tmp_path):
    """Point 6: Meilisearch reads ten words of `q`; each adapter word is one of them
    however Meilisearch segments it (`大数据` is `大` + `数据` to charabia)."""
    tokenizer = charabia_py.PyTokenizerBuilder().build()
    assert len([t for t in tokenizer.tokenize("大数据 区块链") if t.is_word()]) > 2
    words = ["智慧农业", "物联网", "果园", "传感器", "灌溉", "土壤", "墒情", "无人机", "大数据", "区块链"]
    doc = make_doc(1, title=" ".join(words[:9]))  # no 区块链
    index = Milli(tmp_path / "m", [doc])
    tenth_missing = " ".join(f'"{w}"' for w in words) + " "
    eleventh_missing = " ".join(f'"{w}"' for w in [*words[:9], "大棚", "区块链"]) + " "
    assert index.ids(tenth_missing) == set()  # the tenth word counts
    assert index.ids(eleventh_missing) == set()  # 大棚 is the tenth
    assert index.ids(" ".join(f'"{w}"' for w in [*words[:9], "大数据", "区块链"]) + " ") == {"opportunity-1"}


def test_no_query_has_more_words_than_meilisearch_reads(tmp_path):
    """Point 6 with long words matched by their parts: three rare words of four, four and
    three parts make an eleven-phrase query, and Meilisearch would ignore the eleventh
    (`服务`), finding a listing that lacks it. That way of matching is left out; a listing
    holding only the parts of all three (none of the words whole) is then found by the
    embedded engine alone."""
    words = ["全国人民代表大会", "人行南昌中心支行", "信息技术服务"]
    parts = [p for w in words for p in search_subtokens(w)]
    assert len(parts) == 11 and parts[-1] == "服务"
    docs = [
        make_doc(1, title="。".join(parts[:-1])),  # every part but 服务
        make_doc(2, title="。".join(parts)),  # every part
        make_doc(3, title=" ".join(words)),
    ]
    index = Milli(tmp_path / "m", docs)
    text = " ".join(words)
    assert index.ids(" ".join(f'"{p}"' for p in parts) + " ") >= {"opportunity-1"}  # the eleventh is ignored
    requests = index.requests(SearchQuery(text=text))
    assert max(q.count('"') // 2 for q in requests) <= 10
    assert index.find(text) == {"opportunity-3"}
    assert embedded_ids(embedded(tmp_path, docs), text) == {"opportunity-2", "opportunity-3"}


def test_long_queries_need_the_share_of_words_the_embedded_engine_needs(tmp_path):
    """Points 1 and 6 for ten words: eight must match, as `plan.min_match`; before, the
    ten words became fourteen Meilisearch words and the last four were dropped."""
    words = ["智慧农业", "物联网", "果园", "传感器", "灌溉", "土壤", "墒情", "无人机", "大数据", "区块链"]
    docs = [
        make_doc(1, title=" ".join(words[:8])),  # eight of ten
        make_doc(2, title=" ".join(words[:7])),  # seven
        make_doc(3, title=" ".join(words[2:])),  # eight, with 大数据 and 区块链
        make_doc(4, title="智慧农业"),
    ]
    index = Milli(tmp_path / "m", docs)
    text = " ".join(words)
    assert index.find(text) == {"opportunity-1", "opportunity-3"}
    assert index.find(text) == embedded_ids(embedded(tmp_path, docs), text)
    assert "opportunity-4" in index.ids(text)  # the request as it was


def test_every_lexicon_word_matches_whole_without_the_dictionary(tmp_path):
    """Point 7: the `dictionary` setting keeps lexicon words whole in Meilisearch ≥ v1.16,
    but neither binding can apply it. Without it (the worst case), a lexicon word that
    Meilisearch splits must still find the listing holding it, and a listing holding its
    parts in another order only where the embedded engine also accepts it (its fallback
    on the parts of a word few listings hold whole)."""
    tokenizer = charabia_py.PyTokenizerBuilder().build()
    split = [w for w in lexicon() if len([t for t in tokenizer.tokenize(w) if t.is_word()]) > 1]
    assert len(split) > 100  # what the audit counted (284 of 473)
    docs, reversed_parts = [], {}
    for n, word in enumerate(split, start=1):
        docs.append(make_doc(n, title=word))
        parts = [t for t in index_tokens(word) if t != word]
        # (A synonym of the word or of a part is a match by design.)
        if len(parts) > 1 and not any(synonyms_of(w) for w in [word, *parts]):
            reversed_parts[word] = make_doc(10_000 + n, title="。".join(reversed(parts)))
    index = Milli(tmp_path / "m", [*docs, *reversed_parts.values()])
    engine = embedded(tmp_path, [*docs, *reversed_parts.values()])
    for n, word in enumerate(split, start=1):
        found = index.find(word)
        assert f"opportunity-{n}" in found, word
        if word in reversed_parts:
            # Both engines accept the parts apart (the word is rare here), or neither.
            other = reversed_parts[word].id
            assert (other in found) == (other in embedded_ids(engine, word)), word


def test_matching_finds_a_listing_holding_any_key_term(tmp_path):
    """Point 2: matching's key terms are alternatives (any one may match), weighted. With
    `frequency` only listings holding the index-wide rarest term were candidates; the
    adapter sends one query per term and Meilisearch's federation unions them."""
    docs = [
        make_doc(1, kind="offering", title="区块链 存证 平台"),
        make_doc(2, kind="offering", title="冷链 溯源 系统"),
        make_doc(3, kind="offering", title="农产品 溯源 区块链"),
        make_doc(4, kind="offering", title="无人机 植保"),
        make_doc(5, kind="offering", title="智慧农业 物联网"),
    ]
    terms = [("区块链", 1.0), ("溯源", 0.6), ("植保", 0.3), ("智慧农业", 0.2)]
    index = Milli(tmp_path / "m", docs)
    found = index.find(terms=terms)
    assert found == {f"offering-{n}" for n in range(1, 6)}
    assert found == embedded_ids(embedded(tmp_path, docs), terms=terms)
    # Any term alone, as its own query, finds exactly the listings holding it.
    assert index.find(terms=[("植保", 1.0)]) == {"offering-4"}


TERM_DOCS = [
    make_doc(1, title="物联网平台"),
    make_doc(2, title="物流园区"),
    make_doc(3, title="智慧农业"),
    make_doc(4, title="智慧交通"),
    make_doc(5, title="智力测评"),
    make_doc(6, title="VR 展馆"),
    make_doc(7, title="虚拟现实实训"),
    make_doc(8, title="数据分析"),
    make_doc(9, title="blockchain 溯源"),
]


@pytest.mark.parametrize("term", ["物联网", "智慧", "智慧农业", "vr", "虚拟现实", "数", "数据", "block", "blockchain"])
def test_term_doc_freq_counts_like_the_embedded_engine(tmp_path, term):
    """Point 10: the count is of documents holding the word: no sub-word, prefix, typo or
    synonym variants. Milli cannot restrict `attributesToSearchOn`; the harness indexes
    only the text attributes the adapter's count query names."""
    index = Milli(tmp_path / "m", TERM_DOCS, attributes=TEXT_ATTRIBUTES)
    count = len(index.ids(term_count_query("listings", normalise(term))["q"]))
    assert count == embedded(tmp_path, TERM_DOCS).term_doc_freq([term])[term]


def test_term_doc_freq_as_it_was_overcounts(tmp_path):
    index = Milli(tmp_path / "m", TERM_DOCS, attributes=TEXT_ATTRIBUTES)
    assert len(index.ids("智慧")) > 2 and len(index.ids("数")) > 0  # typo, prefix variants


CORPUS = [
    make_doc(1, title="數字經濟發展平台"),
    make_doc(2, title="推進數(shù)字經濟做優做強"),
    make_doc(3, title="智慧水利监测"),
    make_doc(4, title="VR 实训教室"),
    make_doc(5, title="虚拟现实展馆"),
    make_doc(6, title="待处理的审批事项"),
    make_doc(7, title="智慧农业物联网平台", description="果园 传感器 墒情监测"),
    make_doc(8, title="智慧交通", description="信号灯 改造"),
    make_doc(9, kind="offering", title="区块链溯源 blockchain", description="农产品 冷链"),
    make_doc(10, title="智慧园区 5G 基站", description="数据 2024年 报告"),
    make_doc(11, title="农业智慧化改造"),
]
QUERIES = [
    "数字经济",
    "數字經濟",
    "vr",
    "虚拟现实",
    "处理",
    "智慧农业",
    "智慧",
    "物联网 传感器",
    "区块链",
    "冷链 溯源",
    "水利",
    "5G",
    "2024年",
    "5g 基站",
    # The pinyin field (Meilisearch has no pinyin of its own). Not a misspelt pinyin word:
    # the pinyin attribute has typos off (`disableOnAttributes`), a setting milli cannot take.
    "zhihuinongye",
    "shuzijingji",
    "zhihui",
]


@pytest.mark.parametrize("text, attributes", list(itertools.product(QUERIES, [SEARCHABLE])), ids=[q for q in QUERIES])
def test_the_same_documents_as_the_embedded_engine(tmp_path, text, attributes):
    index = Milli(tmp_path / "m", CORPUS, attributes)
    assert index.find(text) == embedded_ids(embedded(tmp_path, CORPUS), text)
