"""Tests for mak._checkdigits against slow reference implementations written from the spec.

The references below follow domain-facts §1.4 and §2.3 literally (a per-group loop, a
bit-by-bit CRC), so the fast paths in the library are checked against the rule itself
rather than against themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mak._checkdigits import (
    crc32_bzip2,
    first_bad_group,
    group_check_digit,
    group_check_digits,
    is_valid_group,
    key_checksum,
)

if TYPE_CHECKING:
    import random

# --- references ---------------------------------------------------------------------------


def reference_check_digit(data: str) -> int:
    """(d1 + 2*d2 + d3 + 2*d4 + ...) mod 7, weights 1, 2, 1, 2 ... from the left."""
    total = 0
    for index, char in enumerate(data):
        weight = 1 if index % 2 == 0 else 2
        total += weight * int(char)
    return total % 7


def reference_group_ok(group: str) -> bool:
    # A check digit is a residue mod 7, so 7, 8 and 9 are never a valid check digit.
    return int(group[-1]) == reference_check_digit(group[:-1])


def reference_first_bad_group(digits: str, group_size: int) -> int | None:
    groups = [digits[i : i + group_size] for i in range(0, len(digits), group_size)]
    for index, group in enumerate(groups):
        if not reference_group_ok(group):
            return index
    return None


def reference_crc32_bzip2(data: bytes) -> int:
    """Bitwise CRC-32: poly 0x04C11DB7, init 0xFFFFFFFF, MSB first, final XOR 0xFFFFFFFF."""
    register = 0xFFFFFFFF
    for byte in data:
        register ^= byte << 24
        for _ in range(8):
            if register & 0x80000000:
                register = ((register << 1) ^ 0x04C11DB7) & 0xFFFFFFFF
            else:
                register = (register << 1) & 0xFFFFFFFF
    return register ^ 0xFFFFFFFF


def with_check(data: str) -> str:
    return data + str(reference_check_digit(data))


# --- group_check_digit / is_valid_group ---------------------------------------------------

CHECK_DIGIT_CASES = [
    # data, expected check digit, worked out by hand
    ("00000", 0),  # nothing
    ("12345", 0),  # 1 + 4 + 3 + 8 + 5 = 21
    ("10000", 1),  # weight 1 on the first digit
    ("01000", 2),  # weight 2 on the second
    ("00001", 1),  # weight 1 on the fifth
    ("99999", 0),  # 9 + 18 + 9 + 18 + 9 = 63 = 9 * 7
    ("99998", 6),  # 62 mod 7
    ("000000", 0),
    ("123456", 5),  # 1 + 4 + 3 + 8 + 5 + 12 = 33 = 4 * 7 + 5
    ("999999", 4),  # 81 = 11 * 7 + 4
    ("000001", 2),  # weight 2 on the sixth digit
    ("700000", 0),  # 7 is 0 mod 7
    ("030000", 6),  # 2 * 3
]


@pytest.mark.parametrize(
    ("data", "expected"), CHECK_DIGIT_CASES, ids=[c[0] for c in CHECK_DIGIT_CASES]
)
def test_group_check_digit_follows_the_weighted_mod_7_rule(data: str, expected: int) -> None:
    assert group_check_digit(data) == expected
    assert reference_check_digit(data) == expected


def test_group_check_digit_agrees_with_the_reference_on_every_5_digit_group() -> None:
    mismatches = [
        data
        for value in range(100_000)
        if group_check_digit(data := f"{value:05d}") != reference_check_digit(data)
    ]
    assert mismatches == []


def test_group_check_digits_agrees_with_the_reference_on_every_5_digit_group() -> None:
    # Eight groups at a time, as a confirmation ID's data comes.
    data = [f"{value:05d}" for value in range(100_000)]
    for start in range(0, len(data), 8):
        groups = data[start : start + 8]
        expected = "".join(str(reference_check_digit(group)) for group in groups)
        assert group_check_digits("".join(groups), 5) == expected


@pytest.mark.parametrize(("size", "groups"), [(5, 8), (5, 9), (6, 9), (6, 1)])
def test_group_check_digits_agrees_with_the_reference_on_random_data(
    rng: random.Random, size: int, groups: int
) -> None:
    for _ in range(2000):
        data = "".join(rng.choice("0123456789") for _ in range(size * groups))
        expected = "".join(
            str(reference_check_digit(data[i : i + size])) for i in range(0, len(data), size)
        )
        assert group_check_digits(data, size) == expected


def test_group_check_digits_of_the_largest_sums() -> None:
    # 9s everywhere give the largest weighted sums (63 and 81): no byte carries over.
    assert group_check_digits("9" * 45, 5) == "0" * 9
    assert group_check_digits("9" * 54, 6) == "4" * 9


VALID_GROUPS = ["000000", "123450", "100001", "010002", "999990", "1234565", "9999994", "0000000"]
INVALID_GROUPS = [
    "123451",  # off by one
    "123456",  # the docstring's counter-example
    "000007",  # 7 is 0 mod 7 but is not a check digit
    "100008",  # 8 is 1 mod 7
    "010009",  # 9 is 2 mod 7
    "0000007",
    "1000008",
    "0100009",
    "1234566",
    "9999995",
]


@pytest.mark.parametrize("group", VALID_GROUPS)
def test_is_valid_group_accepts_groups_ending_in_their_check_digit(group: str) -> None:
    assert is_valid_group(group) is True


@pytest.mark.parametrize("group", INVALID_GROUPS)
def test_is_valid_group_rejects_a_wrong_check_digit_including_7_8_9(group: str) -> None:
    assert is_valid_group(group) is False


@pytest.mark.parametrize("size", [6, 7])
def test_is_valid_group_agrees_with_the_reference_on_random_groups(
    size: int, rng: random.Random
) -> None:
    groups = ["".join(rng.choice("0123456789") for _ in range(size)) for _ in range(20_000)]
    groups += [with_check(g[:-1]) for g in groups[:5_000]]  # make sure valid ones are there
    disagreements = [g for g in groups if is_valid_group(g) != reference_group_ok(g)]
    assert disagreements == []
    assert any(is_valid_group(g) for g in groups)
    assert not all(is_valid_group(g) for g in groups)


# --- first_bad_group ----------------------------------------------------------------------

FIRST_BAD_CASES = [
    # (digits, group size, expected index) - built from hand-checked groups
    ("123450" * 9, 6, None),
    ("123451" + "123450" * 8, 6, 0),
    ("123450" * 8 + "123451", 6, 8),
    ("123450" * 3 + "000007" + "123450" * 5, 6, 3),  # 7 never passes, although 7 = 0 mod 7
    ("123450" * 3 + "100008" + "123450" * 5, 6, 3),
    ("123450" * 3 + "010009" + "123450" * 5, 6, 3),
    ("123451" * 2 + "123450" * 7, 6, 0),  # the first of several
    ("999990" * 9, 6, None),  # the largest digit sums the big-integer path must hold
    ("999999" * 9, 6, 0),
    ("1234565" * 9, 7, None),
    ("9999994" * 9, 7, None),
    ("9999994" * 8 + "9999999", 7, 8),
    ("0000000" * 4 + "0000007" + "0000000" * 4, 7, 4),
    ("0000000" * 4 + "1000008" + "0000000" * 4, 7, 4),
    ("0000000" * 4 + "0100009" + "0000000" * 4, 7, 4),
    ("123450" * 8, 6, None),  # a 48-digit confirmation ID
    ("123450" * 7 + "123459", 6, 7),  # a 42-digit one, last group bad
    ("123450", 6, None),
    ("123457", 6, 0),
]


@pytest.mark.parametrize(
    ("digits", "size", "expected"),
    FIRST_BAD_CASES,
    ids=[f"{len(c[0])}x{c[1]}-{c[2]}-{i}" for i, c in enumerate(FIRST_BAD_CASES)],
)
def test_first_bad_group_names_the_first_failing_group(
    digits: str, size: int, expected: int | None
) -> None:
    assert reference_first_bad_group(digits, size) == expected
    assert first_bad_group(digits, size) == expected


@pytest.mark.parametrize(("size", "groups"), [(6, 9), (6, 8), (6, 7), (7, 9)])
def test_first_bad_group_catches_every_wrong_check_digit_in_every_group(
    size: int, groups: int, rng: random.Random
) -> None:
    for _ in range(20):
        valid = [
            with_check("".join(rng.choice("0123456789") for _ in range(size - 1)))
            for _ in range(groups)
        ]
        assert first_bad_group("".join(valid), size) is None
        for index in range(groups):
            for check in "0123456789":
                changed = valid.copy()
                changed[index] = valid[index][:-1] + check
                expected = None if check == valid[index][-1] else index
                assert first_bad_group("".join(changed), size) == expected, (changed, index)


@pytest.mark.parametrize(("size", "groups"), [(6, 9), (6, 8), (6, 7), (7, 9)])
def test_first_bad_group_agrees_with_a_per_group_loop_on_random_ids(
    size: int, groups: int, rng: random.Random
) -> None:
    seen = set()
    for _ in range(3_000):
        parts = []
        for _ in range(groups):
            data = "".join(rng.choice("0123456789") for _ in range(size - 1))
            # Mostly valid groups, so that late groups get tested too; some 7/8/9 checks.
            roll = rng.random()
            if roll < 0.85:
                parts.append(with_check(data))
            elif roll < 0.92:
                parts.append(data + rng.choice("789"))  # never valid, sometimes congruent
            else:
                parts.append(data + rng.choice("0123456789"))
        digits = "".join(parts)
        expected = reference_first_bad_group(digits, size)
        seen.add(expected)
        assert first_bad_group(digits, size) == expected, digits
    # The sample must exercise "all pass" and a failure in every group position.
    assert seen == {None, *range(groups)}


# --- CRC-32/BZIP2 and the key checksum ----------------------------------------------------


def test_crc32_bzip2_has_the_standard_check_value() -> None:
    assert reference_crc32_bzip2(b"123456789") == 0xFC891918
    assert crc32_bzip2(b"123456789") == 0xFC891918
    # The raw CRC-32/MPEG-2 register is the complement (domain-facts §1.4 naming note).
    assert crc32_bzip2(b"123456789") ^ 0xFFFFFFFF == 0x0376E6E7


CRC_INPUTS = [
    b"",
    b"\x00",
    b"\xff",
    b"\x80",
    b"\x01",
    bytes(16),
    b"\xff" * 16,
    b"The quick brown fox jumps over the lazy dog",
    bytes(range(256)),
]


@pytest.mark.parametrize(
    "data", CRC_INPUTS, ids=[f"{len(d)}-bytes-{i}" for i, d in enumerate(CRC_INPUTS)]
)
def test_crc32_bzip2_matches_the_bitwise_reference(data: bytes) -> None:
    assert crc32_bzip2(data) == reference_crc32_bzip2(data)


def test_crc32_bzip2_matches_the_bitwise_reference_on_every_byte_and_random_data(
    rng: random.Random,
) -> None:
    assert [crc32_bzip2(bytes([b])) for b in range(256)] == [
        reference_crc32_bzip2(bytes([b])) for b in range(256)
    ]
    for length in range(70):
        data = rng.randbytes(length)
        assert crc32_bzip2(data) == reference_crc32_bzip2(data), data.hex()


def test_key_checksum_is_the_low_10_bits_of_crc32_bzip2(rng: random.Random) -> None:
    payloads = [bytes(16), b"\xff" * 16, *(rng.randbytes(16) for _ in range(3_000))]
    payloads += [bytes([b]) * 16 for b in range(256)]
    mismatches = [p for p in payloads if key_checksum(p) != reference_crc32_bzip2(p) & 0x3FF]
    assert mismatches == []
    # All 1024 values occur, so the fast path is not stuck on a few outputs.
    many = [rng.randbytes(16) for _ in range(20_000)]
    assert len({key_checksum(p) for p in many}) == 1024


@pytest.mark.parametrize(
    "data", [b"", b"123456789", bytes(range(40))], ids=["empty", "check", "40"]
)
def test_key_checksum_of_any_length_is_the_low_10_bits(data: bytes) -> None:
    assert key_checksum(data) == reference_crc32_bzip2(data) & 0x3FF
