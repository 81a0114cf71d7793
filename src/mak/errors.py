"""Every exception mak raises, in one place.

All of them derive from :class:`MakError`, so ``except MakError`` catches anything the
library refuses. Input that is not well formed raises a :class:`ValidationError`, which is
also a :class:`ValueError`. Every error carries structured attributes, so callers never
parse messages; messages name the input, with product keys masked.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "ActivationError",
    "ActivationLimitExceeded",
    "ConcurrencyConflict",
    "CsvlkLimitExceeded",
    "IllegalTransition",
    "ImportConflict",
    "InvalidChecksum",
    "InvalidComponent",
    "InvalidDocument",
    "InvalidFormat",
    "InvalidLength",
    "MakError",
    "NotFound",
    "ServiceRejected",
    "StorageError",
    "TransportError",
    "ValidationError",
]

MAK_LIMIT_EXCEEDED = 0xC004C020  # kept equal to mak.codes.MAK_LIMIT_EXCEEDED by a test
KMS_HOST_LIMIT_EXCEEDED = 0xC004C008  # likewise for mak.codes.KMS_HOST_LIMIT_EXCEEDED

_KEY_SYMBOLS: Final = "BCDFGHJKMNPQRTVWXY2346789"  # the 24 digits of a key, and its N
_KEY_SYMBOL: Final = f"[{_KEY_SYMBOLS}]"
# Groups of five or more key symbols, joined by single separators: a key, or a fragment
# of one, as people type them. English words break the groups (vowels, L, S and Z are
# not key symbols), so neighbouring words stay readable.
_KEY_LIKE: Final = re.compile(
    rf"{_KEY_SYMBOL}{{5,}}(?:[-\u2013\u2014 ]{_KEY_SYMBOL}{{5,}})*", re.IGNORECASE
)
_SYMBOL: Final = re.compile(_KEY_SYMBOL, re.IGNORECASE)
# Every character _SYMBOL matches, in a class matched without folding case: the symbols
# in both cases, and KELVIN SIGN, which folds to k (a test checks every code point).
# Every key-like run starts with five of them, and a search for five takes half the
# time of the masking substitution, which most text (record details) need not run.
_ANY_CASE_SYMBOL: Final = f"[{_KEY_SYMBOLS}{_KEY_SYMBOLS.lower()}\u212a]"
_FIVE_SYMBOLS: Final = re.compile(f"{_ANY_CASE_SYMBOL}{{5}}")
_SEPARATOR: Final = re.compile("[-\u2013\u2014 ]")
_LIMIT: Final = 200
_MIN_RUN: Final = 10


def redact(text: str) -> str:
    """Return *text* fit for a message: key-like runs shown as X, at most 200 characters.

    Every mak error passes what it quotes through here, so a product key pasted where
    something else was expected (an ID, a code, a name) never reaches a message or a log.
    Runs of digits alone are left as they are: installation and confirmation IDs are not
    secret, and a key is never all digits.

    >>> redact("code: W269N-WFGWX-YVC9B-4J6C9-T83GX?")
    'code: XXXXX-XXXXX-XXXXX-XXXXX-XXXXX?'
    >>> redact("0xC004F038 and 1234565-1234565")
    '0xC004F038 and 1234565-1234565'
    """
    head = text[: _LIMIT + 100]  # bounded work for hostile input, masked before the cut
    masked = _KEY_LIKE.sub(_mask_run, head) if _FIVE_SYMBOLS.search(head) else head
    if len(masked) <= _LIMIT and len(head) == len(text):
        return masked
    return masked[:_LIMIT] + "..."


def _mask_run(match: re.Match[str]) -> str:
    run = match.group()
    symbols = _SEPARATOR.sub("", run)
    # Fewer than ten symbols say too little to matter; digits alone are an ID, not a
    # key; X is a key symbol, so a key already masked (all X but its last five) matches.
    if len(symbols) < _MIN_RUN or symbols.isdigit() or not symbols[:-5].upper().strip("X"):
        return run
    return _SYMBOL.sub("X", run)


class MakError(Exception):
    """The root of every exception raised by mak.

    >>> issubclass(ValidationError, MakError) and issubclass(StorageError, MakError)
    True
    """

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructors defeat Exception's default pickling; errors must cross
        # process boundaries intact (worker pools, crash-test children).
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class ValidationError(MakError, ValueError):
    """A value is not well formed.

    ``kind`` names what was being read (``"product key"``, ``"installation ID"`` ...),
    ``text`` is the input as it may be shown (masked when it is a secret) and ``reason``
    says what is wrong with it.

    >>> from mak.ids import InstallationId
    >>> InstallationId.parse("12345")
    Traceback (most recent call last):
    mak.errors.InvalidLength: Invalid installation ID: '12345' (has 5 digits; expected 54 or 63)
    """

    details: tuple[str, ...] = ()
    """Further problems found in the same input, when there were several."""

    def __init__(self, kind: str, text: str, reason: str) -> None:
        self.kind = kind
        self.text = redact(text)
        self.reason = redact(reason)
        super().__init__(f"Invalid {kind}: {self.text!r} ({self.reason})")


class InvalidFormat(ValidationError):
    """The input has characters, separators or a type that the value never has.

    >>> from mak.keys import ProductKey
    >>> ProductKey.parse(42)
    Traceback (most recent call last):
    mak.errors.InvalidFormat: Invalid product key: '<int>' (expected a string, got int)
    """

    @classmethod
    def wrong_type(cls, kind: str, value: object, expected: str = "a string") -> InvalidFormat:
        """Return the error for a *value* of the wrong type; only its type name is shown."""
        name = type(value).__name__
        return cls(kind, f"<{name}>", f"expected {expected}, got {name}")


class InvalidLength(InvalidFormat):
    """The input has the wrong number of symbols.

    ``length`` is what was counted and ``expected`` the accepted counts.

    >>> from mak.keys import ProductKey
    >>> ProductKey.parse("W269N-WFGWX")
    Traceback (most recent call last):
    mak.errors.InvalidLength: Invalid product key: 'XXXXX-XXXXX' (has 10 symbols; expected 25)
    """

    def __init__(
        self, kind: str, text: str, *, length: int, expected: tuple[int, ...], unit: str
    ) -> None:
        self.length = length
        self.expected = expected
        accepted = " or ".join(str(n) for n in expected)
        super().__init__(kind, text, f"has {length} {unit}; expected {accepted}")


class InvalidChecksum(ValidationError):
    """The symbols are well formed but a check digit or checksum does not match.

    ``group`` names the failing group of an installation or confirmation ID (``"3"`` or
    ``"C"``), and is ``None`` for a product key's checksum.

    >>> from mak.ids import ConfirmationId
    >>> ConfirmationId.parse("000000-000001-000000-000000-000000-000000-000000-000000")
    Traceback (most recent call last):
    mak.errors.InvalidChecksum: Invalid confirmation ID: '000000-000001-000000...' (check digit of group B is wrong)
    """

    def __init__(self, kind: str, text: str, reason: str, *, group: str | None = None) -> None:
        self.group = group
        super().__init__(kind, text, reason)


class InvalidComponent(ValidationError):
    """A part of the value is out of its allowed range or not known.

    >>> from mak.codes import lookup
    >>> lookup(2**32)
    Traceback (most recent call last):
    mak.errors.InvalidComponent: Invalid activation code: '4294967296' (not a 32-bit value)
    """


class InvalidDocument(ValidationError):
    """A document (an exchange file) is not what its format says, at ``path``.

    ``path`` is the JSON path of the offending value (``$`` is the whole document, and
    ``$.activations[3].installation_id`` a field of the fourth entry); ``reason`` says what
    is wrong there. Further problems found in the same document are in ``details``.

    >>> raise InvalidDocument("$.products[3].id", "duplicate id; first at $.products[0]")
    Traceback (most recent call last):
    mak.errors.InvalidDocument: Invalid exchange document: '$.products[3].id' (duplicate id; first at $.products[0])
    """

    def __init__(self, path: str, reason: str, *, kind: str = "exchange document") -> None:
        super().__init__(kind, path, reason)
        self.path = self.text


class ActivationError(MakError):
    """A domain rule forbids what was asked."""


class IllegalTransition(ActivationError):
    """An event is not allowed in the current state.

    ``status`` and ``event`` are the state and the event that met; ``code`` is the
    HRESULT Windows reports for the refusal, when there is one (0xC004F014 for an
    activation with no key installed, 0xC004D307 for a rearm with none left).

    >>> from mak.lifecycle import LicenseStatus
    >>> raise IllegalTransition(LicenseStatus.UNLICENSED, "Renewed")
    Traceback (most recent call last):
    mak.errors.IllegalTransition: Can't Renewed when Unlicensed
    """

    def __init__(self, status: object, event: object, *, code: int | None = None) -> None:
        self.status = status
        self.event = event
        self.code = code
        event_name = event if isinstance(event, str) else type(event).__name__
        because = "" if code is None else f" (0x{code:08X})"
        super().__init__(f"Can't {event_name} when {status}{because}")


class ActivationLimitExceeded(ActivationError):
    """A MAK has no activations left for what was requested.

    ``code`` is the HRESULT Windows reports for it, 0xC004C020.

    >>> error = ActivationLimitExceeded(limit=10, used=9, requested=2)
    >>> print(error)
    MAK activation limit exceeded: 2 requested, 1 of 10 left (0xC004C020)
    >>> hex(error.code)
    '0xc004c020'
    """

    code = MAK_LIMIT_EXCEEDED

    def __init__(self, *, limit: int, used: int, requested: int) -> None:
        self.limit = limit
        self.used = used
        self.requested = requested
        super().__init__(
            f"MAK activation limit exceeded: {requested} requested, "
            f"{limit - used} of {limit} left (0x{self.code:08X})"
        )


class CsvlkLimitExceeded(ActivationError):
    """A KMS host key (CSVLK) cannot activate that host again: 0xC004C008.

    ``host`` is the host refused (redacted like any quoted input), ``activations`` how
    many times the key has activated it, ``hosts`` how many hosts the key has activated,
    and ``max_hosts`` and ``activations_per_host`` the limits. ``code`` is 0xC004C008.

    >>> error = CsvlkLimitExceeded(
    ...     host="kms7", activations=0, hosts=6, max_hosts=6, activations_per_host=10
    ... )
    >>> print(error)
    KMS host key activation limit exceeded: 'kms7' would be host 7 of at most 6 (0xC004C008)
    """

    code = KMS_HOST_LIMIT_EXCEEDED

    def __init__(
        self, *, host: str, activations: int, hosts: int, max_hosts: int, activations_per_host: int
    ) -> None:
        self.host = redact(host)
        self.activations = activations
        self.hosts = hosts
        self.max_hosts = max_hosts
        self.activations_per_host = activations_per_host
        if activations:
            why = f"{self.host!r} has used all {activations_per_host} activations"
        else:
            why = f"{self.host!r} would be host {hosts + 1} of at most {max_hosts}"
        super().__init__(f"KMS host key activation limit exceeded: {why} (0x{self.code:08X})")


class ImportConflict(MakError):
    """An import found records that differ from the inventory's, and its policy says stop.

    Nothing was written. ``conflicts`` describes each record that differs (redacted like
    any quoted input); choose another merge policy to keep or overwrite them.

    >>> print(ImportConflict(("product 'p-1': license_state differs",)))
    Import refused: 1 record differs from the inventory (nothing written): product 'p-1': license_state differs
    """

    _SHOWN: Final = 3

    def __init__(self, conflicts: tuple[str, ...]) -> None:
        self.conflicts = tuple(redact(conflict) for conflict in conflicts)
        count = len(self.conflicts)
        records = "record differs" if count == 1 else "records differ"
        shown = "; ".join(self.conflicts[: self._SHOWN])
        more = f"; and {count - self._SHOWN} more" if count > self._SHOWN else ""
        super().__init__(
            f"Import refused: {count} {records} from the inventory (nothing written): {shown}{more}"
        )


class TransportError(MakError):
    """Talking to a remote party (the clearinghouse, a managed computer) failed.

    ``code`` is the HRESULT or service code when one is known.

    >>> print(TransportError("connection refused", code=0x800706BA))
    connection refused (0x800706BA)
    """

    def __init__(self, message: str, *, code: int | None = None) -> None:
        self.message = redact(message)
        self.code = code
        text = self.message if code is None else f"{self.message} (0x{code:08X})"
        super().__init__(text)


class ServiceRejected(TransportError):
    """The remote party answered, and its answer was a refusal carrying a code.

    >>> error = ServiceRejected("key blocked", code=0xC004C003)
    >>> error.code == 0xC004C003
    True
    """

    code: int

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message, code=code)


class StorageError(MakError):
    """The inventory could not read or write what was asked."""


class NotFound(StorageError):
    """No record of that kind has that id.

    >>> print(NotFound("computer", "c-42"))
    No computer with id 'c-42'
    """

    def __init__(self, kind: str, id: str) -> None:  # noqa: A002  # the domain's word
        self.kind = kind
        self.id = redact(id)
        super().__init__(f"No {kind} with id {self.id!r}")


class ConcurrencyConflict(StorageError):
    """A write was based on a version of the record that is no longer current.

    Nothing was written; read the record again and retry.

    >>> print(ConcurrencyConflict("product", "p-1", expected=3, actual=4))
    Stale product 'p-1': written from version 3, stored version is 4
    """

    def __init__(self, kind: str, id: str, *, expected: int, actual: int | None) -> None:  # noqa: A002
        self.kind = kind
        self.id = redact(id)
        self.expected = expected
        self.actual = actual
        stored = "record is gone" if actual is None else f"version is {actual}"
        super().__init__(
            f"Stale {kind} {self.id!r}: written from version {expected}, stored {stored}"
        )


def _rebuild(cls: type[MakError], args: tuple[object, ...], state: dict[str, object]) -> MakError:
    """Recreate an unpickled error without calling its constructor."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error
