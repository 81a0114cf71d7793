"""Which activation method each machine should use, and how to move a product between MAK and KMS.

:func:`recommend` turns a fleet description (:class:`Machine`: product family, network
reach, domain membership, release) into a :class:`Plan`: one :class:`Recommendation` per
machine, each with the rule that chose it in plain English. :func:`conversion` returns the
ordered :class:`ConversionStep` list that moves one product from MAK to KMS or back.

The rules come from Microsoft's volume activation docs as summarised in domain-facts §3,
§3.1 and §6: ADBA needs Windows 8, Windows Server 2012 or Office 2013 and later on a
domain-joined machine; a KMS host activates a Windows client from a count of 25 and a
server or Office from 5, counting machines of every family together; MAK suits machines
that rarely or never reach the corporate network, with MAK proxy for those kept off the
Internet.

>>> from mak.catalog import ProductFamily
>>> fleet = [
...     Machine(f"pc-{n}", ProductFamily.WINDOWS_CLIENT, Connectivity.CORPORATE, True, "Windows 7")
...     for n in range(25)
... ] + [Machine("lab-1", ProductFamily.WINDOWS_SERVER, Connectivity.ISOLATED, False, "Windows Server 2022")]
>>> plan = recommend(fleet)
>>> plan.summary()
PlanSummary(adba=0, kms=25, mak_independent=0, mak_proxy=1)
>>> print(plan.recommendation_for("lab-1").reason)
Isolated: no Internet access, so MAK proxy activation gets its confirmation ID from Microsoft on its behalf.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

import attrs

from mak import _display
from mak.catalog import ProductFamily
from mak.errors import InvalidComponent, InvalidFormat, NotFound
from mak.keys import ProductKey
from mak.kms import KmsEndpoint
from mak.lifecycle import ActivationMethod, KeyChannel

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from mak.catalog import Catalog

__all__ = [
    "ADBA_RELEASES",
    "PLANNED_METHODS",
    "Connectivity",
    "ConversionPlan",
    "ConversionStep",
    "ConvertibleProduct",
    "Machine",
    "Plan",
    "PlanSummary",
    "Recommendation",
    "StepKind",
    "conversion",
    "recommend",
]


class Connectivity(enum.Enum):
    """How a machine reaches the corporate network and the Internet."""

    CORPORATE = "corporate"
    """On the corporate network, and through it on the Internet."""
    INTERNET_ONLY = "internet-only"
    """On the Internet, never on the corporate network (a home office, a branch)."""
    ISOLATED = "isolated"
    """Kept off the Internet for security (a lab, a plant): only a proxy can activate it."""
    RARELY_CONNECTED = "rarely-connected"
    """A roaming machine that reaches the Internet but the corporate network only now and then."""


ADBA_RELEASES: Final[Mapping[ProductFamily, frozenset[str]]] = {
    ProductFamily.WINDOWS_CLIENT: frozenset(
        {
            "Windows 8",
            "Windows 8.1",
            "Windows 10",
            "Windows 11",
            "Windows 10/11",
            "Windows 10/11 LTSC",
            "Windows 10 LTSB 2015",
            "Windows 10 LTSB 2016",
        }
    ),
    ProductFamily.WINDOWS_SERVER: frozenset(
        {
            "Windows Server 2012",
            "Windows Server 2012 R2",
            "Windows Server 2016",
            "Windows Server 2019",
            "Windows Server 2022",
            "Windows Server 2025",
            "Windows Server Semi-Annual Channel",
            "Windows Server, version 1709",
            "Windows Server, version 1803",
        }
    ),
    ProductFamily.OFFICE: frozenset(
        {"Office 2013", "Office 2016", "Office 2019", "Office LTSC 2021", "Office LTSC 2024"}
    ),
}
"""The releases, per family, known to support Active Directory-based activation.

