"""The licensing state of one product on one computer, as an explicit state machine.

Windows reports where a product stands (``SoftwareLicensingProduct.LicenseStatus`` and
its grace minutes) but not how it moves. Here the moves are data: :data:`TRANSITIONS`
lists every one, :func:`step` applies an event to a :class:`LicenseState`, and
:func:`advance` lets the clock run out grace periods and KMS validity. Both are pure:
they return a new snapshot and take the time as an argument.

Durations that no public source confirms for every edition are :class:`GracePolicy`
defaults, which callers override.

>>> from datetime import datetime, timedelta, timezone
>>> from mak.keys import ProductKey
>>> now = datetime(2026, 1, 5, tzinfo=timezone.utc)
>>> gvlk = ProductKey.parse("NPPR9-FWDCX-D2C8J-H872K-2YT43")
>>> state = step(LicenseState.new(), KeyInstalled(gvlk, KeyChannel.GVLK), now=now)
>>> state.status, state.grace_ends_at == now + timedelta(days=30)
(<LicenseStatus.OOB_GRACE: 2>, True)
>>> state = step(state, Activated(ActivationMethod.KMS, at=now), now=now)
>>> state.status, state.licensed_until == now + timedelta(days=180)
(<LicenseStatus.LICENSED: 1>, True)
>>> advance(state, now + timedelta(days=181)).status  # the KMS host was never reached again
<LicenseStatus.OOT_GRACE: 3>
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from typing import Any, Final, TypeAlias

import attrs

from mak import _display, codes
from mak._validate import replace, trusted
from mak.errors import IllegalTransition, InvalidComponent, InvalidFormat
from mak.keys import ALPHABET, ProductKey
from mak.statetable import Diagram, StateTable, Transition

__all__ = [
    "LICENSING",
    "TRANSITIONS",
    "Activated",
    "ActivationFailed",
    "ActivationMethod",
    "Event",
    "GenuineCheckFailed",
    "GraceExpired",
    "GracePolicy",
    "HardwareChanged",
    "KeyChannel",
    "KeyInstalled",
    "KeyUninstalled",
    "LicenseState",
    "LicenseStatus",
    "Rearmed",
    "Renewed",
    "Transition",
    "ValidityExpired",
    "advance",
    "allowed_events",
    "diagram",
    "step",
    "to_dot",
    "to_mermaid",
    "transition_table_markdown",
    "validate_table",
]


class LicenseStatus(enum.IntEnum):
    """The ``LicenseStatus`` values of ``SoftwareLicensingProduct``, as WMI reports them.

    ``str()`` gives the WMI name; :attr:`description` gives slmgr's wording.

    >>> LicenseStatus(1)
    <LicenseStatus.LICENSED: 1>
    >>> str(LicenseStatus.OOB_GRACE), LicenseStatus.OOB_GRACE.description
    ('OOBGrace', 'Initial grace period')
    """

    UNLICENSED = 0
    LICENSED = 1
    OOB_GRACE = 2
    OOT_GRACE = 3
    NON_GENUINE_GRACE = 4
    NOTIFICATION = 5
    EXTENDED_GRACE = 6

    def __str__(self) -> str:
        return _WMI_NAMES[self]

    @property
    def description(self) -> str:
        """What ``slmgr.vbs /dli`` prints after ``License Status:``."""
        return _SLMGR_WORDING[self]

    @classmethod
    def from_slmgr(cls, text: str) -> LicenseStatus:
        """Return the status that slmgr's ``License Status:`` wording stands for.

        >>> LicenseStatus.from_slmgr("Additional grace period (KMS license expired or hardware out of tolerance)")
        <LicenseStatus.OOT_GRACE: 3>
        """
        if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
            raise InvalidFormat.wrong_type("license status", text)
        wording = text.strip().rstrip(".").casefold()
        for status, known in _SLMGR_WORDING.items():
            if wording == known.rstrip(".").casefold() or wording == str(status).casefold():
                return status
        raise InvalidFormat("license status", text, "not a status slmgr prints")


_WMI_NAMES = {
    LicenseStatus.UNLICENSED: "Unlicensed",
    LicenseStatus.LICENSED: "Licensed",
    LicenseStatus.OOB_GRACE: "OOBGrace",
    LicenseStatus.OOT_GRACE: "OOTGrace",
    LicenseStatus.NON_GENUINE_GRACE: "NonGenuineGrace",
    LicenseStatus.NOTIFICATION: "Notification",
    LicenseStatus.EXTENDED_GRACE: "ExtendedGrace",
}

# slmgr.vbs /dli wording (domain-facts §4.1).
_SLMGR_WORDING = {
    LicenseStatus.UNLICENSED: "Unlicensed",
    LicenseStatus.LICENSED: "Licensed",
    LicenseStatus.OOB_GRACE: "Initial grace period",
    LicenseStatus.OOT_GRACE: (
        "Additional grace period (KMS license expired or hardware out of tolerance)"
    ),
    LicenseStatus.NON_GENUINE_GRACE: "Non-genuine grace period.",
    LicenseStatus.NOTIFICATION: "Notification",
    LicenseStatus.EXTENDED_GRACE: "Extended grace period",
}


class KeyChannel(enum.Enum):
    """The channel a product key was issued through; values are ``ProductKeyChannel`` strings.

    >>> KeyChannel("Volume:MAK")
    <KeyChannel.MAK: 'Volume:MAK'>
    >>> KeyChannel.from_product_key_channel("OEM:DM")
    <KeyChannel.OEM: 'OEM'>
    """

    RETAIL = "Retail"
    OEM = "OEM"
    MAK = "Volume:MAK"
    GVLK = "Volume:GVLK"
    CSVLK = "Volume:CSVLK"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def from_product_key_channel(cls, text: str) -> KeyChannel:
        """Return the channel of a ``ProductKeyChannel`` string such as ``Retail:TB:Eval``.

        OEM and retail sub-channels (``OEM:NONSLP``, ``Retail:TB:Eval`` ...) map to their
        family; anything else raises :class:`~mak.errors.InvalidFormat`.
        """
        if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
            raise InvalidFormat.wrong_type("product key channel", text)
        value = text.strip()
        for channel in cls:
            if value.casefold() == channel.value.casefold():
                return channel
        family = value.split(":", 1)[0].casefold()
        if family == "oem":
            return cls.OEM
        if family == "retail":
            return cls.RETAIL
        raise InvalidFormat("product key channel", text, "not a channel Windows reports")


class ActivationMethod(enum.Enum):
    """How a product got activated.

    >>> ActivationMethod("mak-proxy")
    <ActivationMethod.MAK_PROXY: 'mak-proxy'>
    """

    MAK_INDEPENDENT = "mak-independent"
    """The computer activated its MAK with Microsoft itself, online."""
    MAK_PROXY = "mak-proxy"
    """A proxy (VAMT, mak) got the confirmation ID for the computer's MAK and deposited it."""
    KMS = "kms"
    """A KMS host activated the computer's GVLK, for 180 days at a time."""
    ADBA = "adba"
    """Active Directory-based activation of a GVLK, for 180 days at a time."""
    RETAIL_ONLINE = "retail-online"
    """A retail, OEM or KMS host key activated with Microsoft online."""
    PHONE = "phone"
    """A confirmation ID got by phone and deposited by hand."""
    TOKEN = "token"  # noqa: S105  # a method's name, not a secret
    """Token-based activation."""

    @property
    def expires(self) -> bool:
        """Whether the activation lapses unless renewed (KMS and ADBA); the rest are perpetual."""
        return self in (ActivationMethod.KMS, ActivationMethod.ADBA)


