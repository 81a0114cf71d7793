"""The activation error codes mak knows, as one catalog of :class:`ActivationCode` values.

Windows reports activation outcomes as 32-bit HRESULTs (``0xC004C020``); the batch web
service that proxy activation talks to answers with small numbers of its own (``0x7F``).
Both live in one table here. :func:`lookup` finds an entry from any usual spelling of a
code, :func:`from_batch_service` translates a batch-service number into the HRESULT that
means the same thing, :func:`all_codes` lists the catalog and :func:`to_markdown` writes it
as the error-code reference of the docs.

>>> print(lookup("0xC004C020"))
0xC004C020 SL_E_CHPA_DMAK_LIMIT_EXCEEDED: The MAK has used up its activations; ...
"""

from __future__ import annotations

import enum
import re
from typing import Final

import attrs

from mak.errors import InvalidComponent, InvalidFormat

__all__ = [
    "ACCESS_DENIED",
    "ACTIVATION_IN_PROGRESS",
    "CID_IID_INVALID_CHECK_DIGITS",
    "CID_IID_INVALID_DATA",
    "CID_IID_MISMATCH",
    "GRACE_TIME_EXPIRED",
    "INVALID_KEY_TYPE",
    "INVALID_PRODUCT_KEY",
    "KEY_BLOCKED",
    "KMS_COUNT_INSUFFICIENT",
    "KMS_HOST_LIMIT_EXCEEDED",
    "KMS_UNAVAILABLE",
    "MAK_EXTENSION_LIMIT_EXCEEDED",
    "MAK_LIMIT_EXCEEDED",
    "MAX_REARM_REACHED",
    "MISMATCHED_SKU",
    "NON_GENUINE_GRACE_PERIOD",
    "NOT_GENUINE",
    "NO_PRODUCT_KEY",
    "OOB_GRACE_PERIOD",
    "OOT_GRACE_PERIOD",
    "OUT_OF_TOLERANCE",
    "ActivationCode",
    "Category",
    "all_codes",
    "from_batch_service",
    "lookup",
    "to_markdown",
]

#: The MAK has no activations left (SL_E_CHPA_DMAK_LIMIT_EXCEEDED).
MAK_LIMIT_EXCEEDED: Final[int] = 0xC004C020
#: The MAK cannot be extended any further (SL_E_CHPA_DMAK_EXTENSION_LIMIT_EXCEEDED).
MAK_EXTENSION_LIMIT_EXCEEDED: Final[int] = 0xC004C021
#: The activation server has blocked the key (SL_E_CHPA_PRODUCT_KEY_BLOCKED).
KEY_BLOCKED: Final[int] = 0xC004C003
#: The product key is not valid (SL_E_INVALID_PRODUCT_KEY).
INVALID_PRODUCT_KEY: Final[int] = 0xC004F050
#: The key cannot be used for this kind of activation (SL_E_INVALID_PRODUCT_KEY_TYPE).
INVALID_KEY_TYPE: Final[int] = 0xC004F07D
#: The KMS host has not seen enough clients yet (SL_E_VL_NOT_ENOUGH_COUNT).
KMS_COUNT_INSUFFICIENT: Final[int] = 0xC004F038
#: No KMS host could be reached (SL_E_VL_BINDING_SERVICE_UNAVAILABLE).
KMS_UNAVAILABLE: Final[int] = 0xC004F074
#: The confirmation ID does not belong to the installation ID (SL_E_CIDIID_MISMATCHED).
CID_IID_MISMATCH: Final[int] = 0xC004F031
#: A check digit of the IID or CID is wrong (SL_E_CIDIID_INVALID_CHECK_DIGITS).
CID_IID_INVALID_CHECK_DIGITS: Final[int] = 0xC004F04D
#: The offline activation data is malformed (SL_E_CIDIID_INVALID_DATA).
CID_IID_INVALID_DATA: Final[int] = 0xC004F02C
#: The grace period ended; the product is in Notification (SL_E_GRACE_TIME_EXPIRED).
GRACE_TIME_EXPIRED: Final[int] = 0xC004F009
#: The installation is not genuine (SL_E_NOT_GENUINE).
NOT_GENUINE: Final[int] = 0xC004F200
#: The hardware changed beyond tolerance (SL_E_OUT_OF_TOLERANCE).
OUT_OF_TOLERANCE: Final[int] = 0xC004F00F
#: No product key is installed (SL_E_PKEY_NOT_INSTALLED).
NO_PRODUCT_KEY: Final[int] = 0xC004F014
#: The action needs administrator rights (SL_E_LUA_ACCESSDENIED).
ACCESS_DENIED: Final[int] = 0xC004F025
#: No rearms are left (SL_REMAPPING_SP_PUB_TS_MAX_REARM_REACHED).
MAX_REARM_REACHED: Final[int] = 0xC004D307
#: The KMS host key has used up its activations (SL_E_CHPA_MAXIMUM_UNLOCK_EXCEEDED).
KMS_HOST_LIMIT_EXCEEDED: Final[int] = 0xC004C008
#: Another activation of the same SKU is running (SL_E_ACTIVATION_IN_PROGRESS).
ACTIVATION_IN_PROGRESS: Final[int] = 0xC004E028
#: The key is for an edition that is not installed (SL_E_MISMATCHED_PRODUCT_SKU).
MISMATCHED_SKU: Final[int] = 0xC004F069
#: Informational: the product is in its initial grace period (SL_I_OOB_GRACE_PERIOD).
OOB_GRACE_PERIOD: Final[int] = 0x4004F00C
#: Informational: the product is in its additional grace period (SL_I_OOT_GRACE_PERIOD).
OOT_GRACE_PERIOD: Final[int] = 0x4004F00D
#: Informational: the product is in its non-genuine grace period (SL_I_NONGENUINE_GRACE_PERIOD).
NON_GENUINE_GRACE_PERIOD: Final[int] = 0x4004F065

