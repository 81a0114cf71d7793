"""Product keys: 25 symbols, read leniently, checked as far as a public rule allows.

A key of Windows 8 / Office 2013 and later (``PKEY2009``) holds exactly one ``N``; it is
decoded into its fields and its 10-bit checksum verified (domain-facts §1.2-§1.4). An
older key (``PKEY2005``) can only be checked for its alphabet and length. A passing
checksum means *well formed*, never *genuine*: only Microsoft can say a key is real.

Keys are secrets, so ``str()`` and ``repr()`` show only the last five symbols (the
partial product key that Windows itself shows); :meth:`ProductKey.reveal` gives the rest.

>>> key = ProductKey.parse("w269n wfgwx yvc9b 4j6c9 t83gx")
>>> key
ProductKey('XXXXX-XXXXX-XXXXX-XXXXX-T83GX')
>>> key.algorithm, key.fields.group_id, key.fields.serial
(<KeyAlgorithm.PKEY2009: 'msft:rm/algorithm/pkey/2009'>, 3311, 1)
>>> is_valid("W269N-WFGWX-YVC9B-4J6C9-T83GY")
False
"""

from __future__ import annotations

import enum
import re
from typing import TYPE_CHECKING, Final

import attrs

from mak._checkdigits import key_checksum
from mak.errors import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "ALPHABET",
    "KeyAlgorithm",
    "KeyFields",
    "ProductKey",
    "compact",
    "format",
    "is_valid",
    "validate",
]

ALPHABET: Final = "BCDFGHJKMPQRTVWXY2346789"
"""The 24 symbols of a product key, in digit order (``B`` is 0, ``9`` is 23)."""

_KIND: Final = "product key"
_LENGTH: Final = 25
_PARTIAL: Final = 5
_SEPARATORS: Final = ("-", "\u2013", "\u2014", " ")  # hyphen, en dash, em dash, space

# bytes.translate tables: key symbols to the digits int(..., 24) reads, and the symbols.
_BASE24: Final = b"0123456789ABCDEFGHIJKLMN"
_TO_BASE24: Final = bytes(
    _BASE24[ALPHABET.index(chr(b))] if chr(b) in ALPHABET else ord("!") for b in range(256)
)
_SYMBOLS: Final = ALPHABET.encode()
# Finds the first character that is no key symbol in C: a Python loop over a pasted 10 MB
# "key" takes a second. Lower-case ASCII letters count, as compact() upper-cases them.
_NOT_A_SYMBOL: Final = re.compile(f"[^{ALPHABET}N]", re.IGNORECASE | re.ASCII)

_N_DIGIT_WEIGHT: Final = 24**24  # the N position is the most significant of 25 digits
_CHECKSUM_SHIFT: Final = 103
_CHECKSUM_MASK: Final = 0x3FF << _CHECKSUM_SHIFT
_PAYLOAD_MASK: Final = ((1 << 128) - 1) ^ _CHECKSUM_MASK


class KeyAlgorithm(enum.Enum):
    """The key encoding, named as the Software Protection Platform names it."""

    PKEY2005 = "msft:rm/algorithm/pkey/2005"
    """Vista, 7, Server 2008 (R2), Office 2010: no ``N``, no offline checksum."""
    PKEY2009 = "msft:rm/algorithm/pkey/2009"
    """Windows 8 / Office 2013 and later: one ``N``, a checkable 10-bit checksum."""


@attrs.frozen
class KeyFields:
    """The fields a ``PKEY2009`` key encodes (domain-facts §1.3).

    ``security`` is most of the key's secret, so the repr hides it.

    >>> ProductKey.parse("NPPR9-FWDCX-D2C8J-H872K-2YT43").fields
    KeyFields(group_id=3290, serial=3, security=<hidden>, checksum=..., upgrade=False)
    """

    group_id: int
    """20 bits: the product, edition and channel configuration."""
    serial: int
    """30 bits: the serial number within the group."""
    security: int = attrs.field(repr=lambda _: "<hidden>")
    """53 bits that only Microsoft can check."""
    checksum: int
    """10 bits: CRC-32/BZIP2 of the other fields."""
    upgrade: bool
    """Whether the key is an upgrade key."""


