"""mak.serialization: string forms at the edge, strict on the way in, our errors out."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs
import cattrs
import pytest

from mak.codes import ActivationCode, lookup
from mak.errors import InvalidFormat
from mak.ids import ConfirmationId, InstallationId
from mak.keys import ProductKey
from mak.lifecycle import KeyChannel, LicenseStatus
from mak.serialization import configure_converter, make_converter
from mak.slmgr import SlmgrProduct

KEY = "W269N-WFGWX-YVC9B-4J6C9-T83GX"
UTC = dt.timezone.utc


@attrs.frozen
class Record:
    key: ProductKey
    installation_id: InstallationId | None
    confirmation_id: ConfirmationId
    status: LicenseStatus
    channel: KeyChannel
    code: ActivationCode
    at: dt.datetime
    count: int
    note: str = ""


def record() -> Record:
    return Record(
        key=ProductKey.parse(KEY),
        installation_id=InstallationId.parse("1234565" * 9),
        confirmation_id=ConfirmationId.parse("123450" * 8),
        status=LicenseStatus.OOB_GRACE,
        channel=KeyChannel.GVLK,
        code=lookup(0xC004F038),
        at=dt.datetime(2026, 1, 5, 12, 30, tzinfo=UTC),
        count=3,
    )


def test_value_objects_travel_as_their_string_forms() -> None:
    data = make_converter().unstructure(record())
    assert data == {
        "key": KEY,
        "installation_id": "-".join(["1234565"] * 9),
        "confirmation_id": "-".join(["123450"] * 8),
        "status": 2,
        "channel": "Volume:GVLK",
        "code": "0xC004F038",
        "at": "2026-01-05T12:30:00+00:00",
        "count": 3,
        "note": "",
    }


def test_round_trip() -> None:
    converter = make_converter()
    original = record()
    assert converter.structure(converter.unstructure(original), Record) == original


def test_slmgr_records_round_trip() -> None:
    converter = make_converter()
    product = SlmgrProduct(
        name="Windows(R), Professional edition",
        license_status=LicenseStatus.LICENSED,
        channel=KeyChannel.MAK,
        installation_id=InstallationId.parse("1234565" * 9),
    )
    assert converter.structure(converter.unstructure(product), SlmgrProduct) == product


def test_datetimes_come_back_in_utc_and_accept_z() -> None:
    converter = make_converter()
    east = dt.timezone(dt.timedelta(hours=2))
    assert converter.structure("2026-01-05T14:30:00+02:00", dt.datetime) == dt.datetime(
        2026, 1, 5, 12, 30, tzinfo=UTC
    )
    assert converter.structure("2026-01-05T12:30:00Z", dt.datetime).tzinfo == UTC
    assert converter.unstructure(dt.datetime(2026, 1, 5, 14, 30, tzinfo=east)) == (
        "2026-01-05T12:30:00+00:00"
    )


def test_naive_datetimes_are_refused_both_ways() -> None:
    converter = make_converter()
    with pytest.raises(InvalidFormat, match="has no UTC offset"):
        converter.structure("2026-01-05T12:30:00", dt.datetime)
    with pytest.raises(InvalidFormat, match="naive"):
        converter.unstructure(dt.datetime(2026, 1, 5))  # noqa: DTZ001  # the point


def field_error(field: str, value: Any) -> str:
    data = make_converter().unstructure(record())
    data[field] = value
    with pytest.raises(InvalidFormat) as info:
        make_converter().structure(data, Record)
    error = info.value
    assert error.kind == "Record data"
    assert error.text == f"$.{field}"
    return error.reason


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("count", "3", "expected int, got str"),
        ("count", True, "expected int, got bool"),
        ("count", 3.0, "expected int, got float"),
        ("note", 5, "expected str, got int"),
        ("status", True, "expected int, got bool"),
        ("status", "2", "expected int, got str"),
        ("status", 9, "9 is not a LicenseStatus"),
        ("channel", "Volume:XYZ", "'Volume:XYZ' is not a KeyChannel"),
        ("code", 1.5, "expected a hex string or an int, got float"),
        ("code", "zz", "Invalid activation code"),
        ("at", 1700000000, "expected an ISO 8601 string, got int"),
        ("at", "yesterday", "not an ISO 8601 date and time"),
        ("installation_id", "12", "has 2 digits"),
        ("confirmation_id", "12345" * 8, "has 40 digits"),
    ],
)
def test_bad_fields_name_their_path(field: str, value: object, reason: str) -> None:
    assert reason in field_error(field, value)


def test_a_bad_key_is_reported_masked() -> None:
    reason = field_error("key", "W269N-WFGWX-YVC9B-4J6C9-T83GY")
    assert "checksum does not match" in reason
    assert "XXXXX-XXXXX-XXXXX-XXXXX-T83GY" in reason
    assert "W269N" not in reason


def test_extra_and_missing_fields_are_refused() -> None:
    converter = make_converter()
    data = converter.unstructure(record())
    with pytest.raises(InvalidFormat, match=r"extra fields: surprise"):
        converter.structure({**data, "surprise": 1}, Record)
    del data["count"]
    with pytest.raises(InvalidFormat, match=r"'\$\.count' \(required field missing\)"):
        converter.structure(data, Record)


def test_several_errors_are_counted() -> None:
    data = make_converter().unstructure(record())
    with pytest.raises(InvalidFormat, match="and 1 more"):
        make_converter().structure({**data, "count": "x", "note": 1}, Record)


@pytest.mark.parametrize("document", ["text", [1, 2], 42, None])
def test_a_document_that_is_not_an_object_is_refused(document: object) -> None:
    with pytest.raises(InvalidFormat, match=r"Invalid Record data: '\$' \(expected an object"):
        make_converter().structure(document, Record)


def test_top_level_leaf_errors_are_mak_errors() -> None:
    with pytest.raises(InvalidFormat, match="Invalid ProductKey data"):
        make_converter().structure(12345, ProductKey)


def test_each_call_gets_its_own_converter() -> None:
    assert make_converter() is not make_converter()
    assert cattrs.global_converter.structure("5", int) == 5  # untouched by mak


def test_configure_converter_adds_mak_types_to_a_callers_converter() -> None:
    converter = cattrs.Converter()
    configure_converter(converter)
    assert converter.unstructure(ProductKey.parse(KEY)) == KEY
    assert converter.structure("0xC004C020", ActivationCode).symbol.endswith("LIMIT_EXCEEDED")


def test_a_cid_accepted_without_its_check_digits_survives_storage() -> None:
    converter = make_converter()
    cid = ConfirmationId.parse("123451" * 8, check_digits=False)
    assert converter.structure(converter.unstructure(cid), ConfirmationId) == cid


def test_errors_carry_every_problem_in_details_and_no_cattrs_chain() -> None:
    data = make_converter().unstructure(record())
    with pytest.raises(InvalidFormat) as info:
        make_converter().structure({**data, "count": "x", "note": 1}, Record)
    assert len(info.value.details) == 2
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


def test_a_key_in_a_path_or_a_value_is_masked() -> None:
    converter = make_converter()
    with pytest.raises(InvalidFormat) as info:
        converter.structure({KEY: "x"}, dict[str, int])
    assert "WFGWX" not in str(info.value)
    assert all("WFGWX" not in line for line in info.value.details)
    data = converter.unstructure(record())
    with pytest.raises(InvalidFormat) as info:
        converter.structure({**data, "channel": KEY}, Record)
    assert "WFGWX" not in str(info.value)


def test_durations_travel_as_seconds_and_uuids_as_strings() -> None:
    converter = make_converter()
    assert converter.unstructure(dt.timedelta(minutes=2)) == 120
    assert converter.unstructure(dt.timedelta(milliseconds=1500)) == 1.5
    assert converter.structure(120, dt.timedelta) == dt.timedelta(minutes=2)
    cmid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert converter.unstructure(cmid) == str(cmid)
    assert converter.structure(str(cmid), uuid.UUID) == cmid


@pytest.mark.parametrize(
    ("value", "cls", "fragment"),
    [
        ("120", dt.timedelta, "expected a number of seconds, got str"),
        (True, dt.timedelta, "expected a number of seconds, got bool"),
        (10**20, dt.timedelta, "out of range"),
        ("not-a-uuid", uuid.UUID, "not a UUID"),
        (5, uuid.UUID, "expected a UUID string, got int"),
    ],
)
def test_bad_durations_and_uuids_are_refused(value: object, cls: type, fragment: str) -> None:
    with pytest.raises(InvalidFormat, match=fragment):
        make_converter().structure(value, cls)


def test_an_extra_field_name_that_is_not_printable_is_quoted_escaped() -> None:
    # A line break in a hostile document's field name must not start a line in a log.
    converter = make_converter()
    data = converter.unstructure(record())
    with pytest.raises(InvalidFormat) as caught:
        converter.structure({**data, "\nmak: ok": 2}, Record)
    assert "\n" not in str(caught.value)
    assert "extra fields: '\\nmak: ok'" in str(caught.value)