_KIND: Final = "activation code"
_MAX_UNSIGNED: Final = 0xFFFFFFFF
_HEX_DIGITS: Final = 8
_MIN_SIGNED: Final = -(2**31)
_FAILURE_BIT: Final = 0x80000000
_UNKNOWN_SYMBOL: Final = "UNKNOWN"
_HEX_TEXT: Final = re.compile(r"(?:0[xX])?([0-9A-Fa-f]+)")
_SHOWN_CHARS: Final = 32
_SHOWN_BITS: Final = 1024


class Category(enum.Enum):
    """The kind of problem a code reports, which says who can fix it.

    >>> lookup(MAK_LIMIT_EXCEEDED).category
    <Category.LIMIT: 'limit'>
    >>> [category.value for category in Category]
    ['key', 'limit', 'state', 'kms', 'network', 'permission', 'data', 'service', 'info']
    """

    KEY = "key"
    """The product key is wrong, blocked or of the wrong kind."""
    LIMIT = "limit"
    """A count ran out: MAK activations, KMS host activations, rearms."""
    STATE = "state"
    """The licensing state of the computer forbids or needs something."""
    KMS = "kms"
    """Key Management Service or Active Directory-based activation."""
    NETWORK = "network"
    """Name resolution or connectivity."""
    PERMISSION = "permission"
    """The caller lacks the rights to act."""
    DATA = "data"
    """An installation or confirmation ID is malformed or does not match."""
    SERVICE = "service"
    """The activation service failed, or the failure is not known to mak."""
    INFO = "info"
    """Not a failure: the code reports a success or a grace period."""


def _check_value(_instance: object, _attribute: object, value: int) -> None:
    """Refuse a code value that no 32-bit field can hold."""
    if not 0 <= value <= _MAX_UNSIGNED:
        raise InvalidComponent(_KIND, str(value), "not a 32-bit value")


