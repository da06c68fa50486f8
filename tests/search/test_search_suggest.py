"""“您是不是要找”: completions, pinyin initials and corrected spellings from the published documents' words."""

from search import SearchQuery
from tests.search.search_fixtures import engine, make_doc  # noqa: F401 — the engine fixture (both engines)


def _load(engine):
    engine.upsert(
        [
            make_doc(1, title="南昌县水稻种植智慧农业示范", tracks=["物联网"], domains=["智慧农业"]),
            make_doc(2, title="政务数据区块链存证平台", tracks=["区块链"]),
            make_doc(3, title="智能物联网关与边缘计算", tracks=["物联网"]),
            make_doc(4, title="内部评估：保密的无人机航测草稿", status="draft"),
            make_doc(5, kind="offering", title="智慧农机调度系统"),
        ]
    )


def test_a_word_still_being_typed_is_completed(engine):
    _load(engine)
    assert "智慧农业" in engine.suggest("智慧农", kind="opportunity")
    # Each list suggests from its own documents.
    assert "智慧农机" in engine.suggest("智慧农", kind="offering")
    assert "智慧农机" not in engine.suggest("智慧农", kind="opportunity")


def test_a_latin_typo_is_corrected_to_the_word_the_documents_use(engine):
    _load(engine)
    assert engine.search(SearchQuery(text="blockchian", kind="opportunity", statuses=["published"])).total == 0
    suggestions = engine.suggest("blockchian", kind="opportunity")
    assert suggestions[0] == "区块链"
    assert engine.search(SearchQuery(text=suggestions[0], kind="opportunity", statuses=["published"])).total == 1


def test_pinyin_initials_find_the_chinese_words(engine):
    _load(engine)
    assert "智能物联" in engine.suggest("znwl", kind="opportunity")
    assert "智慧农业" in engine.suggest("zhny", kind="opportunity")
    assert "智慧农业" in engine.suggest("zhihuinong", kind="opportunity")


def test_drafts_never_feed_suggestions(engine):
    _load(engine)
    for text in ("无人", "wrj", "保密", "航测"):
        assert not any("无人机" in s or "保密" in s or "航测" in s for s in engine.suggest(text)), text


def test_a_word_the_index_knows_or_nonsense_gets_no_suggestion(engine):
    _load(engine)
    assert engine.suggest("区块链") == []
    assert engine.suggest("qqqqxxxz") == []
    assert engine.suggest("") == []


def test_suggestions_follow_new_documents(engine):
    _load(engine)
    assert not any(s.startswith("数字孪生") for s in engine.suggest("数字孪"))
    engine.upsert([make_doc(9, title="赣江新区数字孪生城市底座")])
    assert any(s.startswith("数字孪生") for s in engine.suggest("数字孪"))
