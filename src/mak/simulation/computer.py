"""Simulated managed computers, and the simulated KMS host they may activate against."""

from __future__ import annotations

import random
import threading
import uuid
from typing import TYPE_CHECKING, Final, NoReturn

import attrs

from mak import codes
from mak._validate import trusted
from mak.catalog import Edition  # attrs reads _Product's annotations; _product_info checks it
from mak.errors import IllegalTransition, NotFound, ServiceRejected, TransportError
from mak.ids import InstallationId  # attrs reads _Product's annotations
from mak.keys import ProductKey  # attrs reads _Product's annotations
from mak.kms import KmsEndpoint, KmsHost, KmsResponse
from mak.lifecycle import (
    Activated,
    ActivationFailed,
    ActivationMethod,
    Event,
    HardwareChanged,
    KeyChannel,
    KeyInstalled,
    LicenseState,
    advance,
    step,
)
from mak.ports import CidRequest, ProductInfo
from mak.simulation import keys

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from mak.catalog import ProductFamily
    from mak.ids import ConfirmationId
    from mak.ports import ActivationService, Clock

__all__ = ["SimulatedComputer", "SimulatedKmsHost", "activation_id_of"]

_NAMESPACE: Final = uuid.UUID("6d616b2d-7369-4d75-a16c-6174696f6e00")  # "mak-simulation"
#: What a call to an unreachable computer fails with (RPC_S_SERVER_UNAVAILABLE).
UNREACHABLE: Final = 0x800706BA


def activation_id_of(edition: Edition) -> str:
    """Return the activation ID (a lower-case GUID) simulated computers give *edition*'s product.

    >>> from mak.catalog import Catalog
    >>> edition = Catalog.default().edition("Windows 11 Pro")
    >>> activation_id_of(edition) == activation_id_of(edition)
    True
    """
    return str(uuid.uuid5(_NAMESPACE, edition.name))


class SimulatedKmsHost:
    """Return a simulated KMS host at *endpoint*: a :class:`~mak.kms.KmsHost` count behind a lock.

    Simulated computers whose KMS endpoint is unset (DNS discovery) or is this host's
    endpoint reach it, unless it is taken offline (``online = False``).

    >>> from datetime import datetime, timezone
    >>> from mak.catalog import ProductFamily
    >>> host = SimulatedKmsHost(KmsEndpoint.parse("kms.lab.invalid"))
    >>> host.request(uuid.UUID(int=1), ProductFamily.OFFICE, datetime(2026, 1, 5, tzinfo=timezone.utc))
    KmsResponse(activated=False, count=1, code=0xC004F038)
    """

    def __init__(self, endpoint: KmsEndpoint) -> None:
        self.endpoint: KmsEndpoint = endpoint
        """Where the host listens."""
        self.online: bool = True
        """Whether clients can reach it."""
        self._host = KmsHost()
        self._lock = threading.Lock()

    @property
    def host(self) -> KmsHost:
        """The host's count cache as it is now."""
        with self._lock:
            return self._host

    def request(self, cmid: uuid.UUID, family: ProductFamily, at: dt.datetime) -> KmsResponse:
        """Return the host's answer to client *cmid* asking for a *family* product at *at*."""
        with self._lock:
            response = self._host.request(cmid, family, at)
            if response.host is not None:
                self._host = response.host
            return response


# What every product starts from, and goes back to on a reimage: one snapshot shared by
# all (it is frozen), so that a fleet holds no copy of it for the garbage collector to walk.
_NO_KEY: Final = LicenseState.new()

# The last transition any simulated computer made: (state, event, now, state after).
_last_transition: tuple[LicenseState, Event, dt.datetime, LicenseState] | None = None


def _next_state(state: LicenseState, event: Event, now: dt.datetime) -> LicenseState:
    """Return ``step(advance(state, now), event, now=now)``: *state* once *event* happened at *now*.

    A fleet's products go through the same transitions together: the same key installed
    on the same shared snapshot at the same clock reading, then the same activation. So
    the last answer is kept, and given again for the same snapshot (the very object), the
    same clock reading (the very object a FakeClock returns until it moves) and an equal
    event: ``step`` is a function of those alone, and snapshots are frozen. A product
    activated this way costs a third of a new transition, and the products share their
    snapshots, which leaves fewer objects for the garbage collector to walk. Reading and
    writing the one tuple is atomic, so threads at worst recompute an answer.
    """
    global _last_transition  # noqa: PLW0603  # one entry, read and replaced whole
    last = _last_transition
    if last is not None and last[0] is state and last[2] is now and last[1] == event:
        return last[3]
    after = step(advance(state, now), event, now=now)
    _last_transition = (state, event, now, after)
    return after


