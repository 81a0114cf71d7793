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
import types
from collections.abc import Callable
from typing import Any, Final, NamedTuple, TypeAlias, TypeVar, cast

import attrs  # attrs.Attribute in signatures is enough, but keep one import style

from mak.errors import InvalidComponent, InvalidFormat

__all__ = [
    "activation_id",
    "aware",
    "instance",
    "optional_text",
    "replace",
    "replacing",
    "text",
    "to_utc",
    "trusted",
    "version",
]

_NAME_LIMIT: Final = 255
_UTC: Final = dt.timezone.utc
_GUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

Validator = Any  # attrs' validator type is private; these are (instance, attribute, value)


def _plain_text(value: object) -> bool:
    """Whether *value* is printable ASCII text :func:`require_text` takes, as most are.

    The common case, decided without splitting or encoding: every record checks it.
    """
    return (
        type(value) is str
        and value.isascii()
        and value.isprintable()
        and 0 < len(value) <= _NAME_LIMIT
        and not value.isspace()
    )


def require_text(what: str, value: object) -> None:
    """Refuse anything but a non-blank string of at most 255 characters on one line."""
    if _plain_text(value):
        return
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
        if not _plain_text(value):  # the field is named only when the test fails
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
    if type(value) is dt.datetime and value.tzinfo is _UTC:
        return value  # what astimezone returns for it, without asking for its offset
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        return value.astimezone(_UTC)
    return value


