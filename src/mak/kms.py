"""KMS activation: a host's count of clients, its host key, client timing, and where it is.

A Key Management Service (KMS) host activates a client whose GVLK it is asked about once
its count of distinct client machines seen in the last 30 days, the requester included,
reaches the client's threshold: 25 for Windows client, 5 for Windows Server and Office
(domain-facts §3). This module models that count (:class:`KmsHost`), the limit on the host
key itself (:class:`CsvlkPool`), how often clients talk to their host
(:class:`KmsClientPolicy`) and how they find it (:class:`KmsEndpoint`, :func:`srv_record`).

Every class is a frozen value and time is always passed in, so the same calls give the
same answers. :meth:`KmsHost.request` returns the host as it is after the request together
with its answer, as :func:`mak.lifecycle.step` returns a new state.

>>> from datetime import datetime, timezone
>>> from uuid import UUID
>>> at = datetime(2026, 1, 5, tzinfo=timezone.utc)
>>> host = KmsHost()
>>> for n in range(1, 6):
...     answer = host.request(UUID(int=n), ProductFamily.WINDOWS_SERVER, at)
...     host = answer.host
...     print(answer.count, answer.activated)
1 False
2 False
3 False
4 False
5 True
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Any, Final, cast
from uuid import UUID

import attrs

from mak import codes
from mak.catalog import ProductFamily
from mak.errors import (
    CsvlkLimitExceeded,
    InvalidComponent,
    InvalidFormat,
    ValidationError,
)
from mak.lifecycle import ActivationMethod, KeyChannel, LicenseState, LicenseStatus

__all__ = [
    "CMID_LIFETIME",
    "KMS_PORT",
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "SRV_SERVICE",
    "CmidEntry",
    "CsvlkPool",
    "KmsClientPolicy",
    "KmsEndpoint",
    "KmsHost",
    "KmsResponse",
    "srv_record",
]

CMID_LIFETIME: Final = dt.timedelta(days=30)
"""How long a KMS host counts a client machine ID after its last request: 30 days."""
KMS_PORT: Final = 1688
"""The TCP port a KMS host listens on unless told otherwise."""
SRV_SERVICE: Final = "_vlmcs._tcp"
"""The DNS SRV service and protocol labels under which KMS hosts publish themselves."""
MIN_INTERVAL: Final = dt.timedelta(minutes=15)
"""The shortest activation or renewal interval a KMS client accepts."""
MAX_INTERVAL: Final = dt.timedelta(days=30)
"""The longest activation or renewal interval a KMS client accepts (43200 minutes)."""

_UTC: Final = dt.timezone.utc
# The count cache holds twice the highest threshold seen: 10 until a Windows client asks.
_CACHE_SIZES: Final = frozenset(2 * family.kms_threshold for family in ProductFamily)
_FIRST_CACHE_SIZE: Final = min(_CACHE_SIZES)
_MAX_HOST_NAME: Final = 253
_MAX_LABEL: Final = 63
_MAX_PORT: Final = 65535
_MAX_IPV6_TEXT: Final = len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")
_HOST_CHARACTERS: Final = re.compile(r"[A-Za-z0-9.-]+")
_DIGITS: Final = re.compile(r"[0-9]+")
_DOTTED_DIGITS: Final = re.compile(r"[0-9.]+")
_BRACKETED: Final = re.compile(r"\[([^\[\]]*)\](?::(.*))?")


# --- shared checks ----------------------------------------------------------------------------


def _aware_utc(value: object, name: str) -> dt.datetime:
    """Return *value* in UTC, or raise unless it is an aware datetime."""
    if not isinstance(value, dt.datetime):
        raise InvalidComponent("time", name, f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidComponent("time", name, "is naive; pass an aware UTC datetime")
    return value.astimezone(_UTC)


def _require_cmid(value: object) -> UUID:
    if not isinstance(value, UUID):
        name = type(value).__name__
        raise InvalidFormat("client machine ID", f"<{name}>", f"expected a UUID, got {name}")
    return value


def _require_family(value: object) -> ProductFamily:
    if not isinstance(value, ProductFamily):
        name = type(value).__name__
        raise InvalidComponent("product family", f"<{name}>", "expected a ProductFamily")
    return value


def _a_count(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidComponent(
            attribute.name.replace("_", " "), repr(value), "must be an int of 0 or more"
        )


def _a_bool(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidComponent(attribute.name, repr(value), "must be True or False")


# --- the count ----------------------------------------------------------------------------


def _last_seen_in_utc(value: dt.datetime) -> dt.datetime:
    return _aware_utc(value, "last_seen")


def _a_cmid(_: object, __: attrs.Attribute[Any], value: object) -> None:
    _require_cmid(value)


@attrs.frozen
class CmidEntry:
    """A client machine ID in a KMS host's count cache, with the time it last asked.

    >>> from datetime import datetime, timezone
    >>> from uuid import UUID
    >>> CmidEntry(UUID(int=1), datetime(2026, 1, 5, tzinfo=timezone.utc)).last_seen.isoformat()
    '2026-01-05T00:00:00+00:00'
    """

    cmid: UUID = attrs.field(validator=_a_cmid)
    """The client machine ID the client sent; clones that were not generalized share one."""
    last_seen: dt.datetime = attrs.field(converter=_last_seen_in_utc)
    """When this CMID last asked the host, in UTC."""


def _hex_code(code: int | None) -> str:
    return "None" if code is None else f"0x{code:08X}"


def _response_code(instance: KmsResponse, _: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        if not instance.activated:
            raise InvalidComponent("KMS response", "code", "a refusal carries its HRESULT")
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise InvalidComponent("KMS response", repr(value), "expected an unsigned 32-bit HRESULT")
    if instance.activated:
        raise InvalidComponent("KMS response", _hex_code(value), "an activation carries no code")


@attrs.frozen
class KmsResponse:
    """A KMS host's answer to one request: whether it activated, its count, the refusal code.

    ``count`` is the host's count after recording the request, as the reply carries it;
    ``host`` is the host after the request, since :class:`KmsHost` itself never changes.
    ``code`` is ``None`` for an activation and 0xC004F038 (``KMS_COUNT_INSUFFICIENT``) for a
    count below the client's threshold; :func:`mak.codes.lookup` explains it.

    >>> KmsResponse(activated=False, count=4, code=0xC004F038)
    KmsResponse(activated=False, count=4, code=0xC004F038)
    """

    activated: bool = attrs.field(validator=_a_bool)
    """Whether the client is now activated for the validity interval."""
    count: int = attrs.field(validator=_a_count)
    """The host's current count, the requester included."""
    code: int | None = attrs.field(default=None, validator=_response_code, repr=_hex_code)
    """The HRESULT of a refusal; ``None`` when activated."""
    host: KmsHost | None = attrs.field(default=None, eq=False, repr=False)
    """The host as it is after recording this request, for the next one (``None`` for an
    answer built by hand). Not part of the answer: it takes no part in equality."""