ADBA needs Windows 8, Windows Server 2012 or Office 2013 and later (domain-facts §3.1).
Names are the catalog's ``release`` values plus ``"Windows 10"`` and ``"Windows 11"``;
a release is matched ignoring case and runs of spaces. Any other release (Windows 7,
Windows Server 2008 R2, Office 2010, or a name mak does not know) is treated as not
supporting ADBA, so a plan never relies on ADBA for a machine that might lack it.
"""

PLANNED_METHODS: Final = frozenset(
    {
        ActivationMethod.ADBA,
        ActivationMethod.KMS,
        ActivationMethod.MAK_INDEPENDENT,
        ActivationMethod.MAK_PROXY,
    }
)
"""The methods :func:`recommend` chooses from."""

_MAK_METHODS: Final = frozenset({ActivationMethod.MAK_INDEPENDENT, ActivationMethod.MAK_PROXY})
_CONVERSION_TARGETS: Final = (
    ActivationMethod.KMS,
    ActivationMethod.MAK_INDEPENDENT,
    ActivationMethod.MAK_PROXY,
)
_FAMILY_NAMES: Final[Mapping[ProductFamily, str]] = {
    ProductFamily.WINDOWS_CLIENT: "Windows client",
    ProductFamily.WINDOWS_SERVER: "Windows Server",
    ProductFamily.OFFICE: "Office",
}


def _normalized(release: str) -> str:
    return " ".join(release.split()).casefold()


_ADBA_LOOKUP: Final[Mapping[ProductFamily, frozenset[str]]] = {
    family: frozenset(_normalized(release) for release in releases)
    for family, releases in ADBA_RELEASES.items()
}


# --- validators -------------------------------------------------------------------------


def _machine_text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        reason = f"expected a string, got {type(value).__name__}"
        raise InvalidFormat("machine", attribute.name, reason)
    if not value.strip():
        raise InvalidFormat("machine", attribute.name, "empty")


def _machine_family(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, ProductFamily):
        reason = f"expected a ProductFamily, got {type(value).__name__}"
        raise InvalidFormat("machine", attribute.name, reason)


def _machine_connectivity(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Connectivity):
        reason = f"expected a Connectivity, got {type(value).__name__}"
        raise InvalidFormat("machine", attribute.name, reason)


def _machine_flag(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        reason = f"expected a bool, got {type(value).__name__}"
        raise InvalidFormat("machine", attribute.name, reason)


def _recommendation_id(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidFormat("recommendation", attribute.name, "expected a non-blank string")


def _planned_method(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, ActivationMethod) or value not in PLANNED_METHODS:
        reason = f"{_shown(value)} is not one of {_method_names(PLANNED_METHODS)}"
        raise InvalidComponent("recommendation", attribute.name, reason)


def _reason_text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidFormat("recommendation", attribute.name, "expected a non-blank string")


def _recommendations(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        reason = f"expected a tuple, got {type(value).__name__}"
        raise InvalidFormat("plan", "recommendations", reason)
    seen: dict[str, int] = {}
    for index, item in enumerate(cast("tuple[object, ...]", value)):
        if not isinstance(item, Recommendation):
            reason = f"expected a Recommendation, got {type(item).__name__}"
            raise InvalidFormat("plan", f"recommendations[{index}]", reason)
        _refuse_repeat(seen, item.machine_id, index, "recommendations")


def _refuse_repeat(seen: dict[str, int], machine_id: str, index: int, where: str) -> None:
    """Record *machine_id* at *index*, refusing an id already recorded."""
    if machine_id in seen:
        reason = f"given twice: {where}[{seen[machine_id]}] and {where}[{index}]"
        raise InvalidComponent("machine id", machine_id, reason)
    seen[machine_id] = index


def _step_kind(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, StepKind):
        reason = f"expected a StepKind, got {type(value).__name__}"
        raise InvalidFormat("conversion step", "kind", reason)


def _step_key(step: ConversionStep, __: attrs.Attribute[Any], value: object) -> None:
    if step.kind is StepKind.INSTALL_KEY:
        if not isinstance(value, ProductKey):
            reason = f"installing a key needs a ProductKey, got {type(value).__name__}"
            raise InvalidFormat("conversion step", "key", reason)
    elif value is not None:
        raise InvalidComponent("conversion step", "key", f"{step.kind.value} takes no key")


def _endpoint(value: Any) -> Any:  # the validator judges what is not text
    """Read ``host[:port]`` text as a :class:`~mak.kms.KmsEndpoint`, checked."""
    return KmsEndpoint.parse(value) if isinstance(value, str) else value


def _step_endpoint(step: ConversionStep, __: attrs.Attribute[Any], value: object) -> None:
    if step.kind is StepKind.SET_KMS_ENDPOINT:
        if not isinstance(value, KmsEndpoint):
            reason = "setting the KMS endpoint needs a KmsEndpoint or host[:port] text"
            raise InvalidFormat("conversion step", "endpoint", reason)
    elif value is not None:
        reason = f"{step.kind.value} takes no endpoint"
        raise InvalidComponent("conversion step", "endpoint", reason)


def _step_method(step: ConversionStep, __: attrs.Attribute[Any], value: object) -> None:
    if step.kind is StepKind.ACTIVATE:
        if value not in _CONVERSION_TARGETS:
            reason = f"{_shown(value)} is not one of {_method_names(_CONVERSION_TARGETS)}"
            raise InvalidComponent("conversion step", "method", reason)
    elif value is not None:
        raise InvalidComponent("conversion step", "method", f"{step.kind.value} takes no method")


def _edition_name(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidFormat("conversion plan", attribute.name, "expected a non-blank string")


def _source_channel(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, KeyChannel):
        reason = f"expected a KeyChannel or None, got {type(value).__name__}"
        raise InvalidFormat("conversion plan", attribute.name, reason)


def _conversion_target(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in _CONVERSION_TARGETS:
        reason = f"{_shown(value)} is not one of {_method_names(_CONVERSION_TARGETS)}"
        raise InvalidComponent("conversion plan", attribute.name, reason)


def _steps(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        reason = f"expected a tuple, got {type(value).__name__}"
        raise InvalidFormat("conversion plan", "steps", reason)
    for index, item in enumerate(cast("tuple[object, ...]", value)):
        if not isinstance(item, ConversionStep):
            reason = f"expected a ConversionStep, got {type(item).__name__}"
            raise InvalidFormat("conversion plan", f"steps[{index}]", reason)


def _shown(value: object) -> str:
    """Return how an error message shows a value that should have been a method."""
    if isinstance(value, enum.Enum):
        return repr(value.value)
    return "None" if value is None else f"<{type(value).__name__}>"


def _method_names(methods: Iterable[ActivationMethod]) -> str:
    return ", ".join(sorted(repr(method.value) for method in methods))


# --- recommendations --------------------------------------------------------------------


@attrs.frozen
class Machine:
    """One machine of a fleet, as much as choosing its activation method needs.

    ``family`` and ``os_release`` describe the product to activate: for Office, the
    Office release (``"Office LTSC 2021"``), not the Windows one. Releases are named as
    the catalog's ``release`` values (:data:`ADBA_RELEASES`).

    >>> Machine("pc-1", ProductFamily.WINDOWS_CLIENT, Connectivity.CORPORATE, True, "Windows 10/11")
    Machine(id='pc-1', family=<ProductFamily.WINDOWS_CLIENT: 'windows-client'>, connectivity=<Connectivity.CORPORATE: 'corporate'>, domain_joined=True, os_release='Windows 10/11')
    >>> Machine("pc-1", "windows-client", Connectivity.CORPORATE, True, "Windows 10/11")
    Traceback (most recent call last):
    mak.errors.InvalidFormat: Invalid machine: 'family' (expected a ProductFamily, got str)
    """

    id: str = attrs.field(validator=_machine_text)
    """Unique within a fleet: a name, an inventory id."""
    family: ProductFamily = attrs.field(validator=_machine_family)
    """The product family, which sets the KMS threshold."""
    connectivity: Connectivity = attrs.field(validator=_machine_connectivity)
    """What the machine reaches: the corporate network, the Internet, neither."""
    domain_joined: bool = attrs.field(validator=_machine_flag)
    """Whether it is joined to an Active Directory domain (ADBA needs it)."""
    os_release: str = attrs.field(validator=_machine_text)
    """The product's release, such as ``"Windows 10/11"`` or ``"Windows Server 2022"``."""

    @property
    def adba_capable(self) -> bool:
        """Whether the release is known to support ADBA (see :data:`ADBA_RELEASES`).

        >>> Machine("s", ProductFamily.WINDOWS_SERVER, Connectivity.CORPORATE, True, "windows server  2012 r2").adba_capable
        True
        >>> Machine("s", ProductFamily.WINDOWS_SERVER, Connectivity.CORPORATE, True, "Windows Server 2008 R2").adba_capable
        False
        """
        return _normalized(self.os_release) in _ADBA_LOOKUP[self.family]