@attrs.frozen
class ActivationCode:
    """One catalog entry: a code with its symbol, advice, category and retry hint.

    ``value`` is the unsigned 32-bit HRESULT, or the small number the batch service
    answers with. ``retryable`` says whether the same request may succeed later without
    anyone changing anything. ``known`` is ``False`` only for the placeholder entries
    :func:`lookup` builds for codes missing from the catalog.

    >>> code = lookup(0xC004F074)
    >>> code.symbol, code.category, code.retryable, code.known
    ('SL_E_VL_BINDING_SERVICE_UNAVAILABLE', <Category.KMS: 'kms'>, True, True)
    """

    value: int = attrs.field(validator=_check_value)
    symbol: str
    message: str
    category: Category
    retryable: bool
    known: bool = attrs.field(default=True, kw_only=True)

    @property
    def hex(self) -> str:
        """The code as Windows tools print it: ``0x`` and 8 upper-case hex digits.

        Batch-service numbers keep the short form the service itself uses.

        >>> lookup(-1073418203).hex
        '0xC004F025'
        >>> lookup(0x7F).hex
        '0x7F'
        """
        if self.value in _BATCH_TO_HRESULT:
            return f"0x{self.value:X}"
        return f"0x{self.value:08X}"

    def __str__(self) -> str:
        """The code, its symbol and its advice on one line.

        >>> print(lookup(0xC004F025))
        0xC004F025 SL_E_LUA_ACCESSDENIED: The action needs administrator rights; ...
        """
        return f"{self.hex} {self.symbol}: {self.message}"


