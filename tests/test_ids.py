"""Tests for mak.ids: installation and confirmation IDs as tables of valid and invalid inputs.

Positive vectors are built here from the check-digit rule of domain-facts §2.3 (weights
1, 2, 1, 2 ... over a group's data digits, mod 7), plus the 54-digit installation ID that
Microsoft prints in its own ``slmgr /dlv`` sample.
"""

from __future__ import annotations

import pickle

import attrs
import pytest

from mak import ids
from mak.errors import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from mak.ids import (
    ConfirmationId,
    IdLayout,
    InstallationId,
    format_confirmation_id,
    format_installation_id,
    is_valid_confirmation_id,
    is_valid_installation_id,
    validate_confirmation_id,
    validate_installation_id,
)


def check_digit(data: str) -> int:
    return sum(int(d) * (1 if i % 2 == 0 else 2) for i, d in enumerate(data)) % 7


def build(*data_groups: str) -> str:
    """Compact digits: each group's data digits followed by its check digit."""
    return "".join(data + str(check_digit(data)) for data in data_groups)


def grouped(digits: str, size: int) -> str:
    return "-".join(digits[i : i + size] for i in range(0, len(digits), size))


# Microsoft's sample `slmgr /dlv` output for an Office 2016 KMS host
# (OfficeDocs-DeployOffice, configure-a-kms-host-computer-for-office.md).
MICROSOFT_SAMPLE_IID = "020650770493837252929082195773527024195725809211989214"

IID_63 = build(
    "000000", "123456", "999999", "314159", "271828", "161803", "141421", "173205", "223606"
)
IID_54 = build("00000", "12345", "99999", "31415", "27182", "16180", "14142", "17320", "22360")
CID_48 = build("00000", "98765", "13579", "24680", "11112", "31337", "27182", "55556")
CID_42 = build("13579", "24680", "11112", "31337", "27182", "86421", "40404")

IID_VECTORS = {
    "63-built": (IID_63, IdLayout.IID_63),
    "54-built": (IID_54, IdLayout.IID_54),
    "63-hand": ("1234565" * 9, IdLayout.IID_63),  # 1+4+3+8+5+12 = 33 = 5 mod 7
    "63-nines": ("9999994" * 9, IdLayout.IID_63),  # 81 = 4 mod 7
    "63-zeros": ("0" * 63, IdLayout.IID_63),
    "54-hand": ("123450" * 9, IdLayout.IID_54),  # 1+4+3+8+5 = 21 = 0 mod 7
    "54-microsoft-sample": (MICROSOFT_SAMPLE_IID, IdLayout.IID_54),
}
CID_VECTORS = {
    "48-built": (CID_48, IdLayout.CID_48),
    "42-built": (CID_42, IdLayout.CID_42),
    "48-hand": ("123450" * 8, IdLayout.CID_48),
    "42-hand": ("999990" * 7, IdLayout.CID_42),  # 63 = 0 mod 7
    "48-zeros": ("0" * 48, IdLayout.CID_48),
}


def test_built_vectors_have_the_expected_check_digits() -> None:
    # The helper, checked by hand on a few groups.
    assert IID_63[:14] == "0000000" + "1234565"  # 1 + 4 + 3 + 8 + 5 + 12 = 33 = 5 mod 7
    assert IID_54[:18] == "000000" + "123450" + "999990"  # 21 and 63 are 0 mod 7
    assert CID_48[6:24] == "987650" + "135790" + "246804"  # 49 = 0, 35 = 0, 32 = 4 mod 7
    assert CID_42[12:18] == "111121"  # 1 + 2 + 1 + 2 + 2 = 8 = 1 mod 7


def spellings(digits: str, size: int) -> dict[str, str]:
    groups = [digits[i : i + size] for i in range(0, len(digits), size)]
    return {
        "hyphens": "-".join(groups),
        "spaces": " ".join(groups),
        "none": digits,
        "mixed": "".join(g + ("-" if i % 2 else " ") for i, g in enumerate(groups)).rstrip(" -"),
        "surrounding-whitespace": "\n\t " + " ".join(groups) + " \r\n",
        "double-spaces": "  ".join(groups),
        "spaced-hyphens": " - ".join(groups),
        "irregular": " ".join(digits[i : i + 3] for i in range(0, len(digits), 3)),
    }


