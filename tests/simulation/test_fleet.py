"""The simulated fleet: composition, determinism (across processes too), connector, discovery."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from math import ceil
from typing import TYPE_CHECKING

import pytest

from mak.catalog import ProductFamily
from mak.errors import InvalidComponent, NotFound, TransportError
from mak.lifecycle import LicenseStatus
from mak.model import ByAddress, ByDirectory, ByName, ByWorkgroup, Computer
from mak.ports import CidRequest
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet

if TYPE_CHECKING:
    from mak.ids import ConfirmationId, InstallationId

# Run here and in a second process: the same seed must give the same digest.
DIGEST_SCRIPT = """
import datetime as dt, hashlib
from mak.catalog import ProductFamily
from mak.ports import CidRequest
from mak.simulation import FakeClock, SimulatedClearinghouse, SimulatedFleet
clock = FakeClock(dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc))
service = SimulatedClearinghouse(seed=1)
mak = service.issue_mak(limit=250, family=ProductFamily.WINDOWS_CLIENT)
fleet = SimulatedFleet(size=40, seed=1, clearinghouse=service, clock=clock)
lines = [mak.reveal()]
requests = []
for computer in fleet.computers:
    endpoint = fleet.connect(computer)
    lines.append(repr(computer))
    lines.append(endpoint.fingerprint + str(endpoint.cmid))
    lines.extend(repr(info) for info in endpoint.products())
    if computer.os_edition and "Server" not in computer.os_edition:
        aid = endpoint.install_product_key(mak)
        info = next(i for i in endpoint.products() if i.activation_id == aid)
        requests.append(CidRequest(installation_id=endpoint.installation_id(aid), extended_pid=info.extended_pid))
for result in service.acquire_confirmation_ids(requests):
    lines.append(f"{result.installation_id} {result.confirmation_id}")
