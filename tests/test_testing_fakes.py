"""The ActivationService and ComputerEndpoint contract suites, run against minimal fakes.

The simulated clearinghouse and computers (mak.simulation) will be the first real
implementations; until then these dict-based fakes keep both suites exercised, and show
what an adapter needs to pass them.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import TYPE_CHECKING

import pytest

from mak.catalog import ProductFamily
from mak.codes import CID_IID_MISMATCH, MAK_LIMIT_EXCEEDED, lookup
from mak.errors import NotFound, ServiceRejected
from mak.ids import ConfirmationId, InstallationId
from mak.lifecycle import (
    Activated,
    ActivationMethod,
    KeyChannel,
    KeyInstalled,
    LicenseState,
    LicenseStatus,
    step,
)
from mak.ports import CidRequest, CidResult, ProductInfo
from mak.testing import (
    ActivationServiceContract,
    ComputerEndpointContract,
    make_activation_id,
    make_installation_id,
    make_key,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mak.keys import ProductKey
    from mak.kms import KmsEndpoint
    from mak.ports import ActivationService, ComputerEndpoint

NOW = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
MAK_PID = "03612-03311-000-000001-03-1033-26100.0000-0012026"
BLOCKED_PID = "03612-03311-000-000002-03-1033-26100.0000-0012026"
KEY_BLOCKED = 0xC004C003


def check_digit(data: str) -> int:
    """The group check digit: (d1 + 2*d2 + d3 + 2*d4 + d5) mod 7, and so on."""
    return sum(int(d) * (2 if i % 2 else 1) for i, d in enumerate(data)) % 7


def mint_cid(n: int) -> ConfirmationId:
    """A fake 48-digit CID whose every group passes the check-digit rule."""
    groups = [f"{(n * 7_919 + g * 104_729) % 100_000:05d}" for g in range(8)]
    return ConfirmationId("".join(g + str(check_digit(g)) for g in groups))


class FakeClearinghouse:
    """A dict-based ActivationService for one MAK: one CID per IID, one charge per IID."""

    def __init__(self, mak: ProductKey, *, limit: int) -> None:
        self.mak = mak
        self.limit = limit
        self.issued: dict[InstallationId, ConfirmationId] = {}
        self.blocked_pids = {BLOCKED_PID}

    def acquire_confirmation_ids(self, requests: Sequence[CidRequest], /) -> list[CidResult]:
        return [self._answer(request) for request in requests]

    def _answer(self, request: CidRequest) -> CidResult:
        iid = request.installation_id
        if request.extended_pid in self.blocked_pids:
            return CidResult(installation_id=iid, code=lookup(KEY_BLOCKED))
        if iid not in self.issued:
            if len(self.issued) >= self.limit:
                return CidResult(installation_id=iid, code=lookup(MAK_LIMIT_EXCEEDED))
            self.issued[iid] = mint_cid(len(self.issued) + 1)
        return CidResult(installation_id=iid, confirmation_id=self.issued[iid])

    def remaining_activations(self, key: ProductKey, /) -> int:
        if key != self.mak:
            raise ServiceRejected("not a MAK this service knows", code=0xC004C004)
        return self.limit - len(self.issued)


WINDOWS = make_activation_id(1)
OFFICE = make_activation_id(2)


class FakeComputer:
    """A dict-based ComputerEndpoint with a Windows product (takes keys) and an Office one."""

    def __init__(self, hardware: str = "hw-1") -> None:
        self.hardware = hardware
        self.states = {WINDOWS: LicenseState.new(), OFFICE: LicenseState.new()}
        self.kms: KmsEndpoint | None = None

    def products(self) -> list[ProductInfo]:
        return [
            ProductInfo(
                activation_id=WINDOWS,
                name="Windows(R), Professional edition",
                family=ProductFamily.WINDOWS_CLIENT,
                license_state=self.states[WINDOWS],
            ),
            ProductInfo(
                activation_id=OFFICE,
                name="Office 24, ProPlus2024Volume edition",
                family=ProductFamily.OFFICE,
                license_state=self.states[OFFICE],
            ),
        ]

    def install_product_key(self, key: ProductKey, /) -> str:
        self.states[WINDOWS] = step(
            self.states[WINDOWS], KeyInstalled(key, KeyChannel.MAK), now=NOW
        )
        return WINDOWS

    def installation_id(self, activation_id: str, /) -> InstallationId:
        state = self._state(activation_id)
        seed = zlib.crc32(f"{self.hardware}:{state.partial_key}".encode())
        return make_installation_id(seed % 10**6)

    def deposit_confirmation_id(
        self,
        activation_id: str,
        installation_id: InstallationId,
        confirmation_id: ConfirmationId,
        /,
    ) -> None:
        state = self._state(activation_id)
        if installation_id != self.installation_id(activation_id):
            raise ServiceRejected("the CID is for another IID", code=CID_IID_MISMATCH)
        ConfirmationId.parse(str(confirmation_id))  # a fake CID must check out
        self.states[activation_id] = step(
            state, Activated(ActivationMethod.MAK_PROXY, at=NOW), now=NOW
        )

    def activate(self, activation_id: str, /) -> None:
        state = self._state(activation_id)
        self.states[activation_id] = step(
            state, Activated(ActivationMethod.MAK_INDEPENDENT, at=NOW), now=NOW
        )

    def license_state(self, activation_id: str, /) -> LicenseState:
        return self._state(activation_id)

    def set_kms_endpoint(self, endpoint: KmsEndpoint | None, /) -> None:
        self.kms = endpoint

    def _state(self, activation_id: str) -> LicenseState:
        if activation_id not in self.states:
            raise NotFound("product", activation_id)
        return self.states[activation_id]


service_port: ActivationService = FakeClearinghouse(make_key(3), limit=1)  # typing smoke test
endpoint_port: ComputerEndpoint = FakeComputer()  # typing smoke test


class TestFakeClearinghouse(ActivationServiceContract):
    """The ActivationService contract, run against the fake clearinghouse."""

    @pytest.fixture
    def mak_key(self) -> ProductKey:
        """The fake's MAK."""
        return make_key(3)

    @pytest.fixture
    def service(self, mak_key: ProductKey) -> FakeClearinghouse:
        """A fake clearinghouse with room for ten activations."""
        return FakeClearinghouse(mak_key, limit=10)

    @pytest.fixture
    def cid_requests(self) -> list[CidRequest]:
        """Three requests for the fake's MAK."""
        return [
            CidRequest(installation_id=make_installation_id(n), extended_pid=MAK_PID)
            for n in (1, 2, 3)
        ]

    @pytest.fixture
    def refused_request(self) -> CidRequest:
        """A request for a blocked key."""
        return CidRequest(installation_id=make_installation_id(9), extended_pid=BLOCKED_PID)


