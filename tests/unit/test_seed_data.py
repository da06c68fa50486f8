import json
import re
from collections import Counter
from importlib import resources

import pytest

from backend.organisations.credit_code import validate_credit_code
from backend.taxonomy.mapping import classify_categories, fold_label, load_taxonomy
from backend.taxonomy.regions import resolve_region

ORGANISATION_KINDS = {"government", "city", "soe", "enterprise", "lab"}
CITY_CODES = {
    "360100": "南昌市",
    "360200": "景德镇市",
    "360300": "萍乡市",
    "360400": "九江市",
    "360500": "新余市",
    "360600": "鹰潭市",
    "360700": "赣州市",
    "360800": "吉安市",
    "360900": "宜春市",
    "361000": "抚州市",
    "361100": "上饶市",
}
# Section 二(二)1 of the 2022 意见, in the order the document lists them.
DOCUMENT_TRACKS = {
    "base": ["专业芯片", "电子材料", "电子元器件", "半导体照明", "智能终端", "信创", "软件和信息技术服务"],
    "emerging": ["VR", "元宇宙及数字孪生", "信息安全和数据服务", "物联网", "智能网联汽车", "无人机"],
    "fusion": ["工业互联网", "智慧农业", "数字健康", "数字文创", "智慧家居", "智慧能源", "数字降碳"],
}
# Section 二(四)1: the four scenario groups and the eighteen fields named under them.
DOCUMENT_DOMAINS = {
    "政务服务": ["政府运行", "生态保护", "市场监管"],
    "数字治理": ["新型智慧城市", "公共安全", "应急管理", "智慧水利", "数字乡村"],
    "智能生产": ["生产制造", "金融服务", "商贸流通", "现代农业"],
    "数字生活": ["社会保障", "医疗健康", "教育就业", "交通出行", "文化旅游"],
}
# Demo items placed outside the province on purpose, to exercise "keep the place as written".
DELIBERATELY_OUTSIDE = {"四川省成都市", "广东省深圳市", "浙江省杭州市", "全国"}


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


@pytest.fixture(scope="module")
def listings():
    text = resources.files("seeds").joinpath("demo_listings.jsonl").read_text(encoding="utf-8")
    return [(number, line) for number, line in enumerate(text.splitlines(), 1)]


@pytest.fixture(scope="module")
def rows(listings):
    return [json.loads(line) for _, line in listings]


def test_taxonomy_has_exactly_the_four_sections(taxonomy):
    assert set(taxonomy) == {"tracks", "domains", "regions", "organisations"}


def test_tracks_are_the_documents_tracks_in_three_groups(taxonomy):
    by_group: dict[str, list[str]] = {}
    for track in taxonomy["tracks"]:
        by_group.setdefault(track["group"], []).append(track["name"])
    assert by_group == DOCUMENT_TRACKS
    assert len(taxonomy["tracks"]) == 20


def test_track_entries_have_the_documented_shape(taxonomy):
    for track in taxonomy["tracks"]:
        assert set(track) == {"code", "name", "group", "aliases"}
        assert re.fullmatch(r"[a-z][a-z0-9_]{1,39}", track["code"])
        assert isinstance(track["aliases"], list) and track["aliases"]


def test_domains_are_four_groups_with_the_documents_fields(taxonomy):
    parents = {d["code"]: d["name"] for d in taxonomy["domains"] if d["parent"] is None}
    assert sorted(parents.values()) == sorted(DOCUMENT_DOMAINS)
    children: dict[str, list[str]] = {}
    for domain in taxonomy["domains"]:
        assert set(domain) == {"code", "name", "parent", "aliases"}
        if domain["parent"] is not None:
            assert domain["parent"] in parents
            children.setdefault(parents[domain["parent"]], []).append(domain["name"])
    assert children == DOCUMENT_DOMAINS
    named_fields = set(DOCUMENT_DOMAINS) - {"数字治理", "智能生产", "数字生活"}
    named_fields |= {name for names in DOCUMENT_DOMAINS.values() for name in names}
    assert len(named_fields) == 18


@pytest.mark.parametrize("section", ["tracks", "domains"])
def test_codes_names_and_aliases_are_unique_within_a_section(taxonomy, section):
    entries = taxonomy[section]
    assert len({e["code"] for e in entries}) == len(entries)
    labels = Counter(fold_label(label) for e in entries for label in {e["name"], *e["aliases"]})
    assert [label for label, count in labels.items() if count > 1] == []


def test_regions_have_province_eleven_cities_and_the_new_area(taxonomy):
    regions = taxonomy["regions"]
    provinces = [r for r in regions if r["level"] == "province"]
    assert provinces == [
        {"code": "360000", "name": "江西省", "short_name": "江西", "level": "province", "parent": None}
    ]
    cities = {r["code"]: r["name"] for r in regions if r["level"] == "city"}
    assert cities == CITY_CODES
    new_areas = [r for r in regions if r["level"] == "new_area"]
    assert [(r["code"], r["name"], r["parent"]) for r in new_areas] == [("GJXQ", "赣江新区", "360000")]