IID_SPELLINGS = [
    (digits, layout, name, text)
    for vector, (digits, layout) in IID_VECTORS.items()
    for name, text in spellings(digits, layout.group_size).items()
    if vector in {"63-built", "54-built", "54-microsoft-sample"}
]
CID_SPELLINGS = [
    (digits, layout, name, text)
    for vector, (digits, layout) in CID_VECTORS.items()
    for name, text in spellings(digits, 6).items()
    if vector in {"48-built", "42-built"}
]


# --- layouts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "digits", "size", "count", "kind"),
    [
        (IdLayout.IID_63, 63, 7, 9, "installation ID"),
        (IdLayout.IID_54, 54, 6, 9, "installation ID"),
        (IdLayout.CID_48, 48, 6, 8, "confirmation ID"),
        (IdLayout.CID_42, 42, 6, 7, "confirmation ID"),
    ],
    ids=lambda v: v.name if isinstance(v, IdLayout) else None,
)
def test_layouts(layout: IdLayout, digits: int, size: int, count: int, kind: str) -> None:
    assert (layout.digit_count, layout.group_size, layout.group_count) == (digits, size, count)
    assert layout.kind == kind
    assert layout.group_size * layout.group_count == layout.digit_count


# --- positive vectors ---------------------------------------------------------------------


@pytest.mark.parametrize(("digits", "layout"), IID_VECTORS.values(), ids=IID_VECTORS.keys())
def test_installation_ids_parse(digits: str, layout: IdLayout) -> None:
    iid = InstallationId.parse(digits)
    size = layout.group_size
    assert iid.digits == digits
    assert iid.layout is layout
    assert iid.groups == tuple(digits[i : i + size] for i in range(0, len(digits), size))
    assert len(iid.groups) == layout.group_count
    assert str(iid) == grouped(digits, size)
    assert InstallationId(digits) == iid
    assert is_valid_installation_id(digits) is True
    assert validate_installation_id(digits) == grouped(digits, size)
    assert format_installation_id(digits) == grouped(digits, size)
    assert InstallationId.parse(str(iid)) == iid


@pytest.mark.parametrize(("digits", "layout"), CID_VECTORS.values(), ids=CID_VECTORS.keys())
def test_confirmation_ids_parse(digits: str, layout: IdLayout) -> None:
    cid = ConfirmationId.parse(digits)
    assert cid.digits == digits
    assert cid.layout is layout
    assert cid.groups == tuple(digits[i : i + 6] for i in range(0, len(digits), 6))
    assert str(cid) == grouped(digits, 6)
    assert ConfirmationId(digits) == cid
    assert ConfirmationId.parse(digits, check_digits=False) == cid
    assert is_valid_confirmation_id(digits) is True
    assert validate_confirmation_id(digits) == grouped(digits, 6)
    assert format_confirmation_id(digits) == grouped(digits, 6)
    assert ConfirmationId.parse(str(cid)) == cid


def test_the_microsoft_sample_groups_as_printed_by_phone_activation() -> None:
    iid = InstallationId.parse(MICROSOFT_SAMPLE_IID)
    assert iid.groups[0] == "020650"
    assert iid.groups[-1] == "989214"
    assert str(iid).count("-") == 8


@pytest.mark.parametrize(
    ("digits", "layout", "name", "text"),
    IID_SPELLINGS,
    ids=[f"{d[:3]}-{len(d)}-{n}" for d, _, n, _ in IID_SPELLINGS],
)
def test_installation_id_separators(digits: str, layout: IdLayout, name: str, text: str) -> None:
    iid = InstallationId.parse(text)
    assert iid.digits == digits
    assert iid.layout is layout
    assert iid == InstallationId(digits)
    assert hash(iid) == hash(InstallationId(digits))
    assert ids.compact(text) == digits
    assert is_valid_installation_id(text) is True
    assert validate_installation_id(text) == grouped(digits, layout.group_size)


@pytest.mark.parametrize(
    ("digits", "layout", "name", "text"),
    CID_SPELLINGS,
    ids=[f"{d[:3]}-{len(d)}-{n}" for d, _, n, _ in CID_SPELLINGS],
)
def test_confirmation_id_separators(digits: str, layout: IdLayout, name: str, text: str) -> None:
    cid = ConfirmationId.parse(text)
    assert cid.digits == digits
    assert cid.layout is layout
    assert cid == ConfirmationId(digits)
    assert hash(cid) == hash(ConfirmationId(digits))
    assert is_valid_confirmation_id(text) is True
    assert validate_confirmation_id(text) == grouped(digits, 6)