@attrs.frozen
class Recommendation:
    """The method chosen for one machine, and why, in one English sentence.

    >>> Recommendation("pc-1", ActivationMethod.PHONE, "by hand")
    Traceback (most recent call last):
    mak.errors.InvalidComponent: Invalid recommendation: 'method' ('phone' is not one of 'adba', 'kms', 'mak-independent', 'mak-proxy')
    """

    machine_id: str = attrs.field(validator=_recommendation_id)
    """The :attr:`Machine.id` it is for."""
    method: ActivationMethod = attrs.field(validator=_planned_method)
    """One of :data:`PLANNED_METHODS`."""
    reason: str = attrs.field(validator=_reason_text)
    """The rule that chose the method, with its numbers."""


@attrs.frozen
class PlanSummary:
    """How many machines a plan puts on each method, and the MAK activations it uses.

    >>> summary = PlanSummary(adba=0, kms=30, mak_independent=4, mak_proxy=2)
    >>> summary.mak_activations, summary.total
    (6, 36)
    """

    adba: int
    """Machines on Active Directory-based activation."""
    kms: int
    """Machines on KMS."""
    mak_independent: int
    """Machines activating their MAK with Microsoft themselves."""
    mak_proxy: int
    """Machines whose MAK a proxy activates."""

    @property
    def mak_activations(self) -> int:
        """The MAK activations the plan consumes: one per MAK machine, independent or proxy."""
        return self.mak_independent + self.mak_proxy

    @property
    def total(self) -> int:
        """The number of machines in the plan."""
        return self.adba + self.kms + self.mak_independent + self.mak_proxy


