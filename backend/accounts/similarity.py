"""Is an applied organisation close to one already on the platform? Pure functions.

Names are compared by their core: blanks, punctuation and full-width forms removed, and the
parts that people add or leave out without meaning another body ("江西省", "人民政府", "有限公司",
"股份", "集团" …) taken away. "江西省国有资产监督管理委员会" and "江西省人民政府国有资产监督管理委员会"
have the same core. Credit codes are close when they share the subject identifier (characters
9–17, the old organisation code) or differ in at most two characters (a typo).
"""

import re
import unicodedata

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_DROP = ("江西省", "江西", "人民政府", "股份有限公司", "有限责任公司", "有限公司", "股份", "集团", "公司", "省")
NAME_CLOSE = 0.8


def name_core(name: str) -> str:
    text = _NOISE.sub("", unicodedata.normalize("NFKC", name)).lower()
    for part in _DROP:
        text = text.replace(part, "")
    return text


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


def names_close(a: str, b: str) -> bool:
    core_a, core_b = name_core(a), name_core(b)
    if not core_a or not core_b:
        return False
    if core_a == core_b:
        return True
    if min(len(core_a), len(core_b)) >= 4 and (core_a in core_b or core_b in core_a):
        return True
    grams_a, grams_b = _bigrams(core_a), _bigrams(core_b)
    return 2 * len(grams_a & grams_b) / (len(grams_a) + len(grams_b)) >= NAME_CLOSE


def codes_close(a: str | None, b: str | None) -> bool:
    if not a or not b or len(a) != 18 or len(b) != 18:
        return False
    if a[8:17] == b[8:17]:
        return True
    return sum(x != y for x, y in zip(a, b, strict=True)) <= 2