class TestFakeComputer(ComputerEndpointContract):
    """The ComputerEndpoint contract, run against the fake computer."""

    @pytest.fixture
    def endpoint(self) -> FakeComputer:
        """A fake computer with nothing installed."""
        return FakeComputer()

    @pytest.fixture
    def product_key(self) -> ProductKey:
        """A MAK-like key the fake accepts."""
        return make_key(3)


def test_minted_cids_pass_the_check_digit_rule() -> None:
    for n in range(1, 200):
        cid = mint_cid(n)
        assert ConfirmationId.parse(str(cid)) == cid


def test_the_fake_service_charges_each_iid_once_and_refuses_beyond_its_limit() -> None:
    service = FakeClearinghouse(make_key(3), limit=2)
    requests = [
        CidRequest(installation_id=make_installation_id(n), extended_pid=MAK_PID)
        for n in (1, 2, 1, 3)
    ]
    results = service.acquire_confirmation_ids(requests)
    assert [r.ok for r in results] == [True, True, True, False]
    assert results[3].code == lookup(MAK_LIMIT_EXCEEDED)
    assert service.remaining_activations(make_key(3)) == 0


def test_the_fake_service_refuses_to_count_an_unknown_key() -> None:
    with pytest.raises(ServiceRejected):
        FakeClearinghouse(make_key(3), limit=2).remaining_activations(make_key(4))


def test_proxy_activation_between_the_fakes_licenses_the_product() -> None:
    service = FakeClearinghouse(make_key(3), limit=5)
    computer = FakeComputer()
    activation_id = computer.install_product_key(make_key(3))
    iid = computer.installation_id(activation_id)
    request = CidRequest(installation_id=iid, extended_pid=MAK_PID)
    (result,) = service.acquire_confirmation_ids([request])
    assert result.confirmation_id is not None
    computer.deposit_confirmation_id(activation_id, iid, result.confirmation_id)
    assert computer.license_state(activation_id).status is LicenseStatus.LICENSED