print(hashlib.sha256("\\n".join(lines).encode()).hexdigest())
"""

START = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


def make_fleet(
    size: int = 200, seed: int = 1, *, office_share: float = 0.3, server_share: float = 0.1
) -> SimulatedFleet:
    return SimulatedFleet(
        size,
        seed,
        clearinghouse=SimulatedClearinghouse(seed=seed),
        clock=FakeClock(START),
        office_share=office_share,
        server_share=server_share,
    )


def digest_here(capsys: pytest.CaptureFixture[str]) -> str:
    exec(DIGEST_SCRIPT, {})  # noqa: S102  # the same script the second process runs
    return capsys.readouterr().out.strip()


def test_the_same_seed_gives_the_same_fleet() -> None:
    first, second = make_fleet(), make_fleet()
    assert first.computers == second.computers
    for a, b in zip(first.computers, second.computers, strict=True):
        assert first.endpoint(a.id).fingerprint == second.endpoint(b.id).fingerprint
        assert first.endpoint(a.id).products() == second.endpoint(b.id).products()
    other = make_fleet(seed=2)
    assert [c.id for c in other.computers] != [c.id for c in first.computers]


def test_the_same_seed_gives_the_same_digest_in_another_process(
    capsys: pytest.CaptureFixture[str],
) -> None:
    here = digest_here(capsys)
    assert here == digest_here(capsys)
    there = subprocess.run(
        [sys.executable, "-c", DIGEST_SCRIPT], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert there == here


def test_computers_are_named_addressed_and_in_the_workgroup() -> None:
    fleet = make_fleet(size=300)
    computers = fleet.computers
    assert len({c.id for c in computers}) == 300
    assert computers[0].name == "LAB-PC-0001" or computers[0].name == "LAB-SRV-0001"
    assert computers[255].address == "10.0.1.0"
    assert all(c.workgroup == "LAB" and c.domain is None for c in computers)
    assert all(c.name.endswith(f"-{i:04d}") for i, c in enumerate(computers, start=1))
    servers = sum("-SRV-" in c.name for c in computers)
    office = sum(
        any(p.family is ProductFamily.OFFICE for p in fleet.endpoint(c.id).products())
        for c in computers
    )
    assert 10 <= servers <= 55
    assert 60 <= office <= 130
    assert computers is not fleet.computers


@pytest.mark.parametrize(("office", "server"), [(1.5, 0.1), (0.3, -0.1), (True, 0.1)])
def test_shares_are_fractions(office: float, server: float) -> None:
    with pytest.raises(InvalidComponent):
        make_fleet(size=1, office_share=office, server_share=server)


def test_connect_finds_computers_by_id_then_name() -> None:
    fleet = make_fleet(size=5)
    computer = fleet.computers[2]
    assert fleet.connect(computer) is fleet.endpoint(computer.id)
    renamed_id = Computer(id="inventory-42", name=computer.name.lower())
    assert fleet.connect(renamed_id) is fleet.endpoint(computer.id)
    with pytest.raises(TransportError):
        fleet.connect(Computer(id="nope", name="NOWHERE"))
    fleet.endpoint(computer.id).unreachable = True
    with pytest.raises(TransportError):
        fleet.connect(computer)
    with pytest.raises(NotFound):
        fleet.endpoint("nope")


def test_discovery_by_name_ignores_case_and_accepts_addresses() -> None:
    fleet = make_fleet(size=10)
    found = list(fleet.find(ByName(("lab-pc-0003", "LAB-SRV-0003", "10.0.0.5", "ghost"))))
    names = [c.name for c in found]
    assert names[0].endswith("0003")
    assert [c.address for c in found] == ["10.0.0.3", "10.0.0.5"]


def test_discovery_by_address_range_and_network() -> None:
    fleet = make_fleet(size=300)
    assert [c.address for c in fleet.find(ByAddress("10.0.0.254-10.0.1.1"))] == [
        "10.0.0.254",
        "10.0.0.255",
        "10.0.1.0",
        "10.0.1.1",
    ]
    assert len(list(fleet.find(ByAddress("10.0.1.0/24")))) == 300 - 255
    assert list(fleet.find(ByAddress("192.168.0.0/24"))) == []


def test_discovery_by_workgroup_and_directory() -> None:
    fleet = make_fleet(size=20)
    assert list(fleet.find(ByWorkgroup("lab"))) == fleet.computers
    assert list(fleet.find(ByWorkgroup("OTHER"))) == []
    assert list(fleet.find(ByDirectory("corp.example.com"))) == []


def test_reimage_and_replace_hardware_through_the_fleet() -> None:
    service = SimulatedClearinghouse(seed=1)
    mak = service.issue_mak(limit=10, family=ProductFamily.WINDOWS_CLIENT)
    fleet = SimulatedFleet(3, 1, clearinghouse=service, clock=FakeClock(START), server_share=0)
    computer = fleet.computers[0]
    endpoint = fleet.connect(computer)
    aid = endpoint.install_product_key(mak)
    iid = endpoint.installation_id(aid)
    fleet.reimage(computer.id)
    assert endpoint.license_state(aid).status is LicenseStatus.UNLICENSED
    endpoint.install_product_key(mak)
    assert endpoint.installation_id(aid) == iid
    fleet.replace_hardware(computer.id)
    assert endpoint.installation_id(aid) != iid


def test_proxy_activation_by_hand_in_batches(capsys: pytest.CaptureFixture[str]) -> None:
    """The canonical scenario's service-side facts, without the use-case layer."""
    clock = FakeClock(START)
    service = SimulatedClearinghouse(seed=1)
    mak = service.issue_mak(limit=250, family=ProductFamily.WINDOWS_CLIENT)
    fleet = SimulatedFleet(size=200, seed=1, workgroup="LAB", clearinghouse=service, clock=clock)
    work: list[tuple[Computer, str, InstallationId]] = []
    for computer in fleet.find(ByWorkgroup("LAB")):
        endpoint = fleet.connect(computer)
        infos = endpoint.products()
        if infos[0].family is ProductFamily.WINDOWS_CLIENT:
            aid = endpoint.install_product_key(mak)
            work.append((computer, aid, endpoint.installation_id(aid)))
    cids: dict[InstallationId, ConfirmationId | None] = {}
    for start in range(0, len(work), 50):
        chunk = work[start : start + 50]
        results = service.acquire_confirmation_ids(
            [
                CidRequest(installation_id=iid, extended_pid=pid_of(fleet, c, aid))
                for c, aid, iid in chunk
            ]
        )
        assert all(r.ok for r in results)
        cids.update({r.installation_id: r.confirmation_id for r in results})
    for computer, aid, iid in work:
        cid = cids[iid]
        assert cid is not None
        fleet.connect(computer).deposit_confirmation_id(aid, iid, cid)
    assert service.pool(mak).used == len(work)
    assert sum(c.method == "acquire_confirmation_ids" for c in service.calls) == ceil(
        len(work) / 50
    )
    # Reimage 20 and reactivate locally: no new activation spent.
    for computer, aid, iid in work[:20]:
        fleet.reimage(computer.id)
        endpoint = fleet.connect(computer)
        endpoint.install_product_key(mak)
        assert endpoint.installation_id(aid) == iid
        cid = cids[iid]
        assert cid is not None
        endpoint.deposit_confirmation_id(aid, iid, cid)
        assert endpoint.license_state(aid).status is LicenseStatus.LICENSED
    assert service.pool(mak).used == len(work)
    capsys.readouterr()


def pid_of(fleet: SimulatedFleet, computer: Computer, aid: str) -> str:
    info = next(i for i in fleet.connect(computer).products() if i.activation_id == aid)
    assert info.extended_pid is not None
    return info.extended_pid
