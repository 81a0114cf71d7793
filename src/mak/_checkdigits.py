"""Pure check algorithms: the mod-7 group check digit and CRC-32/BZIP2.

These say whether symbols are *well formed*. They cannot tell a genuine key or ID from a
well-formed invention, and nothing here produces a key or a confirmation ID.

The group rule (domain-facts §2.3): the last digit of each group of an installation or
confirmation ID is the weighted sum of the group's other digits, with weights 1, 2, 1,
2, ... from the left, modulo 7.

>>> group_check_digit("12345")  # 1 + 4 + 3 + 8 + 5 = 21
0
>>> is_valid_group("123450")
True
>>> is_valid_group("123456")
False

CRC-32/BZIP2 (polynomial 0x04C11DB7, initial value and final XOR 0xFFFFFFFF, no
reflection) has the standard check value for ``b"123456789"``:

>>> hex(crc32_bzip2(b"123456789"))
'0xfc891918'
"""

from __future__ import annotations

import zlib
from typing import Final

__all__ = [
    "crc32_bzip2",
    "first_bad_group",
    "group_check_digit",
    "group_check_digits",
    "is_valid_group",
    "key_checksum",
]


def group_check_digit(data: str) -> int:
    """Return the check digit of a group's data digits (weights 1, 2, 1, ... mod 7).

    >>> group_check_digit("000000")
    0
    >>> group_check_digit("999999")  # (9 + 18) * 3 = 81 = 11 * 7 + 4
    4
    """
    return sum(int(d) * (1 + i % 2) for i, d in enumerate(data)) % 7


def group_check_digits(data: str, group_size: int) -> str:
    """Return the check digit of each group of *group_size* digits of *data*, as digits.

    Each is :func:`group_check_digit` of its group, all found at once by the big-integer
    product :func:`_all_groups_pass` uses, with a kernel of the data weights alone: the
    byte at the start of each group holds its weighted sum. *data* is ASCII digits, a
    whole number of groups of 5 or 6 (the data digits of every ID layout).

    >>> group_check_digits("12345" "99999", 5), group_check_digits("123450" "999999", 6)
    ('00', '04')
    """
    _, sums = _weighted_sums(data, group_size, _DATA_KERNELS[group_size])
    return sums.translate(_CHECK_DIGIT_OF_SUM).decode("ascii")


def is_valid_group(group: str) -> bool:
    """Return whether the last digit of *group* is the check digit of the others.

    >>> is_valid_group("1234566")
    False
    >>> is_valid_group("1234565")
    True
    """
    return group_check_digit(group[:-1]) == int(group[-1])


def first_bad_group(digits: str, group_size: int) -> int | None:
    """Return the index of the first group of *digits* failing :func:`is_valid_group`.

    *digits* are ASCII digits, a whole number of groups of 6 or 7; ``None`` means every
    group passes.

    >>> first_bad_group("123450" "123451", 6), first_bad_group("123450" * 2, 6)
    (1, None)
    """
    if _all_groups_pass(digits, group_size):
        return None
    return next(
        index
        for index, start in enumerate(range(0, len(digits), group_size))
        if not is_valid_group(digits[start : start + group_size])
    )


def _all_groups_pass(digits: str, group_size: int) -> bool:
    """Check every group at once, with one big-integer multiplication.

    Read as bytes of digit values, the ID is an integer with one digit in each byte.
    Multiplied by a kernel whose bytes are the group weights (1, 2, 1, ... and 6, which
    is -1 mod 7, for the check digit), the byte at the end of each group holds that
    group's weighted sum minus its check digit, mod 7; the sums stay below 256, so bytes
    never carry into each other. A group passes when that sum is 0 mod 7 and its check
    digit is below 7 (the congruence alone would accept 7, 8, 9 for 0, 1, 2).
    """
    values, sums = _weighted_sums(digits, group_size, _KERNELS[group_size])
    checks = values[group_size - 1 :: group_size]
    return not (
        sums.translate(None, _MULTIPLES_OF_7) or checks.translate(None, _CHECK_DIGIT_VALUES)
    )


def _weighted_sums(digits: str, group_size: int, kernel: int) -> tuple[bytes, bytes]:
    """Return *digits* as byte values, and each group's sum weighted by *kernel*, a byte each."""
    values = digits.encode("ascii").translate(_DIGIT_VALUES)
    product = int.from_bytes(values, "big") * kernel
    return values, product.to_bytes(len(values) + group_size, "big")[group_size::group_size]


def _kernel(group_size: int) -> int:
    weights = [*(1 + m % 2 for m in range(group_size - 1)), 6]
    # Least significant byte first: the digit at offset m of a group meets weight m in
    # the same byte of the product, whatever m is.
    return int.from_bytes(bytes(weights), "little")


_KERNELS: Final = {size: _kernel(size) for size in (6, 7)}
# The data weights 1, 2, 1, ... alone, least significant byte first as in _kernel.
_DATA_KERNELS: Final = {
    size: int.from_bytes(bytes(1 + m % 2 for m in range(size)), "little") for size in (5, 6)
}
_CHECK_DIGIT_OF_SUM: Final = bytes(ord("0") + total % 7 for total in range(256))
_DIGIT_VALUES: Final = bytes((b - 48) % 256 for b in range(256))
_MULTIPLES_OF_7: Final = bytes(range(0, 256, 7))
_CHECK_DIGIT_VALUES: Final = bytes(range(7))


def crc32_bzip2(data: bytes) -> int:
    """Return the CRC-32/BZIP2 of *data*.

    zlib's CRC-32 is the same polynomial with every bit reflected, so mirroring each byte
    on the way in and the 32-bit result on the way out turns one into the other, at C speed.

    >>> crc32_bzip2(b"")
    0
    >>> hex(crc32_bzip2(bytes(16)))
    '0xaad2dd37'
    """
    reflected = zlib.crc32(data.translate(_REVERSED_BYTES)).to_bytes(4, "little")
    return int.from_bytes(reflected.translate(_REVERSED_BYTES), "big")


_REVERSED_BYTES: Final = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def key_checksum(payload: bytes) -> int:
    """Return the 10-bit product key checksum of *payload*: the low bits of its CRC-32/BZIP2.

    The low 10 bits of the mirrored CRC are the top 10 bits of zlib's, mirrored, so one
    table lookup replaces the 32-bit mirror (this runs for every key parsed).

    >>> key_checksum(bytes(16)) == crc32_bzip2(bytes(16)) & 0x3FF
    True
    """
    return _REVERSED_TOP_10_BITS[zlib.crc32(payload.translate(_REVERSED_BYTES)) >> 22]


_REVERSED_TOP_10_BITS: Final = tuple(int(f"{v:010b}"[::-1], 2) for v in range(1024))