def aware(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Validate an aware datetime, naming the field when it is naive or not a datetime."""
    if type(value) is dt.datetime and value.tzinfo is _UTC:
        return  # what to_utc gives, so the common case: aware, without asking for its offset
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
_Replacer: TypeAlias = Callable[[Any, dict[str, Any]], Any]  # (record, changes) -> the new record


class _Plan(NamedTuple):
    """What :func:`replace` needs of an attrs class, worked out once per class."""

    fields: dict[str, attrs.Attribute[Any]]  # by name, in the class's order
    post_init: Callable[[Any], None] | None  # the class's check across fields


# The names attrs has given the slot of a cached hash (``cache_hash=True``).
_CACHED_HASH: Final = frozenset({"_attrs_cached_hash", "__attrs_cached_hash__"})

_PLANS: dict[type[Any], _Plan | None] = {}
# The replacers written so far, by class and changed names in the order given; a key is
# the class followed by the names, so that finding a replacer builds a single tuple.
_REPLACERS: dict[tuple[Any, ...], _Replacer] = {}


def _plan(cls: type[Any]) -> _Plan | None:
    """The plan of attrs class *cls*; ``None`` when only :func:`attrs.evolve` can copy it.

    That is a class with no fields, with a field ``__init__`` does not take as it is
    named (``init=False``, or a private name), with converters that take the instance or
    field (``attrs.Converter``), which builds more than its fields
    (``__attrs_pre_init__``, a cached hash), or whose instances ``object.__new__`` cannot
    make (an exception, say).
    """
    if cls in _PLANS:
        return _PLANS[cls]
    fields: dict[str, attrs.Attribute[Any]] = attrs.fields_dict(cls)
    plan: _Plan | None = None
    plain = bool(fields) and all(
        field.init and field.alias == name and not isinstance(field.converter, attrs.Converter)  # pyright: ignore[reportUnknownMemberType]  # attrs leaves it generic
        for name, field in fields.items()
    )
    if (
        plain
        and not hasattr(cls, "__attrs_pre_init__")
        and not _CACHED_HASH.intersection(dir(cls))
        and getattr(cls, "__new__", None) is object.__new__
    ):
        plan = _Plan(fields, getattr(cls, "__attrs_post_init__", None))
    _PLANS[cls] = plan
    return plan


def _replacer(cls: type[Any], changed: tuple[str, ...]) -> _Replacer | None:
    """Return :func:`replace`'s function for *changed* fields of *cls*, written out once.

    ``None`` when :func:`attrs.evolve` must do it: *cls* has no plan, or a name in
    *changed* is not a field of it. The function converts the changed values, copies the
    other fields, validates the changed ones and runs ``__attrs_post_init__``, one line
    per field as attrs writes ``__init__``: a generic loop over the fields cost more than
    the copying itself on records copied several times per product.
    """
    plan = _plan(cls)
    if plan is None or not plan.fields.keys() >= set(changed):
        return None
    sources = {
        name: f"_changes[{name!r}]" if name in changed else f"_record.{name}"
        for name in plan.fields
    }
    written = _write(
        cls, plan, kind="replace", parameters="_record, _changes", sources=sources, checked=changed
    )
    return cast("_Replacer", written)


def _write(  # noqa: PLR0913  # what the function is, and what it takes
    cls: type[Any],
    plan: _Plan,
    *,
    kind: str,
    parameters: str,
    sources: dict[str, str],
    checked: tuple[str, ...],
    handed_on: tuple[str, ...] = (),
) -> Callable[..., Any]:
    """Compile a function of *parameters* making a *cls* with each field's value from *sources*.

    *kind* names the function in tracebacks and profiles, with the class and *checked*.
    The *checked* fields are converted (in that order) before the instance is made, and
    validated (in that order) once every field is set; ``__attrs_post_init__`` runs last,
    as in attrs' ``__init__``. With *handed_on* (field names), a ``_record`` of another
    class than *cls* is handed to :func:`replace` instead, with those fields by keyword.
    The function's own names start with ``_``, which no field of a plan can (its
    ``__init__`` would take it by another name), and fields are named by position, so
    any field names are safe in the source.
    """
    position = {name: number for number, name in enumerate(plan.fields)}
    scope: dict[str, Any] = {
        "_make": object.__new__,
        "_cls": cls,
        "_set_field": object.__setattr__,
        "_post_init": plan.post_init,
    }
    lines = [f"def _written({parameters}):"]
    if handed_on:
        scope["_type"], scope["_replace"] = type, replace
        given = ", ".join(f"{name}={name}" for name in handed_on)
        lines.append("    if _type(_record) is not _cls:")
        lines.append(f"        return _replace(_record, {given})")
    for name in checked:
        number, field = position[name], plan.fields[name]
        value = sources[name]
        if field.converter is not None:  # pyright: ignore[reportUnknownMemberType]  # attrs leaves it generic
            scope[f"_convert_{number}"] = field.converter  # pyright: ignore[reportUnknownMemberType]  # plain: see _plan
            value = f"_convert_{number}({value})"
        lines.append(f"    _value_{number} = {value}")
    lines.append("    _new = _make(_cls)")
    for number, name in enumerate(plan.fields):
        value = f"_value_{number}" if name in checked else sources[name]
        setter = _slot_setter(cls, name)
        if setter is None:  # a class with a __dict__: set as attrs would
            lines.append(f"    _set_field(_new, {name!r}, {value})")
        else:
            scope[f"_set_{number}"] = setter
            lines.append(f"    _set_{number}(_new, {value})")
    for name in checked:
        number, field = position[name], plan.fields[name]
        if field.validator is not None:
            scope[f"_validate_{number}"], scope[f"_field_{number}"] = field.validator, field
            lines.append(f"    _validate_{number}(_new, _field_{number}, _value_{number})")
    if plan.post_init is not None:
        lines.append("    _post_init(_new)")
    lines.append("    return _new")
    source = "\n".join(lines) + "\n"
    filename = f"<mak {kind} {' '.join((cls.__qualname__, *checked))}>"
    exec(compile(source, filename, "exec"), scope)  # noqa: S102  # source built from field names only
    return cast("Callable[..., Any]", scope["_written"])


def _slot_setter(cls: type[Any], name: str) -> Callable[[Any, Any], None] | None:
    """The ``__set__`` of the slot holding field *name* of *cls*; ``None`` when not a slot.

    Calling it is what ``object.__setattr__`` does once it has looked the name up along
    the class's MRO (a slot is a data descriptor), without the look-up: filling a copy
    takes a third less time, on the hottest path.
    """
    for klass in cls.__mro__:
        if name in vars(klass):
            found = vars(klass)[name]
            return found.__set__ if isinstance(found, types.MemberDescriptorType) else None
    return None


def replace(record: _R, /, **changes: Any) -> _R:
    """Return a copy of the frozen attrs *record* with *changes*, checking only what changed.

    The fields left alone were converted and validated when *record* was made and, the
    record being frozen, cannot have changed since; so this is :func:`attrs.evolve`
    without converting and validating them again, which hot paths that update a record
    field by field need. The changed fields are converted, then validated, and the
    class's ``__attrs_post_init__`` (a check across fields) runs last, as in ``evolve``.
    Unlike ``evolve``, a validator of a field left alone does not run: a class whose
    field validators read *other* fields must be copied with ``evolve`` (as
    :class:`~mak.limits.MakPool` is).

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
    key = (type(record), *changes)
    replacer = _REPLACERS.get(key)
    if replacer is None:
        replacer = _replacer(type(record), tuple(changes))
        if replacer is None:
            evolved: _R = attrs.evolve(cast("Any", record), **changes)  # or its TypeError
            return evolved
        _REPLACERS[key] = replacer
    new: _R = replacer(record, changes)
    return new


