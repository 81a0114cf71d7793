"""Read what ``slmgr.vbs /dlv``, ``/dli`` and ``/xpr`` print into typed records.

slmgr's English labels (``Name:``, ``License Status:``, ``Current count:`` ...) are matched
line by line, so the parsers take output as pasted: indented or not, with CRLF line
endings, with the Windows Script Host banner. Lines they do not know are skipped, and a
value that is blank, ``<removed>`` or not in the form slmgr prints becomes ``None``: a
redacted or damaged field never costs the rest of the record. Text with no product at
all, or longer than :data:`MAX_TEXT_CHARS`, raises :class:`~mak.errors.InvalidFormat`.

>>> text = '''
... Software licensing service version: 10.0.26100.1
...
... Name: Windows(R), Professional edition
... Description: Windows(R) Operating System, VOLUME_KMSCLIENT channel
... Partial Product Key: T83GX
... License Status: Licensed
... Volume activation expiration: 259180 minute(s) (180 day(s))
... '''
>>> (product,) = parse_dlv(text)
>>> product.channel, product.license_status, product.expiration_minutes
(<KeyChannel.GVLK: 'Volume:GVLK'>, <LicenseStatus.LICENSED: 1>, 259180)
>>> product.service_version, product.installation_id is None
('10.0.26100.1', True)
>>> parse_dlv("Error: product key not found.")
Traceback (most recent call last):
mak.errors.InvalidFormat: Invalid slmgr output: 'Error: product key not found.' (no product found)
"""

from __future__ import annotations

import string
from typing import Final, Literal

import attrs

from mak.errors import InvalidFormat, ValidationError
from mak.ids import InstallationId
from mak.lifecycle import KeyChannel, LicenseStatus

__all__ = [
    "MAX_TEXT_CHARS",
    "KmsClientInfo",
    "KmsHostInfo",
    "SlmgrExpiration",
    "SlmgrProduct",
    "parse_dli",
    "parse_dlv",
    "parse_xpr",
]

MAX_TEXT_CHARS: Final = 2 * 1024 * 1024
"""The longest text the parsers read; longer text is refused before it is read.

slmgr prints one or two kilobytes per product, so even ``/dlv all`` on a computer with
every Office product installed stays far below this.
"""

_KIND: Final = "slmgr output"
_SHOWN_WIDTH: Final = 40
_MAX_DIGITS: Final = 19
_KEY_SYMBOLS: Final = frozenset("BCDFGHJKMPQRTVWXY2346789")
_HEX: Final = frozenset(string.hexdigits)
_MISSING: Final = frozenset({"", "<removed>", "not available"})


@attrs.frozen(kw_only=True)
class KmsClientInfo:
    """The ``Key Management Service client information`` block of a KMS client.

    ``kms_machine_name`` and ``kms_port`` come from ``Registered KMS machine name:``
    (set with ``/skms``; ``kms_machine_name_source`` is ``"registered"``) or from
    ``KMS machine name from DNS:`` (``"dns"``). Intervals are in minutes.
    """

    cmid: str | None = None
    kms_machine_name: str | None = None
    kms_port: int | None = None
    kms_machine_name_source: Literal["registered", "dns"] | None = None
    srv_lookup_domain: str | None = None
    kms_ip_address: str | None = None
    kms_extended_pid: str | None = None
    activation_interval_minutes: int | None = None
    renewal_interval_minutes: int | None = None
    host_caching_enabled: bool | None = None


@attrs.frozen(kw_only=True)
class KmsHostInfo:
    """The KMS host block: count, port, DNS and priority settings, request counters.

    The counters are cumulative since the host was set up; ``oob_grace_requests`` counts
    clients in their initial grace period and ``oot_grace_requests`` those whose KMS
    license expired or whose hardware is out of tolerance.
    """

    current_count: int | None = None
    listening_port: int | None = None
    dns_publishing_enabled: bool | None = None
    low_priority: bool | None = None
    total_requests: int | None = None
    failed_requests: int | None = None
    unlicensed_requests: int | None = None
    licensed_requests: int | None = None
    oob_grace_requests: int | None = None
    oot_grace_requests: int | None = None
    non_genuine_grace_requests: int | None = None
    notification_requests: int | None = None