@attrs.frozen
class Plan:
    """One recommendation per machine, in the order the machines were given.

    Iterating yields the :class:`Recommendation` objects; machine ids are unique.

    >>> plan = recommend([Machine("kiosk", ProductFamily.WINDOWS_CLIENT, Connectivity.INTERNET_ONLY, False, "Windows 11")])
    >>> [(r.machine_id, r.method.value) for r in plan]
    [('kiosk', 'mak-independent')]
    """

    recommendations: tuple[Recommendation, ...] = attrs.field(validator=_recommendations)
    """Every recommendation, one per machine."""

    def summary(self) -> PlanSummary:
        """Return the count of machines per method and the MAK activations they consume.

        >>> recommend([]).summary()
        PlanSummary(adba=0, kms=0, mak_independent=0, mak_proxy=0)
        """
        methods = [recommendation.method for recommendation in self.recommendations]
        return PlanSummary(
            adba=methods.count(ActivationMethod.ADBA),
            kms=methods.count(ActivationMethod.KMS),
            mak_independent=methods.count(ActivationMethod.MAK_INDEPENDENT),
            mak_proxy=methods.count(ActivationMethod.MAK_PROXY),
        )

    def by_method(self, method: ActivationMethod) -> tuple[Recommendation, ...]:
        """Return the recommendations for *method*, in machine order.

        >>> recommend([]).by_method(ActivationMethod.KMS)
        ()
        """
        return tuple(r for r in self.recommendations if r.method is method)

    def recommendation_for(self, machine_id: str) -> Recommendation:
        """Return the recommendation for the machine *machine_id*.

        Raises :class:`~mak.errors.NotFound` (kind ``"machine"``) for an id not in the plan.

        >>> recommend([]).recommendation_for("pc-9")
        Traceback (most recent call last):
        mak.errors.NotFound: No machine with id 'pc-9'
        """
        for recommendation in self.recommendations:
            if recommendation.machine_id == machine_id:
                return recommendation
        raise NotFound("machine", machine_id)

    def __iter__(self) -> Iterator[Recommendation]:
        return iter(self.recommendations)

    def __len__(self) -> int:
        return len(self.recommendations)

    def _repr_markdown_(self) -> str:
        """Return the summary and one row per machine: what a notebook shows instead of the repr."""
        return _display.plan(self)


