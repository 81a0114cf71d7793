"""mak.ports (issue 5): the clearinghouse's value objects, ProductInfo, and the protocols."""

from __future__ import annotations

import inspect
import re
from typing import Any

import attrs
import pytest

from mak.catalog import ProductFamily
from mak.codes import lookup
from mak.errors import InvalidComponent, InvalidFormat, ValidationError
from mak.ids import ConfirmationId, InstallationId
from mak.lifecycle import KeyChannel, LicenseState, LicenseStatus
from mak.ports import (
    ActivationService,
    CidRequest,
    CidResult,
    Clock,
    ComputerEndpoint,
    Discovery,
    EndpointConnector,
    Inventory,
    ProductInfo,
)
from mak.serialization import make_converter

KEY = "W269N-WFGWX-YVC9B-4J6C9-T83GX"
GUID = "b92e9980-b9d5-4821-9c94-140f632f6312"
IID = InstallationId.parse("1234565" * 9)
CID = ConfirmationId.parse("123450" * 8)
EXTENDED_PID = "03612-03311-000-000001-03-1033-26100.0000-0012026"


def invalid(kind: str) -> str:
    """A pattern for an error message that names *kind*, the field that was refused."""
    return f"^Invalid {re.escape(kind)}: "


# --- CidRequest -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extended_pid",
    [EXTENDED_PID, "00000-00000-000-000000-00-1033-9200.0000-0000000", "x", "x" * 128],
)
def test_valid_cid_requests(extended_pid: str) -> None:
    request = CidRequest(installation_id=IID, extended_pid=extended_pid)
    assert (request.installation_id, request.extended_pid) == (IID, extended_pid)


@pytest.mark.parametrize(
    "extended_pid",
    ["", "   ", "x" * 129, "03612-03311-000-000001-03-1033-26100.0000-001202\u00e9", None, 42],
    ids=["empty", "blank", "too-long", "not-ascii", "none", "int"],
)
def test_invalid_extended_pids(extended_pid: Any) -> None:
    with pytest.raises(InvalidFormat, match=invalid("extended PID")):
        CidRequest(installation_id=IID, extended_pid=extended_pid)


def test_a_key_given_as_an_extended_pid_is_masked_in_the_error() -> None:
    with pytest.raises(InvalidFormat, match=invalid("extended PID")) as caught:
        CidRequest(installation_id=IID, extended_pid=f"{KEY} " * 6)
    assert "W269N" not in str(caught.value)


@pytest.mark.parametrize("extended_pid", [f"{EXTENDED_PID}\n", f"{EXTENDED_PID}\x00"])
def test_an_extended_pid_is_printable(extended_pid: str) -> None:
    with pytest.raises(InvalidFormat, match=invalid("extended PID")):
        CidRequest(installation_id=IID, extended_pid=extended_pid)


def test_a_cid_request_needs_an_installation_id() -> None:
    with pytest.raises(InvalidFormat, match="installation id"):
        CidRequest(installation_id=str(IID), extended_pid=EXTENDED_PID)  # type: ignore[arg-type]  # the point of the test


def test_a_cid_request_takes_keywords_only() -> None:
    with pytest.raises(TypeError):
        CidRequest(IID, EXTENDED_PID)  # type: ignore[call-arg]  # the point of the test


# --- CidResult --------------------------------------------------------------------------


def test_a_result_with_a_confirmation_id_is_ok() -> None:
    result = CidResult(installation_id=IID, confirmation_id=CID)
    assert result.ok
    assert (result.confirmation_id, result.code) == (CID, None)


def test_a_refusal_carries_its_code() -> None:
    result = CidResult(installation_id=IID, code=lookup(0xC004C020))
    assert not result.ok
    assert result.confirmation_id is None
    assert result.code is not None
    assert result.code.value == 0xC004C020


@pytest.mark.parametrize(
    "changes",
    [{}, {"confirmation_id": CID, "code": lookup(0xC004C020)}],
    ids=["neither", "both"],
)
def test_a_result_carries_exactly_one_of_cid_and_code(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidComponent, match=invalid("CID result")) as caught:
        CidResult(installation_id=IID, **changes)
    assert "a confirmation ID or a code" in str(caught.value)
    assert str(IID) in str(caught.value)


def test_a_cid_result_takes_only_a_confirmation_id_as_one() -> None:
    with pytest.raises(InvalidFormat, match="confirmation id"):
        CidResult(installation_id=IID, confirmation_id=str(CID))  # type: ignore[arg-type]  # the point of the test


def test_a_cid_result_needs_an_installation_id() -> None:
    with pytest.raises(InvalidFormat, match="installation id"):
        CidResult(installation_id=None, confirmation_id=CID)  # type: ignore[arg-type]  # the point of the test


# --- ProductInfo ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        LicenseState.new(),
        LicenseState(status=LicenseStatus.LICENSED, channel=KeyChannel.MAK, partial_key="T83GX"),
    ],
)
def test_product_info_status_comes_from_its_license_state(state: LicenseState) -> None:
    info = ProductInfo(
        activation_id=GUID,
        name="Windows(R), Professional edition",
        family=ProductFamily.WINDOWS_CLIENT,
        license_state=state,
        extended_pid=EXTENDED_PID,
    )
    assert info.status is state.status


