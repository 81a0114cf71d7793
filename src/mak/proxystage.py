"""How far each product has come through proxy activation, as an explicit state machine.

VAMT's proxy activation has an implicit lifecycle: install the MAK, collect the installation
ID, (export it, for an isolated lab,) acquire the confirmation ID, deposit it. Here the
moves are data, on the same table machinery as :mod:`mak.lifecycle`: :data:`PROXY_TRANSITIONS`
lists every one and :func:`advance_stage` applies an event to a :class:`ProxyProgress`,
returning a new snapshot. The snapshot says only *where* the product is; its installation
and confirmation IDs stay on :class:`mak.model.Product`, which carries the snapshot as
``Product.proxy`` so that an interrupted batch resumes where each product stopped.

>>> progress = ProxyProgress.new()
>>> for event in (StageKeyInstalled(), IidCollected(), StageFailed(0xC004C020)):
...     progress = advance_stage(progress, event)
>>> progress.stage, progress.failed_at, hex(progress.code)
(<ProxyStage.FAILED: 'failed'>, <ProxyStage.IID_COLLECTED: 'iid-collected'>, '0xc004c020')
>>> advance_stage(progress, Retried()).stage  # back where it failed: the IID is still good
<ProxyStage.IID_COLLECTED: 'iid-collected'>
"""

from __future__ import annotations

import enum
from typing import Any, Final, TypeAlias

import attrs

from mak import _validate
from mak.errors import IllegalTransition, InvalidComponent, InvalidFormat
from mak.statetable import StateTable, Transition

__all__ = [
    "PROXY",
    "PROXY_TRANSITIONS",
    "CidAcquired",
    "CidDeposited",
    "Exported",
    "HardwareReplaced",
    "IidCollected",
    "ProxyEvent",
    "ProxyProgress",
    "ProxyStage",
    "Reimaged",
    "Retried",
    "StageFailed",
    "StageKeyInstalled",
    "advance_stage",
    "allowed_events",
    "to_dot",
    "to_mermaid",
    "transition_table_markdown",
    "validate_table",
]


class ProxyStage(enum.Enum):
    """Where a product stands in proxy activation; ``str()`` gives a label for people.

    >>> ProxyStage("cid-acquired"), str(ProxyStage.CID_ACQUIRED)
    (<ProxyStage.CID_ACQUIRED: 'cid-acquired'>, 'CID acquired')
    """

    DISCOVERED = "discovered"
    """Known to the inventory; nothing done yet (or undone by a reimage)."""
    KEY_INSTALLED = "key-installed"
    """The MAK is installed on the computer."""
    IID_COLLECTED = "iid-collected"
    """The computer's installation ID is read and stored with the product."""
    EXPORTED = "exported"
    """The IID left for the internet-connected side in an export file (isolated labs)."""
    CID_ACQUIRED = "cid-acquired"
    """A confirmation ID for the IID is stored: from the clearinghouse or the CIL."""
    CID_DEPOSITED = "cid-deposited"
    """The CID is deposited on the computer: activated."""
    FAILED = "failed"
    """A step failed; the snapshot keeps the stage to resume and the HRESULT."""

    # Members are singletons compared by identity, so identity can hash them too: in C,
    # where Enum's own hash calls Python for each of the lookups every product's step makes.
    __hash__ = object.__hash__

    def __str__(self) -> str:
        return _LABELS[self]


_LABELS: Final = {
    ProxyStage.DISCOVERED: "Discovered",
    ProxyStage.KEY_INSTALLED: "Key installed",
    ProxyStage.IID_COLLECTED: "IID collected",
    ProxyStage.EXPORTED: "Exported",
    ProxyStage.CID_ACQUIRED: "CID acquired",
    ProxyStage.CID_DEPOSITED: "CID deposited",
    ProxyStage.FAILED: "Failed",
}

D = ProxyStage.DISCOVERED
K = ProxyStage.KEY_INSTALLED
I = ProxyStage.IID_COLLECTED  # noqa: E741  # the table reads better with one letter a stage
E = ProxyStage.EXPORTED
A = ProxyStage.CID_ACQUIRED
P = ProxyStage.CID_DEPOSITED
F = ProxyStage.FAILED
_WORKING: Final = (D, K, I, E, A)
"""The stages a step starts from, so the ones that can fail and be resumed."""