def test_an_id_is_found_by_an_equal_id_and_never_by_one_of_the_other_kind() -> None:
    iid, cid = InstallationId("123450" * 9), ConfirmationId("123450" * 8)
    found = {iid: "installation", cid: "confirmation"}
    assert found[InstallationId.parse(str(iid))] == "installation"
    assert found[ConfirmationId.parse(str(cid))] == "confirmation"
    assert len({iid, InstallationId("123450" * 9), cid, ConfirmationId("123450" * 8)}) == 2
    assert InstallationId("123450" * 8 + "000000") not in found


def test_installation_and_confirmation_ids_are_different_types() -> None:
    iid = InstallationId.parse("123450" * 9)
    cid = ConfirmationId.parse("123450" * 8)
    assert iid != cid
    assert iid.kind == "installation ID"
    assert cid.kind == "confirmation ID"
    # 54 digits are an installation ID, never a confirmation ID, and 48 the other way round.
    assert is_valid_confirmation_id("123450" * 9) is False
    assert is_valid_installation_id("123450" * 8) is False


@pytest.mark.parametrize("cls", [InstallationId, ConfirmationId])
def test_ids_pickle(cls: type[InstallationId | ConfirmationId]) -> None:
    value = cls.parse("123450" * (9 if cls is InstallationId else 8))
    restored = pickle.loads(pickle.dumps(value))  # noqa: S301  # our own bytes
    assert restored == value
    assert restored.layout is value.layout


def test_ids_are_immutable() -> None:
    iid = InstallationId.parse("123450" * 9)
    with pytest.raises(AttributeError):
        iid.digits = "0" * 54  # type: ignore[misc]  # the point of the test


# --- wrong digit counts -------------------------------------------------------------------

IID_COUNTS = [0, 1, 6, 41, 42, 48, 50, 53, 55, 56, 62, 64, 70, 126]
CID_COUNTS = [0, 1, 6, 36, 41, 43, 47, 49, 50, 54, 63, 96]


def digits_of(count: int) -> str:
    return ("1234500" * 20)[:count]


@pytest.mark.parametrize("count", IID_COUNTS)
def test_installation_id_with_a_wrong_digit_count_is_invalid_length(count: int) -> None:
    text = digits_of(count)
    for candidate in (text, grouped(text, 7), f" {grouped(text, 6)} "):
        with pytest.raises(InvalidLength) as info:
            InstallationId.parse(candidate)
        error = info.value
        assert error.length == count
        assert error.expected == (54, 63)
        assert error.reason == f"has {count} digits; expected 54 or 63"
        assert error.kind == "installation ID"
        assert is_valid_installation_id(candidate) is False
        with pytest.raises(InvalidLength):
            format_installation_id(candidate)
        with pytest.raises(InvalidLength):
            validate_installation_id(candidate)


@pytest.mark.parametrize("count", CID_COUNTS)
def test_confirmation_id_with_a_wrong_digit_count_is_invalid_length(count: int) -> None:
    text = digits_of(count)
    for check in (True, False):
        with pytest.raises(InvalidLength) as info:
            ConfirmationId.parse(grouped(text, 6), check_digits=check)
        assert info.value.length == count
        assert info.value.expected == (42, 48)
        assert info.value.reason == f"has {count} digits; expected 42 or 48"
        assert info.value.kind == "confirmation ID"
    assert is_valid_confirmation_id(text) is False
    with pytest.raises(InvalidLength):
        format_confirmation_id(text)


def test_invalid_length_message_shape() -> None:
    with pytest.raises(InvalidLength) as info:
        InstallationId.parse("12345")
    assert str(info.value) == (
        "Invalid installation ID: '12345' (has 5 digits; expected 54 or 63)"
    )


def test_long_input_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidLength) as info:
        InstallationId.parse("1" * 500)
    assert info.value.text == "1" * 20 + "..."


# --- characters that are not digits or separators -----------------------------------------

BAD_CHARACTERS = {
    "letter": "a",
    "upper-letter": "O",
    "lower-l": "l",
    "dot": ".",
    "slash": "/",
    "underscore": "_",
    "comma": ",",
    "plus": "+",
    "arabic-indic-three": "\u0663",
    "superscript-two": "\u00b2",
    "fullwidth-three": "\uff13",
    "devanagari-five": "\u096b",
    "emoji": "\U0001f600",
    "nul": "\x00",
    "lone-surrogate": "\ud800",  # UTF-8 cannot encode it: refused before any encoding
}


