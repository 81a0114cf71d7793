"""Installation IDs and confirmation IDs: the numbers exchanged in offline activation.

A computer shows an installation ID (IID); Microsoft's clearinghouse answers with a
confirmation ID (CID) bound to it. Both are groups of digits whose last digit is a check
digit. Neither is secret. This module reads and checks them;
it never computes a CID from an IID.

>>> iid = InstallationId.parse("0000000 0000000 0000000 0000000 0000000 0000000 0000000 0000000 1234565")
>>> iid.layout, iid.groups[-1]
(<IdLayout.IID_63: 63>, '1234565')
>>> is_valid_confirmation_id("123450-123450-123450-123450-123450-123450-123450-123450")
True
"""

from __future__ import annotations

import enum
import operator
import re
from typing import TYPE_CHECKING, ClassVar, Final, TypeVar

import attrs

from mak._checkdigits import first_bad_group
from mak.errors import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "ConfirmationId",
    "IdLayout",
    "InstallationId",
    "compact",
    "format_confirmation_id",
    "format_installation_id",
    "is_valid_confirmation_id",
    "is_valid_installation_id",
    "validate_confirmation_id",
    "validate_installation_id",
]

_IID: Final = "installation ID"
_CID: Final = "confirmation ID"
_SHOWN_WIDTH: Final = 20


class IdLayout(enum.Enum):
    """The digit layouts of IDs, named by kind and digit count.

    >>> IdLayout.IID_54.group_count, IdLayout.IID_54.group_size
    (9, 6)
    """

    IID_63 = 63
    """Windows 8 and later, Office 2013 and later: 9 groups of 7 digits."""
    IID_54 = 54
    """Windows XP, Vista and 7, Office 2010: 9 groups of 6 digits."""
    CID_48 = 48
    """Vista and later: 8 groups of 6 digits."""
    CID_42 = 42
    """Windows XP: 7 groups of 6 digits."""

    @property
    def digit_count(self) -> int:
        """The number of digits, check digits included."""
        return self.value

    @property
    def group_size(self) -> int:
        """The digits in each group, its check digit included."""
        return 7 if self is IdLayout.IID_63 else 6

    @property
    def group_count(self) -> int:
        """The number of groups."""
        return self.value // self.group_size

    @property
    def kind(self) -> str:
        """``"installation ID"`` or ``"confirmation ID"``."""
        return _IID if self.name.startswith("IID") else _CID


_IID_LAYOUTS: Final = {layout.value: layout for layout in (IdLayout.IID_54, IdLayout.IID_63)}
_CID_LAYOUTS: Final = {layout.value: layout for layout in (IdLayout.CID_42, IdLayout.CID_48)}
_LAYOUTS: Final = {layout.value: layout for layout in IdLayout}
# Each layout's groups cut out of the digits in one call: IDs are shown and stored
# grouped, several times per product in a proxy activation.
_GROUPS_OF: Final = {
    layout.value: operator.itemgetter(
        *(
            slice(start, start + layout.group_size)
            for start in range(0, layout.value, layout.group_size)
        )
    )
    for layout in IdLayout
}
# Each layout's group size by digit count: the enum's property takes longer to ask, on
# every ID read.
_GROUP_SIZE_OF: Final = {layout.value: layout.group_size for layout in IdLayout}


def compact(text: str) -> str:
    """Return *text* without surrounding whitespace and without spaces or hyphens.

    >>> compact(" 123450-123450 ")
    '123450123450'
    """
    if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
        raise InvalidFormat.wrong_type("ID", text)
    text = str.__str__(text)  # a subclass may override strip() and friends
    return text.strip().replace("-", "").replace(" ", "")


