"""A simulated fleet: computers to discover and connect to, and the KMS host they share."""

from __future__ import annotations

import random
import uuid
from typing import TYPE_CHECKING, Final

from mak.catalog import Catalog, Edition, ProductFamily
from mak.errors import InvalidComponent, NotFound, TransportError
from mak.kms import KmsEndpoint
from mak.model import ByAddress, ByName, ByWorkgroup, Computer
from mak.simulation.computer import UNREACHABLE, SimulatedComputer, SimulatedKmsHost

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mak.model import Query
    from mak.simulation.clearinghouse import SimulatedClearinghouse
    from mak.simulation.clock import FakeClock

__all__ = ["SimulatedFleet"]

_NAMESPACE: Final = uuid.UUID("6d616b2d-7369-4d75-a16c-666c65657400")  # "mak-sim-fleet"
# Current releases only: a lab of today's products.
_RELEASES: Final = {
    ProductFamily.WINDOWS_CLIENT: ("Windows 10/11",),
    ProductFamily.WINDOWS_SERVER: ("Windows Server 2022", "Windows Server 2025"),
    ProductFamily.OFFICE: ("Office LTSC 2021", "Office LTSC 2024"),
}


def _editions(family: ProductFamily) -> tuple[Edition, ...]:
    return tuple(
        edition
        for edition in Catalog.default().editions(family)
        if edition.release in _RELEASES[family] and edition.gvlk is not None
    )