def recommend(machines: Iterable[Machine], *, adba_available: bool = False) -> Plan:
    """Return a plan giving each of *machines* one activation method, with the reason.

    The rules, in order (sources in domain-facts §3, §3.1 and §6):

    1. ``ISOLATED`` machines get ``MAK_PROXY``: a proxy with Internet access gets their
       confirmation IDs from Microsoft. ``INTERNET_ONLY`` and ``RARELY_CONNECTED`` ones
       get ``MAK_INDEPENDENT``: they reach Microsoft but not, or too seldom to renew
       within 180 days, a KMS host or a domain controller.
    2. With ``adba_available`` (the forest holds an activation object), ``CORPORATE``
       machines that are domain-joined and on a release in :data:`ADBA_RELEASES` get
       ``ADBA``, which has no threshold.
    3. The other ``CORPORATE`` machines are KMS-eligible. A KMS host counts machines of
       every family together, so a machine gets ``KMS`` when the machines that will use
       KMS number at least its family's threshold (Windows client 25, Windows Server and
       Office 5). Machines that would miss their threshold use MAK instead and do not
       count, so the KMS population is the largest group in which every member's
       threshold is met: 3 servers and 22 clients all get KMS, while 3 servers and 7
       clients all get MAK.
    4. KMS-eligible machines below their threshold get ``MAK_INDEPENDENT``: they reach
       the Internet through the corporate network.

    Raises :class:`~mak.errors.InvalidFormat` for an item that is not a :class:`Machine`
    and :class:`~mak.errors.InvalidComponent` for a machine id given twice.

    >>> server = [Machine(f"srv-{n}", ProductFamily.WINDOWS_SERVER, Connectivity.CORPORATE, False, "Windows Server 2022") for n in range(4)]
    >>> recommend(server).summary()
    PlanSummary(adba=0, kms=0, mak_independent=4, mak_proxy=0)
    >>> print(recommend(server).recommendation_for("srv-0").reason)
    Corporate network, 4 KMS-eligible machines < 5 for Windows Server: MAK independent activation, through the corporate network's Internet access.
    """
    fleet = _checked(machines)
    eligible = [
        m
        for m in fleet
        if m.connectivity is Connectivity.CORPORATE and not _gets_adba(m, adba_available)
    ]
    counts = _counts_up_to(eligible)
    cutoff = max((t for t, count in counts.items() if count >= t), default=0)
    return Plan(
        tuple(_recommendation(m, adba_available, counts, cutoff, len(eligible)) for m in fleet)
    )


def _checked(machines: Iterable[Machine]) -> list[Machine]:
    """Return *machines* as a list, refusing a non-machine or a repeated id."""
    fleet: list[Machine] = []
    seen: dict[str, int] = {}
    items = cast("object", machines)  # callers may pass anything
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise InvalidFormat.wrong_type("machine list", items, "an iterable of Machine")
    for index, machine in enumerate(cast("Iterable[object]", items)):
        if not isinstance(machine, Machine):
            reason = f"expected a Machine, got {type(machine).__name__}"
            raise InvalidFormat("machine list", f"machines[{index}]", reason)
        _refuse_repeat(seen, machine.id, index, "machines")
        fleet.append(machine)
    return fleet


def _gets_adba(machine: Machine, adba_available: bool) -> bool:
    return (
        adba_available
        and machine.connectivity is Connectivity.CORPORATE
        and machine.domain_joined
        and machine.adba_capable
    )


def _counts_up_to(eligible: list[Machine]) -> dict[int, int]:
    """Return, per threshold among *eligible*, how many of them have that threshold or less."""
    thresholds = [machine.family.kms_threshold for machine in eligible]
    return {t: sum(1 for other in thresholds if other <= t) for t in set(thresholds)}


def _recommendation(
    machine: Machine,
    adba_available: bool,
    counts: Mapping[int, int],
    cutoff: int,
    eligible: int,
) -> Recommendation:
    """Return the recommendation for *machine*, given the KMS-eligible counts."""
    method, reason = _choice(machine, adba_available, counts, cutoff, eligible)
    return Recommendation(machine.id, method, reason)