@attrs.frozen(kw_only=True)
class SlmgrProduct:
    """One product (SKU) as ``slmgr /dlv`` or ``/dli`` describes it; unknown fields are None.

    ``service_version`` is the ``Software licensing service version:`` header printed
    once above the products; every product read after it carries it (``/dli`` prints
    none). ``channel`` is ``Product Key Channel:`` when slmgr prints a known one, else
    what the description's channel implies (``VOLUME_KMSCLIENT`` GVLK, ``VOLUME_KMS``
    CSVLK, ``MAK``, ``RETAIL``, ``OEM``). ``activation_id`` and ``application_id`` are
    lower-case GUIDs. ``notification_reason`` is the HRESULT as an unsigned int.
    ``grace_minutes`` is ``Time remaining:`` (grace states) and ``expiration_minutes``
    the volume, time-based or AVMA activation expiration (licensed state).
    ``trusted_time`` keeps slmgr's locale-formatted text. ``partial_product_key`` is
    ``None`` when slmgr says the license is not in use.
    """

    name: str | None = None
    description: str | None = None
    channel: KeyChannel | None = None
    activation_id: str | None = None
    application_id: str | None = None
    extended_pid: str | None = None
    installation_id: InstallationId | None = None
    partial_product_key: str | None = None
    license_status: LicenseStatus | None = None
    notification_reason: int | None = None
    grace_minutes: int | None = None
    expiration_minutes: int | None = None
    remaining_windows_rearm_count: int | None = None
    remaining_app_rearm_count: int | None = None
    remaining_sku_rearm_count: int | None = None
    trusted_time: str | None = None
    kms_client: KmsClientInfo | None = None
    kms_host: KmsHostInfo | None = None
    service_version: str | None = None


@attrs.frozen
class SlmgrExpiration:
    """One product's line of ``slmgr /xpr``: whether it is permanent and when it ends.

    ``expires`` is the date text after "will expire" or "ends", in slmgr's locale;
    it is ``None`` for permanent, unlicensed and notification states. ``message`` is the
    whole sentence.
    """

    name: str
    permanent: bool
    expires: str | None
    message: str


_Section = Literal["service", "product", "client", "host"]

# Label (before the first colon, case-folded) -> where its value goes.
_LABELS: Final[dict[str, tuple[_Section, str]]] = {
    "software licensing service version": ("service", "version"),
    "name": ("product", "name"),
    "description": ("product", "description"),
    "activation id": ("product", "activation_id"),
    "application id": ("product", "application_id"),
    "extended pid": ("product", "extended_pid"),
    "product key channel": ("product", "channel"),
    "installation id": ("product", "installation_id"),
    "partial product key": ("product", "partial_product_key"),
    "license status": ("product", "license_status"),
    "notification reason": ("product", "notification_reason"),
    "time remaining": ("product", "grace"),
    "volume activation expiration": ("product", "expiration"),
    "timebased activation expiration": ("product", "expiration"),
    "automatic vm activation expiration": ("product", "expiration"),
    "remaining windows rearm count": ("product", "windows_rearm"),
    "remaining app rearm count": ("product", "app_rearm"),
    "remaining sku rearm count": ("product", "sku_rearm"),
    "trusted time": ("product", "trusted_time"),
    "client machine id (cmid)": ("client", "cmid"),
    "registered kms machine name": ("client", "registered_name"),
    "kms machine name from dns": ("client", "dns_name"),
    "registered kms srv record lookup domain": ("client", "lookup_domain"),
    "kms machine ip address": ("client", "ip_address"),
    "kms machine extended pid": ("client", "extended_pid"),
    "activation interval": ("client", "activation_interval"),
    "renewal interval": ("client", "renewal_interval"),
    "current count": ("host", "current_count"),
    "listening on port": ("host", "listening_port"),
    "kms priority": ("host", "priority"),
    "total requests received": ("host", "total"),
    "failed requests received": ("host", "failed"),
    "requests with license status unlicensed": ("host", "unlicensed"),
    "requests with license status licensed": ("host", "licensed"),
    "requests with license status initial grace period": ("host", "oob_grace"),
    "requests with license status license expired or hardware out of tolerance": (
        "host",
        "oot_grace",
    ),
    "requests with license status non-genuine grace period": ("host", "non_genuine_grace"),
    "requests with license status notification": ("host", "notification"),
}

