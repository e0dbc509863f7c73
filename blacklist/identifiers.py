"""Identifiers of subjects: unified social credit codes and resident identity numbers."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import operator
import re

from stdnum.cn import uscc as stdnum_uscc

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_ALLOWED = "0-9 and " + USCC_ALPHABET[10:]
_USCC_CHARS = frozenset(USCC_ALPHABET)
_USCC_VALUES = str.maketrans({char: chr(value) for value, char in enumerate(USCC_ALPHABET)})  # char → its value
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^i mod 31 (GB 32100-2015)
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")
_DIGITS = frozenset("0123456789")

# ISO 7064 MOD 11-2 weights for the 17 body digits: 2^(17 - i) mod 11.
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_EARLIEST_BIRTH = dt.date(1900, 1, 1)

# Full-width ASCII U+FF01..U+FF5E maps to U+0021..U+007E; the ideographic space to a space.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_HALF_WIDTH[0x3000] = 0x20


class InvalidIdentifierError(ValueError):
    """An identifier that is not well formed; `code` says which check failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type[InvalidIdentifierError], tuple[str, str]]:
        return (type(self), (self.code, self.message))


def normalize_text(s: str) -> str:
    """Trim and turn full-width ASCII and the ideographic space into their half-width forms."""
    return s.translate(_HALF_WIDTH).strip()


def _normalize_code(s: str) -> str:
    return "".join(normalize_text(s).split()).upper()


def normalize_uscc(s: str) -> str:
    """Trim, convert full-width to half-width, remove whitespace and upper-case a credit code."""
    return _normalize_code(s)


def _check_length(code: str, expected: int, what: str = "") -> None:
    if len(code) != expected:
        raise InvalidIdentifierError(
            "length", f"{what}must be {expected} characters, got {len(code)}"
        )


def _check_uscc_body(code: str) -> None:
    for position, char in enumerate(code, start=1):
        if char not in _USCC_CHARS:
            raise InvalidIdentifierError(
                "character",
                f"character {char!r} at position {position} is not allowed; "
                f"allowed: {_USCC_ALLOWED}",
            )
    for position in range(3, 9):
        char = code[position - 1]
        if char not in _DIGITS:
            raise InvalidIdentifierError(
                "region",
                f"positions 3-8 (the region code) must be digits, "
                f"got {char!r} at position {position}",
            )


def validate_uscc(s: str) -> str:
    """Return the normalised unified social credit code, or raise InvalidIdentifierError."""
    if is_normal_valid_uscc(s):
        return s
    if type(s) is str:
        return _valid_uscc(s)  # an import meets each unit's code many times
    return _validate_uscc(s)


def is_normal_valid_uscc(s: object) -> bool:
    """Whether `s` is a code `validate_uscc` would return unchanged: already normalised, of
    the right shape, with the right check character. Most codes are; this answers them in
    a microsecond (stdnum's generic clean-up takes ten), batches of 100,000 and imports alike."""
    if type(s) is not str or not _USCC_SHAPE.fullmatch(s):
        return False
    total = sum(map(operator.mul, s[:17].translate(_USCC_VALUES).encode("latin-1"), _USCC_WEIGHTS))
    return USCC_ALPHABET[-total % 31] == s[17]


def _validate_uscc(s: str) -> str:
    code = normalize_uscc(s)
    _check_length(code, 18)
    _check_uscc_body(code)
    expected = stdnum_uscc.calc_check_digit(code[:17])
    if code[17] != expected:
        raise InvalidIdentifierError(
            "check_character", f"check character is {code[17]!r}, expected {expected!r}"
        )
    return code


_valid_uscc = functools.lru_cache(maxsize=1 << 16)(_validate_uscc)  # errors are not cached


def make_valid_uscc(prefix17: str) -> str:
    """Append the right check character to the first 17 characters of a credit code."""
    prefix = normalize_uscc(prefix17)
    _check_length(prefix, 17, "prefix ")
    _check_uscc_body(prefix)
    return prefix + stdnum_uscc.calc_check_digit(prefix)


def normalize_id_number(s: str) -> str:
    """Trim, convert full-width to half-width, remove whitespace and upper-case an identity number."""
    return _normalize_code(s)


def _id_check_character(body: str) -> str:
    checksum = (12 - sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS)) % 11) % 11
    return "X" if checksum == 10 else str(checksum)


def _check_id_body(body: str) -> None:
    for position, char in enumerate(body, start=1):
        if char not in _DIGITS:
            raise InvalidIdentifierError(
                "character",
                f"character {char!r} at position {position} is not allowed; "
                "positions 1-17 must be digits",
            )


def validate_id_number(s: str, *, as_of: dt.date | None = None) -> str:
    """Return the normalised resident identity number, or raise InvalidIdentifierError.

    The region code is not checked against any list: codes are retired and reassigned,
    and an unknown one must not alone refuse a person. Messages never contain the number.
    """
    number = normalize_id_number(s)
    _check_length(number, 18)
    _check_id_body(number[:17])
    if number[17] not in _DIGITS and number[17] != "X":
        raise InvalidIdentifierError(
            "character",
            f"character {number[17]!r} at position 18 is not allowed; "
            "the last character must be a digit or X",
        )
    expected = _id_check_character(number[:17])
    if number[17] != expected:
        raise InvalidIdentifierError(
            "check_character", f"check character is {number[17]!r}, expected {expected!r}"
        )
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentifierError(
            "birth_date", "birth date (positions 7-14) is not a real calendar date"
        ) from None
    if birth < _ID_EARLIEST_BIRTH:
        raise InvalidIdentifierError(
            "birth_date", "birth date (positions 7-14) is before 1900"
        )
    if birth > (as_of if as_of is not None else dt.date.today()):
        raise InvalidIdentifierError(
            "birth_date", "birth date (positions 7-14) is in the future"
        )
    return number


def make_valid_id_number(prefix17: str) -> str:
    """Append the right check character to 17 digits; the birth date is not checked."""
    prefix = normalize_id_number(prefix17)
    _check_length(prefix, 17, "prefix ")
    _check_id_body(prefix)
    return prefix + _id_check_character(prefix)


def mask_id_number(s: str) -> str:
    """Show the first 6 and last 4 characters of an 18-character number; mask anything else whole."""
    number = normalize_id_number(s)
    if len(number) != 18:
        return "*" * len(number)
    return number[:6] + "*" * 8 + number[-4:]


def hash_id_number(number: str, key: bytes) -> str:
    """Keyed HMAC-SHA256 (hex) of the normalised number, for lookups without storing it."""
    if not key:
        raise ValueError("the identity-number hashing key must not be empty")
    message = normalize_id_number(number).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()
