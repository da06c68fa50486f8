"""Resolve a place as people write it ("江西省新余市", "贛州章貢區", "四川省成都市") to a region code.

Lists from departments and imports name places every way imaginable, and some name places
outside the province or "全国". Those are kept with the place as written and no code; nothing
here ever rejects a place.
"""

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

PROVINCE_CODE = "360000"

# Prefixes that only say "in Jiangxi" and carry no finer place.
_PROVINCE_PREFIXES = ("中华人民共和国", "中国", "江西省", "江西")
_WHOLE_PROVINCE = {"", "全省", "省内", "全省范围", "全省各地", "省本级", "省级", "省直", "省直单位", "省内各地"}
_NATIONWIDE = {
    "全国",
    "全国各地",
    "全国范围",
    "全国范围内",
    "中国",
    "不限",
    "不限地区",
    "国内",
    "境内",
    "境外",
    "海外",
    "国外",
}
# Names of the other province-level divisions; a place starting with one is outside Jiangxi
# even when a county of the same short name exists here.
_OTHER_PROVINCES = (
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
    "台湾",
)
# Names in common use that are not administrative divisions but sit clearly in one.
_ALIASES = {
    "赣南": "360700",
    "鄱阳湖": PROVINCE_CODE,
    "鄱阳湖区": PROVINCE_CODE,
    "鄱阳湖生态经济区": PROVINCE_CODE,
    "赣江新区": "GJXQ",
}

# Only a syllable carrying a tone mark, so that "(VR)" or "(IoT)" in a label survive.
_PINYIN_NOTE = re.compile(r"[(（]\s*[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ][a-zü]*\s*[)）]")
_BLANKS = re.compile(r"\s+")


class RegionMatch(NamedTuple):
    code: str | None
    place: str
    in_province: bool


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def fold_text(text: str) -> str:
    """Fold the variants people type into one form: Simplified, half-width, no pinyin notes, no blanks."""
    text = unicodedata.normalize("NFKC", text)
    text = _PINYIN_NOTE.sub("", text)
    text = _t2s().convert(text)
    return _BLANKS.sub("", text)


def _parent(region: dict) -> str | None:
    # Seed files say "parent"; rows dumped from the Region table say "parent_code".
    return region.get("parent", region.get("parent_code"))


class _Index:
    def __init__(self, regions: list[dict]):
        self.by_code = {r["code"]: r for r in regions}
        self.cities: dict[str, str] = {}
        self.county_full: dict[str, str] = {}
        self.county_short: dict[str, str] = {}
        self.counties_of: dict[str, dict[str, str]] = {}
        for region in regions:
            names = {fold_text(region["name"]), fold_text(region.get("short_name") or region["name"])}
            names.discard("")
            level = region.get("level")
            if level in ("city", "new_area"):
                for name in names:
                    self.cities.setdefault(name, region["code"])
            elif level == "county":
                full = fold_text(region["name"])
                self.county_full.setdefault(full, region["code"])
                short = fold_text(region.get("short_name") or "")
                if short:
                    self.county_short.setdefault(short, region["code"])
                within = self.counties_of.setdefault(_parent(region) or "", {})
                for name in names:
                    within.setdefault(name, region["code"])
        for alias, code in _ALIASES.items():
            if code in self.by_code:
                self.cities.setdefault(alias, code)
        # Longest names first, so that "南昌县" beats the city short name "南昌".
        self.county_full_longest = sorted((n for n in self.county_full if len(n) >= 3), key=len, reverse=True)
        self.cities_longest = sorted(self.cities, key=len, reverse=True)
        self.counties_of_longest = {
            city: sorted((n for n in names if n.endswith(("区", "县", "市"))), key=len, reverse=True)
            for city, names in self.counties_of.items()
        }

    def county_in(self, city_code: str, rest: str) -> str | None:
        within = self.counties_of.get(city_code, {})
        if rest in within:
            return within[rest]
        # A full county name followed by more detail ("章贡区沙石镇") still names that county.
        for name in self.counties_of_longest.get(city_code, []):
            if rest.startswith(name):
                return within[name]
        return None

    def resolve(self, folded: str) -> str | None:
        if folded in self.county_full:
            return self.county_full[folded]
        if folded in self.county_short:
            # Only a bare short name; "东湖高新区" is in Wuhan, not 南昌东湖区.
            return self.county_short[folded]
        for name in self.county_full_longest:
            if folded.startswith(name):
                return self.county_full[name]
        for name in self.cities_longest:
            if folded.startswith(name):
                city = self.cities[name]
                rest = folded[len(name) :]
                return (self.county_in(city, rest) if rest else None) or city
        return None


_index_cache: dict[int, tuple[list[dict], _Index]] = {}


def _index_for(regions: list[dict]) -> _Index:
    # Callers pass the same loaded list on every row of an import; rebuild only for a new list.
    cached = _index_cache.get(id(regions))
    if cached is not None and cached[0] is regions:
        return cached[1]
    index = _Index(regions)
    if len(_index_cache) > 8:
        _index_cache.clear()
    _index_cache[id(regions)] = (regions, index)
    return index


def resolve_region(text: str, regions: list[dict]) -> RegionMatch:
    """Map a written place to a region code; unknown or outside places get code None."""
    place = (text or "").strip() if isinstance(text, str) else ""
    if not place:
        return RegionMatch(None, "", False)
    folded = fold_text(place)
    if not folded:
        return RegionMatch(None, place, False)
    if folded in _NATIONWIDE:
        return RegionMatch(None, place, False)

    index = _index_for(regions)
    # Exports and API clients may already carry the code itself.
    if folded.upper() in index.by_code:
        return RegionMatch(folded.upper(), place, True)
    rest = folded
    said_jiangxi = False
    stripped = True
    while stripped:
        stripped = False
        for prefix in _PROVINCE_PREFIXES:
            if rest.startswith(prefix):
                rest = rest[len(prefix) :]
                said_jiangxi = said_jiangxi or prefix.startswith("江西")
                stripped = True
                break

    if not said_jiangxi and rest.startswith(_OTHER_PROVINCES):
        return RegionMatch(None, place, False)
    if rest in _WHOLE_PROVINCE and (said_jiangxi or rest):
        return _found(PROVINCE_CODE, place, index)
    if rest in _NATIONWIDE:
        return RegionMatch(None, place, False)

    code = index.resolve(rest)
    if code is None and said_jiangxi:
        # "江西省某开发区": the province is certain even when the rest is not.
        code = PROVINCE_CODE
    if code is None:
        return RegionMatch(None, place, False)
    return _found(code, place, index)


def _found(code: str, place: str, index: _Index) -> RegionMatch:
    if code not in index.by_code:
        return RegionMatch(None, place, False)
    return RegionMatch(code, place, True)


def region_path(code: str | None, regions: list[dict]) -> list[dict]:
    """The region and its ancestors, province first (for breadcrumbs and filters by city)."""
    index = _index_for(regions)
    path: list[dict] = []
    seen: set[str] = set()
    while code and code in index.by_code and code not in seen:
        seen.add(code)
        region = index.by_code[code]
        path.append(region)
        code = _parent(region)
    return list(reversed(path))