@pytest.mark.parametrize("char", BAD_CHARACTERS.values(), ids=BAD_CHARACTERS.keys())
@pytest.mark.parametrize("index", [0, 10, 62])
def test_installation_id_with_a_non_digit_is_invalid_format(char: str, index: int) -> None:
    # Replace one digit: the count is wrong as well, and the character is what is reported.
    text = IID_63[:index] + char + IID_63[index + 1 :]
    with pytest.raises(InvalidFormat) as info:
        InstallationId.parse(text)
    error = info.value
    assert type(error) is InvalidFormat
    assert error.reason == f"{char!r} at position {index + 1} is not a digit"
    assert is_valid_installation_id(text) is False
    with pytest.raises(InvalidFormat, match="is not a digit"):
        format_installation_id(text)


@pytest.mark.parametrize("char", BAD_CHARACTERS.values(), ids=BAD_CHARACTERS.keys())
def test_installation_id_with_an_extra_non_digit_is_invalid_format(char: str) -> None:
    # Inserted between groups: the digit count alone would be right.
    text = grouped(IID_63, 7)
    text = text[:15] + char + text[15:]
    with pytest.raises(InvalidFormat) as info:
        InstallationId.parse(text)
    assert type(info.value) is InvalidFormat
    assert info.value.reason == f"{char!r} at position 16 is not a digit"


@pytest.mark.parametrize("char", BAD_CHARACTERS.values(), ids=BAD_CHARACTERS.keys())
def test_confirmation_id_with_a_non_digit_is_invalid_format(char: str) -> None:
    text = CID_48[:20] + char + CID_48[21:]
    for check in (True, False):
        with pytest.raises(InvalidFormat) as info:
            ConfirmationId.parse(text, check_digits=check)
        assert type(info.value) is InvalidFormat
        assert info.value.reason == f"{char!r} at position 21 is not a digit"
    assert is_valid_confirmation_id(text) is False
    with pytest.raises(InvalidFormat):
        format_confirmation_id(text)


def test_position_counts_from_the_first_non_blank_character() -> None:
    with pytest.raises(InvalidFormat) as info:
        InstallationId.parse("   12x" + IID_54[3:])
    assert info.value.reason == "'x' at position 3 is not a digit"


NOT_STRINGS = {
    "none": None,
    "int": int(IID_54),
    "bytes": IID_54.encode(),
    "list": [IID_54],
    "float": 1.0,
}


@pytest.mark.parametrize("value", NOT_STRINGS.values(), ids=NOT_STRINGS.keys())
def test_anything_but_a_string_is_invalid_format(value: object) -> None:
    name = type(value).__name__
    for parse, kind in (
        (InstallationId.parse, "installation ID"),
        (ConfirmationId.parse, "confirmation ID"),
        (InstallationId, "installation ID"),
        (ConfirmationId, "confirmation ID"),
    ):
        with pytest.raises(InvalidFormat) as info:
            parse(value)  # type: ignore[operator]  # the point of the test
        assert type(info.value) is InvalidFormat
        assert info.value.reason == f"expected a string, got {name}"
        assert info.value.kind == kind
    for function in (
        ids.compact,
        validate_installation_id,
        format_installation_id,
        validate_confirmation_id,
        format_confirmation_id,
    ):
        with pytest.raises(InvalidFormat):
            function(value)  # type: ignore[arg-type]  # the point of the test
    assert is_valid_installation_id(value) is False
    assert is_valid_confirmation_id(value) is False


# --- check digits -------------------------------------------------------------------------


def with_bad_group(digits: str, size: int, index: int, check: str) -> str:
    end = (index + 1) * size
    return digits[: end - 1] + check + digits[end:]


def wrong_checks(digits: str, size: int, index: int) -> list[str]:
    """Every check digit but the right one for group *index*: 9 per group, 7-9 included."""
    right = digits[(index + 1) * size - 1]
    return [c for c in "0123456789" if c != right]


IID_CHECK_CASES = [
    (digits, size, index)
    for digits, size in ((IID_63, 7), (IID_54, 6), (MICROSOFT_SAMPLE_IID, 6))
    for index in range(9)
]