# Which key channels each method can activate; anything else is refused with 0xC004F07D.
_METHOD_CHANNELS: Final[dict[ActivationMethod, frozenset[KeyChannel]]] = {
    ActivationMethod.MAK_INDEPENDENT: frozenset({KeyChannel.MAK}),
    ActivationMethod.MAK_PROXY: frozenset({KeyChannel.MAK}),
    ActivationMethod.KMS: frozenset({KeyChannel.GVLK}),
    ActivationMethod.ADBA: frozenset({KeyChannel.GVLK}),
    ActivationMethod.RETAIL_ONLINE: frozenset(
        {KeyChannel.RETAIL, KeyChannel.OEM, KeyChannel.CSVLK}
    ),
    ActivationMethod.PHONE: frozenset(
        {KeyChannel.MAK, KeyChannel.RETAIL, KeyChannel.OEM, KeyChannel.CSVLK}
    ),
    ActivationMethod.TOKEN: frozenset(KeyChannel),
}


def _positive(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0):
        raise InvalidComponent(
            "grace policy", attribute.name, f"must be a positive timedelta, got {value!r}"
        )


def _not_negative_timedelta(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.timedelta) or value < dt.timedelta(0):
        raise InvalidComponent(
            "grace policy", attribute.name, f"must be a timedelta of 0 or more, got {value!r}"
        )