# One row per code. Categories and ``retryable`` are mak's judgment: only failures that can
# clear up by themselves (network, an unreachable or still-counting KMS host, a busy
# service, a concurrent attempt) are retryable; key, limit, data and permission problems
# need someone to change something first.
_CATALOG: Final[tuple[ActivationCode, ...]] = (
    # Batch-service answers (proxy activation); see _BATCH_TO_HRESULT for their HRESULTs.
    ActivationCode(
        0x67,
        "BATCH_PRODUCT_KEY_BLOCKED",
        "The batch activation service reports the key as blocked (0xC004C003); get a new MAK.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0x68,
        "BATCH_INVALID_PRODUCT_KEY",
        "The batch activation service does not accept this product key (0xC004C004); "
        "check that it is a genuine MAK for this product.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0x7F,
        "BATCH_MAK_LIMIT_EXCEEDED",
        "The batch activation service reports that the MAK has no activations left "
        "(0xC004C020); ask a Microsoft Licensing Activation Center for more.",
        Category.LIMIT,
        False,
    ),
    ActivationCode(
        0x86,
        "BATCH_INVALID_KEY_TYPE",
        "The batch activation service cannot use this kind of key (0xC004F07D); "
        "proxy activation needs a MAK or another key it supports.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0x90,
        "BATCH_INVALID_INSTALLATION_ID",
        "The batch activation service rejects the installation ID (0xC004F04D); "
        "collect it again from the computer and resend it.",
        Category.DATA,
        False,
    ),
    # Informational successes.
    ActivationCode(
        0x4004F00C,
        "SL_I_OOB_GRACE_PERIOD",
        "The product is not activated yet but is still inside its out-of-box grace period.",
        Category.INFO,
        False,
    ),
    ActivationCode(
        0x4004F00D,
        "SL_I_OOT_GRACE_PERIOD",
        "The hardware changed beyond tolerance and the product is inside its grace period; "
        "reactivate before it ends.",
        Category.INFO,
        False,
    ),
    ActivationCode(
        0x4004F040,
        "SL_E_VL_INFO_PRODUCT_USER_RIGHT",
        "Activation worked, but the owner should confirm the Product Use Rights allow this use.",
        Category.INFO,
        False,
    ),
    ActivationCode(
        0x4004F065,
        "SL_I_NONGENUINE_GRACE_PERIOD",
        "The product is inside its non-genuine grace period (some pages write this "
        "0xC004F065); make it genuine before the period ends.",
        Category.INFO,
        False,
    ),
    ActivationCode(
        0x4004FC04,
        "SL_I_TIMEBASED_VALIDITY_PERIOD",
        "The product is running inside a time-limited validity period.",
        Category.INFO,
        False,
    ),
    # Win32 failures seen during activation.
    ActivationCode(
        0x8004FE21,
        "WINDOWS_NOT_GENUINE",
        "Windows reports itself as not genuine, often because of unlicensed language "
        "packs or damaged system files; repair or reinstall the operating system.",
        Category.STATE,
        False,
    ),
    ActivationCode(
        0x80070005,
        "E_ACCESSDENIED",
        "Access was denied; run the command from an elevated (administrator) prompt.",
        Category.PERMISSION,
        False,
    ),
    ActivationCode(
        0x80070490,
        "ERROR_NOT_FOUND",
        "The setup user interface refused the product key; install it with `slmgr /ipk` instead.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0x800706BA,
        "RPC_S_SERVER_UNAVAILABLE",
        "The KMS host did not answer the remote call; check its firewall exception and "
        "that the DNS SRV record points to a live host.",
        Category.NETWORK,
        True,
    ),
    ActivationCode(
        0x80072EFD,
        "ERROR_INTERNET_CANNOT_CONNECT",
        "No connection to the activation service could be made; check the Internet "
        "access and proxy settings of the computer that talks to Microsoft, then retry.",
        Category.NETWORK,
        True,
    ),
    ActivationCode(
        0x8007232A,
        "DNS_ERROR_RCODE_SERVER_FAILURE",
        "The DNS server failed while the KMS host tried to publish or resolve its record; "
        "check DNS and try again.",
        Category.NETWORK,
        True,
    ),
    ActivationCode(
        0x8007232B,
        "DNS_ERROR_RCODE_NAME_ERROR",
        "No _vlmcs SRV record for a KMS host was found in DNS; publish one or point the "
        "client at a host with `slmgr /skms`.",
        Category.NETWORK,
        True,
    ),
    ActivationCode(
        0x8007251D,
        "DNS_INFO_NO_RECORDS",
        "The DNS query for KMS hosts returned no records; check the client's DNS "
        "settings and the published SRV records.",
        Category.NETWORK,
        True,
    ),
    # Activation server (0xB000 zone) and clearinghouse (0xC000 zone).
    ActivationCode(
        0xC004B100,
        "SL_E_SRV_GENERAL_ERROR",
        "The activation server could not activate the product; try again later, and "
        "confirm the MAK is valid for this product if it keeps failing.",
        Category.SERVICE,
        True,
    ),
    ActivationCode(
        0xC004C001,
        "SL_E_CHPA_PRODUCT_KEY_OUT_OF_RANGE",
        "The activation server says the product key is not valid; check the key.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0xC004C003,
        "SL_E_CHPA_PRODUCT_KEY_BLOCKED",
        "The activation server has blocked this product key; get a new MAK.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0xC004C004,
        "SL_E_CHPA_INVALID_PRODUCT_KEY",
        "The activation server says the product key is not valid; check the key.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0xC004C008,
        "SL_E_CHPA_MAXIMUM_UNLOCK_EXCEEDED",
        "The key has reached its activation limit, as a KMS host key does after 10 "
        "activations on 6 hosts; ask Microsoft to raise it.",
        Category.LIMIT,
        False,
    ),
    ActivationCode(
        0xC004C017,
        "SL_E_CHPA_PRODUCT_KEY_BLOCKED_IPLOCATION",
        "The activation server blocks this product key in the computer's geographic location.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0xC004C020,
        "SL_E_CHPA_DMAK_LIMIT_EXCEEDED",
        "The MAK has used up its activations; ask a Microsoft Licensing Activation "
        "Center to raise the limit.",
        Category.LIMIT,
        False,
    ),
    ActivationCode(
        0xC004C021,
        "SL_E_CHPA_DMAK_EXTENSION_LIMIT_EXCEEDED",
        "The MAK cannot be extended any further; ask a Microsoft Licensing Activation "
        "Center for help.",
        Category.LIMIT,
        False,
    ),
    ActivationCode(
        0xC004C060,
        "SL_E_CHPA_DYNAMICALLY_BLOCKED_PRODUCT_KEY",
        "The activation server has since blocked this product key; get a new one.",
        Category.KEY,
        False,
    ),
    # Security processor (0xD000 zone).
    ActivationCode(
        0xC004D307,
        "SL_REMAPPING_SP_PUB_TS_MAX_REARM_REACHED",
        "No rearms are left; reinstall the operating system before rearming again.",
        Category.LIMIT,
        False,
    ),
    ActivationCode(
        0xC004D309,
        "SL_REMAPPING_SP_PUB_TS_INVALID_HW_BINDING",
        "The computer has moved out of hardware tolerance; reactivate it.",
        Category.STATE,
        False,
    ),
    # Licensing service internals (0xE000 zone).
    ActivationCode(
        0xC004E016,
        "SL_E_PKEY_INVALID_CONFIG",
        "The licensing service does not recognise this product key for this product; "
        "check that the key matches the edition.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0xC004E028,
        "SL_E_ACTIVATION_IN_PROGRESS",
        "Another activation of this product is still running; wait for it to finish, "
        "then try again.",
        Category.STATE,
        True,
    ),
    # Licensing service client API (0xF000 zone).
    ActivationCode(
        0xC004F009,
        "SL_E_GRACE_TIME_EXPIRED",
        "The grace period is over and the product is in Notification; activate it.",
        Category.STATE,
        False,
    ),
    ActivationCode(
        0xC004F00F,
        "SL_E_OUT_OF_TOLERANCE",
        "The hardware changed beyond tolerance; reactivate, online or by phone for a MAK.",
        Category.STATE,
        False,
    ),
    ActivationCode(
        0xC004F013,
        "SL_E_RIGHT_NOT_GRANTED",
        "The installed licenses grant no right to run this product; install a key and "
        "license that cover it.",
        Category.STATE,
        False,
    ),
    ActivationCode(
        0xC004F014,
        "SL_E_PKEY_NOT_INSTALLED",
        "No product key is installed; install one before activating.",
        Category.STATE,
        False,
    ),
    ActivationCode(
        0xC004F025,
        "SL_E_LUA_ACCESSDENIED",
        "The action needs administrator rights; run it from an elevated prompt.",
        Category.PERMISSION,
        False,
    ),
    ActivationCode(
        0xC004F02C,
        "SL_E_CIDIID_INVALID_DATA",
        "The offline activation data is malformed; check the confirmation ID that was entered.",
        Category.DATA,
        False,
    ),
    ActivationCode(
        0xC004F02D,
        "SL_E_CIDIID_INVALID_VERSION",
        "The confirmation ID has the wrong version; obtain a new one.",
        Category.DATA,
        False,
    ),
    ActivationCode(
        0xC004F02E,
        "SL_E_CIDIID_VERSION_NOT_SUPPORTED",
        "This confirmation ID version is not supported here; obtain a new one.",
        Category.DATA,
        False,
    ),
    ActivationCode(
        0xC004F02F,
        "SL_E_CIDIID_INVALID_DATA_LENGTH",
        "The confirmation ID has the wrong length; check how many digits were entered.",
        Category.DATA,
        False,
    ),
    ActivationCode(
        0xC004F031,
        "SL_E_CIDIID_MISMATCHED",
        "The confirmation ID does not belong to this installation ID; check the IID and "
        "obtain a new CID if needed.",
        Category.DATA,
        False,
    ),
    ActivationCode(
        0xC004F035,
        "SL_E_VL_NOT_WINDOWS_SLP",
        "A volume key cannot activate this computer, which lacks a qualifying operating "
        "system; use another kind of key.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0xC004F038,
        "SL_E_VL_NOT_ENOUGH_COUNT",
        "The KMS host has not counted enough computers yet (5 for servers, 25 for "
        "clients); retry once more computers have contacted it.",
        Category.KMS,
        True,
    ),
    ActivationCode(
        0xC004F039,
        "SL_E_VL_BINDING_SERVICE_NOT_ENABLED",
        "The KMS host did not answer or has KMS turned off; check the service and TCP "
        "port 1688, then retry.",
        Category.KMS,
        True,
    ),
    ActivationCode(
        0xC004F041,
        "SL_E_VL_KEY_MANAGEMENT_SERVICE_NOT_ACTIVATED",
        "The KMS host is not activated itself; activate the host first.",
        Category.KMS,
        False,
    ),
    ActivationCode(
        0xC004F042,
        "SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH",
        "The KMS host that answered cannot activate this product; use a host with a "
        "suitable KMS host key.",
        Category.KMS,
        False,
    ),
    ActivationCode(
        0xC004F04D,
        "SL_E_CIDIID_INVALID_CHECK_DIGITS",
        "A check digit of the installation or confirmation ID is wrong; re-enter the ID.",
        Category.DATA,
        False,
    ),
    ActivationCode(
        0xC004F050,
        "SL_E_INVALID_PRODUCT_KEY",
        "The product key is not valid; look for typing mistakes, a pre-release key or a "
        "dash that is not a hyphen.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0xC004F051,
        "SL_E_BLOCKED_PRODUCT_KEY",
        "The product key is blocked; use a different key.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0xC004F064,
        "SL_E_NONGENUINE_GRACE_TIME_EXPIRED",
        "The non-genuine grace period is over; make the installation genuine.",
        Category.STATE,
        False,
    ),
    ActivationCode(
        0xC004F069,
        "SL_E_MISMATCHED_PRODUCT_SKU",
        "No installed product matches the key, which belongs to another edition; use "
        "the key for this edition.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0xC004F06B,
        "SL_E_VL_KEY_MANAGEMENT_SERVICE_VM_NOT_SUPPORTED",
        "This computer is a virtual machine, where KMS is not supported in this mode.",
        Category.KMS,
        False,
    ),
    ActivationCode(
        0xC004F06C,
        "SL_E_VL_INVALID_TIMESTAMP",
        "The KMS host rejected the request's time; fix the clock of the client or host.",
        Category.KMS,
        False,
    ),
    ActivationCode(
        0xC004F074,
        "SL_E_VL_BINDING_SERVICE_UNAVAILABLE",
        "No KMS host could be contacted; check DNS and the network, see event 12288, and retry.",
        Category.KMS,
        True,
    ),
    ActivationCode(
        0xC004F07D,
        "SL_E_INVALID_PRODUCT_KEY_TYPE",
        "This key cannot be used for this kind of activation; use a key of the right channel.",
        Category.KEY,
        False,
    ),
    ActivationCode(
        0xC004F07E,
        "SL_E_CIDIID_MISMATCHED_PKEY",
        "The installation and confirmation IDs do not belong to the installed product "
        "key; collect a new IID and obtain a new CID.",
        Category.DATA,
        False,
    ),
    ActivationCode(
        0xC004F07F,
        "SL_E_CIDIID_NOT_BOUND",
        "The installation and confirmation IDs are not bound to this computer; obtain a "
        "new CID for it.",
        Category.DATA,
        False,
    ),
    ActivationCode(
        0xC004F081,
        "SL_E_VL_AD_AO_NOT_FOUND",
        "The Active Directory activation object is missing or invalid; recreate it.",
        Category.KMS,
        False,
    ),
    ActivationCode(
        0xC004F082,
        "SL_E_VL_AD_AO_NAME_TOO_LONG",
        "The name of the Active Directory activation object is too long; choose a shorter one.",
        Category.KMS,
        False,
    ),
    ActivationCode(
        0xC004F083,
        "SL_E_VL_AD_SCHEMA_VERSION_NOT_SUPPORTED",
        "The Active Directory schema is too old for Active Directory-based activation; "
        "update the schema.",
        Category.KMS,
        False,
    ),
    ActivationCode(
        0xC004F200,
        "SL_E_NOT_GENUINE",
        "The installation is not genuine, which puts it in Notification.",
        Category.STATE,
        False,
    ),
    ActivationCode(
        0xC004F211,
        "SL_E_HWID_CHANGED",
        "The hardware of this computer may have changed; reactivate it.",
        Category.STATE,
        False,
    ),
)

