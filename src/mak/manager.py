"""The use cases: VAMT's verbs over the ports, each returning a :class:`BatchReport`.

:class:`VolumeActivationManager` takes the ports (an inventory, the clearinghouse, a
connector to the managed computers, a clock, optionally discovery and a catalog) and
offers one method per thing an administrator does with VAMT: discover computers and
their products, install keys, activate online, proxy-activate (collect installation IDs,
acquire confirmation IDs in one service call per batch, deposit them), reactivate
locally after a reimage, convert between MAK and KMS, and keep the remaining MAK count.

Every verb works product by product: one product's failure becomes a failed
:class:`Outcome` carrying its :class:`~mak.codes.ActivationCode`, and the batch goes on.
Every confirmation ID received is written to the inventory (its CIL) before any is
deposited, and the CIL is asked before the clearinghouse, so a batch run again, or
resumed after a crash, never spends an activation twice for one installation ID.

>>> from datetime import timedelta
>>> report = BatchReport(
...     action="refresh",
...     outcomes=(Outcome("p-1", True, None, "refreshed"), Outcome("p-2", False, lookup(0x800706BA), "offline")),
...     elapsed=timedelta(seconds=1),
... )
>>> report.succeeded, report.failed, report.counts
(1, 1, {'ok': 1, '0x800706BA': 1})
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeAlias, TypeVar, cast

import attrs

from mak import _display
from mak._validate import replace, replacing, trusted
from mak.catalog import Catalog
from mak.codes import (
    CID_IID_MISMATCH,
    MISMATCHED_SKU,
    NO_PRODUCT_KEY,
    OUT_OF_TOLERANCE,
    ActivationCode,
    lookup,
)
from mak.errors import (
    ConcurrencyConflict,
    InvalidComponent,
    MakError,
    NotFound,
    ServiceRejected,
    TransportError,
    redact,
)
from mak.ids import ConfirmationId
from mak.keys import ProductKey
from mak.lifecycle import ActivationMethod, KeyChannel, LicenseState, LicenseStatus
from mak.limits import RemainingCount
from mak.model import ActionRecord, CilEntry, KeyRecord, LastAction, Product
from mak.planning import StepKind, conversion
from mak.ports import CidRequest
from mak.proxystage import (
    CidAcquired,
    CidDeposited,
    HardwareReplaced,
    IidCollected,
    ProxyEvent,
    ProxyProgress,
    ProxyStage,
    Reimaged,
    Retried,
    StageFailed,
    StageKeyInstalled,
    advance_stage,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from mak.exchange import ExchangeDocument, ImportReport, MergePolicy, Profile
    from mak.ids import InstallationId
    from mak.kms import KmsEndpoint
    from mak.model import Computer, Query
    from mak.ports import (
        ActivationService,
        CidResult,
        Clock,
        ComputerEndpoint,
        Discovery,
        EndpointConnector,
        Inventory,
        ProductInfo,
    )

__all__ = [
    "RPC_SERVER_UNAVAILABLE",
    "BatchReport",
    "Outcome",
    "ProductRef",
    "Progress",
    "RetryPolicy",
    "VolumeActivationManager",
    "wait_real_time",
]

_LOG: Final = logging.getLogger(__name__)
"""Outcomes at DEBUG (success) and WARNING (failure), batch counts at INFO, retries at
WARNING; ``extra`` carries ``action``, ``product_id``, ``computer_id``, ``activation_id``
and ``code``. Messages quote keys only masked, as every mak message does."""

RPC_SERVER_UNAVAILABLE: Final[int] = 0x800706BA
"""The code of a transport failure that carries none of its own."""

_GENERAL_SERVICE_ERROR: Final[int] = 0xC004B100
_ID_LIMIT: Final = 255

ProductRef: TypeAlias = "Product | str"
"""A product, or its id: use cases always re-read the inventory's current version."""

Progress: TypeAlias = "Callable[[int, int], None]"
"""A callback told ``(done, total)`` as a batch moves on; the last call has done == total."""


# --- results ------------------------------------------------------------------------------


@attrs.frozen
class Outcome:
    """Return how one product fared in a batch: ``ok``, or the ``code`` and ``detail`` of why not.

    ``product_id`` is ``None`` only for outcomes that concern no product: a computer
    discovery could not reach, or a key of :meth:`VolumeActivationManager.add_product_key`.
    ``code`` may be ``None`` on a failure that is not a licensing refusal (a product
    missing from the inventory, a step done out of order); ``detail`` then says why.

    >>> Outcome("p-1", False, lookup(0xC004C020), "limit reached").code.symbol
    'SL_E_CHPA_DMAK_LIMIT_EXCEEDED'
    """

    product_id: str | None
    ok: bool
    code: ActivationCode | None
    detail: str


_Done: TypeAlias = "tuple[str | None, bool, ActivationCode | None, str]"
"""An :class:`Outcome`'s fields, in its order: what a batch keeps until it reports."""


def _outcomes(value: Iterable[Outcome]) -> tuple[Outcome, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class BatchReport:
    """Return what a verb did: one :class:`Outcome` per product, in order, and how long it took.

    ``service_calls`` counts the calls made to the clearinghouse. Iterating yields the
    outcomes; ``counts`` groups them by ``"ok"`` or the failure code's hex (``"failed"``
    for a failure without a code).

    >>> report = BatchReport(action="reactivate", outcomes=[Outcome("p-1", True, None, "")])
    >>> [outcome.ok for outcome in report], report.service_calls
    ([True], 0)
    """

    action: str
    outcomes: tuple[Outcome, ...] = attrs.field(converter=_outcomes)
    elapsed: dt.timedelta = dt.timedelta(0)
    service_calls: int = 0

    @property
    def succeeded(self) -> int:
        """How many outcomes are successes."""
        return sum(outcome.ok for outcome in self.outcomes)

    @property
    def failed(self) -> int:
        """How many outcomes are failures."""
        return len(self.outcomes) - self.succeeded

    @property
    def failures(self) -> tuple[Outcome, ...]:
        """The failed outcomes, in order."""
        return tuple(outcome for outcome in self.outcomes if not outcome.ok)

    @property
    def counts(self) -> dict[str, int]:
        """The number of outcomes per ``"ok"`` / failure code hex / ``"failed"``."""
        return dict(Counter(_count_key(outcome) for outcome in self.outcomes))

    def outcome(self, product_id: str) -> Outcome:
        """Return the outcome of *product_id*; :class:`~mak.errors.NotFound` if it had none."""
        for outcome in self.outcomes:
            if outcome.product_id == product_id:
                return outcome
        raise NotFound("outcome", product_id)

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self.outcomes)

    def __len__(self) -> int:
        return len(self.outcomes)

    def _repr_markdown_(self) -> str:
        """Return the counts and failures as Markdown: what a notebook shows instead of the repr."""
        return _display.batch_report(self)


def _count_key(outcome: Outcome) -> str:
    if outcome.ok:
        return "ok"
    return "failed" if outcome.code is None else outcome.code.hex