# Whole lines without a value (case-folded) -> (section, field, value); an empty field
# only opens the section.
_FLAG_LINES: Final[dict[str, tuple[_Section, str, str]]] = {
    "key management service client information": ("client", "", ""),
    "kms host caching is enabled": ("client", "host_caching", "enabled"),
    "kms host caching is disabled": ("client", "host_caching", "disabled"),
    "key management service is enabled on this machine": ("host", "", ""),
    "key management service cumulative requests received from clients": ("host", "", ""),
    "dns publishing enabled": ("host", "dns_publishing", "enabled"),
    "dns publishing disabled": ("host", "dns_publishing", "disabled"),
}


@attrs.define
class _Draft:
    """The raw values of one product while its lines are read."""

    service_version: str | None
    fields: dict[str, str] = attrs.field(factory=dict[str, str])
    client: dict[str, str] | None = None
    host: dict[str, str] | None = None


def parse_dlv(text: object) -> tuple[SlmgrProduct, ...]:
    """Return the products in ``slmgr /dlv`` output (one, or all of ``/dlv all``), in order.

    Raises :class:`~mak.errors.InvalidFormat` when *text* is not a string, is longer than
    :data:`MAX_TEXT_CHARS` or holds no product.
    """
    return _parse_products(text)


def parse_dli(text: object) -> tuple[SlmgrProduct, ...]:
    """Return the products in ``slmgr /dli`` output; fields ``/dli`` omits stay ``None``.

    ``/dli`` prints a subset of ``/dlv`` (no IDs, channel, IID or rearm counts), so the
    records are the same type; ``channel`` comes from the description.

    >>> (product,) = parse_dli("Name: Office 21, Office21ProPlus2021VL_MAK_AE edition\\n"
    ...                        "Description: Office 21, VOLUME_MAK_AE channel\\n"
    ...                        "License Status: Unlicensed")
    >>> product.channel, product.activation_id
    (<KeyChannel.MAK: 'Volume:MAK'>, None)
    """
    return _parse_products(text)


def parse_xpr(text: object) -> tuple[SlmgrExpiration, ...]:
    """Return one expiration per product in ``slmgr /xpr`` output, in order.

    Each product is a ``<name>:`` line followed by slmgr's sentence about it; a name
    whose sentence slmgr never prints is skipped.

    >>> parse_xpr("Windows(R), Professional edition:\\n"
    ...           "    Volume activation will expire 11/13/2025 9:41:07 AM")
    (SlmgrExpiration(name='Windows(R), Professional edition', permanent=False,
                     expires='11/13/2025 9:41:07 AM', message='Volume activation ...'),)
    """
    checked = _checked(text)
    expirations: list[SlmgrExpiration] = []
    name: str | None = None
    for line in _lines(checked):
        if line.endswith(":"):
            name = line[:-1].strip()
        elif name is not None:
            expiration = _expiration(name, line)
            if expiration is not None:
                expirations.append(expiration)
            name = None
    if not expirations:
        raise _no_product(checked)
    return tuple(expirations)


def _checked(text: object) -> str:
    """Return *text* if it is a string no longer than slmgr prints, else raise the domain error."""
    if not isinstance(text, str):
        raise InvalidFormat.wrong_type(_KIND, text)
    # Before anything is read: a 10 MB paste of one line repeated would be millions of
    # products, seconds of work and gigabytes of records.
    if str.__len__(text) > MAX_TEXT_CHARS:
        reason = f"longer than {MAX_TEXT_CHARS} characters; slmgr prints far less"
        head = str.__getitem__(text, slice(_SHOWN_WIDTH))  # no copy of the rest
        raise InvalidFormat(_KIND, head.strip() + "...", reason)
    return str.__str__(text)  # a subclass may override splitlines() and friends


def _lines(text: str) -> list[str]:
    """Return the non-blank lines of *text*, stripped; any line ending works."""
    return [line for line in (raw.strip() for raw in text.splitlines()) if line]


def _no_product(text: str) -> InvalidFormat:
    return InvalidFormat(_KIND, _shown(text), "no product found")


def _shown(text: str) -> str:
    """Return the start of *text*, stripped, to quote in a message."""
    shown = text.strip()
    return shown if len(shown) <= _SHOWN_WIDTH else shown[:_SHOWN_WIDTH] + "..."


