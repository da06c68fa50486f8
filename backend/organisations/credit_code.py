"""统一社会信用代码 (unified social credit code), GB 32100-2015.

Layout of the 18 characters: 1 registration authority, 2 organisation type,
3-8 administrative division code, 9-17 subject identifier, 18 check character.
"""

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18

_VALUE = {char: value for value, char in enumerate(ALPHABET)}
# People paste codes copied from PDFs and web pages, which bring full-width
# characters and every kind of blank with them.
_BLANKS = re.compile(r"[\s\u3000\u00a0\u200b]+")
_FULL_WIDTH = str.maketrans({chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)})


def _normalise(code: str) -> str:
    if not isinstance(code, str):
        raise ValueError("统一社会信用代码必须是文本")
    return _BLANKS.sub("", code.translate(_FULL_WIDTH)).upper()


def _check_character(prefix17: str) -> str:
    total = sum(_VALUE[char] * weight for char, weight in zip(prefix17, WEIGHTS, strict=False))
    # 31 - 0 would be 31, which the standard maps back to 0.
    return ALPHABET[(31 - total % 31) % 31]


def _check_characters(code: str, expected_length: int) -> None:
    if len(code) != expected_length:
        raise ValueError(f"统一社会信用代码应为{LENGTH}位，当前为{len(code)}位")
    illegal = sorted({char for char in code if char not in _VALUE})
    if illegal:
        shown = "、".join(illegal)
        raise ValueError(f"统一社会信用代码含有不允许的字符：{shown}（不使用 I、O、Z、S、V）")
    if not code[2:8].isdigit():
        raise ValueError("统一社会信用代码第3至8位应为行政区划代码（数字）")


def validate_credit_code(code: str) -> str:
    """Return the code normalised (no blanks, upper case) or raise ValueError in Chinese."""
    normalised = _normalise(code)
    if not normalised:
        raise ValueError("统一社会信用代码不能为空")
    _check_characters(normalised, LENGTH)
    expected = _check_character(normalised[:17])
    if normalised[17] != expected:
        raise ValueError("统一社会信用代码校验位不正确，请核对后重新填写")
    return normalised


def make_credit_code(prefix17: str) -> str:
    """Append the check character to 17 characters (for demo and test data)."""
    normalised = _normalise(prefix17)
    if len(normalised) != LENGTH - 1:
        raise ValueError(f"生成统一社会信用代码需要前{LENGTH - 1}位，当前为{len(normalised)}位")
    _check_characters(normalised + "0", LENGTH)
    return normalised + _check_character(normalised)


def is_valid_credit_code(code: str) -> bool:
    try:
        validate_credit_code(code)
    except ValueError:
        return False
    return True
