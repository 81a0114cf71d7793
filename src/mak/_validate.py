"""attrs validators and converters shared by mak's records, all raising mak errors.

Every message names the field; none quotes a value that is not a string (a wrong type
shows only its type name), so no key given in the wrong place reaches a message.

>>> import attrs
>>> @attrs.frozen
... class Example:
...     name: str = attrs.field(validator=text("example"))
>>> Example("")
Traceback (most recent call last):
mak.errors.InvalidFormat: Invalid example name: '' (must be 1 to 255 characters on one line, not blank)
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final, TypeAlias, TypeVar, cast

import attrs  # attrs.Attribute in signatures is enough, but keep one import style

from mak.errors import InvalidComponent, InvalidFormat

__all__ = [
    "activation_id",
    "aware",
    "instance",
    "optional_text",
    "replace",
    "text",
    "to_utc",
    "version",
]

_NAME_LIMIT: Final = 255
_GUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

Validator = Any  # attrs' validator type is private; these are (instance, attribute, value)


def require_text(what: str, value: object) -> None:
    """Refuse anything but a non-blank string of at most 255 characters on one line."""
    if (
        type(value) is str
        and value.isascii()
        and value.isprintable()
        and 0 < len(value) <= _NAME_LIMIT
        and not value.isspace()
    ):
        return  # the common case, decided without splitting or encoding: every record checks it
    if not isinstance(value, str):
        raise InvalidFormat.wrong_type(what, value)
    if not value.strip() or len(value) > _NAME_LIMIT or value.splitlines() != [value]:
        raise InvalidFormat(what, value, "must be 1 to 255 characters on one line, not blank")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidFormat(
            what, value.encode("utf-8", "replace").decode(), "is not valid text"
        ) from None


def text(kind: str) -> Validator:
    """Return a validator of :func:`require_text`, naming the field ``"<kind> <field>"``."""

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        require_text(f"{kind} {attribute.name}", value)

    return check


def optional_text(kind: str) -> Validator:
    """Return :func:`text`'s validator, letting ``None`` through."""
    check = text(kind)

    def optional(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check(instance, attribute, value)

    return optional


def instance(cls: type[object], *, optional: bool = False) -> Validator:
    """Return a validator requiring an instance of *cls* (or ``None`` when *optional*)."""

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, cls):
            raise InvalidFormat(
                attribute.name.replace("_", " "),
                f"<{type(value).__name__}>",
                f"expected {cls.__name__}, got {type(value).__name__}",
            )

    return check


def version(_: object, __: attrs.Attribute[Any], value: object) -> None:
    """Validate a record version: an int of 0 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidComponent("version", repr(value), "must be an int of 0 or more")


def activation_id(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Validate a SKU's activation ID: a lower-case GUID."""
    if not isinstance(value, str):
        raise InvalidFormat.wrong_type(attribute.name.replace("_", " "), value)
    if not _GUID.fullmatch(value):
        reason = "expected a lower-case GUID such as 'b92e9980-b9d5-4821-9c94-140f632f6312'"
        raise InvalidFormat(attribute.name.replace("_", " "), value, reason)


def to_utc(value: Any) -> Any:  # converts what it can; the validator judges the rest
    """Convert an aware datetime to UTC; leave anything else for :func:`aware` to refuse."""
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        return value.astimezone(dt.timezone.utc)
    return value


def aware(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Validate an aware datetime, naming the field when it is naive or not a datetime."""
    if value is None and attribute.default is None:
        return
    if not isinstance(value, dt.datetime):
        kind = type(value).__name__
        reason = f"expected a datetime, got {kind}"
        raise InvalidFormat(attribute.name.replace("_", " "), f"<{kind}>", reason)
    if value.utcoffset() is None:
        raise InvalidComponent(
            attribute.name.replace("_", " "), value.isoformat(), "is naive; pass an aware datetime"
        )


_R = TypeVar("_R", bound=attrs.AttrsInstance)


_Plan: TypeAlias = "tuple[dict[str, attrs.Attribute[Any]], frozenset[str]] | None"
_PLANS: dict[type[Any], _Plan] = {}


def _fields(cls: type[Any]) -> _Plan:
    """The fields of attrs class *cls* by name and those converted; ``None`` to evolve it.

    A class with an ``__attrs_post_init__`` checks across fields, which only a full
    :func:`attrs.evolve` runs.
    """
    if cls in _PLANS:
        return _PLANS[cls]
    plan: _Plan = None
    if not hasattr(cls, "__attrs_post_init__"):
        fields: dict[str, attrs.Attribute[Any]] = attrs.fields_dict(cls)
        converted = frozenset(
            name
            for name, field in fields.items()
            if field.converter is not None  # pyright: ignore[reportUnknownMemberType]  # attrs leaves it generic
        )
        plan = fields, converted
    _PLANS[cls] = plan
    return plan


def replace(record: _R, /, **changes: Any) -> _R:
    """Return a copy of the frozen attrs *record* with *changes*, checking only what changed.

    The fields left alone were converted and validated when *record* was made and, the
    record being frozen, cannot have changed since; so this is :func:`attrs.evolve`
    without validating them again, which hot paths that update a record field by field
    need. A class with an ``__attrs_post_init__`` (a check across fields), or a change
    of a field with a converter, is evolved in full.

    >>> @attrs.frozen
    ... class Example:
    ...     name: str = attrs.field(validator=text("example"))
    ...     size: int = 0
    >>> replace(Example("a"), size=2)
    Example(name='a', size=2)
    >>> replace(Example("a"), name=" ")
    Traceback (most recent call last):
    mak.errors.InvalidFormat: Invalid example name: ' ' (must be 1 to 255 characters on one line, not blank)
    """
    cls: type[Any] = type(record)
    plan = _fields(cls)
    if plan is None or not plan[1].isdisjoint(changes) or not changes.keys() <= plan[0].keys():
        evolved: _R = attrs.evolve(cast("Any", record), **changes)  # or its TypeError
        return evolved
    fields = plan[0]
    new = object.__new__(cls)
    set_field = object.__setattr__  # the record is frozen: attrs sets its fields the same way
    for name in fields:
        set_field(new, name, changes[name] if name in changes else getattr(record, name))
    for name, value in changes.items():
        validator = fields[name].validator
        if validator is not None:
            validator(new, fields[name], value)
    return cast("_R", new)