_BY_VALUE: Final[dict[int, ActivationCode]] = {code.value: code for code in _CATALOG}

# The batch service's numbers and the HRESULTs Windows uses for the same refusal. 0x68
# maps to the clearinghouse's "invalid key" (0xC004C004), not the client-side 0xC004F050,
# because the refusal comes from Microsoft's server; 0x90 maps to 0xC004F04D, the code
# for an IID that does not check out, which is what the service tells the user.
_BATCH_TO_HRESULT: Final[dict[int, int]] = {
    0x67: KEY_BLOCKED,
    0x68: 0xC004C004,
    0x7F: MAK_LIMIT_EXCEEDED,
    0x86: INVALID_KEY_TYPE,
    0x90: CID_IID_INVALID_CHECK_DIGITS,
}


def lookup(code: int | str) -> ActivationCode:
    """The catalog entry for a code, or an entry saying mak does not know it.

    ``code`` is an int, signed or unsigned 32-bit (PowerShell shows HRESULTs as
    negative numbers), or a hex string with or without ``0x`` in either case;
    surrounding whitespace is ignored. Strings are always read as hex. A well-formed
    number mak does not know gives an entry with ``known=False``, in category INFO when
    its failure bit is clear and SERVICE otherwise, never retryable.

    >>> lookup(-1073418203) == lookup("c004f025") == lookup(" 0xC004F025 ")
    True
    >>> lookup(0x7F).message
    'The batch activation service reports that the MAK has no activations left ...'
    >>> unknown = lookup("0xC0040000")
    >>> unknown.known, unknown.category, unknown.symbol
    (False, <Category.SERVICE: 'service'>, 'UNKNOWN')
    >>> lookup("hello")
    Traceback (most recent call last):
    mak.errors.InvalidFormat: Invalid activation code: 'hello' (not a hex number)

    Raises :class:`~mak.errors.InvalidFormat` for anything but an int or a hex string,
    and :class:`~mak.errors.InvalidComponent` for a number no 32-bit field can hold.
    """
    value = _parse(code)
    known = _BY_VALUE.get(value)
    return _unknown(value) if known is None else known


