import pytest

from backend.taxonomy.mapping import Classified, classify_categories, load_taxonomy, split_categories


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


def test_imported_category_maps_what_maps_and_keeps_the_rest(taxonomy):
    assert classify_categories("气象/物联网", taxonomy) == Classified(["iot"], [], ["气象"])


def test_5g_smart_healthcare_keeps_5g_as_tag(taxonomy):
    result = classify_categories("5G/智慧医疗", taxonomy)
    assert result.tags == ["5G"]
    assert result.tracks == ["digital_health"]
    assert result.domains == ["healthcare"]


@pytest.mark.parametrize(
    "raw",
    [
        "物联网、智慧农业",
        "物联网,智慧农业",
        "物联网，智慧农业",
        "物联网;智慧农业",
        "物联网；智慧农业",
        "物联网 / 智慧农业",
        "物联网｜智慧农业",
        "物联网|智慧农业",
    ],
)
def test_every_separator_splits(taxonomy, raw):
    assert classify_categories(raw, taxonomy) == Classified(["iot", "smart_agriculture"], [], [])


def test_matching_ignores_whitespace_case_and_script(taxonomy):
    assert classify_categories("智慧 農業", taxonomy).tracks == ["smart_agriculture"]
    assert classify_categories("iot", taxonomy).tracks == ["iot"]
    assert classify_categories("ＮＢ-ＩｏＴ", taxonomy).tracks == ["iot"]
    assert classify_categories("數(shù)字健康", taxonomy).tracks == ["digital_health"]


def test_aliases_map_to_tracks(taxonomy):
    result = classify_categories("虚拟现实、AR、网络安全、隐私计算、SaaS、窄带物联网", taxonomy)
    assert result.tracks == ["vr", "infosec_data_services", "software_it_services", "iot"]
    assert result.tags == []


def test_track_name_with_quotes_from_the_document_maps(taxonomy):
    assert classify_categories("“元宇宙”及数字孪生", taxonomy).tracks == ["metaverse_digital_twin"]


def test_domain_names_and_aliases_map_to_domains(taxonomy):
    result = classify_categories("现代农业、智慧交通、赣服通、数字生活", taxonomy)
    assert result.domains == ["modern_agriculture", "transport", "gov_services", "digital_life"]
    assert result.tracks == []


def test_vr_scenarios_map_to_track_and_domain(taxonomy):
    assert classify_categories("VR+教育", taxonomy) == Classified(["vr"], ["education_employment"], [])


def test_piece_containing_a_term_maps_and_is_also_kept(taxonomy):
    result = classify_categories("VR+医疗", taxonomy)
    assert result == Classified(["vr"], ["healthcare"], ["VR+医疗"])
    assert classify_categories("智慧农业平台", taxonomy) == Classified(["smart_agriculture"], [], ["智慧农业平台"])


def test_short_latin_aliases_do_not_match_inside_words(taxonomy):
    # "AR" is an alias of VR; "smart" and "Radar" must not become VR.
    assert classify_categories("smart、Radar", taxonomy) == Classified([], [], ["smart", "Radar"])


def test_unmapped_pieces_are_never_dropped_deduplicated_in_order(taxonomy):
    result = classify_categories("区块链、5G、区块链、有色金属、5g", taxonomy)
    assert result == Classified([], [], ["区块链", "5G", "有色金属"])


def test_codes_are_deduplicated_in_first_seen_order(taxonomy):
    result = classify_categories("物联网、VR、IoT、移动物联网、虚拟现实", taxonomy)
    assert result.tracks == ["iot", "vr"]


def test_list_input_is_split_too(taxonomy):
    result = classify_categories(["气象/物联网", "数字乡村", "无人机植保"], taxonomy)
    assert result == Classified(["iot", "drones"], ["digital_countryside"], ["气象", "无人机植保"])


@pytest.mark.parametrize("raw", ["", "   ", "、、/", [], None])
def test_empty_input_gives_empty_result(taxonomy, raw):
    assert classify_categories(raw, taxonomy) == Classified([], [], [])


def test_tags_keep_the_written_form(taxonomy):
    assert classify_categories(" 氣象 ", taxonomy).tags == ["氣象"]


def test_split_categories_trims_and_drops_empties():
    assert split_categories(" 物联网 、, 智慧 农业 ;") == ["物联网", "智慧 农业"]


def test_every_track_and_domain_name_maps_to_itself(taxonomy):
    for track in taxonomy["tracks"]:
        assert classify_categories(track["name"], taxonomy).tracks == [track["code"]]
    for domain in taxonomy["domains"]:
        assert domain["code"] in classify_categories(domain["name"], taxonomy).domains


def test_load_taxonomy_is_cached():
    assert load_taxonomy() is load_taxonomy()
