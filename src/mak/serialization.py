"""Turn mak's value objects into JSON-ready data and back, with cattrs, at the edge.

:func:`make_converter` returns a converter of your own: mak never touches cattrs' global
converter. Value objects travel in their string forms, checked again on the way in:

- product keys are written **in full**, because the converter is for storage. Exports
  that must not carry keys leave them out before they get here;
- installation and confirmation IDs are written as grouped digits, activation codes as hex;
  a confirmation ID is read back as it was accepted, its check digits unchecked (the rule
  is unconfirmed for modern CIDs, see :class:`~mak.ids.ConfirmationId`);
- datetimes are ISO 8601 strings, and only timezone-aware ones are accepted (they come
  back in UTC); durations are numbers of seconds; UUIDs are their canonical strings;
- enums are written as their values, and primitives are never coerced (``12345`` is not a
  string, ``True`` is not a status).

Documents with keys the class does not have are refused. A failure raises
:class:`~mak.errors.InvalidFormat` naming the path of the first bad field; every problem
found is in its ``details``. cattrs' own exceptions are not chained to it, because they
quote the input, and the input may hold product keys.

>>> from mak.ids import InstallationId
>>> from mak.lifecycle import LicenseStatus
>>> converter = make_converter()
>>> converter.unstructure(LicenseStatus.LICENSED)
1
>>> converter.structure("123450 " * 9, InstallationId).layout
<IdLayout.IID_54: 54>
>>> converter.structure(1, str)
Traceback (most recent call last):
mak.errors.InvalidFormat: Invalid str data: '$' (expected str, got int)
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Mapping
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.errors import BaseValidationError

from mak.codes import ActivationCode, lookup
from mak.errors import InvalidFormat, MakError, redact
from mak.ids import ConfirmationId, InstallationId
from mak.keys import ProductKey

__all__ = ["configure_converter", "make_converter"]

T = TypeVar("T")

_PRIMITIVES: Final[tuple[type, ...]] = (str, int, float, bool)
# attrs classes that travel as strings, not as objects.
_STRING_FORMS: Final = frozenset({ProductKey, InstallationId, ConfirmationId, ActivationCode})


class _Converter(cattrs.Converter):
    """A converter whose structuring failures are mak errors naming the failing path."""

    def structure(self, obj: Any, cl: Any) -> Any:  # cattrs' own signature
        if attrs.has(cl) and cl not in _STRING_FORMS and not isinstance(obj, Mapping):
            raise _invalid(cl, "$", f"expected an object, got {type(obj).__name__}")
        # The failure is raised after the except block, unchained: cattrs' exceptions
        # and their notes quote the input, product keys included. What they say is
        # kept, redacted, in the error's details.
        try:
            return super().structure(obj, cl)
        except BaseValidationError as error:
            failure = _as_mak_error(error, cl)
        except (MakError, TypeError, ValueError) as error:
            if isinstance(error, InvalidFormat) and error.kind.endswith(" data"):
                raise
            failure = _invalid(cl, "$", _message(error))
        raise failure


def make_converter() -> cattrs.Converter:
    """Return a new converter configured for mak's value objects.

    >>> from mak.keys import ProductKey
    >>> make_converter().unstructure(ProductKey.parse("W269N-WFGWX-YVC9B-4J6C9-T83GX"))
    'W269N-WFGWX-YVC9B-4J6C9-T83GX'
    """
    converter = _Converter(forbid_extra_keys=True, use_alias=True)
    configure_converter(converter)
    return converter


def configure_converter(converter: cattrs.Converter) -> None:
    """Register mak's hooks on *converter*, before any class hook is generated.

    Use it to add mak's types to a converter of your own. Errors keep the shape cattrs
    gives them there; :func:`make_converter` turns them into mak errors.
    """
    for primitive in _PRIMITIVES:
        converter.register_structure_hook(primitive, _strict_primitive)
    converter.register_structure_hook(enum.Enum, _structure_enum)

    converter.register_unstructure_hook(ProductKey, ProductKey.reveal)
    converter.register_structure_hook(ProductKey, lambda value, _: ProductKey.parse(value))
    converter.register_unstructure_hook(InstallationId, str)
    converter.register_structure_hook(InstallationId, lambda value, _: InstallationId.parse(value))
    converter.register_unstructure_hook(ConfirmationId, str)
    # Stored as accepted: a CID read with check_digits=False must load again.
    converter.register_structure_hook(
        ConfirmationId, lambda value, _: ConfirmationId.parse(value, check_digits=False)
    )
    converter.register_unstructure_hook(ActivationCode, lambda code: code.hex)
    converter.register_structure_hook(ActivationCode, _structure_code)
    converter.register_unstructure_hook(dt.datetime, _unstructure_datetime)
    converter.register_structure_hook(dt.datetime, _structure_datetime)
    converter.register_unstructure_hook(dt.timedelta, _unstructure_timedelta)
    converter.register_structure_hook(dt.timedelta, _structure_timedelta)
    converter.register_unstructure_hook(uuid.UUID, str)
    converter.register_structure_hook(uuid.UUID, _structure_uuid)


def _strict_primitive(value: object, cls: type[T]) -> T:
    if issubclass(cls, enum.Enum):  # an IntEnum is an int first, in dispatch order
        return _structure_enum(value, cls)  # type: ignore[return-value]  # cls is T
    # bool is an int to Python, and a status or a count is never a bool.
    if type(value) is cls or (cls is float and type(value) is int):
        return cls(value)  # type: ignore[call-arg]  # cls is one of _PRIMITIVES
    raise TypeError(f"expected {cls.__name__}, got {type(value).__name__}")


def _structure_enum(value: object, cls: type[enum.Enum]) -> enum.Enum:
    values: list[object] = [member.value for member in cls]
    expected: type[object] = type(values[0]) if values else str
    if type(value) is not expected:
        raise TypeError(f"expected {expected.__name__}, got {type(value).__name__}")
    try:
        return cls(value)
    except ValueError:
        pass  # raised below, so that the enum's own message does not ride along
    raise ValueError(f"{value!r} is not a {cls.__name__}")


def _structure_code(value: object, _: type[ActivationCode]) -> ActivationCode:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"expected a hex string or an int, got {type(value).__name__}")
    return lookup(value)


def _unstructure_datetime(value: dt.datetime) -> str:
    if value.tzinfo is dt.timezone.utc:  # as mak's records hold them: nothing to convert
        return value.isoformat()
    if value.tzinfo is None:
        raise InvalidFormat("datetime", value.isoformat(), "naive; mak stores aware UTC times")
    return value.astimezone(dt.timezone.utc).isoformat()


def _structure_datetime(value: object, _: type[dt.datetime]) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value  # 3.10 lacks "Z"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        parsed = None  # raised below, so that the input does not ride along as context
    if parsed is None:
        raise InvalidFormat("datetime", value, "not an ISO 8601 date and time")
    if parsed.tzinfo is None:
        raise InvalidFormat("datetime", value, "has no UTC offset")
    return parsed.astimezone(dt.timezone.utc)


def _unstructure_timedelta(value: dt.timedelta) -> int | float:
    seconds = value.total_seconds()
    return int(seconds) if seconds.is_integer() else seconds


def _structure_timedelta(value: object, _: type[dt.timedelta]) -> dt.timedelta:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number of seconds, got {type(value).__name__}")
    try:
        return dt.timedelta(seconds=value)
    except OverflowError:
        pass  # raised below, unchained
    raise InvalidFormat("duration", str(value), "out of range")


def _structure_uuid(value: object, _: type[uuid.UUID]) -> uuid.UUID:
    if not isinstance(value, str):
        raise TypeError(f"expected a UUID string, got {type(value).__name__}")
    try:
        return uuid.UUID(value)
    except ValueError:
        pass  # raised below, unchained
    raise InvalidFormat("UUID", value, "not a UUID")


def _as_mak_error(error: BaseValidationError, cls: object) -> InvalidFormat:
    lines = cattrs.transform_error(error, path="$", format_exception=_describe)
    first = lines[0] if lines else str(error)
    message, _, path = first.rpartition(" @ ")
    more = f"; and {len(lines) - 1} more" if len(lines) > 1 else ""
    failure = _invalid(cls, path or "$", f"{message}{more}")
    failure.details = tuple(redact(line) for line in lines)
    return failure


def _describe(error: BaseException, _: object) -> str:
    if isinstance(error, KeyError):
        return "required field missing"
    if isinstance(error, cattrs.ForbiddenExtraKeysError):
        return "extra fields: " + ", ".join(_field_name(f) for f in sorted(error.extra_fields))
    return _message(error)


def _field_name(name: str) -> str:
    """Return *name* as a message quotes it: escaped unless printable.

    The names come from the document: a line break in one would let a hostile file
    write a line of its own into a log.
    """
    return name if name.isprintable() else repr(name)


def _message(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _invalid(cls: object, path: str, reason: str) -> InvalidFormat:
    name = getattr(cls, "__name__", str(cls))
    return InvalidFormat(f"{name} data", path, reason)