@pytest.mark.parametrize(
    ("digits", "size", "index"),
    IID_CHECK_CASES,
    ids=[f"{len(d)}-{d[:4]}-group-{i + 1}" for d, _, i in IID_CHECK_CASES],
)
def test_installation_id_with_a_bad_check_digit_names_the_group(
    digits: str, size: int, index: int
) -> None:
    for check in wrong_checks(digits, size, index):
        text = grouped(with_bad_group(digits, size, index, check), size)
        with pytest.raises(InvalidChecksum) as info:
            InstallationId.parse(text)
        error = info.value
        assert error.group == str(index + 1)
        assert error.reason == f"check digit of group {index + 1} is wrong"
        assert error.kind == "installation ID"
        assert is_valid_installation_id(text) is False
        # format does not check digits; it groups what was typed.
        assert format_installation_id(text) == text


CID_CHECK_CASES = [
    (digits, index, letter)
    for digits in (CID_48, CID_42)
    for index, letter in enumerate("ABCDEFGH"[: len(digits) // 6])
]


@pytest.mark.parametrize(
    ("digits", "index", "letter"),
    CID_CHECK_CASES,
    ids=[f"{len(d)}-group-{g}" for d, _, g in CID_CHECK_CASES],
)
def test_confirmation_id_with_a_bad_check_digit_names_the_group_letter(
    digits: str, index: int, letter: str
) -> None:
    for check in wrong_checks(digits, 6, index):
        text = grouped(with_bad_group(digits, 6, index, check), 6)
        with pytest.raises(InvalidChecksum) as info:
            ConfirmationId.parse(text)
        assert info.value.group == letter
        assert info.value.reason == f"check digit of group {letter} is wrong"
        assert is_valid_confirmation_id(text) is False
        assert format_confirmation_id(text) == text
        # The escape hatch for CIDs whose rule is unconfirmed (domain-facts §2.3).
        unchecked = ConfirmationId.parse(text, check_digits=False)
        assert str(unchecked) == text
        assert unchecked.layout.digit_count == len(digits)


def test_the_first_bad_group_is_named() -> None:
    text = with_bad_group(with_bad_group(IID_63, 7, 6, "9"), 7, 3, "8")
    with pytest.raises(InvalidChecksum) as info:
        InstallationId.parse(text)
    assert info.value.group == "4"
    cid = with_bad_group(with_bad_group(CID_48, 6, 7, "7"), 6, 2, "9")
    with pytest.raises(InvalidChecksum) as cid_info:
        ConfirmationId.parse(cid)
    assert cid_info.value.group == "C"


def test_check_digits_7_8_9_are_never_valid() -> None:
    # 7, 8 and 9 are 0, 1 and 2 mod 7, but a check digit is the residue itself.
    for data, congruent in (("00000", "7"), ("10000", "8"), ("01000", "9")):
        text = (data + congruent) + "123450" * 8
        with pytest.raises(InvalidChecksum) as info:
            InstallationId.parse(text)
        assert info.value.group == "1"


def test_checksum_message_shape() -> None:
    with pytest.raises(InvalidChecksum) as info:
        ConfirmationId.parse("000000-000001-000000-000000-000000-000000-000000-000000")
    assert str(info.value) == (
        "Invalid confirmation ID: '000000-000001-000000...' (check digit of group B is wrong)"
    )


@pytest.mark.parametrize(
    ("digits", "size"),
    [(IID_63, 7), (IID_54, 6), (CID_48, 6), (CID_42, 6)],
    ids=["63", "54", "48", "42"],
)
def test_every_single_digit_change_is_caught_unless_it_keeps_the_sum_mod_7(
    digits: str, size: int
) -> None:
    """Exhaustive over one vector of each layout: a changed data digit is missed exactly
    when old and new are equal mod 7 (0/7, 1/8, 2/9), since weights 1 and 2 are invertible
    mod 7; a changed check digit is always caught."""
    is_iid = len(digits) in (54, 63)
    parse = InstallationId.parse if is_iid else ConfirmationId.parse
    missed = caught = 0
    for position, old in enumerate(digits):
        for new in "0123456789":
            if new == old:
                continue
            text = digits[:position] + new + digits[position + 1 :]
            is_check = position % size == size - 1
            expect_caught = is_check or (int(new) - int(old)) % 7 != 0
            if expect_caught:
                with pytest.raises(InvalidChecksum) as info:
                    parse(text)
                group = position // size
                assert info.value.group == (str(group + 1) if is_iid else "ABCDEFGH"[group])
                caught += 1
            else:
                assert parse(text).digits == text
                missed += 1
    assert caught + missed == len(digits) * 9
    assert missed > 0  # the vectors hold 0, 1, 2, 7, 8 or 9 somewhere


# --- strict constructors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "text", "error"),
    [
        (InstallationId, grouped(IID_63, 7), InvalidFormat),
        (InstallationId, " " + IID_63, InvalidFormat),
        (InstallationId, IID_63.replace("0", " ", 1), InvalidLength),
        (InstallationId, with_bad_group(IID_63, 7, 0, "9"), InvalidChecksum),
        (InstallationId, CID_48, InvalidLength),
        (ConfirmationId, grouped(CID_48, 6), InvalidFormat),
        (ConfirmationId, f"{CID_48}\n", InvalidFormat),
        (ConfirmationId, IID_54, InvalidLength),
    ],
    ids=[
        "iid-grouped",
        "iid-whitespace",
        "iid-space-for-digit",
        "iid-bad-check",
        "iid-given-cid",
        "cid-grouped",
        "cid-newline",
        "cid-given-iid",
    ],
)
def test_strict_constructors_take_compact_checked_digits_only(
    cls: type[InstallationId | ConfirmationId], text: str, error: type[ValidationError]
) -> None:
    with pytest.raises(error) as info:
        cls(text)
    assert type(info.value) is error
    if error is InvalidFormat:
        assert info.value.reason == "the constructor takes compact digits; use parse()"


def test_the_cid_constructor_checks_the_layout_but_not_the_check_digits() -> None:
    # The rule is unconfirmed for modern CIDs: one accepted with check_digits=False must
    # survive attrs.evolve and storage, which both go through the constructor.
    unchecked = with_bad_group(CID_48, 6, 7, "8")
    with pytest.raises(InvalidChecksum):
        ConfirmationId.parse(unchecked)
    cid = ConfirmationId(unchecked)
    assert cid == ConfirmationId.parse(unchecked, check_digits=False)
    assert attrs.evolve(cid) == cid


# --- the functional API -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" 123450-123450 ", "123450123450"),
        ("1 2-3", "123"),
        ("", ""),
        ("abc", "abc"),  # compact does not validate
    ],
    ids=["grouped", "mixed", "empty", "letters"],
)
def test_compact(text: str, expected: str) -> None:
    assert ids.compact(text) == expected