def from_batch_service(code: int | str) -> ActivationCode:
    """The HRESULT entry that a batch-service error number stands for.

    ``code`` is read as in :func:`lookup` (the service sends strings like ``"0x7F"``).
    0x67 gives 0xC004C003, 0x68 gives 0xC004C004 (the server-side invalid key), 0x7F
    gives 0xC004C020, 0x86 gives 0xC004F07D and 0x90 gives 0xC004F04D (the IID does not
    check out). Any other number gives an unknown entry.

    >>> from_batch_service(0x7F).hex
    '0xC004C020'
    >>> from_batch_service("0x90").symbol
    'SL_E_CIDIID_INVALID_CHECK_DIGITS'
    >>> from_batch_service(0x70).known
    False
    """
    value = _parse(code)
    hresult = _BATCH_TO_HRESULT.get(value)
    return _unknown(value) if hresult is None else _BY_VALUE[hresult]


def all_codes() -> tuple[ActivationCode, ...]:
    """Every catalog entry, batch-service numbers included, sorted by value.

    >>> codes = all_codes()
    >>> codes[0].hex, codes[-1].hex
    ('0x67', '0xC004F211')
    >>> all(code.known for code in codes)
    True
    """
    return tuple(sorted(_CATALOG, key=lambda code: code.value))


