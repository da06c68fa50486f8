import pytest

from backend.organisations.credit_code import (
    ALPHABET,
    is_valid_credit_code,
    make_credit_code,
    validate_credit_code,
)

# Published codes of well-known companies; each also passes the GB 11714 check of its
# embedded organisation code, so they were not mistyped.
KNOWN_VALID = [
    "914403001922038216",  # 华为技术有限公司
    "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
    "91330100799655058B",  # 阿里巴巴（中国）有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91110000802100433B",  # 百度在线网络技术（北京）有限公司
    "91350100M000100Y43",  # the sample code printed in many registration guides
]


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_real_codes_pass(code):
    assert validate_credit_code(code) == code
    assert is_valid_credit_code(code)


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_changed_character_fails_check(code):
    for position in range(len(code)):
        original = code[position]
        replacement = next(c for c in "0123456789" if c != original)
        if position not in range(2, 8) and original.isdigit():
            replacement = next(c for c in "ABCDEFGH" if c != original)
        changed = code[:position] + replacement + code[position + 1 :]
        with pytest.raises(ValueError):
            validate_credit_code(changed)


def test_swapped_neighbours_fail_check():
    code = "914403001922038216"
    swapped = code[:9] + code[10] + code[9] + code[11:]
    assert swapped != code
    with pytest.raises(ValueError, match="校验位"):
        validate_credit_code(swapped)


def test_lower_case_and_spaces_are_normalised():
    assert validate_credit_code(" 9144 0300 7152 6726xg ") == "9144030071526726XG"
    assert validate_credit_code("91330100799655058b\n") == "91330100799655058B"


def test_full_width_characters_are_normalised():
    assert validate_credit_code("９１１１０１０８５５１３８５０８２Ｑ") == "91110108551385082Q"


@pytest.mark.parametrize("code", ["", "   ", "91440300192203821", "9144030019220382161"])
def test_wrong_length_fails_with_clear_message(code):
    with pytest.raises(ValueError, match=r"18位|不能为空"):
        validate_credit_code(code)


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_illegal_letters_fail_with_clear_message(letter):
    code = "91440300192203821" + letter
    with pytest.raises(ValueError, match=f"不允许的字符：{letter}"):
        validate_credit_code(code)


def test_letters_in_division_code_fail():
    code = make_credit_code("91440300192203821")
    broken = code[:4] + "AB" + code[6:]
    with pytest.raises(ValueError, match="行政区划"):
        validate_credit_code(broken)


def test_non_text_fails_with_value_error():
    with pytest.raises(ValueError):
        validate_credit_code(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_make_credit_code_reproduces_known_check_character(code):
    assert make_credit_code(code[:17]) == code


def test_check_value_31_wraps_to_zero():
    # Find a prefix whose weighted sum is a multiple of 31 and confirm its check is "0".
    base = "9136010000000000"
    for char in ALPHABET:
        code = make_credit_code(base + char)
        if code.endswith("0"):
            assert validate_credit_code(code) == code
            break
    else:
        pytest.fail("no prefix with check character 0 found")


def test_make_credit_code_rejects_wrong_length():
    with pytest.raises(ValueError, match="前17位"):
        make_credit_code("913601")