def replacing(
    cls: type[_R], /, *changed: str, check: tuple[str, ...] | None = None
) -> Callable[..., _R]:
    """Return :func:`replace` of *cls* for the fields *changed*, taking the record and them by keyword.

    For the hottest copies, which change the same fields each time: the function is
    written once, and calling it skips :func:`replace`'s look-up of it. Of the changed
    fields, those in *check* (all when ``None``) are converted and validated; the others
    are the caller's to have checked, as with :func:`trusted`. A record of another class
    than *cls* (a subclass) is copied by :func:`replace`, which checks every change, and
    keeps its class. Raises :class:`TypeError` for a class :func:`replace` could only copy
    with :func:`attrs.evolve`, for no name or a name twice, and for a name that is not a
    field (or, in *check*, not changed).

    >>> @attrs.frozen
    ... class Example:
    ...     name: str = attrs.field(validator=text("example"))
    ...     size: int = 0
    >>> resize = replacing(Example, "size")
    >>> resize(Example("a"), size=2)
    Example(name='a', size=2)
    """
    plan = _plan(cls)
    checked = changed if check is None else check
    if not changed or len(set(changed)) != len(changed):
        raise TypeError(f"replacing needs fields of {cls.__qualname__}, each once: {changed}")
    if plan is None or not plan.fields.keys() >= set(changed) >= set(checked):
        reason = "is not a plain attrs class" if plan is None else f"has no field among {changed}"
        raise TypeError(f"{cls.__qualname__} {reason}")
    sources = {name: name if name in changed else f"_record.{name}" for name in plan.fields}
    written = _write(
        cls,
        plan,
        kind="replacing",
        parameters="_record, *, " + ", ".join(changed),
        sources=sources,
        checked=checked,
        handed_on=changed,
    )
    return cast("Callable[..., _R]", written)


def trusted(cls: type[_R], /, *, check: tuple[str, ...] = ()) -> Callable[..., _R]:
    """Return a maker of *cls* from every field by keyword, converting and validating only *check*.

    For hot paths that build a record of values checked already, each a field of another
    record (a product's id for a history line, say): attrs' ``__init__`` would check
    them all again. The fields in *check* (values from outside, such as a clock's time)
    are converted and validated as ``__init__`` does, in that order; the class's
    ``__attrs_post_init__`` still runs. Every field must be given: none has a default.
    Raises :class:`TypeError` for a class :func:`replace` could only copy with
    :func:`attrs.evolve`, or a name in *check* that is not a field.

    >>> @attrs.frozen
    ... class Line:
    ...     name: str = attrs.field(validator=text("line"))
    ...     text: str = attrs.field(validator=text("line"))
    >>> line = trusted(Line, check=("text",))
    >>> line(name="checked already", text="from outside")
    Line(name='checked already', text='from outside')
    >>> line(name="checked already", text=" ")
    Traceback (most recent call last):
    mak.errors.InvalidFormat: Invalid line text: ' ' (must be 1 to 255 characters on one line, not blank)
    """
    plan = _plan(cls)
    if plan is None or not plan.fields.keys() >= set(check):
        reason = "is not a plain attrs class" if plan is None else f"has no field among {check}"
        raise TypeError(f"{cls.__qualname__} {reason}")
    parameters = "*, " + ", ".join(plan.fields)
    sources = {name: name for name in plan.fields}
    written = _write(
        cls, plan, kind="trusted", parameters=parameters, sources=sources, checked=check
    )
    return cast("Callable[..., _R]", written)
