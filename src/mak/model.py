"""The entities mak keeps about a fleet, and the queries that find computers.

Entities are frozen snapshots, like VAMT's rows: a :class:`Computer`, the licensable
:class:`Product` s on it, the :class:`KeyRecord` s of the keys an organisation holds, the
:class:`CilEntry` s of confirmation IDs it has acquired (VAMT's CIL, which makes local
reactivation possible) and the :class:`ActionRecord` s of what was done. Each has an
``id`` that never changes and a ``version`` that the inventory raises on every write; a
write based on an older version is refused (:class:`~mak.errors.ConcurrencyConflict`).
Equality compares every field; identity is the ``id``.

>>> computer = Computer(id="c-1", name="LAB-PC-01", workgroup="LAB")
>>> computer.network
'LAB'
>>> ByAddress("10.0.0.0/30").addresses()
('10.0.0.0', '10.0.0.1', '10.0.0.2', '10.0.0.3')
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any, Final, TypeAlias

import attrs

from mak import _validate
from mak.catalog import ProductFamily
from mak.codes import ActivationCode
from mak.errors import InvalidComponent, InvalidFormat, redact
from mak.ids import ConfirmationId, InstallationId
from mak.keys import ALPHABET, ProductKey
from mak.lifecycle import KeyChannel, LicenseState, LicenseStatus
from mak.limits import RemainingCount
from mak.proxystage import ProxyProgress

__all__ = [
    "MAX_ADDRESSES",
    "ActionRecord",
    "ByAddress",
    "ByDirectory",
    "ByName",
    "ByWorkgroup",
    "CilEntry",
    "Computer",
    "KeyRecord",
    "LastAction",
    "Product",
    "Query",
]

MAX_ADDRESSES: Final = 65_536
"""The most addresses one :class:`ByAddress` query may cover (a /16 of IPv4)."""


def _partial_key(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or len(value) != 5 or value.strip(ALPHABET):
        shown = value if isinstance(value, str) else f"<{type(value).__name__}>"
        raise InvalidFormat("partial product key", shown, "expected 5 key symbols")


def _canonical_ip(value: Any) -> Any:  # the validator judges what it cannot read
    """Write an IP address in this Python's canonical form, whatever form it came in.

    Pythons differ on IPv4-mapped IPv6 (``::ffff:10.0.0.1`` or ``::ffff:a00:1``); both
    read back, so a record stored by one loads in another.
    """
    if isinstance(value, str):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return value
    return value


def _ip_address(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidFormat.wrong_type("computer address", value)
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise InvalidFormat("computer address", value, "expected an IP address") from None


# --- entities -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Computer:
    """A managed computer: an opaque id and what identifies it on the network.

    ``id`` is the inventory's own, stable across renames (VAMT uses a GUID). A computer is
    in a domain or a workgroup, not both. ``address`` is an IP address when known.
    """

    id: str = attrs.field(validator=_validate.text("computer"))
    name: str = attrs.field(validator=_validate.text("computer"))
    address: str | None = attrs.field(default=None, converter=_canonical_ip, validator=_ip_address)
    domain: str | None = attrs.field(default=None, validator=_validate.optional_text("computer"))
    workgroup: str | None = attrs.field(
        default=None, validator=_validate.optional_text("computer")
    )
    os_edition: str | None = attrs.field(
        default=None, validator=_validate.optional_text("computer")
    )
    version: int = attrs.field(default=0, validator=_validate.version)

    def __attrs_post_init__(self) -> None:
        if self.domain is not None and self.workgroup is not None:
            raise InvalidComponent("computer", self.id, "is in a domain or a workgroup, not both")

    @property
    def network(self) -> str | None:
        """The domain or the workgroup, whichever the computer is in."""
        return self.domain or self.workgroup


@attrs.frozen(kw_only=True)
class LastAction:
    """What was last done to a product, when, and how it ended (``code`` None: success)."""

    action: str = attrs.field(validator=_validate.text("last action"))
    at: dt.datetime = attrs.field(converter=_validate.to_utc, validator=_validate.aware)
    code: ActivationCode | None = attrs.field(
        default=None, validator=_validate.instance(ActivationCode, optional=True)
    )

    @property
    def ok(self) -> bool:
        """Whether the action succeeded."""
        return self.code is None


@attrs.frozen(kw_only=True)
class Product:
    """One licensable product (a SKU) on one computer, as the inventory last saw it.

    ``activation_id`` is the SKU's GUID (``SoftwareLicensingProduct.ID``), lower-case.
    ``channel`` and ``partial_key`` come from ``license_state``, so they never disagree
    with it. ``installation_id`` and ``extended_pid`` are what the computer last showed;
    ``confirmation_id`` is the CID deposited, or waiting to be. ``proxy`` is how far the
    product has come through proxy activation (:mod:`mak.proxystage`), kept so that an
    interrupted batch resumes where it stopped.
    """

    id: str = attrs.field(validator=_validate.text("product"))
    computer_id: str = attrs.field(validator=_validate.text("product"))
    activation_id: str = attrs.field(validator=_validate.activation_id)
    name: str = attrs.field(validator=_validate.text("product"))
    family: ProductFamily = attrs.field(validator=_validate.instance(ProductFamily))
    license_state: LicenseState = attrs.field(
        factory=LicenseState.new, validator=_validate.instance(LicenseState)
    )
    installation_id: InstallationId | None = attrs.field(
        default=None, validator=_validate.instance(InstallationId, optional=True)
    )
    extended_pid: str | None = attrs.field(
        default=None, validator=_validate.optional_text("product")
    )
    confirmation_id: ConfirmationId | None = attrs.field(
        default=None, validator=_validate.instance(ConfirmationId, optional=True)
    )
    last_action: LastAction | None = attrs.field(
        default=None, validator=_validate.instance(LastAction, optional=True)
    )
    proxy: ProxyProgress = attrs.field(
        factory=ProxyProgress.new, validator=_validate.instance(ProxyProgress)
    )
    version: int = attrs.field(default=0, validator=_validate.version)

    @property
    def channel(self) -> KeyChannel | None:
        """The channel of the installed key, ``None`` with no key."""
        return self.license_state.channel

    @property
    def partial_key(self) -> str | None:
        """The last five symbols of the installed key, ``None`` with no key."""
        return self.license_state.partial_key

    @property
    def status(self) -> LicenseStatus:
        """The license status."""
        return self.license_state.status


@attrs.frozen(kw_only=True)
class KeyRecord:
    """A product key the organisation holds, with what the clearinghouse last said of it.

    The key is a secret: the record's repr shows it masked, and its ``id`` is the masked
    key. ``remaining`` is the last remaining-activation count for a MAK.
    """

    key: ProductKey = attrs.field(validator=_validate.instance(ProductKey))
    channel: KeyChannel = attrs.field(validator=_validate.instance(KeyChannel))
    edition: str | None = attrs.field(default=None, validator=_validate.optional_text("key"))
    remaining: RemainingCount | None = attrs.field(
        default=None, validator=_validate.instance(RemainingCount, optional=True)
    )
    version: int = attrs.field(default=0, validator=_validate.version)

    @property
    def id(self) -> str:
        """The masked key: what messages and logs may show of it."""
        return str(self.key)


@attrs.frozen(kw_only=True)
class CilEntry:
    """A confirmation ID acquired for an installation ID: one row of VAMT's CIL.

    Kept so that a computer reinstalled on the same hardware, which shows the same IID
    again, can be reactivated with the same CID without spending another activation.
    The installation ID identifies the entry.
    """

    computer_id: str = attrs.field(validator=_validate.text("CIL entry"))
    activation_id: str = attrs.field(validator=_validate.activation_id)
    installation_id: InstallationId = attrs.field(validator=_validate.instance(InstallationId))
    confirmation_id: ConfirmationId = attrs.field(validator=_validate.instance(ConfirmationId))
    partial_key: str = attrs.field(validator=_partial_key)
    acquired_at: dt.datetime = attrs.field(converter=_validate.to_utc, validator=_validate.aware)


_REMEMBERED_DETAIL: Final = 200
"""The longest detail :func:`_redacted` may remember as needing no masking."""

_REMEMBERED: Final = 256
"""How many such details it remembers before forgetting them all."""

# A batch writes the same few details for each of its products ("confirmation ID
# acquired"), and redaction scans each character of each with a regular expression: a
# few percent of a proxy activation. Its answer depends on the text alone, so short
# texts that redaction leaves as they are are remembered, and only those: what is kept
# here holds nothing redaction would mask, so never a key. A text of a str subclass is
# redacted anew, as its equality and hash may differ from its value's.
_clean_details: Final[dict[str, None]] = {}


def _redacted(text: object) -> str:
    if type(text) is str and len(text) <= _REMEMBERED_DETAIL:
        if text in _clean_details:
            return text
        shown = redact(text)
        if shown == text:
            if len(_clean_details) >= _REMEMBERED:
                _clean_details.clear()
            _clean_details[text] = None
        return shown
    if not isinstance(text, str):
        raise InvalidFormat.wrong_type("action detail", text)
    return redact(text)


@attrs.frozen(kw_only=True)
class ActionRecord:
    """One thing done to a product: the history VAMT shows as "last action", kept whole.

    ``code`` is ``None`` for a success. ``detail`` is free text for people; it passes
    through the errors' redaction so no key reaches it.
    """

    at: dt.datetime = attrs.field(converter=_validate.to_utc, validator=_validate.aware)
    computer_id: str = attrs.field(validator=_validate.text("action"))
    product_id: str | None = attrs.field(default=None, validator=_validate.optional_text("action"))
    action: str = attrs.field(validator=_validate.text("action"))
    code: ActivationCode | None = attrs.field(
        default=None, validator=_validate.instance(ActivationCode, optional=True)
    )
    detail: str = attrs.field(default="", converter=_redacted)

    @property
    def ok(self) -> bool:
        """Whether the action succeeded."""
        return self.code is None


# --- discovery queries ------------------------------------------------------------------


def _names(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        kind = type(value).__name__
        raise InvalidFormat(
            "computer names", f"<{kind}>", f"expected a tuple of names, got {kind}"
        )
    names: tuple[object, ...] = value  # pyright: ignore[reportUnknownVariableType]  # checked below
    if not names:
        raise InvalidFormat("computer names", "()", "expected at least one name")
    for name in names:
        _validate.require_text("computer name", name)


@attrs.frozen
class ByName:
    """Find computers by name (or IP address, as VAMT's manual query allows)."""

    names: tuple[str, ...] = attrs.field(validator=_names)


@attrs.frozen
class ByAddress:
    """Find the computers at an IP address, an IPv4 or IPv6 network, or a range ``a-b``.

    A query covers at most :data:`MAX_ADDRESSES` addresses, so a typo cannot start a
    scan of a whole /8.

    >>> ByAddress("192.168.1.10-192.168.1.12").addresses()
    ('192.168.1.10', '192.168.1.11', '192.168.1.12')
    >>> ByAddress("10.0.0.0/8")
    Traceback (most recent call last):
    mak.errors.InvalidComponent: Invalid address range: '10.0.0.0/8' (covers 16777216 addresses; at most 65536)
    """

    address: str = attrs.field(validator=lambda _, __, value: _range(value))

    def addresses(self) -> tuple[str, ...]:
        """Every address the query covers, in order."""
        first, last = _range(self.address)
        kind = type(first)  # ip_address(1) would be IPv4, even for ::1
        return tuple(str(kind(n)) for n in range(int(first), int(last) + 1))


def _range(text: object) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
    if not isinstance(text, str):
        raise InvalidFormat.wrong_type("address range", text)
    bounds: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] | None
    try:
        if "-" in text:
            bounds = tuple(ipaddress.ip_address(part.strip()) for part in text.split("-", 1))
        else:
            network = ipaddress.ip_network(text.strip(), strict=False)
            bounds = (network[0], network[-1])
    except ValueError:
        bounds = None  # raised below, unchained
    if bounds is None:
        reason = "expected an IP address, a network such as 10.0.0.0/24, or a range a-b"
        raise InvalidFormat("address range", text, reason)
    start, end = bounds
    if start.version != end.version or int(end) < int(start):
        raise InvalidComponent("address range", text, "must run from a lower to a higher address")
    size = int(end) - int(start) + 1
    if size > MAX_ADDRESSES:
        reason = f"covers {size} addresses; at most {MAX_ADDRESSES}"
        raise InvalidComponent("address range", text, reason)
    return start, end


@attrs.frozen
class ByWorkgroup:
    """Find the computers of a workgroup."""

    name: str = attrs.field(validator=_validate.text("workgroup"))


def _ldap_filter(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidFormat.wrong_type("LDAP filter", value)
    depth, closed_early = 0, False
    for position, char in enumerate(value):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth <= 0 and position < len(value) - 1:
            closed_early = True  # "(a)(b)" is two filters; wrap them in (&...)
            break
    if not value.startswith("(") or depth != 0 or closed_early or value == "()":
        raise InvalidFormat("LDAP filter", value, "expected a parenthesised LDAP filter")


@attrs.frozen
class ByDirectory:
    """Find the computers of an Active Directory domain, optionally by LDAP filter."""

    domain: str = attrs.field(validator=_validate.text("directory"))
    ldap_filter: str | None = attrs.field(default=None, validator=_ldap_filter)


Query: TypeAlias = ByName | ByAddress | ByWorkgroup | ByDirectory
"""Any discovery query."""
