"""Password hashing (Argon2id) and the password rules (ASVS 2.1).

Rules for a password a person chooses: at least MIN_PASSWORD_LENGTH characters (runs of
blanks count as one), at most MAX_PASSWORD_LENGTH, no composition rules, and not a common
password (the list in `common_passwords.txt`, also with digits or punctuation appended), nor
the account's own email name or the site's name. Existing passwords are not re-checked.
"""

import re
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
_TRAILING = re.compile(r"[\d\W_]+$")
# Runs along the digits or a keyboard row, forwards or backwards ("123456789012", "qwertyuiop[]").
_RUNS = ("01234567890123456789", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p")


def _is_run(text: str) -> bool:
    return any(text in run * 2 or text in (run * 2)[::-1] for run in _RUNS)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verifying against this on unknown emails keeps login timing the same for known and unknown accounts.
DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, email: str = "") -> str | None:
    """Why this password may not be chosen (in Chinese), or None when it is acceptable."""
    length = len(re.sub(r"\s+", " ", password))
    if length < MIN_PASSWORD_LENGTH:
        return f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符（可以使用容易记住的一句话）"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"密码最多 {MAX_PASSWORD_LENGTH} 个字符"
    lowered = password.strip().lower()
    common = common_passwords()
    stem = _TRAILING.sub("", lowered)
    if lowered in common or stem in common or (stem and len(set(stem)) == 1):
        return "该密码过于常见，容易被猜中，请换一个"
    if (lowered.isdigit() and len(set(lowered)) <= 2) or _is_run(lowered) or (len(stem) >= 6 and _is_run(stem)):
        return "该密码过于简单，请换一个"
    name = email.split("@", 1)[0].lower()
    if name and len(name) >= 4 and (lowered == name or stem == name):
        return "密码不能与邮箱名相同"
    return None