class _GroupedDigits:
    """What installation and confirmation IDs share: digits shown in groups."""

    __slots__ = ()
    digits: str

    @property
    def layout(self) -> IdLayout:
        """The layout the digit count implies."""
        return _LAYOUTS[len(self.digits)]

    @property
    def groups(self) -> tuple[str, ...]:
        """The groups of digits, each ending in its check digit."""
        digits = self.digits
        groups: tuple[str, ...] = _GROUPS_OF[len(digits)](digits)
        return groups

    def __str__(self) -> str:
        return "-".join(self.groups)

    def __hash__(self) -> int:
        # Of the digits alone, which equality compares (with the kind): attrs' hash builds
        # a tuple at each call, and IDs are the keys of the CIL and of each batch's
        # lookups, hashed several times per product. Each class names it, or attrs would
        # write its own.
        return hash(self.digits)


@attrs.frozen(str=False)
class InstallationId(_GroupedDigits):
    """An installation ID: 63 digits (9 groups of 7) or 54 digits (9 groups of 6).

    ``InstallationId(digits)`` takes the compact digits; :meth:`parse` is lenient about
    separators. Equal IDs have equal digits.

    >>> iid = InstallationId.parse("123450 123450 123450 123450 123450 123450 123450 123450 123450")
    >>> iid.layout
    <IdLayout.IID_54: 54>
    >>> print(iid)
    123450-123450-123450-123450-123450-123450-123450-123450-123450
    """

    kind: ClassVar[str] = _IID
    __hash__ = _GroupedDigits.__hash__
    digits: str = attrs.field(
        validator=lambda _, __, value: _check_canonical(_IID, value, check_digits=True)
    )

    @classmethod
    def parse(cls, text: object) -> Self:
        """Return the installation ID in *text*: digits with any spaces or hyphens.

        Raises :class:`~mak.errors.InvalidFormat` for anything but digits and separators,
        :class:`~mak.errors.InvalidLength` for a digit count other than 54 or 63, and
        :class:`~mak.errors.InvalidChecksum` naming the first group (1-9) whose check
        digit is wrong.
        """
        return _trusted(cls, _read(_IID, _IID_LAYOUTS, text, check_digits=True))


@attrs.frozen(str=False)
class ConfirmationId(_GroupedDigits):
    """A confirmation ID: 48 digits (8 groups of 6, A to H) or 42 digits (XP, 7 groups).

    :meth:`parse` checks the group check digits unless told not to. The constructor,
    ``ConfirmationId(digits)``, checks only the layout, because the check-digit rule is
    unconfirmed for modern CIDs: a CID once accepted with ``check_digits=False`` must
    survive ``attrs.evolve`` and a round trip through storage.

    >>> cid = ConfirmationId.parse("123450123450123450123450123450123450123450123450")
    >>> cid.groups[0], cid.layout
    ('123450', <IdLayout.CID_48: 48>)
    """

    kind: ClassVar[str] = _CID
    __hash__ = _GroupedDigits.__hash__
    digits: str = attrs.field(
        validator=lambda _, __, value: _check_canonical(_CID, value, check_digits=False)
    )

    @classmethod
    def parse(cls, text: object, *, check_digits: bool = True) -> Self:
        """Return the confirmation ID in *text*: digits with any spaces or hyphens.

        Groups are named A to H in errors. ``check_digits=False`` skips the group check:
        the rule is confirmed on XP-era CIDs but no public source confirms it for modern
        ones (domain-facts §2.3), so a caller holding a CID from Microsoft that fails the
        check can still read it.

        >>> ConfirmationId.parse("123451-" * 7 + "123451")
        Traceback (most recent call last):
        mak.errors.InvalidChecksum: Invalid confirmation ID: '123451-123451-123451...' (check digit of group A is wrong)
        >>> ConfirmationId.parse("123451" * 8, check_digits=False).groups[0]
        '123451'
        """
        return _trusted(cls, _read(_CID, _CID_LAYOUTS, text, check_digits=check_digits))


_Id = TypeVar("_Id", bound=_GroupedDigits)


def _trusted(cls: type[_Id], digits: str) -> _Id:
    """Build an ID from digits :func:`_read` has checked, without checking them again."""
    instance = object.__new__(cls)
    object.__setattr__(instance, "digits", digits)
    return instance


