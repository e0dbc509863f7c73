import datetime as dt
from collections.abc import Callable
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from blacklist.identifiers import (
    USCC_ALPHABET,
    InvalidIdentifierError,
    hash_id_number,
    is_normal_valid_uscc,
    make_valid_id_number,
    make_valid_uscc,
    mask_id_number,
    normalize_id_number,
    normalize_text,
    normalize_uscc,
    validate_id_number,
    validate_uscc,
)

REAL_USCCS = [
    "91110000710924945A",
    "91440105MA59AGQ16J",
    "91430111743169333P",
    "91430111051692406B",
    "914308217580037663",
]
ID_NUMBER = "11010519491231002X"
AS_OF = dt.date(2025, 6, 1)


def error_of(func: Callable[[str], object], value: str) -> InvalidIdentifierError:
    with pytest.raises(InvalidIdentifierError) as info:
        func(value)
    return info.value


# --- normalisation ---------------------------------------------------------------


def test_normalize_text_converts_full_width_and_trims() -> None:
    assert normalize_text("\u3000 ＡＢＣ　１２３！ ") == "ABC 123!"
    assert normalize_text("咸阳某化工有限公司") == "咸阳某化工有限公司"


def test_normalize_uscc_removes_spaces_and_upper_cases() -> None:
    assert normalize_uscc(" 9144 0105 ma59 agq16j\t") == "91440105MA59AGQ16J"


@pytest.mark.parametrize("code", REAL_USCCS)
def test_real_codes_are_valid(code: str) -> None:
    assert validate_uscc(code) == code
    assert validate_uscc(code.lower()) == code


def test_full_width_code_is_normalised() -> None:
    assert validate_uscc("９１１１００００７１０９２４９４５Ａ") == "91110000710924945A"
    assert validate_uscc("\u3000９１１１ ００００ ７１０９２４９４５ａ ") == "91110000710924945A"


# --- unified social credit code errors -------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9111000071092494A", "must be 18 characters, got 17"),
        ("91110000710924945AB", "must be 18 characters, got 19"),
        ("", "must be 18 characters, got 0"),
    ],
)
def test_uscc_length(value: str, message: str) -> None:
    error = error_of(validate_uscc, value)
    assert (error.code, error.message, str(error)) == ("length", message, message)


@pytest.mark.parametrize(
    ("value", "char", "position"),
    [
        ("9111I000710924945A", "I", 5),
        ("91110000710924945O", "O", 18),
        ("S1110000710924945A", "S", 1),
        ("91110000-10924945A", "-", 9),
    ],
)
def test_uscc_character(value: str, char: str, position: int) -> None:
    error = error_of(validate_uscc, value)
    assert error.code == "character"
    assert str(error) == (
        f"character '{char}' at position {position} is not allowed; "
        "allowed: 0-9 and ABCDEFGHJKLMNPQRTUWXY"
    )


def test_uscc_region_must_be_digits() -> None:
    error = error_of(validate_uscc, "9111A000710924945A")
    assert error.code == "region"
    assert str(error) == "positions 3-8 (the region code) must be digits, got 'A' at position 5"


def test_uscc_letters_allowed_outside_region() -> None:
    assert validate_uscc("91440105MA59AGQ16J") == "91440105MA59AGQ16J"
    assert validate_uscc(make_valid_uscc("Y1110000MA59AGQ16")).startswith("Y1")


def test_uscc_check_character() -> None:
    error = error_of(validate_uscc, "91110000710924945B")
    assert error.code == "check_character"
    assert str(error) == "check character is 'B', expected 'A'"


def test_error_survives_pickling() -> None:
    error = error_of(validate_uscc, "91110000710924945B")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.message) == (error.code, error.message)


def test_make_valid_uscc_checks_prefix() -> None:
    assert make_valid_uscc("91110000710924945") == "91110000710924945A"
    assert str(error_of(make_valid_uscc, "9111")) == "prefix must be 17 characters, got 4"
    assert error_of(make_valid_uscc, "9111I000710924945").code == "character"


# --- resident identity numbers ---------------------------------------------------


def test_valid_id_number_and_normalisation() -> None:
    assert validate_id_number(ID_NUMBER, as_of=AS_OF) == ID_NUMBER
    assert validate_id_number(" 110105 19491231 002x ", as_of=AS_OF) == ID_NUMBER
    assert validate_id_number("１１０１０５１９４９１２３１００２ｘ", as_of=AS_OF) == ID_NUMBER
    assert normalize_id_number("11010519491231002x") == ID_NUMBER


def test_check_character_matches_stdnum() -> None:
    number = make_valid_id_number("61040219700101946")
    assert number[-1] == ric.calc_check_digit(number)


def test_region_unknown_to_stdnum_for_birth_year_is_accepted() -> None:
    # 610402 (秦都区) exists since 1983; stdnum refuses it for a 1970 birth year.
    number = make_valid_id_number("61040219700101946")
    assert not ric.is_valid(number)
    assert validate_id_number(number, as_of=AS_OF) == number


def test_unknown_region_code_is_accepted() -> None:
    number = make_valid_id_number("99999919800101001")
    assert validate_id_number(number, as_of=AS_OF) == number


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("11010519491231002", "length", "must be 18 characters, got 17"),
        ("1101051949123100211", "length", "must be 18 characters, got 19"),
        (
            "1101A519491231002X",
            "character",
            "character 'A' at position 5 is not allowed; positions 1-17 must be digits",
        ),
        (
            "11010519491231002Y",
            "character",
            "character 'Y' at position 18 is not allowed; the last character must be a digit or X",
        ),
        ("110105194912310021", "check_character", "check character is '1', expected 'X'"),
    ],
)
def test_id_number_errors(value: str, code: str, message: str) -> None:
    error = error_of(validate_id_number, value)
    assert (error.code, str(error)) == (code, message)