def _expiration(name: str, message: str) -> SlmgrExpiration | None:
    """Return what the /xpr sentence *message* says about *name*, or None if unknown."""
    folded = message.casefold()
    if folded.endswith("permanently activated.") or "for the lifespan of" in folded:
        return SlmgrExpiration(name, permanent=True, expires=None, message=message)
    for marker in (" will expire ", " period ends "):
        _, found, date = message.partition(marker)
        if found:
            return SlmgrExpiration(name, permanent=False, expires=date.strip(), message=message)
    if folded == "unlicensed" or folded.endswith("notification mode"):
        return SlmgrExpiration(name, permanent=False, expires=None, message=message)
    return None


def _parse_products(text: object) -> tuple[SlmgrProduct, ...]:
    checked = _checked(text)
    drafts: list[_Draft] = []
    service_version: str | None = None
    for line in _lines(checked):
        entry = _entry(line)
        if entry is None:
            continue
        section, field, value = entry
        if section == "service":
            service_version = _present(value)
            continue
        if section == "product" and field == "name":
            drafts.append(_Draft(service_version))
        elif not drafts:
            if section != "product":
                continue  # a KMS line before any product belongs to none
            drafts.append(_Draft(service_version))
        _store(drafts[-1], section, field, value)
    if not drafts:
        raise _no_product(checked)
    return tuple(_product(draft) for draft in drafts)


def _entry(line: str) -> tuple[_Section, str, str] | None:
    """Return the section, field and raw value a stripped line holds, if slmgr prints it."""
    flag = _FLAG_LINES.get(line.casefold())
    if flag is not None:
        return flag
    label, colon, value = line.partition(":")
    target = _LABELS.get(label.strip().casefold()) if colon else None
    return None if target is None else (target[0], target[1], value)


def _store(draft: _Draft, section: _Section, field: str, value: str) -> None:
    if section == "client":
        if draft.client is None:
            draft.client = {}
        values = draft.client
    elif section == "host":
        if draft.host is None:
            draft.host = {}
        values = draft.host
    else:
        values = draft.fields
    present = _present(value)
    if field and present is not None:
        values[field] = present


def _present(value: str) -> str | None:
    """Return *value* stripped, or None when slmgr (or a redactor) left it empty."""
    value = value.strip()
    return None if value.casefold() in _MISSING else value


def _product(draft: _Draft) -> SlmgrProduct:
    fields = draft.fields
    description = fields.get("description")
    return SlmgrProduct(
        name=fields.get("name"),
        description=description,
        channel=_channel(fields.get("channel"), description),
        activation_id=_guid(fields.get("activation_id")),
        application_id=_guid(fields.get("application_id")),
        extended_pid=fields.get("extended_pid"),
        installation_id=_installation_id(fields.get("installation_id")),
        partial_product_key=_partial_product_key(fields.get("partial_product_key")),
        license_status=_license_status(fields.get("license_status")),
        notification_reason=_hresult(fields.get("notification_reason")),
        grace_minutes=_leading_int(fields.get("grace")),
        expiration_minutes=_leading_int(fields.get("expiration")),
        remaining_windows_rearm_count=_leading_int(fields.get("windows_rearm")),
        remaining_app_rearm_count=_leading_int(fields.get("app_rearm")),
        remaining_sku_rearm_count=_leading_int(fields.get("sku_rearm")),
        trusted_time=fields.get("trusted_time"),
        kms_client=None if draft.client is None else _kms_client(draft.client),
        kms_host=None if draft.host is None else _kms_host(draft.host),
        service_version=draft.service_version,
    )


def _kms_client(values: dict[str, str]) -> KmsClientInfo:
    source: Literal["registered", "dns"] | None = None
    address = values.get("registered_name")
    if address is not None:
        source = "registered"
    else:
        address = values.get("dns_name")
        source = None if address is None else "dns"
    name, port = _host_and_port(address)
    return KmsClientInfo(
        cmid=_guid(values.get("cmid")),
        kms_machine_name=name,
        kms_port=port,
        kms_machine_name_source=source,
        srv_lookup_domain=values.get("lookup_domain"),
        kms_ip_address=values.get("ip_address"),
        kms_extended_pid=values.get("extended_pid"),
        activation_interval_minutes=_leading_int(values.get("activation_interval")),
        renewal_interval_minutes=_leading_int(values.get("renewal_interval")),
        host_caching_enabled=_switch(values.get("host_caching")),
    )


