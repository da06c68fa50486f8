import pytest

from backend.taxonomy.mapping import load_taxonomy
from backend.taxonomy.regions import RegionMatch, region_path, resolve_region


@pytest.fixture(scope="module")
def regions():
    return load_taxonomy()["regions"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("江西省新余市", "360500"),
        ("新余", "360500"),
        ("新余市", "360500"),
        ("赣州市章贡区", "360702"),
        ("赣州章贡区", "360702"),
        ("章贡区", "360702"),
        ("赣州市章贡区沙石镇", "360702"),
        ("江西省九江市庐山市", "360483"),
        ("上饶市广信区", "361104"),
        ("共青城市", "360482"),
        ("江西南昌", "360100"),
        ("赣江新区", "GJXQ"),
        ("江西省", "360000"),
        ("全省", "360000"),
    ],
)
def test_places_resolve_to_their_region(regions, text, code):
    match = resolve_region(text, regions)
    assert match == RegionMatch(code, text, True)


def test_known_city_prefix_wins_when_rest_is_unknown(regions):
    assert resolve_region("南昌高新区", regions).code == "360100"
    assert resolve_region("九江经开区", regions).code == "360400"


def test_county_sharing_a_city_stem_resolves_to_the_county(regions):
    assert resolve_region("南昌县", regions).code == "360121"
    assert resolve_region("吉安县", regions).code == "360821"
    assert resolve_region("吉安", regions).code == "360800"


def test_unresolved_rest_after_province_keeps_the_province(regions):
    assert resolve_region("江西省某工业园区", regions) == RegionMatch("360000", "江西省某工业园区", True)


@pytest.mark.parametrize("text", ["四川省成都市", "广东省深圳市南山区", "浙江省杭州市西湖区", "湖北省武汉市东湖高新区"])
def test_places_in_other_provinces_are_kept_verbatim_without_code(regions, text):
    assert resolve_region(text, regions) == RegionMatch(None, text, False)


def test_county_name_from_another_city_is_not_mistaken(regions):
    # 杭州 has a 西湖区 and 武汉 a 东湖, as 南昌 does; without the province they stay unknown.
    assert resolve_region("杭州市西湖区", regions).code is None
    assert resolve_region("东湖高新区", regions).code is None


@pytest.mark.parametrize("text", ["全国", "全国范围", "不限"])
def test_nationwide_has_no_code_and_is_outside(regions, text):
    assert resolve_region(text, regions) == RegionMatch(None, text, False)


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_gives_no_code(regions, text):
    assert resolve_region(text, regions) == RegionMatch(None, "", False)


def test_traditional_characters_and_whitespace_are_handled(regions):
    assert resolve_region("  贛州市章貢區 ", regions) == RegionMatch("360702", "贛州市章貢區", True)
    assert resolve_region("鷹潭市", regions).code == "360600"
    assert resolve_region("江西省 新余 市", regions).code == "360500"


def test_pinyin_annotations_and_full_width_are_handled(regions):
    assert resolve_region("新(xīn)余市", regions).code == "360500"
    assert resolve_region("ＧＪＸＱ", regions).code == "GJXQ"


def test_region_code_itself_resolves(regions):
    assert resolve_region("360702", regions).code == "360702"
    assert resolve_region("gjxq", regions).code == "GJXQ"


def test_landmarks_resolve_to_their_area(regions):
    assert resolve_region("鄱阳湖", regions).code == "360000"
    assert resolve_region("鄱阳", regions).code == "361128"
    assert resolve_region("赣南", regions).code == "360700"


@pytest.mark.parametrize("text", ["火星", "？？", "123", "某某地方", "(xīn)", "江西省外省"])
def test_unknown_text_never_raises(regions, text):
    match = resolve_region(text, regions)
    assert isinstance(match, RegionMatch)
    assert match.place == text.strip()


def test_works_with_any_region_list():
    tiny = [
        {"code": "360000", "name": "江西省", "short_name": "江西", "level": "province", "parent": None},
        {"code": "360500", "name": "新余市", "short_name": "新余", "level": "city", "parent": "360000"},
    ]
    assert resolve_region("新余市渝水区", tiny).code == "360500"
    assert resolve_region("赣州市", tiny) == RegionMatch(None, "赣州市", False)


def test_region_path_runs_from_province_to_county(regions):
    assert [r["code"] for r in region_path("360702", regions)] == ["360000", "360700", "360702"]
    assert region_path(None, regions) == []


def test_rows_shaped_like_the_region_table_work_too():
    rows = [
        {"code": "360000", "name": "江西省", "short_name": "江西", "level": "province", "parent_code": None},
        {"code": "360700", "name": "赣州市", "short_name": "赣州", "level": "city", "parent_code": "360000"},
        {"code": "360702", "name": "章贡区", "short_name": "章贡", "level": "county", "parent_code": "360700"},
    ]
    assert resolve_region("赣州市章贡区", rows).code == "360702"
    assert [r["code"] for r in region_path("360702", rows)] == ["360000", "360700", "360702"]