@pytest.mark.parametrize(
    ("birth", "message"),
    [
        ("19490230", "birth date (positions 7-14) is not a real calendar date"),
        ("19491300", "birth date (positions 7-14) is not a real calendar date"),
        ("18991231", "birth date (positions 7-14) is before 1900"),
        ("20250602", "birth date (positions 7-14) is in the future"),
    ],
)
def test_bad_birth_date_is_refused(birth: str, message: str) -> None:
    number = make_valid_id_number(f"110105{birth}002")
    with pytest.raises(InvalidIdentifierError) as info:
        validate_id_number(number, as_of=AS_OF)
    assert (info.value.code, str(info.value)) == ("birth_date", message)
    assert number not in str(info.value)


def test_birth_date_bounds_are_inclusive() -> None:
    for birth in ("19000101", "20250601"):
        number = make_valid_id_number(f"110105{birth}002")
        assert validate_id_number(number, as_of=AS_OF) == number


def test_birth_date_defaults_to_today() -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    number = make_valid_id_number(f"110105{tomorrow:%Y%m%d}002")
    assert error_of(validate_id_number, number).code == "birth_date"


def test_messages_never_contain_the_number() -> None:
    for value in ("110105194912310021", "1101A519491231002X", "11010519491231002Y"):
        error = error_of(validate_id_number, value)
        assert value[:14] not in str(error) and value[6:14] not in str(error)


def test_make_valid_id_number_checks_prefix() -> None:
    assert make_valid_id_number("11010519491231002") == ID_NUMBER
    assert str(error_of(make_valid_id_number, "1101")) == "prefix must be 17 characters, got 4"
    assert error_of(make_valid_id_number, "1101051949123100X").code == "character"


def test_mask_id_number() -> None:
    assert mask_id_number("610402199001019465") == "610402********9465"
    assert mask_id_number("11010519491231002x") == "110105********002X"
    assert mask_id_number("1101051949") == "**********"


def test_hash_is_keyed_and_normalised() -> None:
    first = hash_id_number(ID_NUMBER, b"key-one")
    assert len(first) == 64 and int(first, 16) >= 0
    assert hash_id_number(" 11010519491231002x", b"key-one") == first
    assert hash_id_number(ID_NUMBER, b"key-two") != first
    assert ID_NUMBER not in first
    with pytest.raises(ValueError, match="must not be empty"):
        hash_id_number(ID_NUMBER, b"")


# --- properties --------------------------------------------------------------------

uscc_chars = st.sampled_from(USCC_ALPHABET)
digits = st.sampled_from("0123456789")
uscc_prefixes = st.builds(
    lambda head, region, tail: "".join(head) + "".join(region) + "".join(tail),
    st.lists(uscc_chars, min_size=2, max_size=2),
    st.lists(digits, min_size=6, max_size=6),
    st.lists(uscc_chars, min_size=9, max_size=9),
)
id_prefixes = st.builds(
    lambda region, birth, seq: f"{region}{birth:%Y%m%d}{seq:03d}",
    st.from_regex(r"[0-9]{6}", fullmatch=True),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=AS_OF),
    st.integers(min_value=0, max_value=999),
)


@given(uscc_prefixes)
def test_made_uscc_always_validates(prefix: str) -> None:
    code = make_valid_uscc(prefix)
    assert validate_uscc(code) == code


@given(uscc_prefixes, st.integers(min_value=0, max_value=17), st.data())
def test_any_single_change_breaks_uscc(prefix: str, index: int, data: st.DataObject) -> None:
    code = make_valid_uscc(prefix)
    replacement = data.draw(st.sampled_from(USCC_ALPHABET).filter(lambda c: c != code[index]))
    changed = code[:index] + replacement + code[index + 1 :]
    with pytest.raises(InvalidIdentifierError):
        validate_uscc(changed)


@given(id_prefixes)
def test_made_id_number_always_validates(prefix: str) -> None:
    number = make_valid_id_number(prefix)
    assert validate_id_number(number, as_of=AS_OF) == number
    assert number[-1] == ric.calc_check_digit(number)


@given(id_prefixes, st.integers(min_value=0, max_value=17), st.data())
def test_any_single_change_breaks_id_number(
    prefix: str, index: int, data: st.DataObject
) -> None:
    number = make_valid_id_number(prefix)
    replacement = data.draw(st.sampled_from("0123456789X").filter(lambda c: c != number[index]))
    changed = number[:index] + replacement + number[index + 1 :]
    with pytest.raises(InvalidIdentifierError):
        validate_id_number(changed, as_of=AS_OF)



@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXYZIOSVabc -", min_size=16, max_size=19))
def test_the_fast_uscc_check_agrees_with_the_full_one(text: str) -> None:
    # is_normal_valid_uscc answers validate_uscc's common case; it must never disagree.
    try:
        unchanged = validate_uscc(text) == text
    except InvalidIdentifierError:
        unchanged = False
    assert is_normal_valid_uscc(text) == unchanged


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=2, max_size=2),
       st.text(alphabet="0123456789", min_size=6, max_size=6),
       st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9))
def test_the_fast_uscc_check_accepts_every_valid_code(head: str, region: str, body: str) -> None:
    code = make_valid_uscc(head + region + body)
    assert is_normal_valid_uscc(code) and validate_uscc(code) == code
