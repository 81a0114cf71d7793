"""Tests for mak.slmgr: reading slmgr.vbs /dlv, /dli and /xpr output."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

from mak.errors import InvalidFormat
from mak.ids import InstallationId
from mak.lifecycle import KeyChannel, LicenseStatus
from mak.slmgr import (
    MAX_TEXT_CHARS,
    KmsClientInfo,
    KmsHostInfo,
    SlmgrExpiration,
    SlmgrProduct,
    parse_dli,
    parse_dlv,
    parse_xpr,
)

if TYPE_CHECKING:
    from collections.abc import Callable

FIXTURES = Path(__file__).parent / "fixtures" / "slmgr"
WINDOWS_APP = "55c92734-d682-4d71-983e-d6ec3f16059f"
OFFICE_APP = "0ff1ce16-a989-479d-af46-f275c6370663"
TRUSTED_TIME = "5/17/2025 9:41:07 AM"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


WIN11_PRO_KMS_CLIENT = SlmgrProduct(
    name="Windows(R), Professional edition",
    description="Windows(R) Operating System, VOLUME_KMSCLIENT channel",
    channel=KeyChannel.GVLK,
    activation_id="eef82b50-df42-494f-a338-d3743d297311",
    application_id=WINDOWS_APP,
    extended_pid="03612-03308-000-000001-03-1033-26100.0000-1352025",
    installation_id=InstallationId.parse(
        "325788123944547283690825206527703639851786872996083028228953115"
    ),
    partial_product_key="T83GX",
    license_status=LicenseStatus.LICENSED,
    expiration_minutes=259180,
    remaining_windows_rearm_count=1001,
    remaining_sku_rearm_count=1001,
    trusted_time=TRUSTED_TIME,
    kms_client=KmsClientInfo(
        cmid="e1a49142-a759-4871-89f1-ed7f3ab729bc",
        kms_machine_name="kms01.corp.example",
        kms_port=1688,
        kms_machine_name_source="dns",
        kms_ip_address="192.0.2.15",
        kms_extended_pid="06401-00206-551-000002-03-1033-17763.0000-0042025",
        activation_interval_minutes=120,
        renewal_interval_minutes=10080,
        host_caching_enabled=True,
    ),
    service_version="10.0.26100.1",
)

ENTERPRISE_MAK = SlmgrProduct(
    name="Windows(R), Enterprise edition",
    description="Windows(R) Operating System, VOLUME_MAK channel",
    channel=KeyChannel.MAK,
    activation_id="26af136d-049b-497a-b213-5a8d5e44fde6",  # printed upper-case
    application_id=WINDOWS_APP,
    extended_pid="03612-03380-000-000002-01-1033-22621.0000-0422025",
    installation_id=InstallationId.parse(
        "596112183816436831966731316574254612405124967584505406067409106"
    ),
    partial_product_key="QH7DP",
    license_status=LicenseStatus.LICENSED,
    remaining_windows_rearm_count=1001,
    remaining_sku_rearm_count=1001,
    trusted_time="17/05/2025 09:41:07",
    service_version="10.0.22631.4890",
)

OFFICE_KMS_HOST = SlmgrProduct(
    name="Office 21, Office21_KMSHostVL_KMS_Host edition",
    description="Office 21, VOLUME_KMS channel",
    channel=KeyChannel.CSVLK,
    activation_id="07a58f4a-1f13-4c24-bbf1-2d8877df4f85",
    application_id=OFFICE_APP,
    extended_pid="06401-04510-000-000003-03-1033-20348.0000-0682025",
    installation_id=InstallationId.parse(
        "227297505240522733146659119438871121589820646004088790418838066"
    ),
    partial_product_key="6F7TH",
    license_status=LicenseStatus.LICENSED,
    remaining_app_rearm_count=1000,
    remaining_sku_rearm_count=1000,
    trusted_time=TRUSTED_TIME,
    kms_host=KmsHostInfo(
        current_count=14,
        listening_port=1688,
        dns_publishing_enabled=True,
        low_priority=False,
        total_requests=352,
        failed_requests=3,
        unlicensed_requests=0,
        licensed_requests=301,
        oob_grace_requests=45,
        oot_grace_requests=2,
        non_genuine_grace_requests=0,
        notification_requests=1,
    ),
    service_version="10.0.20348.3207",
)

ALL_THREE = (
    SlmgrProduct(
        name="Windows(R), Professional edition",
        description="Windows(R) Operating System, RETAIL channel",
        channel=KeyChannel.RETAIL,
        activation_id="df870abd-259d-412c-bb3f-8504a0da2c8e",
        application_id=WINDOWS_APP,
        extended_pid="03612-03311-000-000004-00-1033-26100.0000-1352025",
        installation_id=InstallationId.parse(
            "023591036825869414111370830168093832512032784249415425733888973"
        ),
        partial_product_key="3V66T",
        license_status=LicenseStatus.LICENSED,
        remaining_windows_rearm_count=1001,
        remaining_sku_rearm_count=1001,
        trusted_time=TRUSTED_TIME,
        service_version="10.0.26100.1",
    ),
    SlmgrProduct(  # not in use: blank PID, channel and IID; channel from the description
        name="Windows(R), Professional edition",
        description="Windows(R) Operating System, OEM_DM channel",
        channel=KeyChannel.OEM,
        activation_id="aac8cb39-f736-4754-bfd1-286f09d9c01d",
        application_id=WINDOWS_APP,
        license_status=LicenseStatus.UNLICENSED,
        remaining_windows_rearm_count=1001,
        remaining_sku_rearm_count=1001,
        trusted_time=TRUSTED_TIME,
        service_version="10.0.26100.1",
    ),
    SlmgrProduct(  # AVMA: a channel mak does not model
        name="Windows(R), ServerDatacenter edition",
        description="Windows(R) Operating System, VIRTUAL_MACHINE_ACTIVATION channel",
        activation_id="22141424-1216-435e-bc71-5d6d3b546bc9",
        application_id=WINDOWS_APP,
        license_status=LicenseStatus.UNLICENSED,
        remaining_windows_rearm_count=1001,
        remaining_sku_rearm_count=1001,
        trusted_time=TRUSTED_TIME,
        service_version="10.0.26100.1",
    ),
)

WIN7_NOTIFICATION = SlmgrProduct(
    name="Windows(R) 7, Enterprise edition",
    description="Windows Operating System - Windows(R) 7, VOLUME_MAK channel",
    channel=KeyChannel.MAK,
    activation_id="6c1a9d33-5e2b-4f07-9a41-0b8e7d2c5f19",
    application_id=WINDOWS_APP,
    extended_pid="55041-00172-000-000006-03-1033-7601.0000-1412025",
    installation_id=InstallationId.parse("277280218764582495503840413265957031751362286773655033"),
    partial_product_key="9K4RW",
    license_status=LicenseStatus.NOTIFICATION,
    notification_reason=0xC004F009,
    remaining_windows_rearm_count=3,
    trusted_time=TRUSTED_TIME,
    service_version="6.1.7601.17514",
)

SERVER_REDACTED = SlmgrProduct(
    name="Windows(R), ServerStandard edition",
    description="Windows(R) Operating System, VOLUME_KMSCLIENT channel",
    channel=KeyChannel.GVLK,
    activation_id="c52d7a8e-34f1-4b9c-8e06-71a5d2f0b934",
    application_id=WINDOWS_APP,
    license_status=LicenseStatus.OOB_GRACE,
    grace_minutes=43200,
    remaining_windows_rearm_count=1000,
    remaining_sku_rearm_count=1000,
    service_version="10.0.20348.3207",
)

DLI_WIN11_PRO = SlmgrProduct(
    name="Windows(R), Professional edition",
    description="Windows(R) Operating System, VOLUME_KMSCLIENT channel",
    channel=KeyChannel.GVLK,
    partial_product_key="T83GX",
    license_status=LicenseStatus.LICENSED,
    expiration_minutes=128422,
    kms_client=KmsClientInfo(
        cmid="e142451a-cb49-4ee6-a2e9-3317f243cc83",
        kms_machine_name="kms02.corp.example",
        kms_port=1700,
        kms_machine_name_source="registered",
        kms_extended_pid="06401-00206-551-000005-03-1033-20348.0000-0682025",
        activation_interval_minutes=120,
        renewal_interval_minutes=10080,
        host_caching_enabled=False,
    ),
)

DLV_CASES = [
    ("dlv_win11_pro_kms_client.txt", (WIN11_PRO_KMS_CLIENT,)),
    ("dlv_enterprise_mak.txt", (ENTERPRISE_MAK,)),
    ("dlv_office_kms_host.txt", (OFFICE_KMS_HOST,)),
    ("dlv_all_three_products.txt", ALL_THREE),
    ("dlv_notification.txt", (WIN7_NOTIFICATION,)),
    ("dlv_removed_iid.txt", (SERVER_REDACTED,)),
]

XPR_CASES = [
    (
        "xpr_permanent.txt",
        SlmgrExpiration(
            "Windows(R), Enterprise edition",
            permanent=True,
            expires=None,
            message="Windows is Activated for the lifespan of your device.",
        ),
    ),
    (
        "xpr_volume.txt",
        SlmgrExpiration(
            "Windows(R), Professional edition",
            permanent=False,
            expires="11/13/2025 9:41:07 AM",
            message="Volume activation will expire 11/13/2025 9:41:07 AM",
        ),
    ),
    (
        "xpr_grace.txt",
        SlmgrExpiration(
            "Windows(R), ServerStandard edition",
            permanent=False,
            expires="6/16/2025 9:41:07 AM",
            message="Initial grace period ends 6/16/2025 9:41:07 AM",
        ),
    ),
]


@pytest.mark.parametrize(("name", "expected"), DLV_CASES)
def test_parse_dlv_reads_every_field(name: str, expected: tuple[SlmgrProduct, ...]) -> None:
    assert parse_dlv(fixture(name)) == expected


def test_parse_dli_leaves_what_dli_omits_as_none() -> None:
    assert parse_dli(fixture("dli_win11_pro_kms_client.txt")) == (DLI_WIN11_PRO,)


@pytest.mark.parametrize(("name", "expected"), DLV_CASES)
def test_crlf_line_endings_read_the_same(name: str, expected: tuple[SlmgrProduct, ...]) -> None:
    text = fixture(name).replace("\n", "\r\n")
    assert "\r\n" in text
    assert parse_dlv(text) == expected


@pytest.mark.parametrize(("name", "expected"), XPR_CASES)
def test_parse_xpr(name: str, expected: SlmgrExpiration) -> None:
    assert parse_xpr(fixture(name)) == (expected,)
    assert parse_xpr(fixture(name).replace("\n", "\r\n")) == (expected,)


@pytest.mark.parametrize(
    ("message", "permanent", "expires"),
    [
        ("The machine is permanently activated.", True, None),
        ("Additional grace period ends 7/1/2025 8:00:00 PM", False, "7/1/2025 8:00:00 PM"),
        ("Timebased activation will expire 2025-12-31 23:59:59", False, "2025-12-31 23:59:59"),
        ("Windows is in Notification mode", False, None),
        ("Unlicensed", False, None),
    ],
)
def test_parse_xpr_sentences(message: str, permanent: bool, expires: str | None) -> None:
    (expiration,) = parse_xpr(f"Windows(R), Education edition:\n    {message}\n")
    assert expiration == SlmgrExpiration(
        "Windows(R), Education edition", permanent=permanent, expires=expires, message=message
    )


def test_parse_xpr_keeps_several_products_in_order() -> None:
    text = "".join(fixture(name) for name, _ in XPR_CASES)
    assert parse_xpr(text) == tuple(expected for _, expected in XPR_CASES)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Notification Reason: 0xC004F009.", 0xC004F009),
        ("Notification Reason: 0xC004F009 (grace time expired).", 0xC004F009),
        ("Notification Reason: 0xC004F200 (non-genuine).", 0xC004F200),
        ("Notification Reason: 0x4004F00D.", 0x4004F00D),
        ("Notification Reason: .", None),
        ("Notification Reason: 0xNOTHEX.", None),
        ("Notification Reason: 0x1C004F0090.", None),
    ],
)
def test_notification_reason_is_an_unsigned_hresult(line: str, reason: int | None) -> None:
    (product,) = parse_dlv(f"Name: Windows(R), Enterprise edition\n{line}\n")
    assert product.notification_reason == reason


@pytest.mark.parametrize(
    ("channel_line", "description", "expected"),
    [
        ("", "Windows(R) Operating System, VOLUME_KMSCLIENT channel", KeyChannel.GVLK),
        ("", "Windows Operating System - Windows(R) 7, VOLUME_KMS_C channel", KeyChannel.CSVLK),
        ("", "Office 21, VOLUME_MAK_AE channel", KeyChannel.MAK),
        ("", "Windows(R) Operating System, RETAIL(Grace) channel", KeyChannel.RETAIL),
        ("", "Windows(R) Operating System, OEM_COA_NSLP channel", KeyChannel.OEM),
        ("", "Windows(R) Operating System, TIMEBASED_EVAL channel", None),
        (
            "Product Key Channel: Retail:TB:Eval",
            "Windows, TIMEBASED_EVAL channel",
            KeyChannel.RETAIL,
        ),
        ("Product Key Channel: Volume:MAK", "Windows, RETAIL channel", KeyChannel.MAK),
        ("Product Key Channel: Volume", "Windows, VOLUME_KMSCLIENT channel", KeyChannel.GVLK),
    ],
)
def test_channel_comes_from_product_key_channel_else_description(
    channel_line: str, description: str, expected: KeyChannel | None
) -> None:
    text = f"Name: Windows(R)\nDescription: {description}\n{channel_line}\n"
    (product,) = parse_dlv(text)
    assert product.channel is expected


def test_malformed_installation_id_becomes_none_and_the_rest_is_kept() -> None:
    good = "325788123944547283690825206527703639851786872996083028228953115"
    text = fixture("dlv_win11_pro_kms_client.txt")
    assert good in text
    bad = good[:-1] + "6"  # breaks group 9's check digit
    (product,) = parse_dlv(text.replace(good, bad))
    assert product == attrs.evolve(WIN11_PRO_KMS_CLIENT, installation_id=None)


def test_a_second_header_applies_to_the_products_after_it() -> None:
    text = fixture("dlv_enterprise_mak.txt") + fixture("dlv_win11_pro_kms_client.txt")
    assert parse_dlv(text) == (ENTERPRISE_MAK, WIN11_PRO_KMS_CLIENT)


def test_unrecognised_values_become_none() -> None:
    text = (
        "Name: Windows(R), Enterprise edition\n"
        "Activation ID: not-a-guid\n"
        "Partial Product Key: AAAAA\n"
        "License Status: Unknown\n"
        "Remaining SKU rearm count: many\n"
        "KMS priority: Urgent\n"
    )
    (product,) = parse_dlv(text)
    assert product == SlmgrProduct(name="Windows(R), Enterprise edition", kms_host=KmsHostInfo())


def test_an_ipv6_kms_machine_keeps_its_brackets() -> None:
    text = (
        "Name: Windows(R), Enterprise edition\n"
        "Key Management Service client information\n"
        "    Registered KMS machine name: [2001:db8::15]:1688\n"
    )
    (product,) = parse_dlv(text)
    assert product.kms_client == KmsClientInfo(
        kms_machine_name="[2001:db8::15]", kms_port=1688, kms_machine_name_source="registered"
    )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            "DNS publishing disabled\nKMS priority: Low",
            KmsHostInfo(dns_publishing_enabled=False, low_priority=True),
        ),
        (
            "DNS publishing enabled\nKMS priority: Normal",
            KmsHostInfo(dns_publishing_enabled=True, low_priority=False),
        ),
    ],
)
def test_kms_host_switches(lines: str, expected: KmsHostInfo) -> None:
    text = f"Name: Windows(R), ServerStandard edition\n{lines}\n"
    (product,) = parse_dlv(text)
    assert product.kms_host == expected


NOISE = (hashlib.sha256(b"mak").digest() * 128).decode("latin-1")
GARBAGE = [
    ("", ""),
    ("hello", "hello"),
    (" \r\n\t\n", ""),
    ("Error: product key not found.", "Error: product key not found."),
    (
        "Software licensing service version: 10.0.26100.1\n",
        "Software licensing service version: 10.0...",
    ),
    ("    Current count: 5\n", "Current count: 5"),
    (NOISE, NOISE.strip()[:40] + "..."),
]
PARSERS = [parse_dlv, parse_dli, parse_xpr]


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize(("text", "shown"), GARBAGE)
def test_text_without_a_product_raises_invalid_format(
    parse: Callable[[object], tuple[object, ...]], text: str, shown: str
) -> None:
    with pytest.raises(InvalidFormat) as caught:
        parse(text)
    assert caught.value.kind == "slmgr output"
    assert caught.value.reason == "no product found"
    assert caught.value.text == shown


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize(
    ("value", "type_name"), [(None, "NoneType"), (42, "int"), (b"Name: x", "bytes")]
)
def test_non_strings_raise_invalid_format(
    parse: Callable[[object], tuple[object, ...]], value: object, type_name: str
) -> None:
    with pytest.raises(InvalidFormat) as caught:
        parse(value)
    assert caught.value.text == f"<{type_name}>"
    assert caught.value.reason == f"expected a string, got {type_name}"


def test_a_long_error_shows_only_the_start_of_the_input() -> None:
    with pytest.raises(InvalidFormat) as caught:
        parse_dlv("x" * 10_000)
    assert caught.value.text == "x" * 40 + "..."


@pytest.mark.parametrize(
    ("text", "expected_products"),
    [
        (fixture("dlv_all_three_products.txt") * 700, 2100),
        ("Name: " + "a: " * 350_000, 1),
    ],
)
def test_a_megabyte_parses_in_linear_time(text: str, expected_products: int) -> None:
    assert len(text) >= 1_000_000
    start = time.perf_counter()
    products = parse_dlv(text)
    assert time.perf_counter() - start < 5.0
    assert len(products) == expected_products


@pytest.mark.parametrize("parse", PARSERS)
def test_text_longer_than_slmgr_prints_is_refused_before_it_is_read(
    parse: Callable[[object], tuple[object, ...]],
) -> None:
    text = "Name: x\n" * (MAX_TEXT_CHARS // 8 + 1)  # a quarter of a million products
    with pytest.raises(InvalidFormat) as caught:
        parse(text)
    assert caught.value.text == ("Name: x\n" * 5).strip() + "..."  # only the start is quoted
    assert caught.value.reason == f"longer than {MAX_TEXT_CHARS} characters; slmgr prints far less"
    at_the_limit = "Name: x".ljust(MAX_TEXT_CHARS)
    assert len(parse_dlv(at_the_limit)) == 1
    with pytest.raises(InvalidFormat, match="longer than"):
        parse(at_the_limit + " ")