# What a caller does about each category: the error-code reference prints it above the
# category's table. The categories' own docstrings say what they are; this says who acts.
_CATEGORY_ADVICE: Final[dict[Category, str]] = {
    Category.KEY: "The key is wrong for what was asked. Retrying changes nothing: supply "
    "another key, or the right kind (a MAK for MAK activation, a GVLK for KMS).",
    Category.LIMIT: "A count ran out. Retrying changes nothing until the limit is raised "
    "(a Microsoft Licensing Activation Center, for a MAK) or another key is used.",
    Category.STATE: "The product's licensing state forbids the step or asks for one. "
    "Read the state again and act on it (activate, rearm, make it genuine).",
    Category.KMS: "The KMS host, or Active Directory-based activation, is not ready. The "
    "retryable ones (a count below the threshold, a host not reached) clear up by "
    "themselves, as the client retries every two hours; the others need the host, its "
    "clock or the directory fixed.",
    Category.NETWORK: "Name resolution or connectivity failed. Retry later, or fix DNS, "
    "the proxy or the firewall first.",
    Category.PERMISSION: "The account acting lacks the rights. Retry with an administrator "
    "account; retrying as the same one changes nothing.",
    Category.DATA: "An installation or confirmation ID is malformed or does not match. "
    "Collect the installation ID again, and get a confirmation ID for that one.",
    Category.SERVICE: "The activation service itself failed. Retry later; if it persists, "
    "look the code up with `slui.exe 0x2a <code>`.",
    Category.INFO: "Not a failure: the code reports a success or a grace period. Nothing "
    "needs doing now, though a grace period will end.",
}