def _count(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidComponent(
            attribute.name.replace("_", " "), repr(value), "must be an int of 0 or more"
        )


@attrs.frozen
class GracePolicy:
    """Every duration the lifecycle uses, with its default and where the default comes from.

    Defaults marked *unconfirmed* are what public sources suggest but do not confirm for
    every edition (domain-facts §4); set them to what your products do. How often a KMS
    client retries and renews is :class:`mak.kms.KmsClientPolicy`'s business.

    >>> GracePolicy().kms_validity.days, GracePolicy(oob_grace=dt.timedelta(days=10)).oob_grace.days
    (180, 10)
    """

    oob_grace: dt.timedelta = attrs.field(default=dt.timedelta(days=30), validator=_positive)
    """Initial (out-of-box) grace after a key is installed: 30 days. Documented for KMS
    clients and commonly for retail; *unconfirmed* for every current edition."""
    oot_grace: dt.timedelta = attrs.field(default=dt.timedelta(days=30), validator=_positive)
    """Additional (out-of-tolerance) grace after KMS validity lapses or hardware changes:
    30 days. Documented for Office KMS clients; *unconfirmed* for Windows."""
    non_genuine_grace: dt.timedelta = attrs.field(
        default=dt.timedelta(days=30), validator=_positive
    )
    """Grace after a failed genuine check, before notification: 30 days, *unconfirmed*."""
    extended_grace: dt.timedelta = attrs.field(
        default=dt.timedelta(0), validator=_not_negative_timedelta
    )
    """Extended grace (status 6) offered when the initial grace runs out: none by default.
    Windows reports such a period (``ExtendedGrace`` minutes) but no public source says
    when it is granted, so it is off unless set."""
    kms_validity: dt.timedelta = attrs.field(default=dt.timedelta(days=180), validator=_positive)
    """How long a KMS activation lasts without renewal: 180 days (Microsoft docs)."""
    adba_validity: dt.timedelta = attrs.field(default=dt.timedelta(days=180), validator=_positive)
    """How long an Active Directory-based activation lasts: 180 days (Microsoft docs)."""
    rearm_limit: int = attrs.field(default=1000, validator=_count)
    """Rearms a fresh installation allows: 1000, as a Microsoft sample shows for Windows
    Server 2012. Office allows 5; the often-quoted 3 for Windows 7 is *unconfirmed*."""


_DEFAULT_POLICY: Final = GracePolicy()
"""The policy used when none is given (frozen, so one serves every call)."""


def _required_aware(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _require_aware(value, attribute.name)


def _required_hresult(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        raise InvalidComponent("reason", "None", "expected an unsigned 32-bit HRESULT")
    _hresult(_, attribute, value)


def _require_aware(value: object, name: str) -> None:
    if type(value) is dt.datetime and value.tzinfo is dt.timezone.utc:
        return  # the common case, decided without calling utcoffset(): every step checks
    if not isinstance(value, dt.datetime):
        raise InvalidComponent("time", name, f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidComponent("time", name, "is naive; pass an aware UTC datetime")


def _in_utc(value: dt.datetime | None, name: str) -> dt.datetime | None:
    """Check *value* is aware and return it in UTC (a datetime stays a datetime)."""
    if value is None or (type(value) is dt.datetime and value.tzinfo is dt.timezone.utc):
        return value  # what astimezone() returns for it: every snapshot converts three times
    _require_aware(value, name)
    return value.astimezone(dt.timezone.utc)


# One converter a field, so that an error names the field (mypy's attrs plugin takes
# named functions only).
def _grace_ends_at_in_utc(value: dt.datetime | None) -> dt.datetime | None:
    return _in_utc(value, "grace_ends_at")


def _licensed_until_in_utc(value: dt.datetime | None) -> dt.datetime | None:
    return _in_utc(value, "licensed_until")


def _activated_at_in_utc(value: dt.datetime | None) -> dt.datetime | None:
    return _in_utc(value, "activated_at")


def _partial_key(_: object, __: attrs.Attribute[Any], value: object) -> None:
    _require_partial_key(value)


def _require_partial_key(value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or len(value) != 5 or value.strip(ALPHABET):
        raise InvalidFormat("partial product key", str(value), "expected 5 key symbols")


def _hresult(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise InvalidComponent("reason", repr(value), "expected an unsigned 32-bit HRESULT")


@attrs.frozen(kw_only=True)
class LicenseState:
    """One product on one computer at one moment: a frozen snapshot.

    ``grace_ends_at`` is set in the grace states (2, 3, 4, 6), and kept while no key is
    installed after one was uninstalled mid-grace: the next key resumes that grace.
    ``licensed_until`` is set only for a KMS or ADBA activation (``None`` while licensed
    means perpetual, as for a MAK or retail key); ``method`` is the current activation's
    and ``activated_at`` the time of its last contact: activation, or KMS/ADBA renewal.
    ``reason`` is the HRESULT Windows shows as ``LicenseStatusReason``, or the code of
    the last failed activation. ``genuine`` turns false with a failed genuine check and
    true again with the next activation or a key uninstalled; a non-genuine product
    cannot be rearmed. Times are aware datetimes, kept in UTC.
    """

    status: LicenseStatus = LicenseStatus.UNLICENSED
    channel: KeyChannel | None = None
    partial_key: str | None = attrs.field(default=None, validator=_partial_key)
    reason: int | None = attrs.field(default=None, validator=_hresult)
    grace_ends_at: dt.datetime | None = attrs.field(default=None, converter=_grace_ends_at_in_utc)
    licensed_until: dt.datetime | None = attrs.field(
        default=None, converter=_licensed_until_in_utc
    )
    activated_at: dt.datetime | None = attrs.field(default=None, converter=_activated_at_in_utc)
    method: ActivationMethod | None = None
    rearms_left: int = attrs.field(default=_DEFAULT_POLICY.rearm_limit, validator=_count)
    genuine: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))

    def __attrs_post_init__(self) -> None:
        # Snapshots a timer could never move on are refused: they would stay put forever.
        if self.status in _GRACE and self.grace_ends_at is None:
            raise InvalidComponent(
                "license state", str(self.status), "a grace period needs grace_ends_at"
            )
        expiring = self.status is L and self.method is not None and self.method.expires
        if expiring and self.licensed_until is None:
            reason = "a KMS or ADBA activation needs licensed_until"
            raise InvalidComponent("license state", str(self.status), reason)

    @classmethod
    def new(cls, policy: GracePolicy | None = None) -> LicenseState:
        """Return a product with no key installed: unlicensed, with every rearm left.

        >>> LicenseState.new().status
        <LicenseStatus.UNLICENSED: 0>
        """
        return cls(rearms_left=(policy or _DEFAULT_POLICY).rearm_limit)

    @property
    def has_key(self) -> bool:
        """Whether a product key is installed."""
        return self.partial_key is not None

    def _repr_markdown_(self) -> str:
        """Return the snapshot as a Markdown table: what a notebook shows instead of the repr."""
        return _display.license_state(self)


# --- events ---------------------------------------------------------------------------


@attrs.frozen
class KeyInstalled:
    """A product key was installed (``slmgr /ipk``); only its last five symbols are kept."""

    key: ProductKey = attrs.field(validator=attrs.validators.instance_of(ProductKey))
    channel: KeyChannel = attrs.field(validator=attrs.validators.instance_of(KeyChannel))


@attrs.frozen
class KeyUninstalled:
    """The product key was uninstalled (``slmgr /upk``)."""


@attrs.frozen
class Activated:
    """An activation succeeded, at *at*, by *method*."""

    method: ActivationMethod = attrs.field(
        validator=attrs.validators.instance_of(ActivationMethod)
    )
    at: dt.datetime = attrs.field(validator=_required_aware)


def _unsigned(code: object) -> int:
    """Read a signed HRESULT as WMI reports it (-1073418160) as unsigned (0xC004F050).

    Anything else passes unchanged, for the validator to judge.
    """
    if isinstance(code, int) and not isinstance(code, bool) and -(2**31) <= code < 0:
        return code & 0xFFFFFFFF
    return code  # type: ignore[return-value]  # not an int: the validator refuses it


@attrs.frozen
class ActivationFailed:
    """An activation attempt failed with the HRESULT *code* (signed or unsigned); the status does not change."""

    code: int = attrs.field(converter=_unsigned, validator=_required_hresult)


@attrs.frozen
class HardwareChanged:
    """The hardware changed; *beyond_tolerance* when Windows no longer matches its binding."""

    beyond_tolerance: bool = attrs.field(validator=attrs.validators.instance_of(bool))


@attrs.frozen
class Rearmed:
    """The licensing timers were reset (``slmgr /rearm``, ``sysprep /generalize``)."""


@attrs.frozen
class GenuineCheckFailed:
    """A genuine validation failed."""


@attrs.frozen
class Renewed:
    """A KMS or ADBA activation was renewed, at *at*."""

    at: dt.datetime = attrs.field(validator=_required_aware)


@attrs.frozen
class GraceExpired:
    """A grace period ran out. :func:`advance` produces it; it is in the table to be drawn."""


@attrs.frozen
class ValidityExpired:
    """A KMS or ADBA activation lapsed unrenewed. :func:`advance` produces it."""


Event: TypeAlias = (
    KeyInstalled
    | KeyUninstalled
    | Activated
    | ActivationFailed
    | HardwareChanged
    | Rearmed
    | GenuineCheckFailed
    | Renewed
    | GraceExpired
    | ValidityExpired
)
"""Anything that can happen to a product's licensing."""

# --- the table ------------------------------------------------------------------------

U = LicenseStatus.UNLICENSED
L = LicenseStatus.LICENSED
OOB = LicenseStatus.OOB_GRACE
OOT = LicenseStatus.OOT_GRACE
NG = LicenseStatus.NON_GENUINE_GRACE
N = LicenseStatus.NOTIFICATION
X = LicenseStatus.EXTENDED_GRACE
_KEYED: Final = (L, OOB, OOT, NG, N, X)
_GRACE: Final = frozenset({OOB, OOT, NG, X})

# Guard names, as the diagrams show them.
SAME_PERPETUAL_KEY = "same key, perpetual activation"
OTHER_KEY = "another key, or an expiring activation"
METHOD_FITS_KEY = "method fits the key's channel"
BEYOND_TOLERANCE = "beyond tolerance"
WITHIN_TOLERANCE = "within tolerance"
REARM_LEFT = "a rearm left"
REARM_LEFT_GENUINE = "a rearm left, genuine"
EXPIRING = "KMS or ADBA activation"
GRACE_OVER = "grace over"
GRACE_OVER_EXTENDED = "grace over, extended grace offered"
GRACE_OVER_NO_EXTENSION = "grace over, no extended grace"
VALIDITY_OVER = "validity over"


def _t(
    source: LicenseStatus, event: type[object], target: LicenseStatus, guard: str | None = None
) -> Transition[LicenseStatus]:
    return Transition(source, event.__name__, target, guard)


TRANSITIONS: Final[tuple[Transition[LicenseStatus], ...]] = (
    # Installing a key starts the initial grace; a key replaced in grace keeps its timer.
    _t(U, KeyInstalled, OOB),
    _t(OOB, KeyInstalled, OOB),
    _t(L, KeyInstalled, L, SAME_PERPETUAL_KEY),
    _t(L, KeyInstalled, OOB, OTHER_KEY),
    _t(OOT, KeyInstalled, OOT),
    _t(NG, KeyInstalled, NG),
    _t(N, KeyInstalled, N),
    _t(X, KeyInstalled, X),
    # Uninstalling the key leaves the product unlicensed, whatever it was.
    *(_t(status, KeyUninstalled, U) for status in _KEYED),
    # Activation needs a key whose channel suits the method.
    *(_t(status, Activated, L, METHOD_FITS_KEY) for status in _KEYED),
    # A failed attempt changes nothing but the reason.
    *(_t(status, ActivationFailed, status) for status in (U, *_KEYED)),
    # Only a licensed product has a binding to lose.
    _t(L, HardwareChanged, OOT, BEYOND_TOLERANCE),
    _t(L, HardwareChanged, L, WITHIN_TOLERANCE),
    *(_t(status, HardwareChanged, status) for status in (U, OOB, OOT, NG, N, X)),
    # A rearm starts a fresh initial grace and costs one rearm.
    _t(L, Rearmed, OOB, REARM_LEFT),
    _t(OOB, Rearmed, OOB, REARM_LEFT),
    _t(OOT, Rearmed, OOB, REARM_LEFT),
    _t(N, Rearmed, OOB, REARM_LEFT_GENUINE),
    _t(X, Rearmed, OOB, REARM_LEFT),
    # A failed genuine check starts the non-genuine grace.
    *(_t(status, GenuineCheckFailed, NG) for status in (L, OOB, OOT, X)),
    _t(NG, GenuineCheckFailed, NG),
    _t(N, GenuineCheckFailed, N),
    _t(L, Renewed, L, EXPIRING),
    # The clock: grace periods end in notification, KMS and ADBA validity in OOT grace.
    _t(OOB, GraceExpired, X, GRACE_OVER_EXTENDED),
    _t(OOB, GraceExpired, N, GRACE_OVER_NO_EXTENSION),
    _t(OOT, GraceExpired, N, GRACE_OVER),
    _t(NG, GraceExpired, N, GRACE_OVER),
    _t(X, GraceExpired, N, GRACE_OVER),
    _t(L, ValidityExpired, OOT, VALIDITY_OVER),
)
"""Every move a product's licensing can make; each cell not listed is refused."""

LICENSING: Final = StateTable(name="licensing", initial=U, transitions=TRANSITIONS)
"""The licensing machine's table, for queries and drawings."""

_Guard: TypeAlias = Callable[[LicenseState, Event, dt.datetime, GracePolicy], bool]


def _same_perpetual_key(
    state: LicenseState, event: Event, _: dt.datetime, __: GracePolicy
) -> bool:
    assert isinstance(event, KeyInstalled)  # noqa: S101  # the table pairs guard and event
    return (
        state.licensed_until is None
        and state.partial_key == event.key.partial
        and state.channel is event.channel
    )


def _method_fits_key(state: LicenseState, event: Event, _: dt.datetime, __: GracePolicy) -> bool:
    assert isinstance(event, Activated)  # noqa: S101
    return state.channel in _METHOD_CHANNELS[event.method]


def _beyond_tolerance(_: LicenseState, event: Event, __: dt.datetime, ___: GracePolicy) -> bool:
    assert isinstance(event, HardwareChanged)  # noqa: S101
    return event.beyond_tolerance


def _grace_over(state: LicenseState, _: Event, now: dt.datetime, __: GracePolicy) -> bool:
    return state.grace_ends_at is not None and now >= state.grace_ends_at


def _extended(state: LicenseState, event: Event, now: dt.datetime, policy: GracePolicy) -> bool:
    return _grace_over(state, event, now, policy) and policy.extended_grace > dt.timedelta(0)


def _not_extended(
    state: LicenseState, event: Event, now: dt.datetime, policy: GracePolicy
) -> bool:
    return _grace_over(state, event, now, policy) and policy.extended_grace == dt.timedelta(0)


def _rearm_left(state: LicenseState, _: Event, __: dt.datetime, ___: GracePolicy) -> bool:
    return state.rearms_left > 0


def _other_key(state: LicenseState, event: Event, now: dt.datetime, policy: GracePolicy) -> bool:
    return not _same_perpetual_key(state, event, now, policy)


def _within_tolerance(
    state: LicenseState, event: Event, now: dt.datetime, policy: GracePolicy
) -> bool:
    return not _beyond_tolerance(state, event, now, policy)


def _rearm_left_genuine(
    state: LicenseState, event: Event, now: dt.datetime, policy: GracePolicy
) -> bool:
    return _rearm_left(state, event, now, policy) and state.genuine


def _expiring(state: LicenseState, event: Event, _: dt.datetime, __: GracePolicy) -> bool:
    assert isinstance(event, Renewed)  # noqa: S101  # the table pairs guard and event
    # A renewal revives nothing: it must come while the activation is still valid, and
    # not before the last contact.
    return (
        state.method is not None
        and state.method.expires
        and state.licensed_until is not None
        and event.at < state.licensed_until
        and (state.activated_at is None or event.at >= state.activated_at)
    )


def _validity_over(state: LicenseState, _: Event, now: dt.datetime, __: GracePolicy) -> bool:
    return state.licensed_until is not None and now >= state.licensed_until


_GUARDS: Final[dict[str, _Guard]] = {
    SAME_PERPETUAL_KEY: _same_perpetual_key,
    OTHER_KEY: _other_key,
    METHOD_FITS_KEY: _method_fits_key,
    BEYOND_TOLERANCE: _beyond_tolerance,
    WITHIN_TOLERANCE: _within_tolerance,
    REARM_LEFT: _rearm_left,
    REARM_LEFT_GENUINE: _rearm_left_genuine,
    EXPIRING: _expiring,
    GRACE_OVER: _grace_over,
    GRACE_OVER_EXTENDED: _extended,
    GRACE_OVER_NO_EXTENSION: _not_extended,
    VALIDITY_OVER: _validity_over,
}


def _refusal_code(state: LicenseState, event: Event) -> int | None:
    """The HRESULT Windows reports when it refuses *event* in *state*, if it has one."""
    if not state.has_key:
        return codes.NO_PRODUCT_KEY
    if isinstance(event, Rearmed):
        if not state.genuine:
            return codes.NOT_GENUINE
        return codes.MAX_REARM_REACHED
    if isinstance(event, Activated):
        return codes.INVALID_KEY_TYPE
    return None


# --- applying events -------------------------------------------------------------------


def step(
    state: LicenseState, event: Event, *, now: dt.datetime, policy: GracePolicy | None = None
) -> LicenseState:
    """Return the state after *event* happened at *now*.

    Raises :class:`~mak.errors.IllegalTransition` when the table has no transition for
    the event in this state or none whose guard holds; its ``code`` is the HRESULT
    Windows reports for that refusal, when there is one.

    ``step`` applies the one event and leaves the clock alone: when time has passed since
    *state* was taken, call :func:`advance` first, or a renewal may revive an activation
    whose validity had already lapsed.

    >>> from datetime import datetime, timezone
    >>> step(LicenseState.new(), Activated(ActivationMethod.KMS, at=datetime(2026, 1, 5, tzinfo=timezone.utc)), now=datetime(2026, 1, 5, tzinfo=timezone.utc))
    Traceback (most recent call last):
    mak.errors.IllegalTransition: Can't Activated when Unlicensed (0xC004F014)
    """
    _require_aware(now, "now")
    policy = _policy(policy)
    if not isinstance(state, LicenseState):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
        raise InvalidFormat.wrong_type("license state", state)
    if type(event) not in _EFFECTS:
        raise InvalidFormat("licensing event", type(event).__name__, "not a mak.lifecycle event")
    at = getattr(event, "at", None)
    if isinstance(at, dt.datetime) and at > now:
        raise InvalidComponent(
            "time", "at", f"{at.isoformat()} is later than now ({now.isoformat()})"
        )
    return _step(state, event, now, policy)


def _step(
    state: LicenseState, event: Event, now: dt.datetime, policy: GracePolicy
) -> LicenseState:
    """:func:`step` once its arguments are known to be sound: :func:`advance`'s own events."""
    for transition in LICENSING.candidates(state.status, type(event).__name__):
        guard = transition.guard
        if guard is None or _GUARDS[guard](state, event, now, policy):
            return _EFFECTS[type(event)](state, event, transition.target, now, policy)
    raise IllegalTransition(state.status, event, code=_refusal_code(state, event))


def advance(
    state: LicenseState, now: dt.datetime, policy: GracePolicy | None = None
) -> LicenseState:
    """Return the state once every timer due by *now* has run out.

    KMS and ADBA validity lapses into the additional grace, grace periods into
    notification (or extended grace). Each new period is counted from the moment the
    previous one ended, not from *now*, so ``advance`` gives the same answer however
    often it is called: ``advance(advance(s, t1), t2) == advance(s, t2)`` for t1 <= t2.
    """
    _require_aware(now, "now")
    policy = _policy(policy)
    if not isinstance(state, LicenseState):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
        raise InvalidFormat.wrong_type("license state", state)
    while True:
        if state.status is L and state.licensed_until is not None and now >= state.licensed_until:
            state = _step(state, ValidityExpired(), now, policy)
        elif (
            state.status in _GRACE
            and state.grace_ends_at is not None
            and now >= state.grace_ends_at
        ):
            state = _step(state, GraceExpired(), now, policy)
        else:
            return state


def _key_installed(
    state: LicenseState, event: Event, target: LicenseStatus, now: dt.datetime, policy: GracePolicy
) -> LicenseState:
    assert isinstance(event, KeyInstalled)  # noqa: S101  # _EFFECTS pairs them
    if target is L:  # the same perpetual key again: nothing to redo
        return state
    if state.status is U and state.grace_ends_at is not None:  # a grace resumes
        status, reason = (OOB, codes.OOB_GRACE_PERIOD)
        if not state.genuine:
            status, reason = (NG, codes.NON_GENUINE_GRACE_PERIOD)
        return replace(
            state,
            status=status,
            reason=reason,
            channel=event.channel,
            partial_key=event.key.partial,
        )
    if state.status in (U, L):  # a first key, or one that needs a new activation
        # A new snapshot: only the rearms and genuineness carry over. The key's last five
        # symbols are the one field no record has checked (a key may end in N, no
        # partial does).
        partial_key = event.key.partial
        _require_partial_key(partial_key)
        return _snapshot(
            status=OOB,
            reason=codes.OOB_GRACE_PERIOD,
            grace_ends_at=_utc(now + policy.oob_grace),
            channel=event.channel,
            partial_key=partial_key,
            rearms_left=state.rearms_left,
            genuine=state.genuine,
        )
    # Replaced during a grace period or notification: the status and timer go on.
    return replace(state, channel=event.channel, partial_key=event.key.partial)


def _key_uninstalled(
    state: LicenseState, _: Event, __: LicenseStatus, now: dt.datetime, ___: GracePolicy
) -> LicenseState:
    # A grace that was running stays due: a key installed later resumes it, so that
    # swapping keys never buys time. Notification's grace is already over (now).
    resumes = state.grace_ends_at if state.status in _GRACE else None
    if state.status is N:
        resumes = _utc(now)
    return LicenseState(
        rearms_left=state.rearms_left, grace_ends_at=resumes, genuine=state.genuine
    )


def _activated(
    state: LicenseState, event: Event, _: LicenseStatus, __: dt.datetime, policy: GracePolicy
) -> LicenseState:
    assert isinstance(event, Activated)  # noqa: S101
    validity = _validity(event.method, policy)
    # A new snapshot, as in _key_installed: licensed and genuine, no grace, no reason;
    # only the key and the rearms carry over.
    return _snapshot(
        status=L,
        channel=state.channel,
        partial_key=state.partial_key,
        activated_at=_utc(event.at),
        method=event.method,
        licensed_until=None if validity is None else _utc(event.at + validity),
        rearms_left=state.rearms_left,
    )


def _activation_failed(
    state: LicenseState, event: Event, _: LicenseStatus, __: dt.datetime, ___: GracePolicy
) -> LicenseState:
    assert isinstance(event, ActivationFailed)  # noqa: S101
    return replace(state, reason=event.code)


def _hardware_changed(
    state: LicenseState, _: Event, target: LicenseStatus, now: dt.datetime, policy: GracePolicy
) -> LicenseState:
    if state.status is L and target is OOT:  # only a licensed product has a binding to lose
        return _grace(state, OOT, codes.OOT_GRACE_PERIOD, now + policy.oot_grace)
    return state


def _rearmed(
    state: LicenseState, _: Event, __: LicenseStatus, now: dt.datetime, policy: GracePolicy
) -> LicenseState:
    rearmed = _grace(state, OOB, codes.OOB_GRACE_PERIOD, now + policy.oob_grace)
    return replace(rearmed, rearms_left=state.rearms_left - 1)


def _genuine_check_failed(
    state: LicenseState, _: Event, target: LicenseStatus, now: dt.datetime, policy: GracePolicy
) -> LicenseState:
    if target is N:
        return replace(state, reason=codes.NOT_GENUINE, genuine=False)
    if state.status is NG:  # already counting down
        return state
    ends_at = now + policy.non_genuine_grace
    return replace(_grace(state, NG, codes.NON_GENUINE_GRACE_PERIOD, ends_at), genuine=False)


def _renewed(
    state: LicenseState, event: Event, _: LicenseStatus, __: dt.datetime, policy: GracePolicy
) -> LicenseState:
    assert isinstance(event, Renewed)  # noqa: S101
    validity = _validity(state.method, policy)
    assert validity is not None  # noqa: S101  # the EXPIRING guard held
    at = _utc(event.at)
    return replace(state, activated_at=at, licensed_until=at + validity)


def _grace_expired(
    state: LicenseState, _: Event, target: LicenseStatus, __: dt.datetime, policy: GracePolicy
) -> LicenseState:
    ended = state.grace_ends_at
    assert ended is not None  # noqa: S101  # the GRACE_OVER guards held
    if target is X:  # counted from the end of the last period, not from now
        return _grace(state, X, state.reason, ended + policy.extended_grace)
    reason = codes.NOT_GENUINE if state.status is NG else codes.GRACE_TIME_EXPIRED
    return replace(_unlicensed(state, N), reason=reason)


def _validity_expired(
    state: LicenseState, _: Event, __: LicenseStatus, ___: dt.datetime, policy: GracePolicy
) -> LicenseState:
    lapsed = state.licensed_until
    assert lapsed is not None  # noqa: S101  # the VALIDITY_OVER guard held
    return _grace(state, OOT, codes.OOT_GRACE_PERIOD, lapsed + policy.oot_grace)


_Effect: TypeAlias = Callable[
    [LicenseState, Event, LicenseStatus, dt.datetime, GracePolicy], LicenseState
]
_EFFECTS: Final[dict[type[object], _Effect]] = {
    KeyInstalled: _key_installed,
    KeyUninstalled: _key_uninstalled,
    Activated: _activated,
    ActivationFailed: _activation_failed,
    HardwareChanged: _hardware_changed,
    Rearmed: _rearmed,
    GenuineCheckFailed: _genuine_check_failed,
    Renewed: _renewed,
    GraceExpired: _grace_expired,
    ValidityExpired: _validity_expired,
}


def _policy(policy: object) -> GracePolicy:
    if policy is None:
        return _DEFAULT_POLICY
    if not isinstance(policy, GracePolicy):
        raise InvalidFormat.wrong_type("grace policy", policy)
    return policy


def _snapshot(  # noqa: PLR0913  # one argument a field, as LicenseState takes them
    *,
    status: LicenseStatus,
    channel: KeyChannel | None,
    partial_key: str | None,
    reason: int | None = None,
    grace_ends_at: dt.datetime | None = None,
    licensed_until: dt.datetime | None = None,
    activated_at: dt.datetime | None = None,
    method: ActivationMethod | None = None,
    rearms_left: int,
    genuine: bool = True,
) -> LicenseState:
    """A :class:`LicenseState` of values checked already, built without checking them again.

    Each value is a field of a checked snapshot or event, or a time :func:`_utc` gave.
    attrs' ``__init__`` would convert and validate all ten again, more than half of what
    a snapshot costs, and a proxy activation builds two per product. The check across
    fields (``__attrs_post_init__``) still runs.
    """
    return _TRUSTED_STATE(
        status=status,
        channel=channel,
        partial_key=partial_key,
        reason=reason,
        grace_ends_at=grace_ends_at,
        licensed_until=licensed_until,
        activated_at=activated_at,
        method=method,
        rearms_left=rearms_left,
        genuine=genuine,
    )


_TRUSTED_STATE: Final = trusted(LicenseState)


def _unlicensed(state: LicenseState, status: LicenseStatus) -> LicenseState:
    """*state* moved to *status* with its activation and timers cleared."""
    return replace(
        state,
        status=status,
        grace_ends_at=None,
        licensed_until=None,
        activated_at=None,
        method=None,
    )


def _grace(
    state: LicenseState, status: LicenseStatus, reason: int | None, ends_at: dt.datetime
) -> LicenseState:
    """*state* moved into the grace *status* ending at *ends_at*, its activation cleared."""
    return replace(
        state,
        status=status,
        reason=reason,
        grace_ends_at=_utc(ends_at),
        licensed_until=None,
        activated_at=None,
        method=None,
    )


def _validity(method: ActivationMethod | None, policy: GracePolicy) -> dt.timedelta | None:
    if method is ActivationMethod.KMS:
        return policy.kms_validity
    if method is ActivationMethod.ADBA:
        return policy.adba_validity
    return None


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc)


# --- queries and drawings ---------------------------------------------------------------


def allowed_events(status: LicenseStatus) -> frozenset[str]:
    """Return the names of the events some transition accepts in *status* (guards aside).

    >>> sorted(allowed_events(LicenseStatus.UNLICENSED))
    ['ActivationFailed', 'HardwareChanged', 'KeyInstalled']
    """
    return LICENSING.allowed_events(status)


def validate_table() -> None:
    """Check :data:`TRANSITIONS` is sound; see :meth:`mak.statetable.StateTable.validate`."""
    LICENSING.validate()


def to_mermaid(highlight: LicenseStatus | None = None) -> str:
    """Return the licensing machine as a Mermaid state diagram, *highlight* drawn apart."""
    return LICENSING.to_mermaid(highlight=highlight)


def diagram(highlight: LicenseStatus | None = None) -> Diagram:
    """Return the licensing machine as a :class:`~mak.statetable.Diagram`, drawn in notebooks.

    ``str()`` of it is :func:`to_mermaid`; in Jupyter it shows as the drawing, with
    *highlight* (say, a product's current status) drawn apart.

    >>> str(diagram()) == to_mermaid()
    True
    >>> diagram(LicenseStatus.LICENSED)._repr_markdown_().splitlines()[0]
    '```mermaid'
    """
    return LICENSING.diagram(highlight=highlight)


def to_dot() -> str:
    """Return the licensing machine as a Graphviz DOT digraph."""
    return LICENSING.to_dot()


def transition_table_markdown() -> str:
    """Return :data:`TRANSITIONS` as a Markdown table."""
    return LICENSING.to_markdown()