def _choice(
    machine: Machine,
    adba_available: bool,
    counts: Mapping[int, int],
    cutoff: int,
    eligible: int,
) -> tuple[ActivationMethod, str]:
    if machine.connectivity is Connectivity.ISOLATED:
        return ActivationMethod.MAK_PROXY, (
            "Isolated: no Internet access, so MAK proxy activation gets its confirmation ID "
            "from Microsoft on its behalf."
        )
    if machine.connectivity is Connectivity.INTERNET_ONLY:
        return ActivationMethod.MAK_INDEPENDENT, (
            "Reaches the Internet but never the corporate network: "
            "MAK independent activation with Microsoft."
        )
    if machine.connectivity is Connectivity.RARELY_CONNECTED:
        return ActivationMethod.MAK_INDEPENDENT, (
            "Rarely reaches the corporate network, too seldom to renew a KMS or ADBA "
            "activation within 180 days: MAK independent activation over the Internet."
        )
    if _gets_adba(machine, adba_available):
        return ActivationMethod.ADBA, (
            f"Corporate network, domain-joined, {machine.os_release} supports Active "
            "Directory-based activation: ADBA, with no KMS threshold."
        )
    threshold = machine.family.kms_threshold
    family = _FAMILY_NAMES[machine.family]
    if adba_available and machine.domain_joined:
        no_adba = (
            f" {machine.os_release} is not known to support ADBA "
            "(Windows 8, Windows Server 2012, Office 2013 and later)."
        )
    else:
        no_adba = ""
    if threshold <= cutoff:
        population = counts[cutoff]
        reason = (
            f"Corporate network, {population} KMS-eligible machines >= {threshold} "
            f"for {family}: KMS."
        )
        return ActivationMethod.KMS, reason + no_adba
    count = counts[threshold]
    others = eligible - count
    if others:
        needed = " or ".join(str(t) for t in sorted(t for t in counts if t > threshold))
        higher = f" (the {others} others need {needed} and fall short too)"
    else:
        higher = ""
    reason = (
        f"Corporate network, {count} KMS-eligible machines < {threshold} for {family}{higher}: "
        "MAK independent activation, through the corporate network's Internet access."
    )
    return ActivationMethod.MAK_INDEPENDENT, reason + no_adba


# --- conversions ------------------------------------------------------------------------


class ConvertibleProduct(Protocol):
    """What :func:`conversion` reads of a product: its edition name and its key's channel.

    The ``Product`` entity of ``mak.model`` fits, as does any object with these two
    attributes.
    """

    @property
    def name(self) -> str:
        """The edition's name, as the catalog lists it."""
        ...

    @property
    def channel(self) -> KeyChannel | None:
        """The channel of the installed key; ``None`` when no key is installed."""
        ...


class StepKind(enum.Enum):
    """What one step of a conversion does on the computer, with its ``slmgr.vbs`` verb."""

    INSTALL_KEY = "install-key"
    """Install the step's key over the current one (``slmgr /ipk``)."""
    SET_KMS_ENDPOINT = "set-kms-endpoint"
    """Point the KMS client at the step's host (``slmgr /skms``)."""
    CLEAR_KMS_ENDPOINT = "clear-kms-endpoint"
    """Forget any KMS host set by hand, so DNS auto-discovery applies (``slmgr /ckms``)."""
    ACTIVATE = "activate"
    """Activate by the step's method: with the KMS host or Microsoft (``slmgr /ato``), or by proxy."""


@attrs.frozen
class ConversionStep:
    """One step of a conversion: its kind and the argument that kind takes.

    ``key`` is set for ``INSTALL_KEY`` only, ``endpoint`` (a
    :class:`~mak.kms.KmsEndpoint`; ``"host[:port]"`` text is parsed) for
    ``SET_KMS_ENDPOINT`` only, and ``method`` for ``ACTIVATE`` only. Keys stay masked in ``repr()`` and ``str()``.

    >>> step = ConversionStep(StepKind.INSTALL_KEY, key=ProductKey("W269N-WFGWX-YVC9B-4J6C9-T83GX"))
    >>> step
    ConversionStep(kind=<StepKind.INSTALL_KEY: 'install-key'>, key=ProductKey('XXXXX-XXXXX-XXXXX-XXXXX-T83GX'), endpoint=None, method=None)
    >>> print(step)
    Install product key XXXXX-XXXXX-XXXXX-XXXXX-T83GX (slmgr /ipk).
    >>> ConversionStep(StepKind.ACTIVATE)
    Traceback (most recent call last):
    mak.errors.InvalidComponent: Invalid conversion step: 'method' (None is not one of 'kms', 'mak-independent', 'mak-proxy')
    """

    kind: StepKind = attrs.field(validator=_step_kind)
    """What the step does."""
    key: ProductKey | None = attrs.field(default=None, validator=_step_key)
    """The key to install."""
    endpoint: KmsEndpoint | None = attrs.field(
        default=None, converter=_endpoint, validator=_step_endpoint
    )
    """The KMS host to use; text given as ``host[:port]`` is parsed and checked."""
    method: ActivationMethod | None = attrs.field(default=None, validator=_step_method)
    """How to activate: ``KMS``, ``MAK_INDEPENDENT`` or ``MAK_PROXY``."""

    def __str__(self) -> str:
        if self.kind is StepKind.INSTALL_KEY:
            return f"Install product key {self.key} (slmgr /ipk)."
        if self.kind is StepKind.SET_KMS_ENDPOINT:
            return f"Use the KMS host {self.endpoint} (slmgr /skms)."
        if self.kind is StepKind.CLEAR_KMS_ENDPOINT:
            return "Clear any KMS host set by hand; DNS finds one if needed (slmgr /ckms)."
        if self.method is ActivationMethod.KMS:
            return "Activate with the KMS host (slmgr /ato); no MAK activation is used."
        if self.method is ActivationMethod.MAK_INDEPENDENT:
            return "Activate with Microsoft online (slmgr /ato); uses one MAK activation."
        return (
            "Activate by proxy: collect the installation ID, get the confirmation ID from "
            "Microsoft, deposit it; uses one MAK activation."
        )