def _a_cache_size(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value not in _CACHE_SIZES:
        sizes = " or ".join(str(size) for size in sorted(_CACHE_SIZES))
        reason = f"must be twice a product family's KMS threshold ({sizes})"
        raise InvalidComponent("KMS cache size", repr(value), reason)


def _cache_entries(instance: KmsHost, _: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        reason = f"must be a tuple, got {type(value).__name__}"
        raise InvalidFormat("KMS count cache", "entries", reason)
    seen: set[UUID] = set()
    previous: dt.datetime | None = None
    for index, entry in enumerate(cast("tuple[object, ...]", value)):
        where = f"entries[{index}]"
        if not isinstance(entry, CmidEntry):
            reason = f"must be a CmidEntry, got {type(entry).__name__}"
            raise InvalidFormat("KMS count cache", where, reason)
        if entry.cmid in seen:
            raise InvalidComponent("KMS count cache", where, f"CMID {entry.cmid} is listed twice")
        if previous is not None and entry.last_seen < previous:
            reason = "entries must be in the order they were last seen, least recent first"
            raise InvalidComponent("KMS count cache", where, reason)
        seen.add(entry.cmid)
        previous = entry.last_seen
    if len(seen) > instance.cache_size:
        reason = f"holds {len(seen)} CMIDs; the cache holds at most {instance.cache_size}"
        raise InvalidComponent("KMS count cache", "entries", reason)


@attrs.frozen
class KmsHost:
    """A KMS host's count cache: the client machine IDs it counts, least recently seen first.

    The host counts each distinct client machine ID (CMID) that asked in the last 30 days,
    whatever its product family. Its cache holds twice the highest threshold it has seen:
    10 until a Windows client asks, then 50, and it never shrinks. When the cache is full, the
    least recently seen CMID falls out, so an entry can leave before its 30 days. Sources:
    "Activate clients running Windows" and "KMS activation planning" on learn.microsoft.com,
    domain-facts §3.

    ``KmsHost()`` is a host nobody has asked yet. :meth:`request` returns a new host; this one
    never changes. Equality compares the whole cache.

    >>> KmsHost().cache_size
    10
    """

    cache_size: int = attrs.field(default=_FIRST_CACHE_SIZE, validator=_a_cache_size)
    """How many CMIDs the cache holds: 10, or 50 once a Windows client has asked."""
    entries: tuple[CmidEntry, ...] = attrs.field(default=(), validator=_cache_entries)
    """The CMIDs recorded, least recently seen first; some may be older than 30 days."""

    @property
    def last_request_at(self) -> dt.datetime | None:
        """When the host was last asked, in UTC; ``None`` if it never was.

        >>> print(KmsHost().last_request_at)
        None
        """
        return self.entries[-1].last_seen if self.entries else None

    def count(self, at: dt.datetime) -> int:
        """Return the host's count at *at*: the CMIDs it saw in the 30 days up to *at*.

        A CMID seen exactly 30 days before *at* still counts; one second later it does
        not. *at* must be an aware datetime no earlier than the last request
        (:class:`~mak.errors.InvalidComponent` otherwise).

        >>> from datetime import datetime, timedelta, timezone
        >>> from uuid import UUID
        >>> day0 = datetime(2026, 1, 5, tzinfo=timezone.utc)
        >>> host = KmsHost().request(UUID(int=1), ProductFamily.OFFICE, day0).host
        >>> host.count(day0 + timedelta(days=30)), host.count(day0 + timedelta(days=31))
        (1, 0)
        """
        moment = self._checked(at)
        return sum(1 for entry in self.entries if _counts(entry, moment))

    def request(self, cmid: UUID, family: ProductFamily, at: dt.datetime) -> KmsResponse:
        """Return the host's answer when *cmid* asks at *at* for a *family* product.

        The host is a value and does not change: the answer's ``host`` is the host after
        the request, to ask next.

        The request is recorded first, so the count includes the requester. A CMID already
        in the cache moves to the most recent end with its 30 days restarted, and does not
        raise the count: a renewal, or a clone that was not generalized. The client is
        activated when the count reaches ``family.kms_threshold``; otherwise the answer
        carries 0xC004F038.

        Time never goes backwards: *at* earlier than the last request raises
        :class:`~mak.errors.InvalidComponent`, as do a *cmid* that is not a
        ``uuid.UUID`` and a naive *at*.

        >>> from datetime import datetime, timezone
        >>> from uuid import UUID
        >>> at = datetime(2026, 1, 5, tzinfo=timezone.utc)
        >>> answer = KmsHost().request(UUID(int=7), ProductFamily.WINDOWS_CLIENT, at)
        >>> answer, answer.host.cache_size
        (KmsResponse(activated=False, count=1, code=0xC004F038), 50)
        >>> answer.host.request(UUID(int=7), ProductFamily.WINDOWS_CLIENT, at).count
        1
        """
        client = _require_cmid(cmid)
        product = _require_family(family)
        moment = self._checked(at)
        cache_size = max(self.cache_size, 2 * product.kms_threshold)
        kept = [e for e in self.entries if e.cmid != client and _counts(e, moment)]
        overflow = len(kept) - (cache_size - 1)
        if overflow > 0:
            del kept[:overflow]  # the least recently seen fall out to make room
        host = KmsHost(cache_size, (*kept, CmidEntry(client, moment)))
        count = len(host.entries)
        if count >= product.kms_threshold:
            return KmsResponse(activated=True, count=count, host=host)
        code = codes.KMS_COUNT_INSUFFICIENT
        return KmsResponse(activated=False, count=count, code=code, host=host)

    def _checked(self, at: object) -> dt.datetime:
        moment = _aware_utc(at, "at")
        last = self.last_request_at
        if last is not None and moment < last:
            reason = (
                f"earlier than the host's last request at {last.isoformat()}; "
                "time never goes backwards"
            )
            raise InvalidComponent("KMS request time", moment.isoformat(), reason)
        return moment


def _counts(entry: CmidEntry, at: dt.datetime) -> bool:
    return at - entry.last_seen <= CMID_LIFETIME


# --- the host key ---------------------------------------------------------------------------


def _a_limit(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidComponent(
            "KMS host key limit", attribute.name, f"must be an int of 1 or more, got {value!r}"
        )


def _a_host_id(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        shown = value if isinstance(value, str) else f"<{type(value).__name__}>"
        raise InvalidFormat("KMS host key activations", where, f"host {shown!r} is not a name")
    return value


def _activation_log(instance: CsvlkPool, _: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        reason = f"must be a tuple, got {type(value).__name__}"
        raise InvalidFormat("KMS host key activations", "activations", reason)
    used: dict[str, int] = {}
    for index, host in enumerate(cast("tuple[object, ...]", value)):
        name = _a_host_id(host, f"activations[{index}]")
        used[name] = used.get(name, 0) + 1
        if len(used) > instance.max_hosts or used[name] > instance.activations_per_host:
            reason = (
                f"more than {instance.max_hosts} hosts or {instance.activations_per_host} "
                "activations of one host"
            )
            raise InvalidComponent("KMS host key activations", f"activations[{index}]", reason)


@attrs.frozen
class CsvlkPool:
    """The activations a KMS host key (CSVLK) has used: up to 6 hosts, 10 times each.

    Microsoft lets one CSVLK activate up to 6 KMS hosts, each of them up to 9 more times
    after the first; beyond that the activation is refused with 0xC004C008 and more needs an
    exception from a Microsoft Activation Center. Set ``max_hosts`` or
    ``activations_per_host`` to model one. Sources: "KMS activation planning" and
    "Activation error codes" (0xC004C008) on learn.microsoft.com, domain-facts §3.

    ``activations`` lists the host of each activation, oldest first; hosts are opaque names
    (a computer name, an asset tag) compared exactly. :meth:`activate` returns a new pool.

    >>> pool = CsvlkPool().activate("kms1").activate("kms1")
    >>> pool.hosts, pool.activations_of("kms1"), pool.remaining_for("kms1")
    (('kms1',), 2, 8)
    """

    max_hosts: int = attrs.field(default=6, validator=_a_limit)
    """How many distinct hosts the key may activate: 6."""
    activations_per_host: int = attrs.field(default=10, validator=_a_limit)
    """How many times the key may activate one host: 10 (the first and 9 more)."""
    activations: tuple[str, ...] = attrs.field(default=(), validator=_activation_log)
    """The host of each activation, oldest first."""

    @property
    def hosts(self) -> tuple[str, ...]:
        """The hosts the key has activated, in the order of their first activation.

        >>> CsvlkPool(activations=("b", "a", "b")).hosts
        ('b', 'a')
        """
        return tuple(dict.fromkeys(self.activations))

    def activations_of(self, host: str) -> int:
        """Return how many times the key has activated *host*.

        >>> CsvlkPool(activations=("b", "a", "b")).activations_of("b")
        2
        """
        return self.activations.count(host)

    def remaining_for(self, host: str) -> int:
        """Return how many more times the key can activate *host*; 0 when it cannot.

        A host the key has not activated yet gets the full 10, while fewer than 6 hosts
        have been activated.

        >>> full = CsvlkPool(activations=tuple(f"kms{n}" for n in range(6)))
        >>> full.remaining_for("kms0"), full.remaining_for("kms6")
        (9, 0)
        """
        used = self.activations_of(host)
        if not used and len(self.hosts) >= self.max_hosts:
            return 0
        return self.activations_per_host - used

    def activate(self, host: str) -> CsvlkPool:
        """Return the pool with one more activation of *host*.

        Raises :class:`~mak.errors.CsvlkLimitExceeded` (0xC004C008) when *host* would be a seventh
        host or its eleventh activation, and :class:`~mak.errors.InvalidFormat` when
        *host* is not a non-empty string.

        >>> pool = CsvlkPool(activations=("kms1",) * 10)
        >>> pool.activate("kms1")
        Traceback (most recent call last):
        mak.errors.CsvlkLimitExceeded: KMS host key activation limit exceeded: 'kms1' has used all 10 activations (0xC004C008)
        """
        name = _a_host_id(host, "host")
        if self.remaining_for(name) == 0:
            raise CsvlkLimitExceeded(
                host=name,
                activations=self.activations_of(name),
                hosts=len(self.hosts),
                max_hosts=self.max_hosts,
                activations_per_host=self.activations_per_host,
            )
        return attrs.evolve(self, activations=(*self.activations, name))


# --- client timing -------------------------------------------------------------------------

_POLICY: Final = "KMS client policy"


def _an_interval(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.timedelta):
        reason = f"must be a timedelta, got {type(value).__name__}"
        raise InvalidComponent(_POLICY, attribute.name, reason)
    if not MIN_INTERVAL <= value <= MAX_INTERVAL:
        reason = f"must be from 15 minutes to 30 days, got {value}"
        raise InvalidComponent(_POLICY, attribute.name, reason)


def _a_validity(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0):
        reason = f"must be a positive timedelta, got {value!r}"
        raise InvalidComponent(_POLICY, attribute.name, reason)


@attrs.frozen
class KmsClientPolicy:
    """How often a KMS client talks to its host, and how long an activation lasts.

    An unactivated client retries every ``activation_interval`` (120 minutes, slmgr
    ``/sai``, ``VLActivationInterval``); an activated one renews every
    ``renewal_interval`` (7 days, ``/sri``, ``VLRenewalInterval``). Both must lie within
    15 minutes and 30 days inclusive, as Windows requires; anything else raises
    :class:`~mak.errors.InvalidComponent` naming the field. A KMS activation lasts
    ``validity`` (180 days), restarted by each renewal; it should equal
    :attr:`mak.lifecycle.GracePolicy.kms_validity`. Sources: "slmgr.vbs options" and
    "Activate clients running Windows" on learn.microsoft.com, domain-facts §3.

    >>> KmsClientPolicy(renewal_interval=dt.timedelta(minutes=10))
    Traceback (most recent call last):
    mak.errors.InvalidComponent: Invalid KMS client policy: 'renewal_interval' (must be from 15 minutes to 30 days, got 0:10:00)
    """

    activation_interval: dt.timedelta = attrs.field(
        default=dt.timedelta(minutes=120), validator=_an_interval
    )
    """How long an unactivated client waits before asking again: 120 minutes."""
    renewal_interval: dt.timedelta = attrs.field(
        default=dt.timedelta(days=7), validator=_an_interval
    )
    """How long an activated client waits before renewing: 7 days."""
    validity: dt.timedelta = attrs.field(default=dt.timedelta(days=180), validator=_a_validity)
    """How long a KMS activation lasts unless renewed: 180 days."""

    def next_contact(self, state: LicenseState, now: dt.datetime) -> dt.datetime | None:
        """Return when a KMS client in *state* next asks its host, or ``None`` if it never does.

        - Licensed by KMS: the last activation or renewal (``state.activated_at``) plus
          ``renewal_interval``. A renewal that is already overdue (the host did not
          answer) is retried like an activation: ``now + activation_interval``.
        - A GVLK not licensed (initial or additional grace, notification ...):
          ``now + activation_interval``, the retry every 2 hours.
        - Not a KMS client: ``None``. That is a product without a GVLK (MAK, retail, OEM,
          CSVLK or no key) or one licensed another way (Active Directory, token).

        The result is in UTC and never earlier than *now*, which must be aware.

        >>> from datetime import datetime, timedelta, timezone
        >>> from mak.lifecycle import ActivationMethod, KeyChannel, LicenseState, LicenseStatus
        >>> now = datetime(2026, 1, 5, tzinfo=timezone.utc)
        >>> licensed = LicenseState(
        ...     status=LicenseStatus.LICENSED, channel=KeyChannel.GVLK, partial_key="2YT43",
        ...     method=ActivationMethod.KMS, activated_at=now, licensed_until=now + timedelta(days=180),
        ... )
        >>> KmsClientPolicy().next_contact(licensed, now) - now
        datetime.timedelta(days=7)
        """
        moment = _aware_utc(now, "now")
        kms_client = state.channel is KeyChannel.GVLK or state.method is ActivationMethod.KMS
        if not kms_client:
            return None
        if state.status is not LicenseStatus.LICENSED:
            return moment + self.activation_interval
        if state.method is not ActivationMethod.KMS:
            return None
        if state.activated_at is None:
            reason = "a KMS activation has a last contact; activated_at is None"
            raise InvalidComponent("license state", "activated_at", reason)
        due = state.activated_at + self.renewal_interval
        return due if due >= moment else moment + self.activation_interval


# --- finding the host ------------------------------------------------------------------------

_ENDPOINT: Final = "KMS endpoint"


def _host_problem(host: str) -> tuple[type[ValidationError], str] | None:
    """Say what is wrong with *host* as a host name or IPv4 address, or ``None``."""
    if not host:
        return InvalidFormat, "no host name"
    if not _HOST_CHARACTERS.fullmatch(host):
        return InvalidFormat, "a host name holds only letters, digits, hyphens and dots"
    if len(host) > _MAX_HOST_NAME:
        return InvalidComponent, f"a host name has at most {_MAX_HOST_NAME} characters"
    for label in host.split("."):
        problem = _label_problem(label)
        if problem is not None:
            return problem
    if _DOTTED_DIGITS.fullmatch(host) and not _is_ipv4(host):
        return InvalidComponent, "all digits and dots, but not an IPv4 address"
    return None


def _label_problem(label: str) -> tuple[type[ValidationError], str] | None:
    if not label:
        return InvalidFormat, "a host name has no empty labels"
    if len(label) > _MAX_LABEL:
        return InvalidComponent, f"a label of a host name has at most {_MAX_LABEL} characters"
    if label.startswith("-") or label.endswith("-"):
        return InvalidFormat, "a label of a host name cannot start or end with a hyphen"
    return None


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _ipv6(address: str) -> str | None:
    """Return *address* in compressed form, or ``None`` unless it is an IPv6 address."""
    if "%" in address:  # zone indexes hold arbitrary text; KMS needs none
        return None
    if len(address) > _MAX_IPV6_TEXT:  # ipaddress would split megabytes at every colon
        return None
    try:
        return ipaddress.IPv6Address(address).compressed
    except ValueError:
        return None


def _canonical_host(host: str) -> str | None:
    """Return the canonical form of a host name, IPv4 or bare IPv6 address, or ``None``."""
    if ":" in host:
        return _ipv6(host)
    if _host_problem(host) is not None:
        return None
    return host.lower()


def _a_host(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise InvalidFormat.wrong_type("KMS host", value)
    canonical = _canonical_host(value)
    if canonical is None:
        if ":" in value:
            reason = "not an IPv6 address"
            if "[" in value:
                reason += ", which goes without brackets"
            raise InvalidFormat("KMS host", value, reason)
        problem = _host_problem(value)
        assert problem is not None  # noqa: S101  # _canonical_host found one
        error, reason = problem
        raise error("KMS host", value, reason)
    if canonical != value:
        reason = f"the constructor takes the canonical form {canonical!r}; use parse()"
        raise InvalidFormat("KMS host", value, reason)


def _a_port(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_PORT:
        raise InvalidComponent("KMS port", repr(value), f"must be an int from 1 to {_MAX_PORT}")


@attrs.frozen
class KmsEndpoint:
    """A KMS host address as ``slmgr /skms`` takes it: a host name or IP address and a port.

    ``host`` is kept canonical: a lower-case host name, an IPv4 address, or an IPv6 address
    in compressed form without brackets. ``KmsEndpoint(host, port)`` takes that form;
    :meth:`parse` reads what people type. ``str()`` gives ``host:port`` (``[address]:port``
    for IPv6), which :meth:`parse` reads back. The port defaults to 1688.

    >>> KmsEndpoint.parse("KMS.contoso.com")
    KmsEndpoint(host='kms.contoso.com', port=1688)
    >>> str(KmsEndpoint.parse("[2001:DB8::1]:1700"))
    '[2001:db8::1]:1700'
    """

    host: str = attrs.field(validator=_a_host)
    """The host name or IP address, canonical."""
    port: int = attrs.field(default=KMS_PORT, validator=_a_port)
    """The TCP port, 1688 unless the host was set to listen elsewhere (slmgr ``/sprt``)."""

    @classmethod
    def parse(cls, text: object) -> KmsEndpoint:
        """Return the endpoint written in *text*: ``host``, ``host:port``, ``[ipv6]:port``.

        Surrounding whitespace is ignored and host names are lower-cased. The port is 1 to
        65535 in ASCII digits, 1688 when left out. A host name holds letters, digits,
        hyphens and dots, at most 253 characters with labels of at most 63. An IPv6 address
        goes in brackets, ``[addr]`` or ``[addr]:port``: bare, its colons could not be told
        from the port's. Raises :class:`~mak.errors.InvalidFormat`, or
        :class:`~mak.errors.InvalidComponent` for a number out of range, naming *text*.

        >>> KmsEndpoint.parse("10.0.0.5:1700")
        KmsEndpoint(host='10.0.0.5', port=1700)
        >>> KmsEndpoint.parse("2001:db8::1")
        Traceback (most recent call last):
        mak.errors.InvalidFormat: Invalid KMS endpoint: '2001:db8::1' (a bare IPv6 address is ambiguous; write it in brackets, as [address] or [address]:port)
        """
        if not isinstance(text, str):
            raise InvalidFormat.wrong_type(_ENDPOINT, text)
        stripped = str.strip(text)
        bracketed = _BRACKETED.fullmatch(stripped)
        if bracketed is not None:
            host = _ipv6(bracketed.group(1))
            if host is None:
                raise InvalidFormat(_ENDPOINT, text, "the brackets hold no IPv6 address")
            return cls(host, _parse_port(bracketed.group(2), text))
        if "[" in stripped or "]" in stripped:
            reason = "brackets go around an IPv6 address only, as [address] or [address]:port"
            raise InvalidFormat(_ENDPOINT, text, reason)
        if stripped.count(":") > 1:
            reason = (
                "a bare IPv6 address is ambiguous; write it in brackets, "
                "as [address] or [address]:port"
            )
            raise InvalidFormat(_ENDPOINT, text, reason)
        name, colon, port = stripped.partition(":")
        problem = _host_problem(name)
        if problem is not None:
            error, reason = problem
            raise error(_ENDPOINT, text, reason)
        return cls(name.lower(), _parse_port(port if colon else None, text))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _parse_port(port: str | None, text: str) -> int:
    if port is None:
        return KMS_PORT
    if not port:
        raise InvalidFormat(_ENDPOINT, text, "no port after the colon")
    if not _DIGITS.fullmatch(port):
        raise InvalidFormat(_ENDPOINT, text, "the port is written in digits 0-9 only")
    significant = port.lstrip("0")
    if not significant or len(significant) > len(str(_MAX_PORT)) or int(significant) > _MAX_PORT:
        raise InvalidComponent(_ENDPOINT, text, f"the port must be from 1 to {_MAX_PORT}")
    return int(significant)


def srv_record(domain: str) -> str:
    """Return the DNS SRV name under which KMS hosts of *domain* publish themselves.

    That is ``_vlmcs._tcp.<domain>``, lower-cased; clients look it up to find a host
    unless one is set with ``slmgr /skms`` ("Common troubleshooting procedures for KMS and
    DNS issues" on learn.microsoft.com). *domain* is checked as a host name is (surrounding
    whitespace ignored) and must leave the whole name within 253 characters;
    otherwise :class:`~mak.errors.InvalidFormat` or :class:`~mak.errors.InvalidComponent`.

    >>> srv_record("Contoso.com")
    '_vlmcs._tcp.contoso.com'
    """
    name = _domain_name(domain)
    record = f"{SRV_SERVICE}.{name.lower()}"
    if len(record) > _MAX_HOST_NAME:
        longest = _MAX_HOST_NAME - len(SRV_SERVICE) - 1
        reason = f"a domain name has at most {longest} characters here, to fit the SRV name"
        raise InvalidComponent(_DOMAIN, domain, reason)
    return record


_DOMAIN: Final = "DNS domain"


def _domain_name(domain: object) -> str:
    """Return *domain* without surrounding whitespace, or raise unless it is a DNS name."""
    if not isinstance(domain, str):
        raise InvalidFormat.wrong_type(_DOMAIN, domain)
    name = str.strip(domain)
    if _DOTTED_DIGITS.fullmatch(name):
        raise InvalidComponent(
            _DOMAIN, domain, "digits and dots only: an IP address, not a domain"
        )
    problem = _host_problem(name)
    if problem is not None:
        error, reason = problem
        raise error(_DOMAIN, domain, reason.replace("host name", "domain name"))
    return name