def _read(kind: str, layouts: dict[int, IdLayout], text: object, *, check_digits: bool) -> str:
    """Return the compact digits of *text* once they are a well-formed ID of *kind*."""
    if not isinstance(text, str):
        raise InvalidFormat.wrong_type(kind, text)
    if type(text) is not str:  # a subclass may override strip() and friends
        text = str.__str__(text)
    digits = compact(text)
    layout = layouts.get(len(digits))
    # ASCII digits: ASCII first, known at once; then the bytes' isdigit, which for ASCII
    # text says the same as str's in a quarter of the time (the length is 42 to 63 here).
    if layout is None or not (digits.isascii() and digits.encode().isdigit()):
        raise _malformed(kind, text, digits, layouts)
    if check_digits:
        bad = first_bad_group(digits, _GROUP_SIZE_OF[len(digits)])
        if bad is not None:
            label = str(bad + 1) if kind == _IID else "ABCDEFGH"[bad]
            raise InvalidChecksum(
                kind, _shown(text), f"check digit of group {label} is wrong", group=label
            )
    return digits


def _malformed(kind: str, text: str, digits: str, layouts: dict[int, IdLayout]) -> InvalidFormat:
    stray = _NOT_ALLOWED.search(text.strip())
    if stray is not None:
        char, position = stray.group(), stray.start() + 1
        return InvalidFormat(kind, _shown(text), f"{char!r} at position {position} is not a digit")
    return InvalidLength(
        kind, _shown(text), length=len(digits), expected=tuple(sorted(layouts)), unit="digits"
    )


# The first character other than an ASCII digit, a space or a hyphen, found in C: a Python
# loop over 10 MB of digits takes half a second.
_NOT_ALLOWED: Final = re.compile("[^0-9 -]")


def _check_canonical(kind: str, value: object, *, check_digits: bool) -> None:
    """Validate what the strict constructor gets: compact digits of a known layout."""
    layouts = _IID_LAYOUTS if kind == _IID else _CID_LAYOUTS
    digits = _read(kind, layouts, value, check_digits=check_digits)
    if digits != value:
        raise InvalidFormat(
            kind, _shown(digits), "the constructor takes compact digits; use parse()"
        )


def _shown(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _SHOWN_WIDTH else text[:_SHOWN_WIDTH] + "..."


def _well_formed(kind: str, layouts: dict[int, IdLayout], text: object) -> bool:
    try:
        _read(kind, layouts, text, check_digits=True)
    except ValidationError:
        return False
    return True


def validate_installation_id(text: str) -> str:
    """Return *text* as a canonical installation ID (groups joined by ``-``), or raise.

    >>> validate_installation_id("123450" * 9)
    '123450-123450-123450-123450-123450-123450-123450-123450-123450'
    """
    return str(InstallationId.parse(text))


def is_valid_installation_id(text: object) -> bool:
    """Return whether *text* is a well-formed installation ID; never raises.

    >>> is_valid_installation_id("123450" * 9), is_valid_installation_id(None)
    (True, False)
    """
    return _well_formed(_IID, _IID_LAYOUTS, text)


def format_installation_id(text: str) -> str:
    """Return *text* grouped as an installation ID, without checking its check digits.

    >>> format_installation_id("1234567" * 9)[:15]
    '1234567-1234567'
    """
    return str(_trusted(InstallationId, _read(_IID, _IID_LAYOUTS, text, check_digits=False)))


def validate_confirmation_id(text: str) -> str:
    """Return *text* as a canonical confirmation ID (groups joined by ``-``), or raise."""
    return str(ConfirmationId.parse(text))


def is_valid_confirmation_id(text: object) -> bool:
    """Return whether *text* is a well-formed confirmation ID; never raises."""
    return _well_formed(_CID, _CID_LAYOUTS, text)


def format_confirmation_id(text: str) -> str:
    """Return *text* grouped as a confirmation ID, without checking its check digits."""
    return str(_trusted(ConfirmationId, _read(_CID, _CID_LAYOUTS, text, check_digits=False)))