@attrs.define
class _Product:
    activation_id: str
    edition: Edition
    state: LicenseState = _NO_KEY
    key: ProductKey | None = None
    # What the key (and, for the IID, the hardware) gives, derived on first use and kept
    # until the key or the hardware changes: a proxy activation asks for each several
    # times per product, and deriving an IID costs more than the rest of the call.
    installation_id: InstallationId | None = None
    extended_pid: str | None = None

    def set_key(self, key: ProductKey | None) -> None:
        """Install *key* (``None``: none), forgetting what the previous key gave."""
        self.key = key
        self.installation_id = None
        self.extended_pid = None


_PRODUCT_INFO: Final = trusted(ProductInfo)


def _product_info(product: _Product, extended_pid: str | None) -> ProductInfo:
    """Return what the computer reports about *product*, its extended PID *extended_pid*.

    Its fields come from values checked already: an :class:`~mak.catalog.Edition`'s name
    and family passed the validators :class:`~mak.ports.ProductInfo`'s use, the
    activation ID is a uuid5's text and the state a :class:`~mak.lifecycle.LicenseState`.
    So it is built without checking them again, which was three quarters of its cost and
    is asked for on every product of a proxy activation. Another kind of edition (an
    untyped caller's) is checked as before.
    """
    edition = product.edition
    make: Callable[..., ProductInfo] = _PRODUCT_INFO if type(edition) is Edition else ProductInfo
    return make(
        activation_id=product.activation_id,
        name=edition.name,
        family=edition.family,
        license_state=product.state,
        extended_pid=extended_pid,
    )