def _attempts(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidComponent("retry policy", repr(value), "attempts must be an int of 1 or more")


def _backoff(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.timedelta) or value < dt.timedelta(0):
        raise InvalidComponent("retry policy", repr(value), "backoff must be a timedelta >= 0")


@attrs.frozen
class RetryPolicy:
    """Return how often a failed connection to the clearinghouse is tried, and how long to wait.

    ``attempts`` counts the first try. The wait before try *n + 1* is ``backoff * 2**(n - 1)``
    (2 s, 4 s, 8 s ... by default); the manager waits through its injected ``sleep``.

    >>> RetryPolicy().delay(1), RetryPolicy().delay(3)
    (datetime.timedelta(seconds=2), datetime.timedelta(seconds=8))
    >>> RetryPolicy(attempts=0)
    Traceback (most recent call last):
    mak.errors.InvalidComponent: Invalid retry policy: '0' (attempts must be an int of 1 or more)
    """

    attempts: int = attrs.field(default=3, validator=_attempts)
    backoff: dt.timedelta = attrs.field(default=dt.timedelta(seconds=2), validator=_backoff)

    def delay(self, failed_attempt: int) -> dt.timedelta:
        """Return the wait after the *failed_attempt*-th try failed (1-based)."""
        return self.backoff * (1 << (failed_attempt - 1))


def wait_real_time(delay: dt.timedelta) -> None:
    """Sleep for *delay* in real time: the manager's default way to wait between retries."""
    time.sleep(delay.total_seconds())


# --- internals ----------------------------------------------------------------------------

_T = TypeVar("_T")

_PROXY_ACTIONS: Final = frozenset(
    {
        "install_product_key",
        "collect_installation_ids",
        "acquire_confirmation_ids",
        "apply_confirmation_ids",
        "reactivate",
    }
)
"""The verbs whose failures are kept in the product's proxy stage."""

_STAGE_ORDER: Final = {
    ProxyStage.DISCOVERED: 0,
    ProxyStage.KEY_INSTALLED: 1,
    ProxyStage.IID_COLLECTED: 2,
    ProxyStage.EXPORTED: 3,
    ProxyStage.CID_ACQUIRED: 4,
    ProxyStage.CID_DEPOSITED: 5,
}
_STAGE_STEP: Final[dict[ProxyStage, ProxyEvent]] = {
    ProxyStage.DISCOVERED: StageKeyInstalled(),
    ProxyStage.KEY_INSTALLED: IidCollected(),
    ProxyStage.IID_COLLECTED: CidAcquired(),
    ProxyStage.EXPORTED: CidAcquired(),
    ProxyStage.CID_ACQUIRED: CidDeposited(),
}


def _reached(progress: ProxyProgress, target: ProxyStage) -> ProxyProgress:
    """The progress of a product seen at *target*: a failure resumed, the steps between taken.

    A product already past *target* stays where it is (collecting again a product whose
    CID is deposited does not undo the deposit).
    """
    if progress.stage is ProxyStage.FAILED:
        progress = advance_stage(progress, Retried())
    if _STAGE_ORDER[progress.stage] >= _STAGE_ORDER[target]:
        return progress
    # Outside FAILED a progress is its stage alone, so each walk is taken once, through
    # the machine's table, and remembered: every product takes the same few.
    walk = (progress.stage, target)
    known = _WALKS.get(walk)
    if known is None:
        known = progress
        while _STAGE_ORDER[known.stage] < _STAGE_ORDER[target]:
            known = advance_stage(known, _STAGE_STEP[known.stage])
        _WALKS[walk] = known
    return known


_WALKS: Final[dict[tuple[ProxyStage, ProxyStage], ProxyProgress]] = {}
"""Where :func:`_reached` took a product of each stage (not FAILED) bound for each target."""


def _failed(progress: ProxyProgress, code: int) -> ProxyProgress:
    """The progress of a product whose step failed with *code*; a deposited one stays deposited."""
    if progress.stage is ProxyStage.CID_DEPOSITED:
        return progress
    if progress.stage is ProxyStage.FAILED:
        progress = advance_stage(progress, Retried())
    return advance_stage(progress, StageFailed(code))


# The records each product's step makes, of values checked already: a product's ids and
# partial key, an installation ID it keeps, a verb's name, a looked-up code, a service's
# CID once _keep has seen it is one. Only what comes from outside is checked again: the
# clock's time, and a detail (redacted). attrs' __init__ checking every field was a
# tenth of a proxy activation. A history line's time is always its last action's, which
# _LAST_ACTION checked.
_LAST_ACTION: Final = trusted(LastAction, check=("at",))
_HISTORY_LINE: Final = trusted(ActionRecord, check=("detail",))
_CIL_ENTRY: Final = trusted(CilEntry, check=("acquired_at",))
# The copies of a product each step makes: what the computer showed, or the CID kept.
_READING: Final = replacing(
    Product,
    "license_state",
    "installation_id",
    "extended_pid",
    "confirmation_id",
    "proxy",
    "last_action",
)
_CID_KEPT: Final = replacing(Product, "confirmation_id", "proxy", "last_action")

_CHUNK: Final = 500
"""How many products' inventory writes one transaction groups (one commit each)."""


class _Staged:
    """The writes of one product's step, kept to be stored at once with its outcome.

    ``current`` is the product with every change applied; ``changes`` are applied
    again, in order, to a re-read product when the stored one moved on meanwhile.
    ``last`` is the step's success as of its latest reading, which that reading set as
    the product's last action (``None`` before any reading): a step that succeeds is
    noted with it, and its product written without one more copy.
    """

    __slots__ = ("action", "changes", "current", "last", "product_id")

    def __init__(self, product_id: str, current: Product, action: str) -> None:
        self.product_id = product_id
        self.current = current
        self.action = action
        self.changes: list[Callable[[Product], Product]] = []
        self.last: LastAction | None = None


_STAGED: contextvars.ContextVar[_Staged | None] = contextvars.ContextVar(
    "mak_manager_staged", default=None
)


class _StepNotStored(Exception):
    """The staged writes of a step could not be stored: *error* is why."""

    def __init__(self, error: MakError) -> None:
        super().__init__(str(error))
        self.error = error


def _as_it_is(product: Product) -> Product:
    """No change: *product* written as it is."""
    return product


def _replay(changes: Sequence[Callable[[Product], Product]]) -> Callable[[Product], Product]:
    """One change doing *changes* in order."""

    def replay(product: Product) -> Product:
        for change in changes:
            product = change(product)
        return product

    return replay


class _Kept(NamedTuple):
    """What storing one service answer left: the product as stored, and how it went.

    ``code`` is the failure code (``None`` for a CID kept, or for one the inventory
    could not store); ``unstored`` says the store failed; ``noted`` that the product's
    last action and history line were written with the CID.
    """

    product: Product
    code: int | None
    detail: str
    unstored: bool = False
    noted: bool = False


class _Refused(Exception):
    """One product cannot go on: a code (when there is one) and a reason for people."""

    def __init__(self, code: int | None, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _hex(error: Exception) -> str | None:
    """The error's code as Windows prints it, if it has one."""
    code = _code_of(error)
    return None if code is None else code.hex


def _code_of(error: Exception) -> ActivationCode | None:
    code: object = getattr(error, "code", None)
    if isinstance(code, int) and not isinstance(code, bool):
        return lookup(code)
    if isinstance(error, TransportError):
        return lookup(RPC_SERVER_UNAVAILABLE)
    return None


def _product_id(computer_id: str, activation_id: str) -> str:
    """The product id discovery gives: the computer's id and the SKU's activation ID."""
    product_id = f"{computer_id}:{activation_id}"
    if len(product_id) <= _ID_LIMIT:
        return product_id
    # A computer id too long to prefix: keep the id stable with a digest of it instead.
    digest = hashlib.sha256(computer_id.encode()).hexdigest()[:32]
    return f"{digest}:{activation_id}"


def _id_of(product: ProductRef) -> str:
    return product if isinstance(product, str) else product.id


def _in_bulk(inventory: Inventory, method: str, keys: Sequence[object]) -> list[object] | None:
    """The records *method* of :class:`~mak.ports.BulkReads` reads for *keys*.

    ``None`` when the inventory lacks the method or its read fails, however it fails:
    each record is then read on its own, and a failure that was not the bulk read's
    alone fails those reads, product by product. No keys, no read.
    """
    read = getattr(inventory, method, None)
    if not keys:
        return []
    if not callable(read):
        return None
    try:
        return list(cast("Iterable[object]", read(keys)))
    except Exception:  # noqa: BLE001  # an optional shortcut: the fallback reports failures
        return None


def _known_ids(ids: Callable[[int], object], indexes: Iterable[int]) -> list[str]:
    """The product ids of *indexes* that are strings; the rest fail when read on their own."""
    found: list[str] = []
    for index in indexes:
        try:
            product_id = ids(index)
        except AttributeError:  # untyped callers may give anything
            continue
        if isinstance(product_id, str):
            found.append(product_id)
    return found


def _extended_pid(infos: Sequence[ProductInfo], activation_id: str) -> str | None:
    for info in infos:
        if info.activation_id == activation_id:
            return info.extended_pid
    return None


class _Step(NamedTuple):
    """What one step of a verb did: its outcomes' fields in order, its time, its service calls."""

    outcomes: list[_Done]
    elapsed: dt.timedelta
    service_calls: int

    @classmethod
    def of(cls, report: BatchReport) -> _Step:
        """The step *report* tells of."""
        outcomes = [(o.product_id, o.ok, o.code, o.detail) for o in report.outcomes]
        return cls(outcomes, report.elapsed, report.service_calls)

    def succeeded(self) -> list[str]:
        """The ids of the products that succeeded, in order."""
        return [
            product_id for product_id, ok, _, _ in self.outcomes if ok and product_id is not None
        ]

    def report(self, action: str) -> BatchReport:
        """The report of this step, as the verb *action*'s."""
        return BatchReport(
            action=action,
            outcomes=[Outcome(*outcome) for outcome in self.outcomes],
            elapsed=self.elapsed,
            service_calls=self.service_calls,
        )


def _merge(action: str, steps: Sequence[_Step]) -> BatchReport:
    """One report of several steps: each product's first failure, else its last success."""
    final: dict[str | None, _Done] = {}
    for step in steps:
        for outcome in step.outcomes:
            earlier = final.get(outcome[0])
            if earlier is None or earlier[1]:
                final[outcome[0]] = outcome
    return _Step(
        list(final.values()),
        sum((step.elapsed for step in steps), dt.timedelta(0)),
        sum(step.service_calls for step in steps),
    ).report(action)


class _Batch:
    """What one verb's run shares: its outcomes, progress, open connections, service calls."""

    def __init__(  # noqa: PLR0913  # a batch, and what it reads ahead
        self,
        manager: VolumeActivationManager,
        action: str,
        total: int,
        progress: Progress | None,
        *,
        kept_ahead: bool = False,
        computers_ahead: bool = True,
    ) -> None:
        self.manager = manager
        self.action = action
        self.total = total
        self.progress = progress
        # Each product's outcome as its four fields: a tuple of strings and None is one
        # the garbage collector stops tracking, and proxy activation keeps three steps'
        # outcomes of every product until it merges them.
        self.outcomes: dict[int, _Done] = {}
        self.service_calls = 0
        self.keys_kept: set[ProductKey] = set()  # in the inventory's keys: not looked up again
        self._endpoints: dict[str, ComputerEndpoint | TransportError] = {}
        self._products_ahead: dict[str, Product] = {}
        self._computers_ahead: dict[str, Computer] = {}
        self._kept_ahead: dict[InstallationId, CilEntry | None] | None = {} if kept_ahead else None
        self._reads_computers = computers_ahead
        self._started = time.perf_counter()

    def endpoint(self, computer_id: str) -> ComputerEndpoint:
        """Return a connection to the computer, opened once per batch."""
        known = self._endpoints.get(computer_id)
        if known is None:
            computer = self._computers_ahead.pop(computer_id, None)
            if computer is None:
                computer = self.manager.inventory.computer(computer_id)
            try:
                known = self.manager.connector.connect(computer)
            except TransportError as error:  # one timeout per computer, not one per product
                known = error
            self._endpoints[computer_id] = known
        if isinstance(known, TransportError):
            raise known
        return known

    def read_ahead(self, product_ids: Sequence[str]) -> None:
        """Read a chunk's products, and as asked their computers and CIL entries, at once.

        Only where the inventory has the methods of :class:`~mak.ports.BulkReads`: then
        :meth:`product`, :meth:`endpoint` and :meth:`kept` answer from what was read,
        once each. Should a read fail, each record is read on its own instead, and fails
        on its own. A CIL entry another console keeps after this read is not seen: its
        IID is asked for again, which the service answers with the same CID, unpaid.
        """
        inventory = self.manager.inventory
        products = cast("list[Product]", _in_bulk(inventory, "products_by_id", product_ids) or [])
        self._products_ahead = {product.id: product for product in products}
        computer_ids = [
            p.computer_id
            for p in products
            if self._reads_computers and p.computer_id not in self._endpoints
        ]
        computers = cast(
            "list[Computer]", _in_bulk(inventory, "computers_by_id", computer_ids) or []
        )
        self._computers_ahead = {computer.id: computer for computer in computers}
        if self._kept_ahead is not None:
            iids = [p.installation_id for p in products if p.installation_id is not None]
            entries = cast(
                "list[CilEntry] | None", _in_bulk(inventory, "find_confirmations", iids)
            )
            # Found or not, each IID asked for is known; unasked, each is looked up on its own.
            self._kept_ahead = {} if entries is None else dict.fromkeys(iids)
            self._kept_ahead.update((entry.installation_id, entry) for entry in entries or ())

    def product(self, product_id: str) -> Product:
        """Return the product read ahead for *product_id* (once), or read it now."""
        known = self._products_ahead.pop(product_id, None)
        return self.manager.inventory.product(product_id) if known is None else known

    def kept(self, iid: InstallationId) -> CilEntry | None:
        """Return the CIL entry of *iid* read ahead (once), or look it up now."""
        if self._kept_ahead is not None and iid in self._kept_ahead:
            return self._kept_ahead.pop(iid)
        return self.manager.inventory.find_confirmation(iid)

    def done(self, index: int, outcome: _Done, product: Product | None = None) -> None:
        """Keep the outcome of the *index*-th product, log it, and tell the progress callback."""
        self.outcomes[index] = outcome
        _log_outcome(self.action, outcome, product)
        if self.progress is not None:
            self.progress(len(self.outcomes), self.total)

    def finish(self, outcomes: Sequence[_Done] | None = None) -> _Step:
        """Return what the batch did, and log its counts.

        Its outcomes are *outcomes*, or those kept, in the order the products were given.
        """
        done = [self.outcomes[i] for i in sorted(self.outcomes)] if outcomes is None else outcomes
        step = _Step(
            list(done),
            dt.timedelta(seconds=time.perf_counter() - self._started),
            self.service_calls,
        )
        succeeded = sum(1 for _, ok, _, _ in done if ok)
        _LOG.info(
            "%s: %d succeeded, %d failed, %d service calls, %.2f s",
            self.action,
            succeeded,
            len(done) - succeeded,
            step.service_calls,
            step.elapsed.total_seconds(),
            extra={
                "action": self.action,
                "succeeded": succeeded,
                "failed": len(done) - succeeded,
                "service_calls": step.service_calls,
            },
        )
        return step

    def report(self, outcomes: Sequence[_Done] | None = None) -> BatchReport:
        """Return the report of :meth:`finish`."""
        return self.finish(outcomes).report(self.action)


def _log_outcome(action: str, outcome: _Done, product: Product | None) -> None:
    """Log one product's outcome: a failure at WARNING, a success at DEBUG."""
    product_id, ok, activation_code, detail = outcome
    level = logging.DEBUG if ok else logging.WARNING
    if not _LOG.isEnabledFor(level):
        return  # the common case, decided before any string is built
    code = None if activation_code is None else activation_code.hex
    _LOG.log(
        level,
        "%s %s%s: %s",
        action,
        "succeeded" if ok else f"failed ({code or 'no code'})",
        "" if product_id is None else f" for product {product_id}",
        redact(detail),
        extra={
            "action": action,
            "product_id": product_id,
            "computer_id": None if product is None else product.computer_id,
            "activation_id": None if product is None else product.activation_id,
            "code": code,
            "ok": ok,
        },
    )


Work: TypeAlias = "Callable[[Product, _Batch], str]"


# --- the use cases --------------------------------------------------------------------------


class VolumeActivationManager:
    """Return VAMT's verbs over your ports; each verb returns a :class:`BatchReport`.

    *inventory*, *service*, *connector* and *clock* are required; *discovery* only for
    :meth:`discover`, *catalog* (default :meth:`Catalog.default
    <mak.catalog.Catalog.default>`) for conversions. Transport failures of the
    clearinghouse are retried under *retry*, waiting through *sleep* (real time by
    default; tests pass one that records, or advances a fake clock).

    Products are given as :class:`~mak.model.Product` s or their ids; the manager always
    re-reads the inventory's current version, so a list read long ago stays usable.
    Each product acted on gets an :class:`~mak.model.ActionRecord` in the history and
    its ``last_action`` set; the proxy verbs move its ``proxy`` stage on.

    >>> from datetime import datetime, timezone
    >>> from mak.adapters import InMemoryInventory
    >>> class Clock:
    ...     def now(self):
    ...         return datetime(2026, 1, 5, tzinfo=timezone.utc)
    >>> manager = VolumeActivationManager(InMemoryInventory(), service=None, connector=None, clock=Clock())
    >>> report = manager.add_product_key("BCDFG-HJKMP-QRTVW-XY234-6789B")
    >>> report.succeeded, [str(record.key) for record in manager.inventory.keys()]
    (1, ['XXXXX-XXXXX-XXXXX-XXXXX-6789B'])
    """

    def __init__(  # noqa: PLR0913  # DESIGN.md's ports, plus the retry policy and its wait
        self,
        inventory: Inventory,
        service: ActivationService,
        connector: EndpointConnector,
        clock: Clock,
        *,
        discovery: Discovery | None = None,
        catalog: Catalog | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[dt.timedelta], None] = wait_real_time,
    ) -> None:
        self.inventory = inventory
        self.service = service
        self.connector = connector
        self.clock = clock
        self.discovery = discovery
        self.catalog = catalog
        self.retry = retry if retry is not None else RetryPolicy()
        self.sleep = sleep
        self._last_noted: LastAction | None = None  # see _last_action

    # --- discovery and state -------------------------------------------------------------

    def discover(self, query: Query, *, progress: Progress | None = None) -> BatchReport:
        """Return one outcome per managed product found, after storing computers and products.

        Computers found are matched with those stored by name, ignoring case (as VAMT
        does), so running it again, as admins schedule it, never adds a computer twice.
        Each computer's products of a known family are stored (id: the computer's id and
        the activation ID) or, when stored already, their state updated. An unreachable
        computer gives an outcome with ``product_id=None``; a failure of discovery itself
        raises :class:`~mak.errors.TransportError`. Progress counts computers.
        """
        if self.discovery is None:
            reason = "the manager was built without one; pass discovery="
            raise InvalidComponent("discovery port", "None", reason)
        found = list(self.discovery.find(query))
        batch = _Batch(self, "discover", len(found), progress)
        outcomes: list[_Done] = []
        for index, computer in enumerate(found):
            for outcome in self._discover_one(computer, batch):
                _log_outcome("discover", outcome, None)
                outcomes.append(outcome)
            if progress is not None:
                progress(index + 1, len(found))
        return batch.report(outcomes)

    def _discover_one(self, found: Computer, batch: _Batch) -> list[_Done]:
        try:
            stored = self._store_computer(found)
            infos = batch.endpoint(stored.id).products()
        except MakError as error:
            return [(None, False, _code_of(error), f"{found.name}: {error}")]
        outcomes: list[_Done] = []
        for info in infos:
            if info.family is None:
                continue  # another publisher's product: not managed
            product_id = _product_id(stored.id, info.activation_id)
            try:
                detail = self._store_product(stored, product_id, info)
                self._note(self.inventory.product(product_id), "discover", None, detail)
            except MakError as error:
                outcomes.append((product_id, False, _code_of(error), str(error)))
                continue
            outcomes.append((product_id, True, None, detail))
        return outcomes

    def _store_computer(self, found: Computer) -> Computer:
        matches = self.inventory.computers(name=found.name)
        if not matches:
            try:
                matches = [self.inventory.computer(found.id)]  # renamed since last seen
            except NotFound:
                return self.inventory.add_computer(found)
        stored = matches[0]
        updated = attrs.evolve(
            stored,
            name=found.name,
            address=found.address or stored.address,
            domain=found.domain,
            workgroup=found.workgroup,
            os_edition=found.os_edition or stored.os_edition,
        )
        return stored if updated == stored else self.inventory.update_computer(updated)

    def _store_product(self, computer: Computer, product_id: str, info: ProductInfo) -> str:
        family = info.family
        assert family is not None  # noqa: S101  # the caller skips unmanaged products
        try:
            current = self.inventory.product(product_id)
        except NotFound:
            product = Product(
                id=product_id,
                computer_id=computer.id,
                activation_id=info.activation_id,
                name=info.name,
                family=family,
                license_state=info.license_state,
                extended_pid=info.extended_pid,
            )
            self.inventory.add_product(product)
            return f"added {info.name} on {computer.name}"
        changed = self._reading(current, info.license_state, None, extended_pid=info.extended_pid)
        if attrs.evolve(changed, name=info.name) == current:
            return f"unchanged {info.name} on {computer.name}"
        self._save_reading(current, info.license_state, None, extended_pid=info.extended_pid)
        return f"updated {info.name} on {computer.name}"

    def refresh(
        self, products: Iterable[ProductRef], *, progress: Progress | None = None
    ) -> BatchReport:
        """Return one outcome per product, after re-reading its license state and IID.

        The installation ID is read when a key is installed. A licensed product found
        unlicensed (reimaged) goes back to the start of proxy activation, keeping its
        confirmation ID for :meth:`reactivate`.
        """
        return self._each("refresh", products, self._refresh_one, progress)

    def _refresh_one(self, product: Product, batch: _Batch) -> str:
        endpoint = batch.endpoint(product.computer_id)
        state = endpoint.license_state(product.activation_id)
        iid = endpoint.installation_id(product.activation_id) if state.has_key else None
        self._save_reading(product, state, iid)
        return f"refreshed: {state.status}"

    # --- keys ----------------------------------------------------------------------------

    def add_product_key(
        self,
        key: ProductKey | str,
        channel: KeyChannel = KeyChannel.MAK,
        *,
        edition: str | None = None,
        progress: Progress | None = None,
    ) -> BatchReport:
        """Return a one-outcome report: the key is stored, or was already (and is left as is).

        Text is parsed with :meth:`ProductKey.parse <mak.keys.ProductKey.parse>` (a bad
        key raises its :class:`~mak.errors.ValidationError`); the key stays masked in
        every detail.
        """
        product_key = key if isinstance(key, ProductKey) else ProductKey.parse(key)
        batch = _Batch(self, "add_product_key", 1, progress)
        try:
            self.inventory.key(product_key)
            detail = f"{product_key} already stored"
        except NotFound:
            self.inventory.add_key(KeyRecord(key=product_key, channel=channel, edition=edition))
            detail = f"{product_key} stored"
        batch.done(0, (None, True, None, detail))
        return batch.report()

    def refresh_remaining(
        self, keys: Iterable[ProductKey] | None = None, *, progress: Progress | None = None
    ) -> BatchReport:
        """Return one outcome per MAK, after asking the clearinghouse how many activations it has left.

        *keys* default to every stored MAK. Each count is stored on the key's record as
        a :class:`~mak.limits.RemainingCount` at the clock's time; a key the service
        refuses to count fails with its code. Transport failures are retried.
        """
        if keys is None:
            records = self.inventory.keys()
            wanted = [r.key for r in records if r.channel is KeyChannel.MAK]
        else:
            wanted = list(keys)
        batch = _Batch(self, "refresh_remaining", len(wanted), progress)
        for index, key in enumerate(wanted):
            outcome: _Done
            try:
                value = self._remaining(batch, key)
                outcome = (None, True, None, f"{key}: {value} left")
            except MakError as error:
                outcome = (None, False, _code_of(error), f"{key}: {error}")
            batch.done(index, outcome)
        return batch.report()

    def _remaining(self, batch: _Batch, key: ProductKey) -> int:
        value = self._call_service(batch, lambda: self.service.remaining_activations(key))
        count = RemainingCount(value, self.clock.now())
        try:
            self.inventory.update_key(attrs.evolve(self.inventory.key(key), remaining=count))
        except ConcurrencyConflict:
            self.inventory.update_key(attrs.evolve(self.inventory.key(key), remaining=count))
        return value

    def install_product_key(
        self,
        products: Iterable[ProductRef],
        key: ProductKey,
        *,
        progress: Progress | None = None,
    ) -> BatchReport:
        """Return one outcome per product after installing *key* on it (``slmgr /ipk``).

        A product the key cannot fit fails with the computer's code (e.g. 0xC004F050,
        0xC004F069), or 0xC004F069 when the key went to another product of the computer;
        the batch goes on, as VAMT's does. A key installed is added to the inventory's
        keys if missing, so that :meth:`reactivate` can reinstall it later.
        """

        def work(product: Product, batch: _Batch) -> str:
            state = self._install(product, key, batch)
            self._save_reading(product, state, None, stage=ProxyStage.KEY_INSTALLED)
            return f"installed {key}"

        return self._each("install_product_key", products, work, progress)

    def _install(self, product: Product, key: ProductKey, batch: _Batch) -> LicenseState:
        endpoint = batch.endpoint(product.computer_id)
        installed_on = endpoint.install_product_key(key)
        if installed_on != product.activation_id:
            raise _Refused(MISMATCHED_SKU, f"{key} fits another product of this computer")
        state = endpoint.license_state(product.activation_id)
        if state.channel is not None and key not in batch.keys_kept:
            try:
                self.inventory.key(key)
            except NotFound:
                self.inventory.add_key(KeyRecord(key=key, channel=state.channel))
            batch.keys_kept.add(key)
        return state

    # --- activation ----------------------------------------------------------------------

    def activate_online(
        self, products: Iterable[ProductRef], *, progress: Progress | None = None
    ) -> BatchReport:
        """Return one outcome per product after activating it online (MAK independent, or KMS).

        Each computer reaches Microsoft or its KMS host itself; no confirmation ID is
        kept, so such products cannot be reactivated locally (as in VAMT).
        """

        def work(product: Product, batch: _Batch) -> str:
            endpoint = batch.endpoint(product.computer_id)
            endpoint.activate(product.activation_id)
            state = endpoint.license_state(product.activation_id)
            self._save_reading(product, state, None)
            return f"activated: {state.status}"

        return self._each("activate_online", products, work, progress)

    def collect_installation_ids(
        self,
        products: Iterable[ProductRef],
        key: ProductKey,
        *,
        progress: Progress | None = None,
    ) -> BatchReport:
        """Return one outcome per product after reading its installation ID and extended PID.

        *key* is installed first where it is not already (compared by its last five
        symbols), so collecting twice installs nothing twice. Both IDs are stored on the
        product, whose proxy stage becomes IID_COLLECTED. A new installation ID drops the
        product's confirmation ID (it fitted the old one); whether the CIL keeps one for
        the new ID is :meth:`acquire_confirmation_ids`'s question, which it answers for a
        chunk of products at once before asking the service.
        """
        return self._collect(products, key, progress).report()

    def _collect(
        self, products: Iterable[ProductRef], key: ProductKey, progress: Progress | None
    ) -> _Batch:
        def work(product: Product, batch: _Batch) -> str:
            endpoint = batch.endpoint(product.computer_id)
            state = endpoint.license_state(product.activation_id)
            installed = state.partial_key != key.partial
            if installed:
                state = self._install(product, key, batch)
            iid = endpoint.installation_id(product.activation_id)
            pid = _extended_pid(endpoint.products(), product.activation_id)
            stage = ProxyStage.IID_COLLECTED
            self._save_reading(
                product, state, iid, extended_pid=pid, stage=stage, cid_from_cil=False
            )
            return f"{'key installed, ' if installed else ''}installation ID collected"

        return self._run("collect_installation_ids", products, work, progress)

    def acquire_confirmation_ids(
        self,
        products: Iterable[ProductRef],
        *,
        batch_size: int = 500,
        progress: Progress | None = None,
    ) -> BatchReport:
        """Return one outcome per product after getting its confirmation ID, from the CIL or Microsoft.

        Products already licensed need none. An installation ID the inventory's CIL
        knows reuses its confirmation ID: no service call, no activation spent. The rest
        go to the service in batches of *batch_size*, **one call per batch**, each asked
        once full while the next products are read; every confirmation ID received is
        written to the CIL and the product (one transaction per batch) before this
        returns, so before any deposit. Refusals fail their product with the service's
        code; a transport failure is retried under the manager's :class:`RetryPolicy`,
        then fails that batch's products with its code (0x800706BA when it has none).
        """
        return self._acquire(products, batch_size, progress).report()

    def _acquire(
        self, products: Iterable[ProductRef], batch_size: int, progress: Progress | None
    ) -> _Batch:
        given = cast("object", batch_size)  # untyped callers may pass anything
        if isinstance(given, bool) or not isinstance(given, int) or given < 1:
            raise InvalidComponent("batch size", repr(batch_size), "must be an int of 1 or more")
        refs = list(products)
        batch = _Batch(
            self,
            "acquire_confirmation_ids",
            len(refs),
            progress,
            kept_ahead=True,
            computers_ahead=False,  # the service is asked, not the computers
        )
        # The products waiting for the service, as three lists rather than a tuple each:
        # each waits for its batch to fill, and the collector walks what waits.
        waiting: list[int] = []
        asking: list[Product] = []
        requests: list[CidRequest] = []

        def one(index: int) -> None:
            ref = refs[index]
            product: Product | None = None
            try:
                product = batch.product(_id_of(ref))
                request, detail = self._cid_request(product, batch)
            except (_Refused, MakError) as failure:
                self._fail(batch, index, _id_of(ref), product, failure)
                return
            if request is None:
                self._finish(batch, index, product.id, product, code=None, detail=detail, ok=True)
            else:
                waiting.append(index)
                asking.append(product)
                requests.append(request)

        def ask(*, rest: bool) -> None:
            # Each batch is sent once full (and the last with the rest): the batches of
            # slicing the whole list, sent while the next products are read, so that
            # what waits is one batch at most, not every product of a large call.
            while len(requests) >= batch_size or (rest and requests):
                self._acquire_chunk(
                    batch, waiting[:batch_size], asking[:batch_size], requests[:batch_size]
                )
                del waiting[:batch_size], asking[:batch_size], requests[:batch_size]

        self._in_transactions(
            batch,
            len(refs),
            one,
            ids=lambda index: _id_of(refs[index]),
            between=lambda: ask(rest=False),
        )
        ask(rest=True)
        return batch

    def _cid_request(self, product: Product, batch: _Batch) -> tuple[CidRequest | None, str]:
        """The request to send for *product*, or ``None`` and why it needs no service call."""
        if product.status is LicenseStatus.LICENSED:
            return None, "already licensed"
        iid = product.installation_id
        if product.partial_key is None:
            raise _Refused(NO_PRODUCT_KEY, "no product key installed; collect first")
        if iid is None or product.extended_pid is None:
            raise _Refused(None, "no installation ID collected; run collect_installation_ids")
        kept = batch.kept(iid)
        if kept is None:
            return CidRequest(installation_id=iid, extended_pid=product.extended_pid), ""
        cid = kept.confirmation_id
        self._save(
            product,
            lambda p: replace(
                p, confirmation_id=cid, proxy=_reached(p.proxy, ProxyStage.CID_ACQUIRED)
            ),
        )
        return None, "confirmation ID reused from the CIL; no activation spent"

    def _acquire_chunk(
        self,
        batch: _Batch,
        indexes: list[int],
        products: list[Product],
        requests: list[CidRequest],
    ) -> None:
        """Ask the service for one chunk's CIDs: *requests*, of *products*, at *indexes*."""
        failure: _Refused | MakError | None = None
        try:
            results = self._call_service(
                batch, lambda: self.service.acquire_confirmation_ids(requests)
            )
        except MakError as error:
            failure, results = error, []
        if failure is None and len(results) != len(requests):
            detail = f"the service gave {len(results)} results for {len(requests)} requests"
            failure = _Refused(_GENERAL_SERVICE_ERROR, detail)
        if failure is not None:
            for index, product in zip(indexes, products, strict=True):
                self._fail(batch, index, product.id, product, failure)
            return
        # One last action for the chunk: its products' CIDs came at once, so they share it.
        last = self._last_action("acquire_confirmation_ids", None)
        # Every CID goes to the inventory, one transaction per batch, before any deposit.
        try:
            with self.inventory.transaction():
                # Read again, in bulk where the inventory can: another console may have
                # written them since the requests were made.
                fresh = _in_bulk(self.inventory, "products_by_id", [p.id for p in products])
                again = {p.id: p for p in cast("list[Product]", fresh or [])}
                kept = [
                    self._keep(again.get(product.id, product), request, result, last)
                    for product, request, result in zip(products, requests, results, strict=True)
                ]
        except MakError:
            # The commit failed and undid the batch: keep each CID on its own instead, so
            # that one failure loses none of the confirmation IDs the service issued.
            kept = [
                self._keep(product, request, result, last)
                for product, request, result in zip(products, requests, results, strict=True)
            ]
        answers: list[tuple[int, _Kept]] = []
        for index, request, result, answer in zip(indexes, requests, results, kept, strict=True):
            if answer.unstored:  # its write failed inside the batch: one more try on its own
                answer = self._keep(answer.product, request, result, last)  # noqa: PLW2901  # the retry replaces it
            if answer.noted:  # stored with its note already: nothing left to write
                batch.done(index, (answer.product.id, True, None, answer.detail), answer.product)
            else:
                answers.append((index, answer))

        def one(position: int) -> None:
            index, (product, code, detail, unstored, _) = answers[position]
            staged = _Staged(product.id, product, batch.action)  # as stored: not re-read
            self._finish(
                batch,
                index,
                product.id,
                product,
                code=code,
                detail=detail,
                ok=code is None and not unstored,
                staged=staged,
            )

        self._in_transactions(batch, len(answers), one)

    def _keep(
        self, product: Product, request: CidRequest, result: CidResult, last: LastAction
    ) -> _Kept:
        """Store one result: a CID kept goes to the CIL and the product, with its note.

        *last* is the chunk's last action, one for all its products: its time is when
        the chunk's CIDs came. A CID that could not be stored is named in the detail: it
        is not secret, and it is the only copy left.
        """
        cid = result.confirmation_id
        if result.code is not None:
            return _Kept(product, result.code.value, result.code.message)
        if not isinstance(cid, ConfirmationId):  # the CIL takes a CID, and nothing else
            detail = "the service answered with no valid confirmation ID"
            return _Kept(product, _GENERAL_SERVICE_ERROR, detail)
        if result.installation_id != request.installation_id:
            detail = "the service answered for another installation ID"
            return _Kept(product, _GENERAL_SERVICE_ERROR, detail)
        assert product.partial_key is not None  # noqa: S101  # _cid_request required it
        entry = _CIL_ENTRY(
            computer_id=product.computer_id,
            activation_id=product.activation_id,
            installation_id=request.installation_id,
            confirmation_id=cid,
            partial_key=product.partial_key,
            acquired_at=last.at,
        )
        detail = "confirmation ID acquired"
        try:
            self._add_confirmation(entry)
            stored = self._save(
                product,
                lambda p: _CID_KEPT(
                    p,
                    confirmation_id=cid,
                    proxy=_reached(p.proxy, ProxyStage.CID_ACQUIRED),
                    last_action=last,
                ),
            )
        except MakError as error:
            code = _code_of(error)  # the inventory's failure, not the service's
            detail = f"confirmation ID {cid} for {request.installation_id} not stored: {error}"
            return _Kept(product, None if code is None else code.value, detail, unstored=True)
        note = _HISTORY_LINE(
            at=last.at,
            computer_id=product.computer_id,
            product_id=product.id,
            action=last.action,
            code=None,
            detail=detail,
        )
        try:
            self.inventory.record(note)
        except MakError as error:  # the CID is kept: the outcome matters more than history
            detail = f"{detail} (history not recorded: {error})"
        return _Kept(stored, None, detail, noted=True)

    def _add_confirmation(self, entry: CilEntry) -> None:
        """Keep *entry* in the CIL; one kept meanwhile that differs only in its time is as good.

        Two proxies may ask for the same IID at once (the service answers both with the
        same CID and charges once): the second to store it finds the first's entry.
        """
        try:
            self.inventory.add_confirmation(entry)
        except ConcurrencyConflict:
            kept = self.inventory.find_confirmation(entry.installation_id)
            if kept is None or replace(entry, acquired_at=kept.acquired_at) != kept:
                raise

    def apply_confirmation_ids(
        self, products: Iterable[ProductRef], *, progress: Progress | None = None
    ) -> BatchReport:
        """Return one outcome per product after depositing its kept confirmation ID.

        The confirmation ID deposited is the CIL's for the computer's *current*
        installation ID; a product whose IID changed since it was collected fails with
        0xC004F031 and needs collecting and acquiring again. A licensed product is left
        alone. The license state is read back after the deposit.
        """
        return self._run("apply_confirmation_ids", products, self._apply_one, progress).report()

    def _apply_one(self, product: Product, batch: _Batch) -> str:
        endpoint = batch.endpoint(product.computer_id)
        state = endpoint.license_state(product.activation_id)
        if state.status is LicenseStatus.LICENSED:
            self._save_reading(product, state, None)
            return "already licensed"
        if not state.has_key:
            raise _Refused(NO_PRODUCT_KEY, "no product key installed")
        iid = endpoint.installation_id(product.activation_id)
        entry = self.inventory.find_confirmation(iid)
        if entry is None:
            collected = product.installation_id
            self._save_reading(product, state, iid)
            if collected is not None and collected != iid:
                reason = "the installation ID changed since it was collected; collect again"
                raise _Refused(CID_IID_MISMATCH, reason)
            raise _Refused(None, "no confirmation ID kept for this installation ID yet")
        endpoint.deposit_confirmation_id(product.activation_id, iid, entry.confirmation_id)
        state = endpoint.license_state(product.activation_id)
        self._save_reading(product, state, iid, stage=ProxyStage.CID_DEPOSITED)
        return f"confirmation ID deposited: {state.status}"

    def proxy_activate(
        self,
        products: Iterable[ProductRef],
        key: ProductKey,
        *,
        batch_size: int = 500,
        progress: Progress | None = None,
    ) -> BatchReport:
        """Return one outcome per product after MAK proxy activation: collect, acquire, apply.

        Each product's outcome is its first failure, or its success once its
        confirmation ID is deposited; a product that failed a step is not tried in the
        next. Running it again (or after an interruption) spends nothing twice: keys
        installed are not reinstalled, kept confirmation IDs are reused. Progress counts
        the three steps, so ``total`` is three times the products.
        """
        refs = list(products)
        total = 3 * len(refs)

        def phase(offset: int) -> Progress | None:
            if progress is None:
                return None
            tell = progress
            return lambda done, _: tell(offset + done, total)

        # The steps' outcomes stay tuples: only the merged ones become Outcomes.
        collected = self._collect(refs, key, phase(0)).finish()
        acquired = self._acquire(collected.succeeded(), batch_size, phase(len(refs))).finish()
        applied = self._run(
            "apply_confirmation_ids", acquired.succeeded(), self._apply_one, phase(2 * len(refs))
        ).finish()
        if progress is not None and refs and len(applied.succeeded()) != len(refs):
            progress(total, total)  # products that failed early skipped the later steps
        return _merge("proxy_activate", [collected, acquired, applied])

    def reactivate(
        self, products: Iterable[ProductRef], *, progress: Progress | None = None
    ) -> BatchReport:
        """Return one outcome per product after local reactivation: zero service calls.

        For a product reimaged on the same hardware (VAMT's local reactivation), the key
        it was proxy-activated with is reinstalled (found among the inventory's keys by
        the partial key its CIL entry kept), the installation ID read, and the
        confirmation ID the CIL kept for it deposited: no activation spent. A licensed
        product is left alone. When the installation ID is not one the CIL knows (new
        hardware), the product fails with 0xC004F00F and goes back to the start of
        proxy activation: it needs a new activation, which this never makes itself.
        """
        keys: dict[str, ProductKey] = {}

        def work(product: Product, batch: _Batch) -> str:
            if not keys:
                records = self.inventory.keys()
                keys.update((record.key.partial, record.key) for record in records)
            return self._reactivate_one(product, batch, keys)

        return self._each("reactivate", products, work, progress)

    def _reactivate_one(self, product: Product, batch: _Batch, keys: dict[str, ProductKey]) -> str:
        endpoint = batch.endpoint(product.computer_id)
        state = endpoint.license_state(product.activation_id)
        if state.status is LicenseStatus.LICENSED:
            self._save_reading(product, state, None)
            return "already licensed"
        entries = [
            entry
            for entry in self.inventory.confirmations(computer_id=product.computer_id)
            if entry.activation_id == product.activation_id
        ]
        if not entries:
            raise _Refused(None, "no confirmation ID kept for this product; proxy-activate it")
        recorded = entries[-1].partial_key
        if state.partial_key != recorded:
            key = keys.get(recorded)
            if key is None:
                reason = f"the key ending {recorded} is not in the inventory; add_product_key it"
                raise _Refused(NO_PRODUCT_KEY, reason)
            state = self._install(product, key, batch)
        iid = endpoint.installation_id(product.activation_id)
        entry = self.inventory.find_confirmation(iid)
        if entry is None:
            self._save_reading(product, state, iid, restart=HardwareReplaced())
            reason = (
                "the installation ID changed (new hardware): no kept confirmation ID "
                "applies; a new activation is needed"
            )
            raise _Refused(OUT_OF_TOLERANCE, reason)
        endpoint.deposit_confirmation_id(product.activation_id, iid, entry.confirmation_id)
        state = endpoint.license_state(product.activation_id)
        self._save_reading(product, state, iid, stage=ProxyStage.CID_DEPOSITED)
        return f"reactivated with the kept confirmation ID: {state.status}"

    # --- conversions ----------------------------------------------------------------------

    def convert_to_kms(
        self,
        products: Iterable[ProductRef],
        *,
        endpoint: KmsEndpoint | str | None = None,
        progress: Progress | None = None,
    ) -> BatchReport:
        """Return one outcome per product after moving it to KMS: GVLK, KMS host, activation.

        The steps are :func:`mak.planning.conversion`'s: the edition's GVLK from the
        catalog, the KMS host *endpoint* (or DNS discovery when ``None``), activation with
        the host. A host below its threshold fails the product with 0xC004F038 (the GVLK
        stays installed). No MAK activation is used.
        """

        def work(product: Product, batch: _Batch) -> str:
            return self._convert(product, batch, ActivationMethod.KMS, None, endpoint)

        return self._each("convert_to_kms", products, work, progress)

    def convert_to_mak(
        self,
        products: Iterable[ProductRef],
        key: ProductKey,
        *,
        method: ActivationMethod = ActivationMethod.MAK_PROXY,
        batch_size: int = 500,
        progress: Progress | None = None,
    ) -> BatchReport:
        """Return one outcome per product after moving it to the MAK *key* and activating it.

        The steps are :func:`mak.planning.conversion`'s: install the MAK over the GVLK,
        clear the KMS host, then activate: by proxy (the default, through
        :meth:`proxy_activate`, one service call per batch) or online with
        ``method=ActivationMethod.MAK_INDEPENDENT``. Each product uses one activation,
        unless the clearinghouse already answered its installation ID (the same MAK on the
        same hardware as before): its kept confirmation ID is reused and nothing is spent.
        Progress counts the key changes.
        """

        def work(product: Product, batch: _Batch) -> str:
            return self._convert(product, batch, method, key, None)

        converted = self._run("convert_to_mak", products, work, progress).finish()
        ready = converted.succeeded()
        if method is ActivationMethod.MAK_PROXY:
            activated = self.proxy_activate(ready, key, batch_size=batch_size)
        else:
            activated = self.activate_online(ready)
        return _merge("convert_to_mak", [converted, _Step.of(activated)])

    def _convert(
        self,
        product: Product,
        batch: _Batch,
        target: ActivationMethod,
        key: ProductKey | None,
        kms: KmsEndpoint | str | None,
    ) -> str:
        catalog = self.catalog if self.catalog is not None else Catalog.default()
        plan = conversion(product, target, catalog, key=key, endpoint=kms)
        endpoint = batch.endpoint(product.computer_id)
        state = product.license_state
        for plan_step in plan:
            if plan_step.kind is StepKind.INSTALL_KEY and plan_step.key is not None:
                state = self._install(product, plan_step.key, batch)
            elif plan_step.kind is StepKind.SET_KMS_ENDPOINT:
                endpoint.set_kms_endpoint(plan_step.endpoint)
            elif plan_step.kind is StepKind.CLEAR_KMS_ENDPOINT:
                endpoint.set_kms_endpoint(None)
            elif plan_step.method is ActivationMethod.KMS:
                self._save_reading(product, state, None)  # the GVLK stays even if the host refuses
                endpoint.activate(product.activation_id)
                state = endpoint.license_state(product.activation_id)
        if not plan.steps and target is ActivationMethod.KMS:
            if state.status is not LicenseStatus.LICENSED:
                endpoint.activate(product.activation_id)
            state = endpoint.license_state(product.activation_id)
        self._save_reading(product, state, None)
        return f"{len(plan)} steps done: {state.status}"

    # --- shared machinery -------------------------------------------------------------------

    def _each(
        self,
        action: str,
        products: Iterable[ProductRef],
        work: Work,
        progress: Progress | None,
    ) -> BatchReport:
        return self._run(action, products, work, progress).report()

    def _run(
        self,
        action: str,
        products: Iterable[ProductRef],
        work: Work,
        progress: Progress | None,
    ) -> _Batch:
        """Run *work* on each product, each chunk's writes in one transaction."""
        refs = list(products)
        batch = _Batch(self, action, len(refs), progress)

        def one(index: int) -> None:
            ref = refs[index]
            product_id = _id_of(ref)
            product: Product | None = None
            staged: _Staged | None = None
            try:
                product = batch.product(product_id)
                staged = _Staged(product.id, product, batch.action)
                token = _STAGED.set(staged)
                try:
                    detail = work(product, batch)
                finally:
                    _STAGED.reset(token)
            except (_Refused, MakError) as failure:
                self._fail(batch, index, product_id, product, failure, staged=staged)
            else:
                self._finish(
                    batch,
                    index,
                    product_id,
                    product,
                    code=None,
                    detail=detail,
                    ok=True,
                    staged=staged,
                )

        self._in_transactions(batch, len(refs), one, ids=lambda index: _id_of(refs[index]))
        return batch

    def _in_transactions(
        self,
        batch: _Batch,
        count: int,
        one: Callable[[int], None],
        *,
        ids: Callable[[int], object] | None = None,
        between: Callable[[], None] | None = None,
    ) -> None:
        """Run ``one(index)`` for each index, the inventory writes of each chunk in one transaction.

        Each product's failure is caught by *one*; only the transaction itself can fail
        (its start, or its commit). A chunk whose transaction cannot start runs without
        one; one whose commit fails reports its products failed, nothing of them stored.
        With *ids* (the product id of each index), each chunk's products are read ahead
        in one read where the inventory can (:meth:`_Batch.read_ahead`). *between* runs
        between two chunks, outside their transactions.
        """
        for start in range(0, count, _CHUNK):
            if start and between is not None:
                between()  # after the chunk before, outside its transaction
            indexes = range(start, min(start + _CHUNK, count))
            begun = False
            try:
                with self.inventory.transaction():
                    begun = True
                    if ids is not None:
                        batch.read_ahead(_known_ids(ids, indexes))
                    for index in indexes:
                        one(index)
            except MakError as error:
                if not begun:
                    for index in indexes:
                        one(index)
                    continue
                code = _code_of(error)
                batch.keys_kept.clear()  # a key added in the undone chunk is gone again
                for index in indexes:
                    outcome = batch.outcomes.get(index)
                    if outcome is not None:
                        product_id, _, _, detail = outcome
                        undone = (product_id, False, code, f"{detail} (not stored: {error})")
                        batch.outcomes[index] = undone
                        _log_outcome(batch.action, undone, None)

    def _fail(  # noqa: PLR0913  # the parts of one failure
        self,
        batch: _Batch,
        index: int,
        product_id: str,
        product: Product | None,
        failure: _Refused | MakError,
        *,
        staged: _Staged | None = None,
    ) -> None:
        if isinstance(failure, _Refused):
            code, detail = failure.code, failure.detail
        else:
            found = _code_of(failure)
            code, detail = (None if found is None else found.value), str(failure)
        self._finish(
            batch, index, product_id, product, code=code, detail=detail, ok=False, staged=staged
        )

    def _finish(  # noqa: PLR0913  # one outcome's every part
        self,
        batch: _Batch,
        index: int,
        product_id: str,
        product: Product | None,
        *,
        code: int | None,
        detail: str,
        ok: bool,
        staged: _Staged | None = None,
    ) -> None:
        activation_code = None if code is None else lookup(code)
        if product is not None:
            try:
                self._note(product, batch.action, activation_code, detail, ok=ok, staged=staged)
            except _StepNotStored as failure:  # the step's own write failed: so did the step
                self._fail(batch, index, product_id, product, failure.error)
                return
            except MakError as error:  # the outcome matters more than its history line
                detail = f"{detail} (history not recorded: {error})"
        batch.done(index, (product_id, ok, activation_code, detail), product)

    def _note(  # noqa: PLR0913  # the parts of one history line
        self,
        product: Product,
        action: str,
        code: ActivationCode | None,
        detail: str,
        *,
        ok: bool = True,
        staged: _Staged | None = None,
    ) -> None:
        """Record the action in the history and as the product's last action.

        With *staged* writes of the step, the product is written once: the step's
        changes and the last action together. A step that succeeds after a reading is
        noted as of that reading, which set the last action already. Should that write
        fail, the step's changes are written alone and then the note, as if each had
        been written when made; the step's changes failing alone raise
        :class:`_StepNotStored` (when *ok*: the step fails with that error).
        """
        last = staged.last if ok and staged is not None else None
        set_already = last is not None
        if last is None:
            last = self._last_action(action, code)
        now = last.at
        shown = detail if ok else f"failed: {detail}"

        def change(current: Product) -> Product:
            proxy = current.proxy
            if not ok and code is not None and action in _PROXY_ACTIONS:
                proxy = _failed(proxy, code.value)
            return replace(current, last_action=last, proxy=proxy)

        record = _HISTORY_LINE(
            at=now,
            computer_id=product.computer_id,
            product_id=product.id,
            action=action,
            code=code,
            detail=shown,
        )
        current = product
        if staged is not None and staged.changes:
            replay = _replay(staged.changes)
            try:
                self._save(staged.current, _as_it_is if set_already else change, replay=replay)
            except MakError:
                try:
                    current = self._save(staged.current, _as_it_is, replay=replay)
                except MakError as error:
                    if ok:
                        raise _StepNotStored(error) from None
            else:
                self.inventory.record(record)
                return
        elif staged is not None:
            current = staged.current  # nothing written since it was read
        else:
            current = self.inventory.product(product.id)
        self.inventory.record(record)
        self._save(current, change)

    def _last_action(self, action: str, code: ActivationCode | None) -> LastAction:
        """Return the last action *action*, ended with *code*, at the clock's time now.

        It is the one returned before when nothing differs, as when a clock has not moved
        since (a simulated fleet's clock, or one coarser than the products are fast): the
        products noted together then share it, one object for all instead of one each
        kept for the garbage collector to walk. Frozen, it is shared safely; and the one
        before is read once, so threads sharing the manager at worst make another.
        """
        now = self.clock.now()
        before = self._last_noted
        if (
            before is not None
            and before.code is code
            and before.action == action
            and before.at == now  # False for a naive time, which LastAction refuses
        ):
            return before
        last = _LAST_ACTION(action=action, at=now, code=code)
        self._last_noted = last
        return last

    def _save(
        self,
        product: Product,
        change: Callable[[Product], Product],
        *,
        replay: Callable[[Product], Product] | None = None,
    ) -> Product:
        """Write *change* of the stored product; a stale version is re-read and retried once.

        Inside a step of :meth:`_each`, a change of the step's product is staged, to be
        written with its outcome. *replay* (changes already applied to *product*) is
        applied again to a re-read product before *change*.
        """
        staged = _STAGED.get()
        if staged is not None and replay is None and staged.product_id == product.id:
            staged.current = change(staged.current)
            staged.changes.append(change)
            return staged.current
        try:
            return self.inventory.update_product(change(product))
        except ConcurrencyConflict:
            fresh = self.inventory.product(product.id)
            if replay is not None:
                fresh = replay(fresh)
            return self.inventory.update_product(change(fresh))

    def _save_reading(  # noqa: PLR0913  # what a computer showed, all keyword-only
        self,
        product: Product,
        state: LicenseState,
        iid: InstallationId | None,
        *,
        extended_pid: str | None = None,
        stage: ProxyStage | None = None,
        restart: HardwareReplaced | Reimaged | None = None,
        cid_from_cil: bool = True,
    ) -> Product:
        """Store what the computer showed, moving the proxy stage on to *stage* or back.

        A new installation ID takes the confirmation ID the CIL keeps for it, if any
        (unless not *cid_from_cil*: then none). Inside a step, the reading also sets the
        step's success, as of now, as the product's last action: a step that succeeds is
        then noted without copying the product again (one that fails replaces it).
        """
        staged = _STAGED.get()
        last = None
        if staged is not None and staged.product_id == product.id:
            last = self._last_action(staged.action, None)
        saved = self._save(
            product,
            lambda current: self._reading(
                current,
                state,
                iid,
                extended_pid=extended_pid,
                stage=stage,
                restart=restart,
                cid_from_cil=cid_from_cil,
                last=last,
            ),
        )
        if staged is not None and last is not None:
            staged.last = last
        return saved

    def _reading(  # noqa: PLR0913  # the parts of one reading
        self,
        current: Product,
        state: LicenseState,
        iid: InstallationId | None,
        *,
        extended_pid: str | None = None,
        stage: ProxyStage | None = None,
        restart: HardwareReplaced | Reimaged | None = None,
        cid_from_cil: bool = True,
        last: LastAction | None = None,
    ) -> Product:
        """*current* with what the computer showed, and *last* as its last action if given."""
        cid = current.confirmation_id
        if iid is not None and iid != current.installation_id:  # a CID fits one IID only
            kept = self.inventory.find_confirmation(iid) if cid_from_cil else None
            cid = None if kept is None else kept.confirmation_id
        proxy = current.proxy
        deposited = proxy.stage is ProxyStage.CID_DEPOSITED
        if restart is None and deposited and state.status is not LicenseStatus.LICENSED:
            restart = Reimaged()  # licensing was reset: start over, keeping the CID
        if restart is not None:
            proxy = advance_stage(proxy, restart)
        if stage is not None:
            proxy = _reached(proxy, stage)
        return _READING(
            current,
            license_state=state,
            installation_id=iid if iid is not None else current.installation_id,
            extended_pid=extended_pid or current.extended_pid,
            confirmation_id=cid,
            proxy=proxy,
            last_action=current.last_action if last is None else last,
        )

    def _call_service(self, batch: _Batch, call: Callable[[], _T]) -> _T:
        """Return *call*'s answer, retrying transport failures under the retry policy."""
        attempt = 1
        while True:
            batch.service_calls += 1
            try:
                return call()
            except ServiceRejected:
                raise  # an answer, not a failed connection: asking again changes nothing
            except TransportError as error:
                if attempt >= self.retry.attempts:
                    raise
                delay = self.retry.delay(attempt)
                _LOG.warning(
                    "%s: the service call failed (attempt %d of %d), retrying in %s: %s",
                    batch.action,
                    attempt,
                    self.retry.attempts,
                    delay,
                    redact(str(error)),
                    extra={"action": batch.action, "attempt": attempt, "code": _hex(error)},
                )
            self.sleep(delay)
            attempt += 1

    # --- the exchange file (mak.exchange) --------------------------------------------------

    def export(
        self, products: Iterable[ProductRef] | None = None, *, profile: Profile | None = None
    ) -> ExchangeDocument:
        """Return an exchange document of *products* (default: all), dated by the manager's clock.

        :func:`mak.exchange.export` does the work; *profile* defaults to
        ``Profile.NO_KEYS``. ``Profile.PROXY_ONLY`` is the file an isolated lab sends out.
        """
        from mak import exchange  # noqa: PLC0415  # mak.exchange builds on this module

        chosen = exchange.Profile.NO_KEYS if profile is None else profile
        return exchange.export(self.inventory, products, profile=chosen, clock=self.clock)

    def import_(
        self, document: ExchangeDocument, *, policy: MergePolicy | None = None
    ) -> ImportReport:
        """Return what importing *document* into the inventory did: all of it, or nothing.

        :func:`mak.exchange.import_` does the work; *policy* defaults to
        ``MergePolicy.FAIL_ON_CONFLICT``. Deposit the confirmation IDs it brought with
        :meth:`apply_confirmation_ids`.
        """
        from mak import exchange  # noqa: PLC0415  # mak.exchange builds on this module

        chosen = exchange.MergePolicy.FAIL_ON_CONFLICT if policy is None else policy
        return exchange.import_(self.inventory, document, policy=chosen)