def _kms_host(values: dict[str, str]) -> KmsHostInfo:
    priority = values.get("priority", "").casefold()
    return KmsHostInfo(
        current_count=_leading_int(values.get("current_count")),
        listening_port=_leading_int(values.get("listening_port")),
        dns_publishing_enabled=_switch(values.get("dns_publishing")),
        low_priority={"low": True, "normal": False}.get(priority),
        total_requests=_leading_int(values.get("total")),
        failed_requests=_leading_int(values.get("failed")),
        unlicensed_requests=_leading_int(values.get("unlicensed")),
        licensed_requests=_leading_int(values.get("licensed")),
        oob_grace_requests=_leading_int(values.get("oob_grace")),
        oot_grace_requests=_leading_int(values.get("oot_grace")),
        non_genuine_grace_requests=_leading_int(values.get("non_genuine_grace")),
        notification_requests=_leading_int(values.get("notification")),
    )


def _switch(value: str | None) -> bool | None:
    return {"enabled": True, "disabled": False}.get(value or "")


def _channel(product_key_channel: str | None, description: str | None) -> KeyChannel | None:
    """Return the channel slmgr names, else the one the description's channel implies."""
    if product_key_channel is not None:
        try:
            return KeyChannel.from_product_key_channel(product_key_channel)
        except InvalidFormat:
            pass  # a channel mak does not model (e.g. "Volume"); the description may tell
    if description is None:
        return None
    # The order follows slmgr's own IsKmsClient / IsKmsServer / IsMAK tests.
    if "VOLUME_KMSCLIENT" in description:
        return KeyChannel.GVLK
    for marker, channel in (
        ("VOLUME_KMS", KeyChannel.CSVLK),
        ("MAK", KeyChannel.MAK),
        ("RETAIL", KeyChannel.RETAIL),
        ("OEM", KeyChannel.OEM),
    ):
        if marker in description:
            return channel
    return None


def _guid(value: str | None) -> str | None:
    """Return *value* as a lower-case GUID, or None if it is not one."""
    if value is None or len(value) != 36:
        return None
    parts = value.split("-")
    if [len(part) for part in parts] != [8, 4, 4, 4, 12]:
        return None
    if not all(char in _HEX for part in parts for char in part):
        return None
    return value.lower()


def _installation_id(value: str | None) -> InstallationId | None:
    if value is None:
        return None
    try:
        return InstallationId.parse(value)
    except ValidationError:
        return None  # damaged in the paste; the rest of the record is still worth having


def _partial_product_key(value: str | None) -> str | None:
    if value is None or len(value) != 5 or not set(value) <= _KEY_SYMBOLS:
        return None
    return value


def _license_status(value: str | None) -> LicenseStatus | None:
    if value is None:
        return None
    try:
        return LicenseStatus.from_slmgr(value)
    except InvalidFormat:
        return None  # "Unknown", or wording from another slmgr version


def _hresult(value: str | None) -> int | None:
    """Return the HRESULT at the start of ``0xC004F009 (grace time expired).``."""
    if value is None:
        return None
    token = value.split(maxsplit=1)[0].rstrip(".")
    if token[:2].casefold() == "0x":
        token = token[2:]
    if not token or len(token) > 8 or not set(token) <= _HEX:
        return None
    return int(token, 16)


def _leading_int(value: str | None) -> int | None:
    """Return the integer that starts *value* (``"120 minutes"`` -> 120), or None."""
    if value is None:
        return None
    token = value.split(maxsplit=1)[0]
    digits = token.removeprefix("-")
    # 19 digits hold any counter Windows keeps; more would be a damaged line, and
    # int() refuses over 4300 digits with a plain ValueError.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > _MAX_DIGITS:
        return None
    return int(token)


def _host_and_port(address: str | None) -> tuple[str | None, int | None]:
    """Split ``kms.example:1688`` or ``[fe80::1]:1688`` into name and port."""
    if address is None:
        return None, None
    name, colon, port = address.rpartition(":")
    if not colon or not (port.isascii() and port.isdigit()) or name.endswith(":"):
        return address, None
    return name or None, _leading_int(port)