class SimulatedComputer:
    """Return a simulated computer: a :class:`~mak.ports.ComputerEndpoint` running :mod:`mak.lifecycle`.

    It has a hardware fingerprint and a KMS client machine ID drawn from *seed*, a Windows
    product of edition *windows* and optionally an Office product of edition *office*,
    each with the activation ID :func:`activation_id_of` gives. Time comes from *clock*.

    - :meth:`install_product_key` takes a GVLK of ``Catalog.default()`` or a simulated MAK
      and installs it on the product of the key's family; a key of a family not
      installed is refused with 0xC004F069, any other key with 0xC004F050.
    - :meth:`installation_id` is 63 digits derived from the fingerprint, the key and the
      product: the same after :meth:`reimage` and a reinstall of the key, another after
      :meth:`replace_hardware`. No key: 0xC004F014.
    - :meth:`deposit_confirmation_id` accepts only the clearinghouse's CID for the
      current IID (else 0xC004F031) and activates by MAK proxy.
    - :meth:`activate` asks *clearinghouse* for a MAK (one request) and *kms_host* for a
      GVLK (0xC004F074 when it cannot be reached, 0xC004F038 below its threshold).

    Refusals raise :class:`~mak.errors.ServiceRejected` with the code and are recorded in
    the product's state as ``ActivationFailed`` where Windows would. An unknown
    activation ID raises :class:`~mak.errors.NotFound`; while :attr:`unreachable` is
    true, every method raises :class:`~mak.errors.TransportError`. Thread-safe.

    >>> from datetime import datetime, timezone
    >>> from mak.catalog import Catalog
    >>> from mak.simulation import FakeClock
    >>> clock = FakeClock(datetime(2026, 1, 5, tzinfo=timezone.utc))
    >>> pc = SimulatedComputer(name="PC-1", windows=Catalog.default().edition("Windows 11 Pro"), clock=clock)
    >>> aid = pc.install_product_key(Catalog.default().gvlk_for("Windows 11 Pro"))
    >>> pc.license_state(aid).status
    <LicenseStatus.OOB_GRACE: 2>
    """

    def __init__(  # noqa: PLR0913  # keyword-only, each a part of the computer
        self,
        *,
        name: str,
        windows: Edition,
        clock: Clock,
        office: Edition | None = None,
        clearinghouse: ActivationService | None = None,
        kms_host: SimulatedKmsHost | None = None,
        seed: str = "0",
    ) -> None:
        self.name: str = name
        """The computer's name."""
        self.unreachable: bool = False
        """While true, every method raises :class:`~mak.errors.TransportError`."""
        self._clock = clock
        self._clearinghouse = clearinghouse
        self._kms_host = kms_host
        # A fleet holds thousands of computers, and Python's garbage collector walks every
        # object each holds on each full collection: so no random generator is kept (its
        # sequence is replayed on the rare new draw, see _draw), and the CMID is kept as
        # its 128 bits.
        self._seed = f"mak-simulation/computer/{seed}"
        rng = random.Random(self._seed)  # noqa: S311  # simulated hardware, reproducible by design
        self._fingerprint = f"{rng.getrandbits(128):032x}"
        self._cmid_bits = rng.getrandbits(128)
        self._draws = 2
        self._kms_endpoint: KmsEndpoint | None = None
        self._lock = threading.RLock()  # held while calling ports, which may call back
        editions = [windows] if office is None else [windows, office]
        self._products = {activation_id_of(e): _Product(activation_id_of(e), e) for e in editions}

    # --- the simulation's own controls ---------------------------------------------------

    @property
    def fingerprint(self) -> str:
        """The hardware fingerprint (32 hex digits) installation IDs are derived from."""
        with self._lock:
            return self._fingerprint

    @property
    def cmid(self) -> uuid.UUID:
        """The KMS client machine ID; a reimage gives a new one, as sysprep does."""
        with self._lock:
            return self._cmid()

    def reimage(self) -> None:
        """Reinstall the computer on the same hardware: every product unlicensed, no key, same IIDs to come.

        The KMS endpoint goes back to DNS discovery and the CMID is new.
        """
        with self._lock:
            for product in self._products.values():
                product.state = _NO_KEY
                product.set_key(None)
            self._kms_endpoint = None
            self._cmid_bits = self._draw()

    def replace_hardware(self) -> None:
        """Move the computer to new hardware, beyond tolerance: a new fingerprint, so new IIDs.

        Keys stay installed; every product takes ``HardwareChanged(beyond_tolerance=True)``
        (a licensed product drops to the additional grace period) and needs a new
        activation: the old CID no longer matches.
        """
        with self._lock:
            self._fingerprint = f"{self._draw():032x}"
            now = self._clock.now()
            for product in self._products.values():
                product.installation_id = None  # derived from the old fingerprint
                product.state = _next_state(
                    product.state, HardwareChanged(beyond_tolerance=True), now
                )

    # --- ComputerEndpoint ----------------------------------------------------------------

    def products(self) -> list[ProductInfo]:
        """Return the Windows product and, if installed, the Office product, as they are now."""
        with self._lock:
            self._reach()
            now = self._clock.now()
            infos: list[ProductInfo] = []
            for product in self._products.values():
                product.state = advance(product.state, now)
                pid = None if product.key is None else self._extended_pid(product)
                infos.append(_product_info(product, pid))
            return infos

    def install_product_key(self, key: ProductKey, /) -> str:
        """Install *key* on the product of its family and return that product's activation ID."""
        with self._lock:
            self._reach()
            found = keys.channel_of(key)
            if found is None:
                raise ServiceRejected(
                    f"{self.name} does not accept key {key}", code=codes.INVALID_PRODUCT_KEY
                )
            channel, family = found
            product = self._product_of(family)
            if product is None:
                raise ServiceRejected(
                    f"{self.name} has no {family.value} product for key {key}",
                    code=codes.MISMATCHED_SKU,
                )
            self._apply(product, KeyInstalled(key, channel))
            product.set_key(key)
            return product.activation_id

    def installation_id(self, activation_id: str, /) -> InstallationId:
        """Return the product's installation ID: fingerprint, key and product, 63 digits."""
        with self._lock:
            self._reach()
            return self._installation_id(self._product(activation_id))

    def deposit_confirmation_id(
        self,
        activation_id: str,
        installation_id: InstallationId,
        confirmation_id: ConfirmationId,
        /,
    ) -> None:
        """Activate by MAK proxy with the clearinghouse's CID for the current IID, else 0xC004F031."""
        with self._lock:
            self._reach()
            product = self._product(activation_id)
            current = self._installation_id(product)
            expected = keys.confirmation_id(current)
            # The IDs a proxy activation deposits are the very objects this computer and
            # the clearinghouse minted: the same object is equal, without comparing digits.
            matches = (installation_id is current or installation_id == current) and (
                confirmation_id is expected or confirmation_id == expected
            )
            if not matches:
                raise ServiceRejected(
                    f"the confirmation ID does not match {self.name}'s installation ID",
                    code=codes.CID_IID_MISMATCH,
                )
            now = self._clock.now()
            self._apply(product, Activated(ActivationMethod.MAK_PROXY, at=now), now=now)

    def activate(self, activation_id: str, /) -> None:
        """Activate online: a MAK with the clearinghouse, a GVLK with the KMS host."""
        with self._lock:
            self._reach()
            product = self._product(activation_id)
            self._key(product)  # no key: 0xC004F014, whatever the channel
            if product.state.channel is KeyChannel.MAK:
                self._activate_mak(product)
            else:
                self._activate_kms(product)

    def license_state(self, activation_id: str, /) -> LicenseState:
        """Return the product's licensing state, its timers run up to now."""
        with self._lock:
            self._reach()
            product = self._product(activation_id)
            product.state = advance(product.state, self._clock.now())
            return product.state

    def set_kms_endpoint(self, endpoint: KmsEndpoint | None, /) -> None:
        """Point the computer's KMS client at *endpoint*, or back to DNS discovery (``None``)."""
        with self._lock:
            self._reach()
            self._kms_endpoint = endpoint

    # --- inside the lock --------------------------------------------------------------------

    def _activate_mak(self, product: _Product) -> None:
        if self._clearinghouse is None:
            raise TransportError(f"{self.name} has no clearinghouse to reach", code=UNREACHABLE)
        iid = self._installation_id(product)
        pid = self._extended_pid(product)
        [result] = self._clearinghouse.acquire_confirmation_ids(
            [CidRequest(installation_id=iid, extended_pid=pid)]
        )
        if result.code is not None:
            self._refuse(product, result.code.value, "the clearinghouse refused the activation")
        now = self._clock.now()
        self._apply(product, Activated(ActivationMethod.MAK_INDEPENDENT, at=now), now=now)

    def _activate_kms(self, product: _Product) -> None:
        host = self._kms_host
        reachable = (
            host is not None and host.online and self._kms_endpoint in (None, host.endpoint)
        )
        if host is None or not reachable:
            self._refuse(product, codes.KMS_UNAVAILABLE, "no KMS host could be reached")
        now = self._clock.now()
        response = host.request(self._cmid(), product.edition.family, now)
        if response.code is not None:
            self._refuse(product, response.code, f"the KMS host's count is {response.count}")
        self._apply(product, Activated(ActivationMethod.KMS, at=now), now=now)

    def _refuse(self, product: _Product, code: int, why: str) -> NoReturn:
        self._apply(product, ActivationFailed(code))
        raise ServiceRejected(f"{self.name}: {why}", code=code)

    def _apply(self, product: _Product, event: Event, *, now: dt.datetime | None = None) -> None:
        """Apply *event* at *now*: the clock's time unless the caller just read it."""
        if now is None:
            now = self._clock.now()
        try:
            product.state = _next_state(product.state, event, now)
        except IllegalTransition as error:
            code = codes.INVALID_KEY_TYPE if error.code is None else error.code
            raise ServiceRejected(f"{self.name}: {error}", code=code) from None

    def _product(self, activation_id: str) -> _Product:
        try:
            return self._products[activation_id]
        except (KeyError, TypeError):
            raise NotFound("product", str(activation_id)) from None

    def _product_of(self, family: ProductFamily) -> _Product | None:
        for product in self._products.values():
            if product.edition.family is family:
                return product
        return None

    def _installation_id(self, product: _Product) -> InstallationId:
        if product.installation_id is None:
            product.installation_id = keys.installation_id(
                self._fingerprint, self._key(product), product.activation_id
            )
        return product.installation_id

    def _extended_pid(self, product: _Product) -> str:
        if product.extended_pid is None:
            product.extended_pid = keys.extended_pid(self._key(product), product.activation_id)
        return product.extended_pid

    def _key(self, product: _Product) -> ProductKey:
        if product.key is None:
            raise ServiceRejected(
                f"{self.name}: no product key is installed on {product.edition.name}",
                code=codes.NO_PRODUCT_KEY,
            )
        return product.key

    def _reach(self) -> None:
        if self.unreachable:
            raise TransportError(f"{self.name} cannot be reached", code=UNREACHABLE)

    def _draw(self) -> int:
        """The next 128 bits of the computer's random sequence, seeded by its seed.

        Replayed from the start each time: only a reimage or new hardware draws again.
        """
        rng = random.Random(self._seed)  # noqa: S311  # simulated hardware, reproducible by design
        for _ in range(self._draws):
            rng.getrandbits(128)
        self._draws += 1
        return rng.getrandbits(128)

    def _cmid(self) -> uuid.UUID:
        return uuid.UUID(int=self._cmid_bits, version=4)

    def __repr__(self) -> str:
        return f"<SimulatedComputer {self.name!r}: {len(self._products)} products>"
