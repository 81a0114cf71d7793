"""The JSON text the SQLite inventory stores for a product or an action, written directly.

A proxy activation writes each product three times and appends three history rows for
it, and going through :func:`mak.serialization.make_converter` and a JSON encoder was
about a fifth of its time on SQLite. These functions return, character for character, what
``json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode`` makes of the
converter's dict, in about half the time: the fields in the classes' order, strings
escaped by the encoder's own function, integers as the encoder writes them (with
``int.__repr__``), and datetimes through the converter's hook. The tests compare them
with that general path over many products and actions, and fail when a class gains a
field these functions do not write.

>>> import datetime as dt
>>> from mak.model import ActionRecord
>>> at = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
>>> action_json(ActionRecord(at=at, computer_id="c-1", action="discover", detail="é"))
'{"at":"2026-01-05T00:00:00+00:00","computer_id":"c-1","product_id":null,"action":"discover","code":null,"detail":"é"}'
"""

from __future__ import annotations

from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Final

from mak.serialization import _unstructure_datetime  # pyright: ignore[reportPrivateUsage]  # the converter's own hook

if TYPE_CHECKING:
    import datetime as dt
    import enum

    from mak.codes import ActivationCode
    from mak.ids import ConfirmationId, InstallationId
    from mak.lifecycle import LicenseState
    from mak.model import ActionRecord, LastAction, Product
    from mak.proxystage import ProxyProgress

__all__ = ["action_json", "product_json"]

_NULL: Final = "null"


def product_json(product: Product) -> str:
    """Return the JSON text of *product*, as the converter and the SQLite encoder write it."""
    return (
        f'{{"id":{encode_basestring(product.id)}'
        f',"computer_id":{encode_basestring(product.computer_id)}'
        f',"activation_id":{encode_basestring(product.activation_id)}'
        f',"name":{encode_basestring(product.name)}'
        f',"family":{_enum(product.family)}'
        f',"license_state":{_license_state(product.license_state)}'
        f',"installation_id":{_grouped(product.installation_id)}'
        f',"extended_pid":{_text(product.extended_pid)}'
        f',"confirmation_id":{_grouped(product.confirmation_id)}'
        f',"last_action":{_last_action(product.last_action)}'
        f',"proxy":{_proxy(product.proxy)}'
        f',"version":{int.__repr__(product.version)}}}'
    )


def action_json(action: ActionRecord) -> str:
    """Return the JSON text of *action*, as the converter and the SQLite encoder write it."""
    return (
        f'{{"at":{_when(action.at)}'
        f',"computer_id":{encode_basestring(action.computer_id)}'
        f',"product_id":{_text(action.product_id)}'
        f',"action":{encode_basestring(action.action)}'
        f',"code":{_code(action.code)}'
        f',"detail":{encode_basestring(action.detail)}}}'
    )


def _license_state(state: LicenseState) -> str:
    """Return the JSON object of a license state."""
    return (
        f'{{"status":{int.__repr__(state.status.value)}'
        f',"channel":{_optional_enum(state.channel)}'
        f',"partial_key":{_text(state.partial_key)}'
        f',"reason":{_number(state.reason)}'
        f',"grace_ends_at":{_optional_when(state.grace_ends_at)}'
        f',"licensed_until":{_optional_when(state.licensed_until)}'
        f',"activated_at":{_optional_when(state.activated_at)}'
        f',"method":{_optional_enum(state.method)}'
        f',"rearms_left":{int.__repr__(state.rearms_left)}'
        f',"genuine":{"true" if state.genuine else "false"}}}'
    )


def _last_action(last: LastAction | None) -> str:
    """Return the JSON object of a product's last action, or ``null``."""
    if last is None:
        return _NULL
    return (
        f'{{"action":{encode_basestring(last.action)}'
        f',"at":{_when(last.at)}'
        f',"code":{_code(last.code)}}}'
    )


def _proxy(progress: ProxyProgress) -> str:
    """Return the JSON object of a product's proxy progress."""
    return (
        f'{{"stage":{_enum(progress.stage)}'
        f',"failed_at":{_optional_enum(progress.failed_at)}'
        f',"code":{_number(progress.code)}}}'
    )


def _text(value: str | None) -> str:
    """Return a JSON string, escaped as the encoder escapes it, or ``null``."""
    return _NULL if value is None else encode_basestring(value)


def _number(value: int | None) -> str:
    """Return a JSON integer as the encoder writes it (``int.__repr__``), or ``null``."""
    return _NULL if value is None else int.__repr__(value)


def _enum(member: enum.Enum) -> str:
    """Return the JSON string of an enum member's value, as the converter unstructures it."""
    # _value_ is what .value returns, read without the descriptor .value goes through:
    # 0.35 of a product's 7 us, for the four enums every product has.
    value: str = member._value_
    return encode_basestring(value)


def _optional_enum(member: enum.Enum | None) -> str:
    """Return :func:`_enum` of *member*, or ``null``."""
    return _NULL if member is None else _enum(member)


def _grouped(value: InstallationId | ConfirmationId | None) -> str:
    """Return an installation or confirmation ID as grouped digits, or ``null``."""
    return _NULL if value is None else encode_basestring(str(value))


def _code(code: ActivationCode | None) -> str:
    """Return an activation code as its hex string, or ``null``."""
    return _NULL if code is None else encode_basestring(code.hex)


def _when(value: dt.datetime) -> str:
    """Return a datetime as the converter's ISO 8601 string, in UTC."""
    return encode_basestring(_unstructure_datetime(value))


def _optional_when(value: dt.datetime | None) -> str:
    """Return :func:`_when` of *value*, or ``null``."""
    return _NULL if value is None else _when(value)