def test_region_codes_are_unique_and_every_parent_exists(taxonomy):
    regions = taxonomy["regions"]
    codes = [r["code"] for r in regions]
    assert len(set(codes)) == len(codes)
    assert len({r["name"] for r in regions}) == len(regions)
    by_code = {r["code"]: r for r in regions}
    for region in regions:
        assert set(region) == {"code", "name", "short_name", "level", "parent"}
        if region["level"] == "county":
            parent = by_code[region["parent"]]
            assert parent["level"] == "city"
            # A county's code starts with its city's four digits.
            assert region["code"][:4] == parent["code"][:4] and region["code"].isdigit()


def test_every_city_has_its_counties(taxonomy):
    counties = Counter(r["parent"] for r in taxonomy["regions"] if r["level"] == "county")
    assert set(counties) == set(CITY_CODES)
    assert sum(counties.values()) == 100
    assert counties["360100"] == 9 and counties["360700"] == 18


def test_every_region_resolves_to_itself(taxonomy):
    regions = taxonomy["regions"]
    for region in regions:
        assert resolve_region(region["name"], regions).code == region["code"], region["name"]


def test_organisations_have_known_kinds_regions_and_unique_names(taxonomy):
    region_codes = {r["code"] for r in taxonomy["regions"]}
    names = [o["name"] for o in taxonomy["organisations"]]
    assert len(set(names)) == len(names)
    kinds = Counter(o["kind"] for o in taxonomy["organisations"])
    assert set(kinds) <= ORGANISATION_KINDS
    assert kinds["city"] == 11 and kinds["government"] >= 15 and kinds["soe"] >= 3 and kinds["lab"] >= 3
    for organisation in taxonomy["organisations"]:
        assert set(organisation) == {"name", "short_name", "kind", "region"}
        assert organisation["region"] in region_codes


def test_every_demo_line_parses_with_the_import_fields(listings, rows):
    assert len(rows) == len(listings)
    kinds = Counter(row["kind"] for row in rows)
    assert kinds["opportunity"] >= 50 and kinds["offering"] >= 50
    common = {
        "kind",
        "external_id",
        "title",
        "organisation",
        "organisation_kind",
        "region",
        "description",
        "tracks",
        "domains",
        "batch",
    }
    for row in rows:
        assert common <= set(row), row["external_id"]
        assert row["organisation_kind"] in ORGANISATION_KINDS
        assert row["batch"] in (1, 2)
        if row["kind"] == "opportunity":
            # Issuers (出卷方) are departments, cities, state-owned enterprises and labs.
            assert row["organisation_kind"] in {"government", "city", "soe", "lab"}
            assert {"budget", "deadline", "contact"} <= set(row)
            assert re.fullmatch(r"2026-12-\d\d|2027-\d\d-\d\d", row["deadline"])
            assert "example.com" in row["contact"]
        else:
            assert row["kind"] == "offering"
            assert row["organisation_kind"] in {"enterprise", "soe", "lab"}
            assert row["maturity"] in {"concept", "prototype", "pilot", "mature"}
            assert {"reference_cases", "certifications"} <= set(row)
    ids = [row["external_id"] for row in rows]
    assert len(set(ids)) == len(ids)


def test_enterprise_credit_codes_validate(rows):
    owners: dict[str, str] = {}
    for row in rows:
        if row["organisation_kind"] == "enterprise":
            assert validate_credit_code(row["credit_code"]) == row["credit_code"]
            assert owners.setdefault(row["credit_code"], row["organisation"]) == row["organisation"]
        else:
            assert "credit_code" not in row


def test_every_demo_region_resolves_or_is_deliberately_outside(taxonomy, rows):
    outside = set()
    for row in rows:
        match = resolve_region(row["region"], taxonomy["regions"])
        if match.in_province:
            assert match.code is not None
        else:
            outside.add(row["region"])
    assert outside == DELIBERATELY_OUTSIDE


def test_every_demo_tracks_string_yields_a_track_or_tag(taxonomy, rows):
    for row in rows:
        result = classify_categories(row["tracks"], taxonomy)
        assert result.tracks or result.tags, row["external_id"]
        assert classify_categories(row["domains"], taxonomy).domains, row["external_id"]


def test_issuers_other_than_enterprises_are_seeded_organisations(taxonomy, rows):
    seeded = {o["name"]: o["kind"] for o in taxonomy["organisations"]}
    for row in rows:
        if row["organisation_kind"] != "enterprise":
            assert seeded.get(row["organisation"]) == row["organisation_kind"], row["organisation"]


def test_demo_pairs_share_a_track_or_domain(taxonomy, rows):
    # demo-opp-NNN and demo-off-NNN are written as a fitting pair.
    by_id = {row["external_id"]: row for row in rows}
    for row in rows:
        if row["kind"] != "opportunity":
            continue
        offering = by_id[row["external_id"].replace("opp", "off")]
        opp_tracks = classify_categories(row["tracks"], taxonomy)
        off_tracks = classify_categories(offering["tracks"], taxonomy)
        opp_domains = classify_categories(row["domains"], taxonomy).domains
        off_domains = classify_categories(offering["domains"], taxonomy).domains
        shared = set(opp_tracks.tracks) & set(off_tracks.tracks) or set(opp_domains) & set(off_domains)
        assert shared, row["external_id"]


def test_demo_text_exercises_normalisation(rows):
    text = "".join(row["title"] + row["description"] + row["region"] for row in rows)
    assert re.search(r"\([a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zü]*\)", text), "inline pinyin annotation"
    assert re.search(r"[\uff10-\uff5a]", text), "full-width characters"
    assert any(char in text for char in "鄱陽數實貢"), "Traditional characters"
