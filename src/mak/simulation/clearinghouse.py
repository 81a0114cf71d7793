"""A simulated Microsoft clearinghouse: issues simulated MAKs and answers CID requests."""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, Final

import attrs

from mak import codes
from mak._validate import trusted
from mak.errors import NotFound, ServiceRejected, TransportError
from mak.lifecycle import KeyChannel
from mak.limits import MakPool
from mak.ports import CidRequest, CidResult
from mak.simulation import keys

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mak.catalog import ProductFamily
    from mak.keys import ProductKey

__all__ = ["Call", "SimulatedClearinghouse"]

#: The batch service's "invalid key": a PID of a key the clearinghouse never issued.
SERVICE_INVALID_KEY: Final = 0xC004C004
#: What a call to an offline clearinghouse fails with (ERROR_INTERNET_CANNOT_CONNECT).
OFFLINE: Final = 0x80072EFD


@attrs.frozen
class Call:
    """One call the clearinghouse received: its ``method``, its request ``count``, whether it ``ok``.

    ``ok`` is false for a call that raised (the clearinghouse was offline, or refused to
    answer for a key).

    >>> Call("acquire_confirmation_ids", 50)
    Call(method='acquire_confirmation_ids', count=50, ok=True)
    """

    method: str
    """The :class:`~mak.ports.ActivationService` method called."""
    count: int
    """How many requests (or keys) the call carried."""
    ok: bool = True
    """Whether the call returned rather than raised."""


# A result carrying a CID, built without attrs' validators, which cost as much again as
# the rest of an answer: its IID comes from a checked CidRequest, its CID is minted here.
_ANSWER: Final = trusted(CidResult)