def _share(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidComponent("fleet share", f"{name}={value!r}", "must be a number from 0 to 1")
    return float(value)


class SimulatedFleet:
    """Return *size* simulated computers, an :class:`~mak.ports.EndpointConnector` and :class:`~mak.ports.Discovery` over them.

    Everything is a function of *seed*: computer ``i`` (from 1) is named
    ``{workgroup}-PC-{i:04d}`` (``-SRV-`` for a server), is at a 10.x address, sits in
    *workgroup*, and has a stable uuid5 ``id``. About *server_share* of them run Windows
    Server, the rest Windows client; about *office_share* also have Office. Editions are
    current ones from ``Catalog.default()``. MAK activation goes to *clearinghouse*; GVLKs
    activate against the fleet's one KMS host (:attr:`kms_host`, found by DNS in the
    lab). Time comes from *clock*.

    :meth:`connect` returns the computer's :class:`SimulatedComputer` itself (by ``id``,
    else by name ignoring case); an unknown or unreachable computer raises
    :class:`~mak.errors.TransportError`. :meth:`find` answers ``ByName`` (names ignoring
    case, or addresses), ``ByAddress``, ``ByWorkgroup``; a workgroup lab has no directory,
    so ``ByDirectory`` finds nothing.

    >>> from datetime import datetime, timezone
    >>> from mak.simulation import FakeClock, SimulatedClearinghouse
    >>> clock = FakeClock(datetime(2026, 1, 5, tzinfo=timezone.utc))
    >>> fleet = SimulatedFleet(3, seed=1, clearinghouse=SimulatedClearinghouse(seed=1), clock=clock)
    >>> [(c.name, c.address) for c in fleet.computers]
    [('LAB-PC-0001', '10.0.0.1'), ('LAB-PC-0002', '10.0.0.2'), ('LAB-PC-0003', '10.0.0.3')]
    >>> [c.name for c in fleet.find(ByName(("lab-pc-0002",)))]
    ['LAB-PC-0002']
    """

    def __init__(  # noqa: PLR0913  # DESIGN.md's signature; all but two keyword-only
        self,
        size: int,
        seed: int,
        *,
        workgroup: str = "LAB",
        clearinghouse: SimulatedClearinghouse,
        clock: FakeClock,
        office_share: float = 0.3,
        server_share: float = 0.1,
    ) -> None:
        if isinstance(size, bool) or not 0 <= size < 1 << 24:
            raise InvalidComponent("fleet size", repr(size), "must be an int from 0 to 16777215")
        office = _share("office_share", office_share)
        server = _share("server_share", server_share)
        self.kms_host: SimulatedKmsHost = SimulatedKmsHost(
            KmsEndpoint(f"kms.{workgroup.lower()}.invalid")
            if _is_label(workgroup)
            else KmsEndpoint("kms.lab.invalid")
        )
        """The lab's KMS host (an ``.invalid`` name: it exists only in the simulation)."""
        rng = random.Random(f"mak-simulation/fleet/{seed}")  # noqa: S311  # simulated fleet, reproducible by design
        windows = {
            f: _editions(f) for f in (ProductFamily.WINDOWS_CLIENT, ProductFamily.WINDOWS_SERVER)
        }
        offices = _editions(ProductFamily.OFFICE)
        self._computers: list[Computer] = []
        self._endpoints: dict[str, SimulatedComputer] = {}
        self._by_name: dict[str, str] = {}
        self._by_address: dict[str, str] = {}
        for index in range(1, size + 1):
            is_server = rng.random() < server
            family = ProductFamily.WINDOWS_SERVER if is_server else ProductFamily.WINDOWS_CLIENT
            edition = rng.choice(windows[family])
            office_edition = rng.choice(offices) if rng.random() < office else None
            kind = "SRV" if is_server else "PC"
            computer = Computer(
                id=str(uuid.uuid5(_NAMESPACE, f"{seed}/{workgroup}/{index}")),
                name=f"{workgroup}-{kind}-{index:04d}",
                address=f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}",
                workgroup=workgroup,
                os_edition=edition.name,
            )
            self._computers.append(computer)
            self._endpoints[computer.id] = SimulatedComputer(
                name=computer.name,
                windows=edition,
                office=office_edition,
                clock=clock,
                clearinghouse=clearinghouse,
                kms_host=self.kms_host,
                seed=f"{seed}/{workgroup}/{index}",
            )
            self._by_name[computer.name.casefold()] = computer.id
            self._by_address[str(computer.address)] = computer.id

    @property
    def computers(self) -> list[Computer]:
        """The fleet's computers, in order (a new list each time)."""
        return list(self._computers)

    def endpoint(self, computer_id: str) -> SimulatedComputer:
        """Return the simulated computer with that id, to act on it directly in tests."""
        try:
            return self._endpoints[computer_id]
        except KeyError:
            raise NotFound("computer", str(computer_id)) from None

    def reimage(self, computer_id: str) -> None:
        """Reimage a computer on the same hardware (:meth:`SimulatedComputer.reimage`)."""
        self.endpoint(computer_id).reimage()

    def replace_hardware(self, computer_id: str) -> None:
        """Move a computer to new hardware (:meth:`SimulatedComputer.replace_hardware`)."""
        self.endpoint(computer_id).replace_hardware()

    # --- EndpointConnector and Discovery ----------------------------------------------------

    def connect(self, computer: Computer, /) -> SimulatedComputer:
        """Return the simulated computer *computer* is, found by id or else by name.

        Raises :class:`~mak.errors.TransportError` for a computer not in the fleet or
        one made unreachable.
        """
        endpoint = self._endpoints.get(computer.id)  # one lookup: each batch connects once more
        if endpoint is None:
            computer_id = self._by_name.get(computer.name.casefold())
            if computer_id is None:
                raise TransportError(
                    f"no computer named {computer.name!r} answers", code=UNREACHABLE
                )
            endpoint = self._endpoints[computer_id]
        if endpoint.unreachable:
            raise TransportError(f"{endpoint.name} cannot be reached", code=UNREACHABLE)
        return endpoint

    def find(self, query: Query, /) -> Iterator[Computer]:
        """Yield the computers *query* matches, in fleet order."""
        ids: set[str | None]
        if isinstance(query, ByName):
            wanted = {name.strip().casefold() for name in query.names}
            ids = {self._by_name.get(name) for name in wanted} | {
                self._by_address.get(name) for name in wanted
            }
        elif isinstance(query, ByAddress):
            ids = {self._by_address.get(address) for address in query.addresses()}
        elif isinstance(query, ByWorkgroup):
            name = query.name.casefold()
            ids = {c.id for c in self._computers if (c.workgroup or "").casefold() == name}
        else:  # ByDirectory: a workgroup lab has no directory
            ids = set()
        return (c for c in self._computers if c.id in ids)

    def __repr__(self) -> str:
        return f"<SimulatedFleet of {len(self._computers)} computers>"


def _is_label(text: str) -> bool:
    return text.isascii() and text.replace("-", "").isalnum() and 0 < len(text) <= 63