class ProductKey:
    """A well-formed product key; ``str()`` and ``repr()`` are masked.

    ``ProductKey(text)`` takes the canonical ``AAAAA-BBBBB-CCCCC-DDDDD-EEEEE`` form;
    :meth:`parse` is lenient. Equality and hashing use the whole key. Instances are
    immutable.

    Unlike mak's other value objects this is not an attrs class, on purpose:
    ``attrs.asdict()`` of a record holding a key leaves the key as this object, masked,
    instead of turning it into a dict with the whole key in it.

    >>> ProductKey("W269N-WFGWX-YVC9B-4J6C9-T83GX") == ProductKey.parse("W269NWFGWXYVC9B4J6C9T83GX")
    True
    >>> print(ProductKey.parse("NPPR9-FWDCX-D2C8J-H872K-2YT43"))
    XXXXX-XXXXX-XXXXX-XXXXX-2YT43
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        canonical = _read(value)
        if canonical != value:
            raise InvalidFormat(
                _KIND, _masked(value), "the constructor takes the canonical form; use parse()"
            )
        object.__setattr__(self, "_value", canonical)

    @classmethod
    def parse(cls, text: object) -> Self:
        """Return the product key in *text*.

        Surrounding whitespace is ignored, case too; groups may be separated by hyphens,
        en or em dashes, spaces or nothing.

        Raises :class:`~mak.errors.InvalidFormat` for a symbol outside the key alphabet
        or a misplaced ``N``, :class:`~mak.errors.InvalidLength` unless there are 25
        symbols, and :class:`~mak.errors.InvalidChecksum` when a ``PKEY2009`` key's
        checksum does not match. The message masks all but the last five symbols.

        >>> ProductKey.parse("W269N-WFGWX-YVC9B-4J6C9-T83GY")
        Traceback (most recent call last):
        mak.errors.InvalidChecksum: Invalid product key: 'XXXXX-XXXXX-XXXXX-XXXXX-T83GY' (checksum does not match)
        """
        key = object.__new__(cls)
        object.__setattr__(key, "_value", _read(text))
        return key

    def reveal(self) -> str:
        """Return the whole key in canonical form. Handle it as the secret it is."""
        return self._value

    @property
    def partial(self) -> str:
        """The last five symbols: the partial product key Windows shows."""
        return self._value[-_PARTIAL:]

    @property
    def algorithm(self) -> KeyAlgorithm:
        """``PKEY2009`` when the key holds an ``N``, else ``PKEY2005``."""
        return KeyAlgorithm.PKEY2009 if "N" in self._value else KeyAlgorithm.PKEY2005

    @property
    def fields(self) -> KeyFields | None:
        """The decoded fields of a ``PKEY2009`` key; ``None`` for ``PKEY2005``."""
        if "N" not in self._value:
            return None
        raw = self._value.replace("-", "").encode("ascii")
        value = _number(raw, raw.index(b"N"))
        if value is None:  # pragma: no cover - the constructor admits only valid keys
            raise AssertionError
        return KeyFields(
            group_id=value & 0xFFFFF,
            serial=(value >> 20) & 0x3FFFFFFF,
            security=(value >> 50) & ((1 << 53) - 1),
            checksum=(value >> _CHECKSUM_SHIFT) & 0x3FF,
            upgrade=bool((value >> 113) & 1),
        )

    def __str__(self) -> str:
        return _masked(self._value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_masked(self._value)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ProductKey):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((ProductKey, self._value))

    def __setattr__(self, name: str, value: object) -> None:
        raise attrs.exceptions.FrozenInstanceError

    def __delattr__(self, name: str) -> None:
        raise attrs.exceptions.FrozenInstanceError

    def __reduce__(self) -> tuple[type[ProductKey], tuple[str]]:
        return (type(self), (self._value,))


def _read(text: object, *, checksum: bool = True) -> str:
    """Return the canonical form of the key in *text*, or raise the first problem."""
    if not isinstance(text, str):
        raise InvalidFormat.wrong_type(_KIND, text)
    if type(text) is not str:  # a subclass may override strip() and friends
        text = str.__str__(text)
    upper, symbols = _normalised(text.strip())
    raw = symbols.encode("ascii", "replace")
    position = raw.find(b"N")
    if len(raw) != _LENGTH or position == _LENGTH - 1:
        raise _malformed(symbols)
    if position < 0 or not checksum:
        if raw.replace(b"N", b"", 1).translate(None, _SYMBOLS):
            raise _malformed(symbols)
    else:
        number = _number(raw, position)
        if number is None:
            raise _malformed(symbols)
        payload = (number & _PAYLOAD_MASK).to_bytes(16, "little")
        if key_checksum(payload) != (number >> _CHECKSUM_SHIFT) & 0x3FF:
            raise InvalidChecksum(_KIND, _masked_symbols(symbols), "checksum does not match")
    if len(upper) == _LENGTH + 4 and upper[5::6] == "----":  # already grouped
        return upper
    return f"{symbols[:5]}-{symbols[5:10]}-{symbols[10:15]}-{symbols[15:20]}-{symbols[20:]}"


def _normalised(stripped: str) -> tuple[str, str]:
    """Return *stripped* upper-cased (empty unless ASCII), and its symbols without separators.

    Non-ASCII letters are never upper-cased, and a text that keeps some is no key: its
    symbols keep their case too, which spares a copy of a long paste.
    """
    if stripped.isascii():  # O(1) on str
        upper = stripped.upper()
        return upper, upper.replace("-", "").replace(" ", "")
    symbols = _unseparated(stripped)  # en or em dashes between the groups, or no key
    return "", symbols.upper() if symbols.isascii() else symbols


def _number(raw: bytes, position: int) -> int | None:
    """Return the number a ``PKEY2009`` key spells (N position, then symbols), or ``None``.

    ``None`` means a byte outside the alphabet (a second N included): every such byte
    translates to "!", which int() refuses, so one call both checks and decodes.
    """
    digits = raw.replace(b"N", b"", 1).translate(_TO_BASE24)
    try:
        return int(digits, 24) + position * _N_DIGIT_WEIGHT
    except ValueError:
        # Not raised from here: int()'s message spells the key's digits, and an
        # exception raised in this block would keep it as __context__.
        return None


def _malformed(symbols: str) -> InvalidFormat:
    """Return the error for *symbols*, the separator-free text that :func:`_read` refused."""
    masked = _masked_symbols(symbols)
    stray = _NOT_A_SYMBOL.search(symbols)
    if stray is not None:
        char, position = _ascii_upper(stray.group()), stray.start() + 1
        return InvalidFormat(_KIND, masked, f"{char!r} at position {position} is not a key symbol")
    if len(symbols) != _LENGTH:
        return InvalidLength(
            _KIND, masked, length=len(symbols), expected=(_LENGTH,), unit="symbols"
        )
    if symbols.count("N") > 1:
        reason = f"has {symbols.count('N')} N symbols; a key has at most one"
    else:
        reason = "N cannot be the last symbol"
    return InvalidFormat(_KIND, masked, reason)


def _grouped(symbols: str) -> str:
    return "-".join(symbols[i : i + 5] for i in range(0, len(symbols), 5))


def _masked(text: str) -> str:
    """Return *text* grouped by five, its symbols shown as X.

    Only a whole key keeps its last five symbols, the partial product key that Windows
    itself shows; in a cut-off or overlong paste those five could be secret ones.
    """
    return _masked_symbols(compact(text))


def _masked_symbols(symbols: str) -> str:
    """Return :func:`_masked` of text that is already without separators."""
    count = len(symbols)
    if count > _LENGTH + _PARTIAL:  # garbage: a long paste is not worth showing
        return f"XXXXX-...-{'X' * (count % _PARTIAL or _PARTIAL)}"
    shown = _ascii_upper(symbols[-_PARTIAL:]) if count == _LENGTH else ""
    return _grouped("X" * (count - len(shown)) + shown)


def _unseparated(text: str) -> str:
    """Return *text* without surrounding whitespace and without group separators."""
    text = text.strip()
    for separator in _SEPARATORS:
        text = text.replace(separator, "")
    return text


def _ascii_upper(text: str) -> str:
    """Return *text* with its ASCII letters upper-cased, and nothing else changed.

    str.upper() would turn some characters into key symbols (U+FB00, the ff ligature,
    becomes "FF"). bytes.upper() changes ASCII letters only, and UTF-8 writes every other
    character in bytes above 0x7F: one pass in C, where a loop over the characters takes
    a second for a 10 MB paste. Lone surrogates pass through unchanged.
    """
    if text.isascii():
        return text.upper()
    return text.encode("utf-8", "surrogatepass").upper().decode("utf-8", "surrogatepass")


def compact(text: str) -> str:
    """Return *text* upper-cased, without surrounding whitespace or group separators.

    >>> compact(" w269n wfgwx yvc9b-4j6c9 t83gx ")
    'W269NWFGWXYVC9B4J6C9T83GX'
    """
    if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
        raise InvalidFormat.wrong_type(_KIND, text)
    # As in _read(): a str subclass may override strip() and friends.
    return _ascii_upper(_unseparated(str.__str__(text)))


def validate(text: str) -> str:
    """Return the key in *text* in canonical form, or raise a :class:`~mak.errors.ValidationError`.

    >>> validate("w269nwfgwxyvc9b4j6c9t83gx")
    'W269N-WFGWX-YVC9B-4J6C9-T83GX'
    """
    return _read(text)


def is_valid(text: object) -> bool:
    """Return whether *text* is a well-formed product key. Never raises, whatever *text* is.

    >>> is_valid("W269N-WFGWX-YVC9B-4J6C9-T83GX"), is_valid(None), is_valid("N" * 25)
    (True, False, False)
    """
    try:
        _read(text)
    except ValidationError:
        return False
    return True


def format(text: str) -> str:  # noqa: A001  # stdnum's name for it
    """Return *text* grouped as a key, checking its symbols but not its checksum.

    For showing what someone typed; use :func:`validate` to accept a key.

    >>> format("w269nwfgwxyvc9b4j6c9t83gy")
    'W269N-WFGWX-YVC9B-4J6C9-T83GY'
    """
    return _read(text, checksum=False)