class SimulatedClearinghouse:
    """Return a simulated clearinghouse: an :class:`~mak.ports.ActivationService` that never touches the network.

    It issues simulated MAKs (:meth:`issue_mak`), each with its own
    :class:`~mak.limits.MakPool`, and answers confirmation-ID requests for them:

    - the same installation ID gets the same CID and spends nothing more;
    - a new installation ID spends one activation; none left gives 0xC004C020;
    - a blocked key gives 0xC004C003; a key it never issued 0xC004C004; a GVLK's (or any
      non-MAK) PID 0xC004F07D; an IID not derived with the PID's key 0xC004F04D;
    - :meth:`fail_next` refuses the next requests with a chosen code, charging nothing;
      while :meth:`go_offline` holds, every call raises :class:`~mak.errors.TransportError`.

    Every service call is recorded in :attr:`calls`. CIDs are a function of the IID alone,
    so a simulated computer can check a CID belongs to its IID. Keys are deterministic
    from *seed*. Thread-safe.

    >>> from mak.catalog import ProductFamily
    >>> service = SimulatedClearinghouse(seed=1)
    >>> mak = service.issue_mak(limit=2, family=ProductFamily.WINDOWS_CLIENT)
    >>> service.remaining_activations(mak), service.calls
    (2, (Call(method='remaining_activations', count=1, ok=True),))
    """

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(f"mak-simulation/clearinghouse/{seed}")  # noqa: S311  # simulated keys, reproducible by design
        self._lock = threading.Lock()
        self._pools: dict[ProductKey, MakPool] = {}
        self._by_tag: dict[str, ProductKey] = {}
        self._blocked: set[ProductKey] = set()
        self._answered: set[str] = set()
        self._calls: list[Call] = []
        self._failures: list[int] = []
        self._online = True

    # --- administration (not service calls: not recorded) -----------------------------

    def issue_mak(self, limit: int, family: ProductFamily) -> ProductKey:
        """Return a new simulated MAK for *family* with *limit* activations.

        >>> from mak.catalog import ProductFamily
        >>> service = SimulatedClearinghouse()
        >>> key = service.issue_mak(limit=5, family=ProductFamily.OFFICE)
        >>> service.pool(key)
        MakPool(limit=5, used=0)
        """
        with self._lock:
            pool = MakPool(limit=limit)
            key = keys.mint_key(
                self._rng, group_id=keys.MAK_GROUP_IDS[family], serial=len(self._pools) + 1
            )
            self._pools[key] = pool
            self._by_tag[keys.key_tag(key)] = key
            return key

    def pool(self, key: ProductKey) -> MakPool:
        """Return the activation pool of an issued MAK; :class:`~mak.errors.NotFound` otherwise."""
        with self._lock:
            return self._pool(key)

    def block(self, key: ProductKey) -> None:
        """Block an issued MAK: every later request for it is refused with 0xC004C003."""
        with self._lock:
            self._pool(key)
            self._blocked.add(key)

    def increase(self, key: ProductKey, by: int) -> MakPool:
        """Raise an issued MAK's limit *by* more activations, as an Activation Center would."""
        with self._lock:
            pool = self._pools[key] = self._pool(key).increase(by)
            return pool

    def fail_next(self, code: int, times: int = 1) -> None:
        """Refuse the next *times* CID requests with *code*, charging nothing for them."""
        with self._lock:
            self._failures.extend([code] * times)

    def go_offline(self) -> None:
        """Make every service call raise :class:`~mak.errors.TransportError` until :meth:`go_online`."""
        with self._lock:
            self._online = False

    def go_online(self) -> None:
        """Answer service calls again."""
        with self._lock:
            self._online = True

    @property
    def calls(self) -> tuple[Call, ...]:
        """Every service call received so far, oldest first."""
        with self._lock:
            return tuple(self._calls)

    # --- the service ---------------------------------------------------------------------

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        """Return one result per request, in order: a CID, or a refusal carrying its code.

        >>> from mak.keys import ProductKey
        >>> from mak.simulation.keys import extended_pid
        >>> from mak.testing import make_installation_id
        >>> service = SimulatedClearinghouse()
        >>> gvlk_pid = extended_pid(ProductKey.parse("W269N-WFGWX-YVC9B-4J6C9-T83GX"), "2de67392-b7a7-462a-b1ca-108dd189f588")
        >>> [result] = service.acquire_confirmation_ids([CidRequest(installation_id=make_installation_id(1), extended_pid=gvlk_pid)])
        >>> result.code.hex
        '0xC004F07D'
        """
        with self._lock:
            self._connect("acquire_confirmation_ids", len(requests))
            # Each MAK's pool is charged once for the batch: a MakPool copy per IID costs
            # more than the rest of the answer. _refusal counts the IIDs that fit.
            charges: dict[ProductKey, int] = {}
            try:
                return [self._answer(request, charges) for request in requests]
            finally:
                for key, count in charges.items():
                    self._pools[key] = self._pools[key].charge(count)

    def remaining_activations(self, key: ProductKey, /) -> int:
        """Return how many activations the issued MAK *key* has left.

        Raises :class:`~mak.errors.ServiceRejected` for a key never issued (0xC004C004) or
        blocked (0xC004C003), and :class:`~mak.errors.TransportError` while offline.
        """
        with self._lock:
            self._connect("remaining_activations", 1)
            code = SERVICE_INVALID_KEY if key not in self._pools else None
            if key in self._blocked:
                code = codes.KEY_BLOCKED
            if code is not None:
                self._calls[-1] = Call("remaining_activations", 1, ok=False)
                raise ServiceRejected(f"the clearinghouse refused key {key}", code=code)
            return self._pools[key].remaining

    # --- inside the lock ------------------------------------------------------------------

    def _pool(self, key: ProductKey) -> MakPool:
        try:
            return self._pools[key]
        except KeyError:
            raise NotFound("MAK", str(key)) from None

    def _connect(self, method: str, count: int) -> None:
        self._calls.append(Call(method, count, ok=self._online))
        if not self._online:
            raise TransportError("the simulated clearinghouse is offline", code=OFFLINE)

    def _answer(self, request: CidRequest, charges: dict[ProductKey, int]) -> CidResult:
        iid = request.installation_id
        code = self._refusal(request, charges)
        if code is not None:
            return CidResult(installation_id=iid, code=codes.lookup(code))
        return _ANSWER(installation_id=iid, confirmation_id=keys.confirmation_id(iid), code=None)

    def _refusal(self, request: CidRequest, charges: dict[ProductKey, int]) -> int | None:  # noqa: PLR0911  # one return per rule reads best
        """Return the code refusing *request*, or ``None`` once it is answered.

        A new IID that fits in its MAK's pool is counted in *charges*, for the caller to
        charge; one that does not is refused with 0xC004C020.
        """
        if self._failures:
            return self._failures.pop(0)
        read = keys.read_pid(request.extended_pid)
        if read is None:
            return SERVICE_INVALID_KEY
        tag, channel = read
        if channel is not KeyChannel.MAK:
            return codes.INVALID_KEY_TYPE
        key = self._by_tag.get(tag)
        if key is None:
            return SERVICE_INVALID_KEY
        if key in self._blocked:
            return codes.KEY_BLOCKED
        iid = request.installation_id
        if not keys.iid_belongs_to(iid, tag):
            return codes.CID_IID_INVALID_CHECK_DIGITS
        if iid.digits in self._answered:
            return None
        charged = charges.get(key, 0)
        if charged == self._pools[key].remaining:
            return codes.MAK_LIMIT_EXCEEDED
        charges[key] = charged + 1
        self._answered.add(iid.digits)
        return None

    def __repr__(self) -> str:
        with self._lock:
            return f"<SimulatedClearinghouse: {len(self._pools)} MAKs, {len(self._calls)} calls>"