def _unsigned(code: Any) -> Any:  # the validator judges what it cannot read
    """Read a signed HRESULT as WMI reports it (-1073418160) as unsigned (0xC004F050)."""
    if isinstance(code, int) and not isinstance(code, bool) and -(2**31) <= code < 0:
        return code & 0xFFFFFFFF
    return code


def _hresult(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None and attribute.default is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise InvalidComponent(
            attribute.name, repr(value), "expected a signed or unsigned 32-bit HRESULT"
        )


@attrs.frozen(kw_only=True)
class ProxyProgress:
    """One product's place in proxy activation: a frozen snapshot.

    In :attr:`ProxyStage.FAILED`, ``failed_at`` is the stage the failed step started from
    (where :class:`Retried` resumes) and ``code`` its HRESULT; in any other stage both are
    ``None``.

    >>> ProxyProgress(stage=ProxyStage.FAILED)
    Traceback (most recent call last):
    mak.errors.InvalidComponent: Invalid proxy progress: 'Failed' (a failure needs failed_at and code)
    """

    stage: ProxyStage = attrs.field(default=D, validator=_validate.instance(ProxyStage))
    failed_at: ProxyStage | None = attrs.field(
        default=None, validator=_validate.instance(ProxyStage, optional=True)
    )
    code: int | None = attrs.field(default=None, converter=_unsigned, validator=_hresult)

    def __attrs_post_init__(self) -> None:
        if self.stage is F:
            if self.failed_at is None or self.code is None:
                self._refuse("a failure needs failed_at and code")
            if self.failed_at not in _WORKING:
                self._refuse(f"no step starts from {self.failed_at}")
        elif self.failed_at is not None or self.code is not None:
            self._refuse("only a failure has failed_at and code")

    def _refuse(self, reason: str) -> None:
        raise InvalidComponent("proxy progress", str(self.stage), reason)

    @classmethod
    def new(cls) -> ProxyProgress:
        """Return the progress of a product just discovered.

        The snapshot is frozen, so every product just discovered shares one.

        >>> ProxyProgress.new().stage
        <ProxyStage.DISCOVERED: 'discovered'>
        """
        return _AT[D] if cls is ProxyProgress else cls()


# --- events ---------------------------------------------------------------------------


@attrs.frozen
class StageKeyInstalled:
    """The MAK was installed on the computer (or found installed already)."""


@attrs.frozen
class IidCollected:
    """The installation ID was read; the caller stores it in ``Product.installation_id``."""


@attrs.frozen
class Exported:
    """The IID was written to an export file for the connected side (again, if lost)."""


@attrs.frozen
class CidAcquired:
    """A CID for the IID is in hand, stored in ``Product.confirmation_id``.

    It came from the clearinghouse or, for a reactivation, from the CIL.
    """


@attrs.frozen
class CidDeposited:
    """The CID was deposited on the computer, which is now activated."""


@attrs.frozen
class StageFailed:
    """The current step failed with the HRESULT *code* (signed or unsigned)."""

    code: int = attrs.field(converter=_unsigned, validator=_hresult)


@attrs.frozen
class Retried:
    """A failed product is tried again, from the stage it failed in."""


@attrs.frozen
class Reimaged:
    """The computer was reinstalled on the same hardware.

    Its licensing is reset, so it starts over; the caller keeps ``Product.confirmation_id``,
    which a local reactivation deposits again for the unchanged IID.
    """


@attrs.frozen
class HardwareReplaced:
    """The computer's hardware changed beyond tolerance.

    It starts over; the caller drops ``Product.installation_id`` and
    ``Product.confirmation_id``, which no longer fit, so it needs a new activation.
    """


ProxyEvent: TypeAlias = (
    StageKeyInstalled
    | IidCollected
    | Exported
    | CidAcquired
    | CidDeposited
    | StageFailed
    | Retried
    | Reimaged
    | HardwareReplaced
)
"""Anything that moves a product through proxy activation."""

_EVENTS: Final[frozenset[type[object]]] = frozenset(
    {
        StageKeyInstalled,
        IidCollected,
        Exported,
        CidAcquired,
        CidDeposited,
        StageFailed,
        Retried,
        Reimaged,
        HardwareReplaced,
    }
)

# --- the table ------------------------------------------------------------------------


def _failed_in(stage: ProxyStage) -> str:
    """The name of the guard under which :class:`Retried` resumes *stage*."""
    return f"failed in {stage}"


def _t(
    source: ProxyStage, event: type[object], target: ProxyStage, guard: str | None = None
) -> Transition[ProxyStage]:
    return Transition(source, event.__name__, target, guard)


PROXY_TRANSITIONS: Final[tuple[Transition[ProxyStage], ...]] = (
    # The steps, in order; an isolated lab exports the IID before the CID is acquired.
    _t(D, StageKeyInstalled, K),
    _t(K, IidCollected, I),
    _t(I, Exported, E),
    _t(E, Exported, E),  # exporting again (a lost file) changes nothing
    _t(I, CidAcquired, A),
    _t(E, CidAcquired, A),
    _t(A, CidDeposited, P),
    # Any step can fail; a deposited product has no step left to fail.
    *(_t(stage, StageFailed, F) for stage in _WORKING),
    # A retry resumes the stage that failed, so no finished step is redone: an IID with a
    # CID stored is never sent to the clearinghouse again.
    *(_t(F, Retried, stage, _failed_in(stage)) for stage in _WORKING),
    # A reinstall or new hardware starts over from anywhere; only what the product keeps
    # (its CID after a reimage) differs, and the product holds that, not the stage.
    *(_t(stage, Reimaged, D) for stage in ProxyStage),
    *(_t(stage, HardwareReplaced, D) for stage in ProxyStage),
)
"""Every move of proxy activation; each (stage, event) cell not listed is refused."""

PROXY: Final = StateTable(name="proxy activation", initial=D, transitions=PROXY_TRANSITIONS)
"""The proxy-activation machine's table, for queries and drawings."""

_GUARDS: Final = {_failed_in(stage): stage for stage in _WORKING}
"""Each guard of :class:`Retried`, with the ``failed_at`` it requires."""


# --- applying events ------------------------------------------------------------------


def advance_stage(progress: ProxyProgress, event: ProxyEvent) -> ProxyProgress:
    """Return the progress after *event*.

    Raises :class:`~mak.errors.IllegalTransition` when :data:`PROXY_TRANSITIONS` has no
    transition for the event in this stage.

    >>> advance_stage(ProxyProgress.new(), CidDeposited())
    Traceback (most recent call last):
    mak.errors.IllegalTransition: Can't CidDeposited when Discovered
    """
    if not isinstance(progress, ProxyProgress):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
        raise InvalidFormat.wrong_type("proxy progress", progress, "a ProxyProgress")
    if type(event) not in _EVENTS:
        raise InvalidFormat(
            "proxy-stage event", type(event).__name__, "not a mak.proxystage event"
        )
    for transition in PROXY.candidates(progress.stage, type(event).__name__):
        guard = transition.guard
        if guard is None or _GUARDS[guard] is progress.failed_at:
            return _effect(progress, event, transition.target)
    raise IllegalTransition(progress.stage, event)


def _effect(progress: ProxyProgress, event: ProxyEvent, target: ProxyStage) -> ProxyProgress:
    """Return the snapshot a transition to *target* by *event* leaves."""
    if isinstance(event, StageFailed):
        return ProxyProgress(stage=F, failed_at=progress.stage, code=event.code)
    # Anything else lands on a working stage or CID_DEPOSITED: no failure to remember,
    # so one frozen snapshot per stage serves every product.
    return _AT[target]


_AT: Final = {stage: ProxyProgress(stage=stage) for stage in ProxyStage if stage is not F}
"""The progress of a product in each stage but FAILED: nothing else to hold."""


# --- queries and drawings ---------------------------------------------------------------


def allowed_events(stage: ProxyStage) -> frozenset[str]:
    """Return the names of the events some transition accepts in *stage* (guards aside).

    >>> sorted(allowed_events(ProxyStage.CID_DEPOSITED))
    ['HardwareReplaced', 'Reimaged']
    """
    return PROXY.allowed_events(stage)


def validate_table() -> None:
    """Check :data:`PROXY_TRANSITIONS` is sound; see :meth:`mak.statetable.StateTable.validate`."""
    PROXY.validate()


def to_mermaid(highlight: ProxyStage | None = None) -> str:
    """Return the proxy-activation machine as a Mermaid state diagram, *highlight* drawn apart."""
    return PROXY.to_mermaid(highlight=highlight)


def to_dot() -> str:
    """Return the proxy-activation machine as a Graphviz DOT digraph."""
    return PROXY.to_dot()


def transition_table_markdown() -> str:
    """Return :data:`PROXY_TRANSITIONS` as a Markdown table."""
    return PROXY.to_markdown()