@attrs.frozen
class ConversionPlan:
    """The ordered steps that move one product to *target*; iterating yields them.

    An empty plan means the product already uses the target's channel.

    >>> from types import SimpleNamespace
    >>> from mak.catalog import Catalog
    >>> product = SimpleNamespace(name="Windows Server 2022 Standard", channel=KeyChannel.MAK)
    >>> plan = conversion(product, ActivationMethod.KMS, Catalog.default())
    >>> [step.kind.value for step in plan], plan.mak_activations_consumed
    (['install-key', 'clear-kms-endpoint', 'activate'], 0)
    """

    edition: str = attrs.field(validator=_edition_name)
    """The product's edition name."""
    source: KeyChannel | None = attrs.field(validator=_source_channel)
    """The channel the product was on when the plan was made."""
    target: ActivationMethod = attrs.field(validator=_conversion_target)
    """``KMS``, ``MAK_INDEPENDENT`` or ``MAK_PROXY``."""
    steps: tuple[ConversionStep, ...] = attrs.field(validator=_steps)
    """What to do, in order."""

    @property
    def mak_activations_consumed(self) -> int:
        """The MAK activations carrying out the plan uses: 1 for a move to MAK, else 0."""
        return int(self.target in _MAK_METHODS and bool(self.steps))

    def __iter__(self) -> Iterator[ConversionStep]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)


def conversion(
    product: ConvertibleProduct,
    target: ActivationMethod,
    catalog: Catalog,
    *,
    key: ProductKey | None = None,
    endpoint: KmsEndpoint | str | None = None,
) -> ConversionPlan:
    """Return the steps that move *product* between MAK and KMS, as VAMT does it.

    *target* is ``ActivationMethod.KMS`` or ``MAK_INDEPENDENT`` / ``MAK_PROXY`` (the MAK
    methods differ only in the last step). The new key is installed over the old one,
    with no uninstall first: a failure between the two would leave no key at all.

    - To KMS, from a MAK or from no key: install the edition's GVLK from *catalog* (no
      *key*; load a newer catalog with :meth:`Catalog.from_file
      <mak.catalog.Catalog.from_file>` for a newer edition), set the KMS host to
      *endpoint* or clear it for DNS auto-discovery, activate with the KMS host. No MAK
      activation is used.
    - To MAK, from a GVLK or from no key: install *key*, clear the KMS host, activate
      online or by proxy. This uses one activation of the MAK, unless a confirmation ID
      kept for the same installation ID can be reused (see :mod:`mak.manager`).
    - A product already on the target's channel gets an empty plan: there is nothing to
      convert. The arguments are checked all the same; no MAK is needed.

    Refusals: the catalog's error for an edition it does not know or without a published
    GVLK; :class:`~mak.errors.InvalidComponent` for another target, a retail, OEM or KMS
    host key installed, a key passed for a move to KMS or an endpoint for a move to MAK,
    a move to MAK without a key, or a published GVLK passed as the MAK (mak can tell a
    MAK from a GVLK only by the catalog); :class:`~mak.errors.InvalidFormat` for a
    product without a ``name`` and a ``channel``, or a key that is not a
    :class:`~mak.keys.ProductKey`. Keys in messages are masked.

    >>> from types import SimpleNamespace
    >>> from mak.catalog import Catalog
    >>> gvlk_product = SimpleNamespace(name="Windows 11 Pro / Windows 10 Pro", channel=KeyChannel.GVLK)
    >>> conversion(gvlk_product, ActivationMethod.MAK_PROXY, Catalog.default())
    Traceback (most recent call last):
    mak.errors.InvalidComponent: Invalid MAK: '<missing>' (moving 'Windows 11 Pro / Windows 10 Pro' to MAK needs a MAK; pass key=)
    """
    name, channel = _product_fields(product)
    if target not in _CONVERSION_TARGETS:
        reason = f"{_shown(target)} is not one of {_method_names(_CONVERSION_TARGETS)}"
        raise InvalidComponent("conversion target", "target", reason)
    given = cast("object", key)  # callers may pass text
    if given is not None and not isinstance(given, ProductKey):
        reason = f"expected a ProductKey, got {type(given).__name__}"
        raise InvalidFormat("conversion key", "key", reason)
    if channel not in (None, KeyChannel.MAK, KeyChannel.GVLK):
        reason = (
            f"{name!r} has a {channel} key; conversion moves volume products between MAK and KMS"
        )
        raise InvalidComponent("conversion source", str(channel), reason)
    if target is ActivationMethod.KMS:
        return _to_kms(name, channel, catalog, key, endpoint)
    if endpoint is not None:
        reason = "a MAK activates with Microsoft, not with a KMS host; pass no endpoint"
        raise InvalidComponent("conversion endpoint", "endpoint", reason)
    return _to_mak(name, channel, target, catalog, key)


