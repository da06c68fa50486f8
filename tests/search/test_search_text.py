"""Normalisation and segmentation, on real lines of the seed documents."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from search_fixtures import make_doc

from search import SearchQuery, create_engine
from search.text import (
    index_tokens,
    normalise,
    normalise_with_offsets,
    pinyin_tokens,
    query_tokens,
    search_subtokens,
    strip_pinyin_annotations,
    synonyms_of,
)

SEED = Path("/work/shared/seed-documents/000_4a9c806636f62f5b.txt")


def seed_line(containing: str) -> str:
    if not SEED.exists():
        pytest.skip("seed document not available")
    return next(line for line in SEED.read_text(encoding="utf-8").splitlines() if containing in line)


def test_traditional_becomes_simplified():
    assert normalise("數字經濟發展") == "数字经济发展"


def test_pinyin_annotations_are_stripped_from_a_real_line():
    line = seed_line("日益呈現技(jì )術")
    assert "新(xīn)時代" in line  # the input really is annotated
    norm = normalise(line)
    assert norm.startswith("新时代的数字经济发展,日益呈现技术叠代加速化、数据要素市场化、产业布局赛道化")
    assert "(" not in norm


def test_annotation_with_space_inside_the_parens():
    assert strip_pinyin_annotations("數字技(jì )術") == "數字技術"


@pytest.mark.parametrize(
    "text",
    ["窄帶物聯網(NB-IoT)", "AR(增强现实)", "IPv6(互聯網協議第6版)", "应用程序(app)", "LED(發光二極管)"],
)
def test_real_parenthesised_content_is_kept(text):
    assert strip_pinyin_annotations(text) == text


def test_nb_iot_kept_in_the_seed_line():
    norm = normalise(seed_line("NB-IoT"))
    assert "窄带物联网(nb-iot)" in norm
    assert "nb-iot" in index_tokens(norm, normalised=True)


def test_full_width_becomes_half_width_and_lower_case():
    assert normalise("ＡＢＣ　１２３，ＶＲ") == "abc 123,vr"


def test_html_tags_and_entities_are_removed():
    assert normalise("<p>智慧&amp;农业</p>&nbsp;") == "智慧&农业\xa0"


def test_offsets_point_back_into_the_original():
    text = "數(shù)字<b>經濟</b>"
    norm, offsets = normalise_with_offsets(text)
    assert norm == "数字经济"
    assert "".join(text[i] for i in offsets) == "數字經濟"


@pytest.mark.parametrize("word", ["物联网", "工业互联网", "虚拟现实", "数字孪生", "智慧农业"])
def test_lexicon_keeps_domain_words_whole(word):
    assert word in query_tokens(f"基于{word}及云平台的应用")


def test_search_tokens_include_the_parts():
    tokens = index_tokens("待处理事项")
    assert {"待处理", "处理"} <= set(tokens)


def test_a_query_word_is_widened_only_to_parts_that_cover_it():
    assert search_subtokens("智慧农业") == ["智慧", "农业"]
    # 互联 and 联网 lie inside 互联网: asking for them too would only cost time.
    assert search_subtokens("工业互联网") == ["工业", "互联网"]
    # 文创 is no dictionary word, so 数字 alone would stand for the whole query word.
    assert search_subtokens("数字文创") == []
    # 质监 (质量监督) straddles the join of 水质 and 监测: asking for it too would keep out a
    # listing about 水质在线监测.
    assert search_subtokens("水质监测") == ["水质", "监测"]


def test_query_word_does_not_match_documents_holding_only_a_part_of_it(tmp_path):
    engine = create_engine("embedded", data_dir=tmp_path, index_name="listings")
    engine.ensure_ready()
    engine.upsert(
        [
            make_doc(1, title="数字文创产品展示"),
            make_doc(2, title="数字政府建设"),
            make_doc(3, title="农业的智慧化改造"),
        ]
    )
    assert [h.id for h in engine.search(SearchQuery(text="数字文创")).hits] == ["opportunity-1"]
    assert [h.id for h in engine.search(SearchQuery(text="智慧农业")).hits] == ["opportunity-3"]
    engine.close()


def test_stop_words_and_punctuation_are_dropped():
    assert query_tokens("的，了。！") == []
    assert "的" not in index_tokens("智慧农业的应用")


def test_pinyin_tokens():
    assert pinyin_tokens(index_tokens("智慧农业")) == ["zhihui", "nongye", "zhihuinongye"]


def test_synonyms_are_symmetric():
    assert "虚拟现实" in synonyms_of("vr")
    assert "vr" in synonyms_of("虚拟现实")
    assert "5g行业专网" in synonyms_of("5g专网")


@given(st.text(max_size=60))
def test_offsets_always_align(text):
    norm, offsets = normalise_with_offsets(text)
    assert len(offsets) == len(norm)
    assert all(0 <= i < len(text) for i in offsets)
    assert offsets == sorted(offsets)
    assert norm == normalise(text)