def test_format_functions_regroup_without_checking_digits() -> None:
    unchecked_iid = "1234567" * 9  # group 1 is wrong
    assert not is_valid_installation_id(unchecked_iid)
    assert format_installation_id(unchecked_iid) == grouped(unchecked_iid, 7)
    assert format_installation_id(" ".join(unchecked_iid)) == grouped(unchecked_iid, 7)
    unchecked_cid = "123451" * 8
    assert format_confirmation_id(unchecked_cid) == grouped(unchecked_cid, 6)
    with pytest.raises(InvalidChecksum):
        validate_confirmation_id(unchecked_cid)
    with pytest.raises(InvalidChecksum):
        validate_installation_id(unchecked_iid)


ODD_OBJECTS = [
    None, 0, -1, 1.5, True, b"", b"123450" * 9, bytearray(), [], {}, object(), "", " ", "-",
    "\x00", "\ud800", "\u0663" * 54, "1" * 10_000, ["123450"] * 9, InstallationId.parse(IID_54),
]  # fmt: skip


@pytest.mark.parametrize(
    "value", ODD_OBJECTS, ids=[f"{type(v).__name__}-{i}" for i, v in enumerate(ODD_OBJECTS)]
)
def test_is_valid_functions_never_raise(value: object) -> None:
    assert is_valid_installation_id(value) is False
    assert is_valid_confirmation_id(value) is False


class _Lying(str):
    __slots__ = ()

    def strip(self, *_: object) -> str:  # type: ignore[override]  # the point of the test
        raise AssertionError("compact() trusted a str subclass")


def test_compact_reads_a_str_subclass_as_the_string_it_is() -> None:
    assert ids.compact(_Lying(" 123450-123450 ")) == "123450123450"


def test_a_megabyte_of_digits_names_the_first_character_that_is_not_one() -> None:
    with pytest.raises(InvalidFormat, match=r"'x' at position 1000001 is not a digit"):
        InstallationId.parse("1" * 1_000_000 + "x")