def _product_fields(product: object) -> tuple[str, KeyChannel | None]:
    name: object = getattr(product, "name", None)
    channel: object = getattr(product, "channel", None)
    if not isinstance(name, str) or not name.strip():
        reason = "expected an edition name as its str attribute 'name'"
        raise InvalidFormat("product", f"<{type(product).__name__}>", reason)
    if channel is not None and not isinstance(channel, KeyChannel):
        reason = f"expected its 'channel' to be a KeyChannel or None, got {type(channel).__name__}"
        raise InvalidFormat("product", f"<{type(product).__name__}>", reason)
    return name, channel


def _to_kms(
    name: str,
    channel: KeyChannel | None,
    catalog: Catalog,
    key: ProductKey | None,
    endpoint: KmsEndpoint | str | None,
) -> ConversionPlan:
    if key is not None:
        reason = (
            "a move to KMS installs the catalog's GVLK for the edition; "
            "load a newer catalog with Catalog.from_file for one it lacks"
        )
        raise InvalidComponent("conversion key", "key", reason)
    if endpoint is None:
        endpoint_step = ConversionStep(StepKind.CLEAR_KMS_ENDPOINT)
    else:
        endpoint_step = ConversionStep(StepKind.SET_KMS_ENDPOINT, endpoint=endpoint)
    if channel is KeyChannel.GVLK:
        return ConversionPlan(name, channel, ActivationMethod.KMS, ())
    gvlk = catalog.gvlk_for(name)  # the catalog's own error for an unknown edition
    steps = (
        ConversionStep(StepKind.INSTALL_KEY, key=gvlk),
        endpoint_step,
        ConversionStep(StepKind.ACTIVATE, method=ActivationMethod.KMS),
    )
    return ConversionPlan(name, channel, ActivationMethod.KMS, steps)


def _to_mak(
    name: str,
    channel: KeyChannel | None,
    target: ActivationMethod,
    catalog: Catalog,
    key: ProductKey | None,
) -> ConversionPlan:
    if key is not None:
        published = catalog.edition_of(key)
        if published is not None:
            reason = f"it is the published GVLK of {published.name!r}, not a MAK"
            raise InvalidComponent("MAK", str(key), reason)
    if channel is KeyChannel.MAK:
        return ConversionPlan(name, channel, target, ())
    if key is None:
        reason = f"moving {name!r} to MAK needs a MAK; pass key="
        raise InvalidComponent("MAK", "<missing>", reason)
    steps = (
        ConversionStep(StepKind.INSTALL_KEY, key=key),
        ConversionStep(StepKind.CLEAR_KMS_ENDPOINT),
        ConversionStep(StepKind.ACTIVATE, method=target),
    )
    return ConversionPlan(name, channel, target, steps)
