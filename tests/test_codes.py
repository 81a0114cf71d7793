"""Tests for mak.codes: the activation code catalog and its lookups."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mak import codes, errors
from mak.codes import ActivationCode, Category, all_codes, from_batch_service, lookup

CATALOG = all_codes()
BATCH_CODES = (0x67, 0x68, 0x7F, 0x86, 0x90)

# Every code the brief asks for, besides the batch-service numbers: domain-facts §5, the
# informational successes and the SPP check-digit family.
EXPECTED_HRESULTS = (
    0xC004B100, 0xC004C001, 0xC004C003, 0xC004C004, 0xC004C008, 0xC004C017, 0xC004C020,
    0xC004C021, 0xC004C060, 0xC004D307, 0xC004E016, 0xC004E028, 0xC004F009, 0xC004F00F,
    0xC004F014, 0xC004F025, 0xC004F02C, 0xC004F031, 0xC004F035, 0xC004F038, 0xC004F039,
    0xC004F041, 0xC004F042, 0xC004F04D, 0xC004F050, 0xC004F051, 0xC004F064, 0x4004F065,
    0xC004F069, 0xC004F06B, 0xC004F06C, 0xC004F074, 0xC004F07D, 0xC004F081, 0xC004F082,
    0xC004F083, 0xC004F200, 0xC004F211, 0x8007232A, 0x8007232B, 0x8007251D, 0x800706BA, 0x80072EFD,
    0x80070005, 0x8004FE21, 0x80070490,
    0x4004F00C, 0x4004F00D, 0x4004FC04, 0x4004F040,
    0xC004F02D, 0xC004F02E, 0xC004F02F, 0xC004F07E, 0xC004F07F, 0xC004D309, 0xC004F013,
)  # fmt: skip

CONSTANTS = {
    "MAK_LIMIT_EXCEEDED": 0xC004C020,
    "MAK_EXTENSION_LIMIT_EXCEEDED": 0xC004C021,
    "KEY_BLOCKED": 0xC004C003,
    "INVALID_PRODUCT_KEY": 0xC004F050,
    "INVALID_KEY_TYPE": 0xC004F07D,
    "KMS_COUNT_INSUFFICIENT": 0xC004F038,
    "KMS_UNAVAILABLE": 0xC004F074,
    "CID_IID_MISMATCH": 0xC004F031,
    "CID_IID_INVALID_CHECK_DIGITS": 0xC004F04D,
    "CID_IID_INVALID_DATA": 0xC004F02C,
    "GRACE_TIME_EXPIRED": 0xC004F009,
    "NOT_GENUINE": 0xC004F200,
    "OUT_OF_TOLERANCE": 0xC004F00F,
    "NO_PRODUCT_KEY": 0xC004F014,
    "ACCESS_DENIED": 0xC004F025,
    "MAX_REARM_REACHED": 0xC004D307,
    "KMS_HOST_LIMIT_EXCEEDED": 0xC004C008,
    "ACTIVATION_IN_PROGRESS": 0xC004E028,
    "MISMATCHED_SKU": 0xC004F069,
    "OOB_GRACE_PERIOD": 0x4004F00C,
    "OOT_GRACE_PERIOD": 0x4004F00D,
    "NON_GENUINE_GRACE_PERIOD": 0x4004F065,
}


def _name(code: ActivationCode) -> str:
    return code.hex


# --- the catalog ------------------------------------------------------------------------


def test_catalog_holds_every_expected_code_and_nothing_else() -> None:
    assert sorted(code.value for code in CATALOG) == sorted(EXPECTED_HRESULTS + BATCH_CODES)


def test_catalog_values_are_unique_and_sorted() -> None:
    values = [code.value for code in CATALOG]
    assert len(set(values)) == len(values)
    assert values == sorted(values)


@pytest.mark.parametrize("code", CATALOG, ids=_name)
def test_entry_is_complete(code: ActivationCode) -> None:
    assert re.fullmatch(r"[A-Z][A-Z0-9_]*", code.symbol)
    assert code.symbol != "UNKNOWN"
    assert code.message.strip()
    assert code.message.endswith(".")
    assert isinstance(code.category, Category)
    assert code.known


@pytest.mark.parametrize("code", CATALOG, ids=_name)
def test_entry_is_what_lookup_returns(code: ActivationCode) -> None:
    assert lookup(code.value) is code
    assert lookup(code.hex) is code


@pytest.mark.parametrize("code", CATALOG, ids=_name)
def test_str_shows_hex_symbol_and_message(code: ActivationCode) -> None:
    assert str(code) == f"{code.hex} {code.symbol}: {code.message}"


@pytest.mark.parametrize("code", [c for c in CATALOG if c.value not in BATCH_CODES], ids=_name)
def test_hresult_category_follows_the_severity_bit(code: ActivationCode) -> None:
    is_failure = code.value >= 0x80000000
    assert (code.category is not Category.INFO) == is_failure
    if not is_failure:
        assert not code.retryable


@pytest.mark.parametrize(
    ("value", "symbol", "category", "retryable"),
    [
        (0xC004C020, "SL_E_CHPA_DMAK_LIMIT_EXCEEDED", Category.LIMIT, False),
        (0xC004C003, "SL_E_CHPA_PRODUCT_KEY_BLOCKED", Category.KEY, False),
        (0xC004F050, "SL_E_INVALID_PRODUCT_KEY", Category.KEY, False),
        (0xC004F025, "SL_E_LUA_ACCESSDENIED", Category.PERMISSION, False),
        (0xC004F04D, "SL_E_CIDIID_INVALID_CHECK_DIGITS", Category.DATA, False),
        (0xC004F074, "SL_E_VL_BINDING_SERVICE_UNAVAILABLE", Category.KMS, True),
        (0xC004F038, "SL_E_VL_NOT_ENOUGH_COUNT", Category.KMS, True),
        (0xC004E028, "SL_E_ACTIVATION_IN_PROGRESS", Category.STATE, True),
        (0xC004B100, "SL_E_SRV_GENERAL_ERROR", Category.SERVICE, True),
        (0xC004F009, "SL_E_GRACE_TIME_EXPIRED", Category.STATE, False),
        (0xC004D307, "SL_REMAPPING_SP_PUB_TS_MAX_REARM_REACHED", Category.LIMIT, False),
        (0x800706BA, "RPC_S_SERVER_UNAVAILABLE", Category.NETWORK, True),
        (0x8007232B, "DNS_ERROR_RCODE_NAME_ERROR", Category.NETWORK, True),
        (0x80070005, "E_ACCESSDENIED", Category.PERMISSION, False),
        (0x4004F00C, "SL_I_OOB_GRACE_PERIOD", Category.INFO, False),
        (0x4004F040, "SL_E_VL_INFO_PRODUCT_USER_RIGHT", Category.INFO, False),
    ],
)
def test_known_entries(value: int, symbol: str, category: Category, retryable: bool) -> None:
    code = lookup(value)
    assert (code.symbol, code.category, code.retryable) == (symbol, category, retryable)


def test_str_of_the_mak_limit() -> None:
    assert str(lookup(0xC004C020)).startswith("0xC004C020 SL_E_CHPA_DMAK_LIMIT_EXCEEDED: ")


def test_entries_are_frozen() -> None:
    code = lookup(0xC004C020)
    with pytest.raises(AttributeError):
        code.value = 0  # type: ignore[misc]


# --- spellings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        0xC004C020,
        0xC004C020 - 2**32,
        "0xC004C020",
        "C004C020",
        "0xc004c020",
        "c004c020",
        "0XC004C020",
        "  0xC004C020\n",
        "\tC004C020 ",
    ],
)
def test_spellings_give_the_same_entry(spelling: int | str) -> None:
    code = lookup(spelling)
    assert code.value == 0xC004C020
    assert code is lookup(0xC004C020)


@pytest.mark.parametrize(
    ("signed", "unsigned"),
    [
        (-1073418203, 0xC004F025),
        (-1073418160, 0xC004F050),
        (-1073418135, 0xC004F069),
        (-1073418163, 0xC004F04D),
        (-1073418191, 0xC004F031),
        (-1073418221, 0xC004F013),
    ],
)
def test_signed_ints_from_powershell(signed: int, unsigned: int) -> None:
    code = lookup(signed)
    assert code.value == unsigned
    assert code.known
    assert code is lookup(unsigned)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0xC004F025, "0xC004F025"), (0x4004F00C, "0x4004F00C"), (0x80070005, "0x80070005")],
)
def test_hex_has_eight_upper_case_digits(value: int, text: str) -> None:
    assert lookup(value).hex == text


# --- unknown codes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "value", "category"),
    [
        (0, 0, Category.INFO),
        (1, 1, Category.INFO),
        (0x7E, 0x7E, Category.INFO),
        (0x4004F0FF, 0x4004F0FF, Category.INFO),
        (0x7FFFFFFF, 0x7FFFFFFF, Category.INFO),
        (0x80000000, 0x80000000, Category.SERVICE),
        (0xC004C4CE, 0xC004C4CE, Category.SERVICE),
        (0xFFFFFFFF, 0xFFFFFFFF, Category.SERVICE),
        (-1, 0xFFFFFFFF, Category.SERVICE),
        (-(2**31), 0x80000000, Category.SERVICE),
        ("0", 0, Category.INFO),
        ("ffffffff", 0xFFFFFFFF, Category.SERVICE),
        ("0x00000000C004C4CE", 0xC004C4CE, Category.SERVICE),
    ],
)
def test_unknown_codes_get_an_unknown_entry(
    code: int | str, value: int, category: Category
) -> None:
    entry = lookup(code)
    assert entry.value == value
    assert not entry.known
    assert entry.symbol == "UNKNOWN"
    assert entry.category is category
    assert not entry.retryable
    assert "does not know" in entry.message
    assert f"0x{value:08X}" in entry.message
    assert entry.hex == f"0x{value:08X}"
    assert entry == lookup(value)


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "error", "shown"),
    [
        (None, errors.InvalidFormat, "<NoneType>"),
        (1.5, errors.InvalidFormat, "<float>"),
        (True, errors.InvalidFormat, "<bool>"),
        (False, errors.InvalidFormat, "<bool>"),
        (b"0x1", errors.InvalidFormat, "<bytes>"),
        ([0xC004C020], errors.InvalidFormat, "<list>"),
        ("", errors.InvalidFormat, ""),
        ("   ", errors.InvalidFormat, "   "),
        ("0x", errors.InvalidFormat, "0x"),
        ("xyz", errors.InvalidFormat, "xyz"),
        ("hello", errors.InvalidFormat, "hello"),
        ("0xC004C020junk", errors.InvalidFormat, "0xC004C020junk"),
        ("0x C004C020", errors.InvalidFormat, "0x C004C020"),
        ("C004_C020", errors.InvalidFormat, "C004_C020"),
        ("-0x1", errors.InvalidFormat, "-0x1"),
        ("0xC004C020\u0660", errors.InvalidFormat, "0xC004C020\u0660"),
        (2**32, errors.InvalidComponent, "4294967296"),
        (-(2**31) - 1, errors.InvalidComponent, "-2147483649"),
        (10**40, errors.InvalidComponent, "1" + "0" * 28 + "..."),
        (2**1100, errors.InvalidComponent, "<1101-bit int>"),
        ("0x100000000", errors.InvalidComponent, "0x100000000"),
    ],
)
def test_bad_input_raises_a_validation_error(
    bad: Any, error: type[errors.ValidationError], shown: str
) -> None:
    with pytest.raises(error) as caught:
        lookup(bad)
    assert type(caught.value) is error
    assert caught.value.kind == "activation code"
    assert caught.value.text == shown
    assert str(caught.value).startswith(f"Invalid activation code: {shown!r} (")


def test_out_of_range_message_is_exact() -> None:
    # errors.InvalidComponent's doctest shows this exact text.
    with pytest.raises(errors.InvalidComponent) as caught:
        lookup(2**32)
    assert str(caught.value) == "Invalid activation code: '4294967296' (not a 32-bit value)"


def test_not_hex_message_is_exact() -> None:
    with pytest.raises(errors.InvalidFormat) as caught:
        lookup("hello")
    assert str(caught.value) == "Invalid activation code: 'hello' (not a hex number)"


def test_wrong_type_message_names_the_type() -> None:
    with pytest.raises(errors.InvalidFormat, match=r"got float\)$"):
        lookup(1.5)  # type: ignore[arg-type]


def test_long_input_is_cut_in_the_message() -> None:
    with pytest.raises(errors.InvalidFormat) as caught:
        lookup("z" * 1000)
    assert caught.value.text == "z" * 29 + "..."


def test_bad_input_is_a_value_error_and_a_mak_error() -> None:
    with pytest.raises(ValueError, match="activation code") as caught:
        lookup("nope")
    assert isinstance(caught.value, errors.MakError)


def test_building_an_entry_outside_32_bits_is_refused() -> None:
    with pytest.raises(errors.InvalidComponent):
        ActivationCode(2**32, "X", "Too big.", Category.SERVICE, False)


# --- batch service ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("batch", "hresult", "category"),
    [
        (0x7F, 0xC004C020, Category.LIMIT),
        (0x67, 0xC004C003, Category.KEY),
        (0x68, 0xC004C004, Category.KEY),
        (0x86, 0xC004F07D, Category.KEY),
        (0x90, 0xC004F04D, Category.DATA),
    ],
)
def test_batch_codes(batch: int, hresult: int, category: Category) -> None:
    entry = lookup(batch)
    assert entry.value == batch
    assert entry.known
    assert entry.symbol.startswith("BATCH_")
    assert entry.category is category
    assert f"0x{hresult:08X}" in entry.message
    assert entry.hex == f"0x{batch:X}"
    assert lookup(entry.hex) is entry

    mapped = from_batch_service(batch)
    assert mapped is lookup(hresult)
    assert mapped.category is category
    assert from_batch_service(f"0x{batch:X}") is mapped


@pytest.mark.parametrize("code", [0x70, 0, 0xC004C020, -1])
def test_unknown_batch_codes_give_an_unknown_entry(code: int) -> None:
    entry = from_batch_service(code)
    assert not entry.known
    assert entry.symbol == "UNKNOWN"
    assert entry.value == code & 0xFFFFFFFF


@pytest.mark.parametrize(
    ("bad", "error"), [(None, errors.InvalidFormat), (2**32, errors.InvalidComponent)]
)
def test_batch_bad_input_raises(bad: Any, error: type[errors.ValidationError]) -> None:
    with pytest.raises(error):
        from_batch_service(bad)


# --- constants --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), sorted(CONSTANTS.items()))
def test_constant_is_in_the_catalog(name: str, value: int) -> None:
    assert getattr(codes, name) == value
    assert name in codes.__all__
    assert lookup(value).known


def test_every_exported_constant_is_in_the_catalog() -> None:
    exported = [name for name in codes.__all__ if name.isupper()]
    assert sorted(exported) == sorted(CONSTANTS)
    for name in exported:
        assert lookup(getattr(codes, name)).known, name


def test_errors_module_agrees_on_the_mak_limit() -> None:
    assert errors.MAK_LIMIT_EXCEEDED == codes.MAK_LIMIT_EXCEEDED
    assert errors.ActivationLimitExceeded.code == codes.MAK_LIMIT_EXCEEDED


def test_all_names_exist_and_are_documented() -> None:
    for name in codes.__all__:
        obj = getattr(codes, name)
        if not isinstance(obj, int):
            assert obj.__doc__, name
            assert obj.__doc__.strip().splitlines()[0], name


def test_markdown_has_one_section_per_category_in_catalog_order() -> None:
    text = codes.to_markdown()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [f"## {category.name.capitalize()}" for category in codes.Category]


def test_markdown_lists_each_code_once_under_its_category() -> None:
    sections = codes.to_markdown().split("\n\n(codes-")
    assert len(sections) == len(codes.Category)
    for category, section in zip(codes.Category, sections, strict=True):
        rows = [line for line in section.splitlines() if line.startswith("| `")]
        expected = [c for c in codes.all_codes() if c.category is category]
        assert [row.split("`")[1] for row in rows] == [c.hex for c in expected]


def test_markdown_escapes_pipes_in_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = ActivationCode(0xC0040001, "SL_E_PIPED", "Run a | b.", Category.KEY, False)
    monkeypatch.setattr(codes, "all_codes", lambda: (piped,))
    [row] = [line for line in codes.to_markdown().splitlines() if line.startswith("| `")]
    assert row == "| `0xC0040001` | `SL_E_PIPED` | no | Run a &#124; b. |"


def test_zeros_in_front_are_read_however_many_and_more_digits_are_refused_unconverted() -> None:
    assert lookup("0x" + "0" * 1_000_000 + "C004F025").value == 0xC004F025
    with pytest.raises(errors.InvalidComponent, match="not a 32-bit value"):
        lookup("0x1" + "0" * 8)
    with pytest.raises(errors.InvalidComponent, match="not a 32-bit value"):
        lookup("F" * 1_000_000)  # refused by its length, before int() reads it