def to_markdown() -> str:
    """Return the whole catalog as Markdown: one section per category, one row per code.

    Each section opens with a MyST target (``codes-key``, ``codes-limit`` ...) that other
    pages link to, and what to do about a code of that category. The docs include this
    text from ``docs/_generated/codes.md``, which ``python -m mak codes`` writes.

    >>> text = to_markdown()
    >>> text.splitlines()[:2]
    ['(codes-key)=', '## Key']
    >>> "| `0xC004C020` | `SL_E_CHPA_DMAK_LIMIT_EXCEEDED` | no |" in text
    True
    """
    sections: list[str] = []
    for category in Category:
        rows = [code for code in all_codes() if code.category is category]
        lines = [
            f"(codes-{category.value})=",
            f"## {category.name.capitalize()}",
            "",
            _CATEGORY_ADVICE[category],
            "",
            "| code | symbol | retryable | meaning |",
            "|---|---|---|---|",
        ]
        lines.extend(
            f"| `{code.hex}` | `{code.symbol}` | {'yes' if code.retryable else 'no'} | "
            f"{code.message.replace('|', '&#124;')} |"
            for code in rows
        )
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def _parse(code: object) -> int:
    """Read ``code`` as an unsigned 32-bit value, or raise the matching ValidationError."""
    if isinstance(code, str):
        code = str.__str__(code)  # a subclass may override strip()
        match = _HEX_TEXT.fullmatch(code.strip())
        if match is None:
            raise InvalidFormat(_KIND, _shown(code), "not a hex number")
        # More than 8 significant hex digits is out of range: say so without asking
        # int() to convert what may be megabytes of them.
        significant = match.group(1).lstrip("0") or "0"
        too_long = len(significant) > _HEX_DIGITS
        value = _MAX_UNSIGNED + 1 if too_long else int(significant, 16)
        if value > _MAX_UNSIGNED:
            raise InvalidComponent(_KIND, _shown(code), "not a 32-bit value")
        return value
    if isinstance(code, int) and not isinstance(code, bool):
        if not _MIN_SIGNED <= code <= _MAX_UNSIGNED:
            raise InvalidComponent(_KIND, _shown_int(code), "not a 32-bit value")
        return code & _MAX_UNSIGNED
    name = type(code).__name__  # not repr(): it can raise, or spell a secret
    raise InvalidFormat(_KIND, f"<{name}>", f"expected an int or a hex string, got {name}")


def _shown(text: str) -> str:
    """Cut long input down so an error message stays one readable line."""
    if len(text) <= _SHOWN_CHARS:
        return text
    return text[: _SHOWN_CHARS - 3] + "..."


def _shown_int(number: int) -> str:
    """Show an out-of-range int, without asking str() for more digits than it allows."""
    if number.bit_length() > _SHOWN_BITS:
        return f"<{number.bit_length()}-bit int>"
    return _shown(str(number))


def _unknown(value: int) -> ActivationCode:
    """A placeholder entry for a well-formed code the catalog lacks."""
    hex_text = f"0x{value:08X}"
    is_failure = bool(value & _FAILURE_BIT)
    return ActivationCode(
        value,
        _UNKNOWN_SYMBOL,
        f"mak does not know this code; look it up with `slui.exe 0x2a {hex_text}` or "
        f"`ospp.vbs /ddescr:{hex_text}`.",
        Category.SERVICE if is_failure else Category.INFO,
        False,
        known=False,
    )