def test_product_info_of_an_unknown_family() -> None:
    info = ProductInfo(
        activation_id=GUID, name="Other app", family=None, license_state=LicenseState.new()
    )
    assert (info.family, info.extended_pid) == (None, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [("activation_id", None), ("name", 42), ("license_state", LicenseStatus.LICENSED)],
)
def test_product_info_refuses_fields_of_the_wrong_type(field: str, value: object) -> None:
    fields: dict[str, Any] = {
        "activation_id": GUID,
        "name": "Windows",
        "family": None,
        "license_state": LicenseState.new(),
    }
    changed: dict[str, Any] = {**fields, field: value}
    with pytest.raises(InvalidFormat, match=field.replace("_", " ")):
        ProductInfo(**changed)


@pytest.mark.parametrize(
    ("field", "value"),
    [("activation_id", GUID.upper()), ("activation_id", "not a guid"), ("name", "")],
)
def test_product_info_is_checked_as_product_is(field: str, value: str) -> None:
    fields: dict[str, Any] = {
        "activation_id": GUID,
        "name": "Windows",
        "family": None,
        "license_state": LicenseState.new(),
    }
    changed: dict[str, Any] = {**fields, field: value}
    with pytest.raises(ValidationError):
        ProductInfo(**changed)


# --- serialization ----------------------------------------------------------------------

VALUES: list[object] = [
    CidRequest(installation_id=IID, extended_pid=EXTENDED_PID),
    CidResult(installation_id=IID, confirmation_id=CID),
    CidResult(installation_id=IID, code=lookup(0xC004C020)),
    CidResult(installation_id=IID, code=lookup(0x7F)),
    ProductInfo(
        activation_id=GUID,
        name="Windows(R), Professional edition",
        family=ProductFamily.WINDOWS_CLIENT,
        license_state=LicenseState(
            status=LicenseStatus.LICENSED, channel=KeyChannel.MAK, partial_key="T83GX"
        ),
        extended_pid=EXTENDED_PID,
    ),
    ProductInfo(activation_id=GUID, name="Other", family=None, license_state=LicenseState.new()),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda value: type(value).__name__)
def test_values_round_trip_through_the_converter(value: object) -> None:
    converter = make_converter()
    assert converter.structure(converter.unstructure(value), type(value)) == value


def test_a_cid_result_travels_as_strings() -> None:
    data = make_converter().unstructure(CidResult(installation_id=IID, code=lookup(0xC004C020)))
    assert data == {"installation_id": str(IID), "confirmation_id": None, "code": "0xC004C020"}


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (CidResult, {"installation_id": str(IID)}),
        (CidResult, {"installation_id": str(IID), "confirmation_id": str(CID), "code": 0x7F}),
        (CidRequest, {"installation_id": str(IID), "extended_pid": ""}),
        (CidRequest, {"installation_id": "12345", "extended_pid": EXTENDED_PID}),
        (CidRequest, {"installation_id": str(IID), "extended_pid": EXTENDED_PID, "key": KEY}),
    ],
)
def test_bad_documents_raise_our_error(cls: type, data: dict[str, Any]) -> None:
    with pytest.raises(InvalidFormat, match=invalid(f"{cls.__name__} data")) as caught:
        make_converter().structure(data, cls)
    assert "W269N" not in f"{caught.value} {caught.value.details}"


@pytest.mark.parametrize("value", VALUES, ids=lambda value: type(value).__name__)
def test_values_are_frozen(value: attrs.AttrsInstance) -> None:
    field = attrs.fields(type(value))[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(value, field, getattr(value, field))


# --- the protocols ----------------------------------------------------------------------

PORTS: dict[type, set[str]] = {
    ActivationService: {"acquire_confirmation_ids", "remaining_activations"},
    ComputerEndpoint: {
        "products",
        "install_product_key",
        "installation_id",
        "deposit_confirmation_id",
        "activate",
        "license_state",
        "set_kms_endpoint",
    },
    EndpointConnector: {"connect"},
    Discovery: {"find"},
    Clock: {"now"},
    Inventory: {
        "add_computer",
        "update_computer",
        "computer",
        "computers",
        "add_product",
        "update_product",
        "product",
        "products",
        "add_key",
        "update_key",
        "key",
        "keys",
        "add_confirmation",
        "find_confirmation",
        "confirmations",
        "record",
        "history",
        "transaction",
    },
}


def _methods(port: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in vars(port).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


@pytest.mark.parametrize("port", PORTS, ids=lambda port: port.__name__)
def test_each_port_has_the_methods_of_the_design(port: type) -> None:
    assert set(_methods(port)) == PORTS[port]


@pytest.mark.parametrize("port", PORTS, ids=lambda port: port.__name__)
def test_each_port_and_method_says_what_it_does(port: type) -> None:
    assert inspect.getdoc(port)
    for name, method in _methods(port).items():
        assert inspect.getdoc(method), f"{port.__name__}.{name}"


@pytest.mark.parametrize("port", PORTS, ids=lambda port: port.__name__)
def test_ports_are_not_runtime_checkable(port: type) -> None:
    # mak never asks isinstance() of a port: adapters conform by shape, checked statically.
    with pytest.raises(TypeError):
        isinstance(object(), port)


def test_ports_take_their_arguments_by_position_and_filters_by_keyword() -> None:
    kinds = {
        parameter.kind
        for port in PORTS
        for method in _methods(port).values()
        for parameter in list(inspect.signature(method).parameters.values())[1:]
    }
    assert kinds == {inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.KEYWORD_ONLY}
