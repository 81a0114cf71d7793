"""Fuzzing the text parsers: keys, IDs, codes, KMS endpoints and slmgr output.

Each parser gets a mix of valid input, valid input damaged by one to three mutations (a
character changed, inserted, dropped or doubled; the text cut short, repeated, wrapped in
odd blanks; its separators swapped for look-alike dashes), arbitrary text with every kind
of Unicode character (lone surrogates, look-alike digits and letters, zero-width and
line-breaking characters), decoded arbitrary bytes, and things that are not strings. The
properties: only a :class:`~mak.errors.ValidationError` escapes (the ``attempt`` fixture
enforces it and counts every call); whatever is accepted is canonical and parses back to
itself; ``is_valid`` agrees with ``parse``.

Examples per test: ``MAK_FUZZ_EXAMPLES`` (see ``conftest.py``). Run by the ``property``
nox session at CI's count and by the ``fuzz`` session at 100,000.
"""

from __future__ import annotations

import ipaddress
import re
import string
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mak import codes, ids, keys
from mak.ids import ConfirmationId, InstallationId
from mak.keys import ProductKey
from mak.kms import KmsEndpoint, srv_record
from mak.lifecycle import KeyChannel, LicenseStatus
from mak.slmgr import (
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

pytestmark = pytest.mark.property

FUZZ = settings.get_profile("mak-fuzz")
HEAVY = settings.get_profile("mak-fuzz-heavy")
T = TypeVar("T")


class Attempt(Protocol):
    """The ``attempt`` fixture of conftest.py: calls a parser, lets only refusals through."""

    def __call__(self, parser: str, parse: Callable[[], T]) -> T | None: ...


# --- hostile material ----------------------------------------------------------------------

# Characters that look like, case-map into, or hide between the symbols parsers look for.
LOOKALIKES = (
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"  # dashes and minus signs
    "\u00a0\u2007\u202f\u3000\u200b\u200d\ufeff\t\r\n\x0b\x0c\x1c\x85\u2028\u2029\x00"
    "\uff10\uff11\uff19\u0660\u0663\u06f3\u0966\u00b2\u00b9\u2460\U0001d7ce"  # digits
    "\uff21\uff22\uff2e\u212a\u017f\u0131\u0130\ufb00\u1e9e\u00df\u0149"  # case-mapping
    "\u0301\u202e\ud800\udfff\U0010ffff\U0001f600:[]%.\\\"'"
)
hostile_chars = st.one_of(
    st.characters(exclude_categories=()), st.sampled_from(LOOKALIKES)
)  # every code point, lone surrogates included
hostile_text = st.one_of(
    st.text(hostile_chars, max_size=90),
    st.binary(max_size=90).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    st.binary(max_size=90).map(lambda raw: raw.decode("latin-1")),
)


class Awkward(str):
    """A str whose methods all fail: parsers must read its characters, not call it."""

    __slots__ = ()

    def _refuse(self, *_: object, **__: object) -> object:
        raise RuntimeError("a str subclass method was trusted")

    strip = lstrip = rstrip = upper = lower = casefold = _refuse
    replace = split = rsplit = partition = rpartition = splitlines = _refuse
    encode = isascii = isdigit = startswith = endswith = count = find = _refuse


not_strings = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(max_size=30),
    st.binary(max_size=30).map(bytearray),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.builds(object),
)


def awkward(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return text.map(Awkward)


# Each takes the text and two positions in it, i <= j.
MUTATIONS: list[Callable[[st.DrawFn, str, int, int], str]] = [
    lambda draw, text, i, _: text[:i] + draw(hostile_chars) + text[i + 1 :],  # changed
    lambda draw, text, i, _: text[:i] + draw(st.text(hostile_chars, min_size=1, max_size=3)) + text[i:],
    lambda _, text, i, j: text[:i] + text[j:],  # a run dropped
    lambda _, text, i, __: text[:i],  # cut short
    lambda _, text, i, j: text[:j] + text[i:j] + text[j:],  # a run doubled
    lambda draw, text, _, __: text + draw(st.sampled_from(["", " ", "-", "\n"])) + text,
    lambda draw, text, _, __: draw(WRAPS) + text + draw(WRAPS),  # odd blanks or quotes around
    lambda draw, text, _, __: text.replace("-", draw(st.sampled_from(LOOKALIKES[:9] + " _."))),
    lambda _, text, __, ___: text.swapcase(),
    lambda _, text, i, j: text[:i] + text[j : j + 1] + text[i + 1 :],  # a character moved
]  # fmt: skip
WRAPS = st.text(st.sampled_from(" \t\n\u00a0\u3000\ufeff\u200b\"'"), max_size=3)


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[str]) -> str:
    """*valid* text damaged by one to three mutations."""
    text = draw(valid)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, len(text)))
        text = draw(st.sampled_from(MUTATIONS))(draw, text, i, j)
    return text


def inputs(valid: st.SearchStrategy[str]) -> st.SearchStrategy[object]:
    """What a parser of *valid* gets: valid, damaged, arbitrary, awkward, or no string."""
    return st.one_of(valid, mutated(valid), hostile_text, awkward(valid), not_strings)


# --- product keys ----------------------------------------------------------------------------

SYMBOLS = "BCDFGHJKMPQRTVWXY2346789"  # domain-facts §1.1
PUBLISHED_GVLKS = [  # domain-facts §7: PKEY2009 keys a test may hold
    "W269N-WFGWX-YVC9B-4J6C9-T83GX", "NPPR9-FWDCX-D2C8J-H872K-2YT43",
    "VDYBN-27WPP-V4HQT-9VMD4-VMK7H", "TVRH6-WHNXV-R9WG3-9XRFY-MY832",
    "NW6C2-QMPVW-D7KKK-3GKT6-VCFB2", "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB",
    "DR92N-9HTF2-97XKM-XW2WJ-XW3J6", "WX4NM-KYWYW-QJJR4-XV3QB-6VM33",
]  # fmt: skip
CANONICAL_KEY = re.compile(r"[BCDFGHJKMNPQRTVWXY2346789]{5}(?:-[BCDFGHJKMNPQRTVWXY2346789]{5}){4}")


@st.composite
def spelled_keys(draw: st.DrawFn) -> str:
    """A well-formed key as people type it: any case, separators or none, blanks around."""
    symbols = draw(
        st.sampled_from(PUBLISHED_GVLKS).map(lambda key: key.replace("-", ""))
        | st.text(st.sampled_from(SYMBOLS), min_size=25, max_size=25)
    )
    cased = "".join(c.lower() if draw(st.booleans()) else c for c in symbols)
    separator = st.sampled_from(["-", "\u2013", "\u2014", " ", ""])
    text = cased[:5] + "".join(draw(separator) + cased[i : i + 5] for i in range(5, 25, 5))
    blanks = st.text(st.sampled_from(" \t\n\u3000"), max_size=2)
    return draw(blanks) + text + draw(blanks)


@FUZZ
@given(inputs(spelled_keys()))
def test_product_keys(attempt: Attempt, value: object) -> None:
    key = attempt("ProductKey.parse", lambda: ProductKey.parse(value))
    assert keys.is_valid(value) is (key is not None)
    formatted = attempt("keys.format", lambda: keys.format(value))  # type: ignore[arg-type]
    if key is None:
        return
    canonical = key.reveal()
    assert CANONICAL_KEY.fullmatch(canonical)
    assert canonical.count("N") <= 1
    assert ProductKey.parse(canonical) == key == ProductKey(canonical)
    assert hash(ProductKey(canonical)) == hash(key)
    assert keys.validate(value) == canonical == formatted  # type: ignore[arg-type]
    assert keys.compact(value) == canonical.replace("-", "")  # type: ignore[arg-type]
    assert str(key) == "XXXXX-XXXXX-XXXXX-XXXXX-" + key.partial == repr(key)[12:-2]


# --- installation and confirmation IDs -------------------------------------------------------


def check_digit(data: str) -> str:
    """domain-facts §2.2: data digits weighted 1, 2, 1, 2 ... summed, mod 7."""
    return str(sum(int(d) * (1 + i % 2) for i, d in enumerate(data)) % 7)


@st.composite
def spelled_ids(draw: st.DrawFn, layouts: list[tuple[int, int]]) -> str:
    """A well-formed ID of one of *layouts* (group size, count), spaced as people do."""
    size, count = draw(st.sampled_from(layouts))
    data = st.text(st.sampled_from(string.digits), min_size=size - 1, max_size=size - 1)
    groups = [d + check_digit(d) for d in draw(st.lists(data, min_size=count, max_size=count))]
    separator = st.sampled_from(["-", " ", "", " - ", "  "])
    text = groups[0] + "".join(draw(separator) + group for group in groups[1:])
    return draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", "\n"]))


IID_LAYOUTS = [(7, 9), (6, 9)]
CID_LAYOUTS = [(6, 8), (6, 7)]


@FUZZ
@given(inputs(spelled_ids(IID_LAYOUTS) | spelled_ids(CID_LAYOUTS)))
def test_installation_ids(attempt: Attempt, value: object) -> None:
    iid = attempt("InstallationId.parse", lambda: InstallationId.parse(value))
    assert ids.is_valid_installation_id(value) is (iid is not None)
    unchecked = attempt(
        "ids.format_installation_id",
        lambda: ids.format_installation_id(value),  # type: ignore[arg-type]
    )
    if iid is None:
        return
    assert len(iid.digits) in (54, 63)
    assert iid.digits.isascii()
    assert iid.digits.isdigit()
    assert InstallationId.parse(str(iid)) == iid == InstallationId(iid.digits)
    assert "".join(iid.groups) == iid.digits
    assert str(iid) == ids.validate_installation_id(value) == unchecked  # type: ignore[arg-type]


@FUZZ
@given(inputs(spelled_ids(CID_LAYOUTS) | spelled_ids(IID_LAYOUTS)))
def test_confirmation_ids(attempt: Attempt, value: object) -> None:
    cid = attempt("ConfirmationId.parse", lambda: ConfirmationId.parse(value))
    assert ids.is_valid_confirmation_id(value) is (cid is not None)
    unchecked = attempt(
        "ConfirmationId.parse(check_digits=False)",
        lambda: ConfirmationId.parse(value, check_digits=False),
    )
    if unchecked is not None:  # accepted without the check: the layout is right
        assert len(unchecked.digits) in (42, 48)
        assert ConfirmationId(unchecked.digits) == unchecked
        assert ConfirmationId.parse(str(unchecked), check_digits=False) == unchecked
    if cid is None:
        return
    assert cid == unchecked  # the check only ever refuses more
    assert ConfirmationId.parse(str(cid)) == cid
    assert str(cid) == ids.validate_confirmation_id(value)  # type: ignore[arg-type]


# --- activation codes ------------------------------------------------------------------------


@st.composite
def spelled_codes(draw: st.DrawFn) -> str:
    """A 32-bit code as people write it: 0x or not, any case, zeros in front, blanks around."""
    known = st.sampled_from([code.value for code in codes.all_codes()])
    value = draw(known | st.integers(0, 2**32 - 1))
    digits = f"{value:X}".zfill(draw(st.integers(0, 12)))
    digits = digits.lower() if draw(st.booleans()) else digits
    prefix = draw(st.sampled_from(["", "0x", "0X"]))
    return draw(st.sampled_from(["", " "])) + prefix + digits + draw(st.sampled_from(["", "\n"]))


code_inputs = st.one_of(
    inputs(spelled_codes()),
    st.integers(),  # unbounded: thousands of digits included
    st.integers(-(2**31), 2**32 - 1),
    st.sampled_from([10**5000, -(10**5000), 2**32, -(2**31) - 1]),
)


@FUZZ
@given(code_inputs)
def test_activation_codes(attempt: Attempt, value: object) -> None:
    code = attempt("codes.lookup", lambda: codes.lookup(value))  # type: ignore[arg-type]
    batch = attempt(
        "codes.from_batch_service",
        lambda: codes.from_batch_service(value),  # type: ignore[arg-type]
    )
    assert (code is None) is (batch is None)  # both read the number the same way
    if code is None:
        return
    assert 0 <= code.value <= 0xFFFFFFFF
    if isinstance(value, int) and not isinstance(value, bool):
        assert code.value == value & 0xFFFFFFFF
    assert codes.lookup(code.value) == code == codes.lookup(code.hex)
    assert str(code).startswith(code.hex + " ")


# --- KMS endpoints ---------------------------------------------------------------------------

LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,20}[A-Za-z0-9])?"
HOST_NAMES = st.from_regex(rf"\A{LABEL}(?:\.{LABEL}){{0,3}}\Z").filter(
    lambda name: not re.fullmatch(r"[0-9.]+", name)
)


@st.composite
def spelled_endpoints(draw: st.DrawFn) -> str:
    """``host``, ``host:port``, ``[ipv6]:port`` as people type them."""
    kind = draw(st.sampled_from(["name", "ipv4", "ipv6"]))
    if kind == "name":
        host = draw(HOST_NAMES)
    elif kind == "ipv4":
        host = str(draw(st.ip_addresses(v=4)))
    else:
        address = draw(st.ip_addresses(v=6))
        spelled = address.exploded if draw(st.booleans()) else str(address)
        host = f"[{spelled.upper() if draw(st.booleans()) else spelled}]"
    if draw(st.booleans()):
        port = draw(st.integers(1, 65535))
        host += ":" + str(port).zfill(draw(st.integers(0, 7)))
    return draw(st.sampled_from(["", " ", "\t"])) + host + draw(st.sampled_from(["", " "]))


@FUZZ
@given(inputs(spelled_endpoints()))
def test_kms_endpoints(attempt: Attempt, value: object) -> None:
    endpoint = attempt("KmsEndpoint.parse", lambda: KmsEndpoint.parse(value))
    if endpoint is None:
        return
    assert 1 <= endpoint.port <= 65535
    assert (
        KmsEndpoint.parse(str(endpoint)) == endpoint == KmsEndpoint(endpoint.host, endpoint.port)
    )
    if ":" in endpoint.host:
        assert str(ipaddress.IPv6Address(endpoint.host)) == endpoint.host
    else:
        assert endpoint.host == endpoint.host.lower()
        assert len(endpoint.host) <= 253


@FUZZ
@given(inputs(HOST_NAMES))
def test_srv_records(attempt: Attempt, value: object) -> None:
    record = attempt("kms.srv_record", lambda: srv_record(value))  # type: ignore[arg-type]
    if record is None:
        return
    assert record.startswith("_vlmcs._tcp.")
    assert len(record) <= 253
    assert srv_record(record.removeprefix("_vlmcs._tcp.")) == record


# --- slmgr output ----------------------------------------------------------------------------

FIXTURES = Path(__file__).parent.parent / "fixtures" / "slmgr"
SLMGR_OUTPUTS = sorted(path.read_text(encoding="utf-8") for path in FIXTURES.glob("*.txt"))


@st.composite
def damaged_output(draw: st.DrawFn) -> str:
    """A real slmgr output, damaged line by line: lines dropped, doubled, moved, rewritten."""
    lines = draw(st.sampled_from(SLMGR_OUTPUTS)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        kind = draw(st.integers(0, 5))
        if not lines:
            lines = [draw(hostile_text)]
        elif kind == 0:
            del lines[i]
        elif kind == 1:
            lines.insert(i, lines[i])
        elif kind == 2:
            lines.insert(draw(st.integers(0, len(lines))), lines.pop(i))
        elif kind == 3:  # the value after the label replaced
            label, _, _ = lines[i].partition(":")
            lines[i] = f"{label}: {draw(hostile_text)}"
        elif kind == 4:
            lines[i] = draw(mutated(st.just(lines[i])))
        else:
            lines.insert(i, draw(hostile_text))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r", "\u2028", "\x85"]))
    return ending.join(lines)


slmgr_inputs = st.one_of(
    damaged_output(),
    mutated(st.sampled_from(SLMGR_OUTPUTS)),
    hostile_text,
    awkward(st.sampled_from(SLMGR_OUTPUTS)),
    not_strings,
)


def check_product(product: SlmgrProduct) -> None:
    """Every field of *product* is of the type and form its class promises."""
    for name in ("activation_id", "application_id"):
        guid = getattr(product, name)
        assert guid is None or re.fullmatch(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}", guid)
    assert product.installation_id is None or isinstance(product.installation_id, InstallationId)
    key = product.partial_product_key
    assert key is None or (len(key) == 5 and set(key) <= set(SYMBOLS))
    assert product.notification_reason is None or 0 <= product.notification_reason < 2**32
    assert product.channel is None or isinstance(product.channel, KeyChannel)
    assert product.license_status is None or isinstance(product.license_status, LicenseStatus)
    counts = [product.grace_minutes, product.expiration_minutes]
    for info in (product.kms_client, product.kms_host):
        if info is not None:
            counts += [v for v in attrs.asdict(info).values() if type(v) is int]
    for count in counts:
        assert count is None or abs(count) < 10**19


@FUZZ
@given(slmgr_inputs)
def test_slmgr_output(attempt: Attempt, value: object) -> None:
    products = attempt("slmgr.parse_dlv", lambda: parse_dlv(value))
    assert attempt("slmgr.parse_dli", lambda: parse_dli(value)) == products  # the same reader
    for product in products or ():
        check_product(product)
    expirations = attempt("slmgr.parse_xpr", lambda: parse_xpr(value))
    for expiration in expirations or ():
        assert expiration.name.strip() == expiration.name
        assert not (expiration.permanent and expiration.expires is not None)


# What slmgr prints, generated from records: reading it back gives the records.

VALUE_CHARS = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters="\x85"
)
values = (
    st.text(VALUE_CHARS, min_size=1, max_size=30)
    .map(str.strip)
    .filter(lambda v: v and v.casefold() not in {"<removed>", "not available"})
)
quiet_values = values.map(str.lower)  # no channel markers (VOLUME_KMS, MAK, ...) in them
guids = st.uuids().map(str)
counts = st.integers(-(10**19) + 1, 10**19 - 1)


def optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


@st.composite
def kms_clients(draw: st.DrawFn) -> KmsClientInfo:
    name = draw(optional(HOST_NAMES.map(str.lower) | st.ip_addresses(v=6).map(lambda a: f"[{a}]")))
    return KmsClientInfo(
        cmid=draw(optional(guids)),
        kms_machine_name=name,
        kms_port=None if name is None else draw(optional(st.integers(0, 10**6))),
        kms_machine_name_source=None if name is None else draw(st.sampled_from(["registered", "dns"])),
        srv_lookup_domain=draw(optional(values)),
        kms_ip_address=draw(optional(st.ip_addresses().map(str))),
        kms_extended_pid=draw(optional(values)),
        activation_interval_minutes=draw(optional(counts)),
        renewal_interval_minutes=draw(optional(counts)),
        host_caching_enabled=draw(optional(st.booleans())),
    )  # fmt: skip


SWITCHES = {"dns_publishing_enabled", "low_priority"}
kms_hosts = st.builds(
    KmsHostInfo,
    **{
        field.name: optional(st.booleans() if field.name in SWITCHES else counts)
        for field in attrs.fields(KmsHostInfo)
    },
)


@st.composite
def slmgr_products(draw: st.DrawFn) -> SlmgrProduct:
    channel = draw(optional(st.sampled_from(KeyChannel)))
    return SlmgrProduct(
        name=draw(values),
        description=draw(optional(quiet_values)),
        channel=channel,
        activation_id=draw(optional(guids)),
        application_id=draw(optional(guids)),
        extended_pid=draw(optional(values)),
        installation_id=draw(optional(spelled_ids(IID_LAYOUTS).map(InstallationId.parse))),
        partial_product_key=draw(optional(st.text(st.sampled_from(SYMBOLS), min_size=5, max_size=5))),
        license_status=draw(optional(st.sampled_from(LicenseStatus))),
        notification_reason=draw(optional(st.integers(0, 2**32 - 1))),
        grace_minutes=draw(optional(counts)),
        expiration_minutes=draw(optional(counts)),
        remaining_windows_rearm_count=draw(optional(counts)),
        remaining_app_rearm_count=draw(optional(counts)),
        remaining_sku_rearm_count=draw(optional(counts)),
        trusted_time=draw(optional(values)),
        kms_client=draw(optional(kms_clients())),
        kms_host=draw(optional(kms_hosts)),
    )  # fmt: skip


def written(label: str, value: object) -> list[str]:
    return [] if value is None else [f"{label}: {value}"]


def switch(value: bool | None, on: str, off: str) -> list[str]:
    return [] if value is None else ["    " + (on if value else off)]


def dlv(p: SlmgrProduct) -> list[str]:
    """The lines ``slmgr /dlv`` prints for the product *p*."""
    grace, expiration, reason = p.grace_minutes, p.expiration_minutes, p.notification_reason
    lines = [
        f"Name: {p.name}",
        *written("Description", p.description),
        *written("Activation ID", p.activation_id and p.activation_id.upper()),
        *written("Application ID", p.application_id),
        *written("Extended PID", p.extended_pid),
        *written("Product Key Channel", p.channel),
        *written("Installation ID", p.installation_id and p.installation_id.digits),
        *written("Partial Product Key", p.partial_product_key),
        *written("License Status", p.license_status and p.license_status.description),
        *written("Notification Reason", None if reason is None else f"0x{reason:08X}."),
        *written("Time remaining", None if grace is None else f"{grace} minute(s)"),
        *written(
            "Volume activation expiration",
            None if expiration is None else f"{expiration} minute(s) (180 day(s))",
        ),
        *written("Remaining Windows rearm count", p.remaining_windows_rearm_count),
        *written("Remaining App rearm count", p.remaining_app_rearm_count),
        *written("Remaining SKU rearm count", p.remaining_sku_rearm_count),
        *written("Trusted time", p.trusted_time),
    ]
    if p.kms_client is not None:
        lines += client_lines(p.kms_client)
    if p.kms_host is not None:
        lines += host_lines(p.kms_host)
    return lines


def client_lines(c: KmsClientInfo) -> list[str]:
    """The lines of the KMS client block."""
    address = c.kms_machine_name
    if address is not None and c.kms_port is not None:
        address += f":{c.kms_port}"
    registered = c.kms_machine_name_source == "registered"
    return [
        "",
        "Key Management Service client information",
        *written("    Client Machine ID (CMID)", c.cmid),
        *written(
            "    Registered KMS machine name" if registered else "    KMS machine name from DNS",
            address,
        ),
        *written("    Registered KMS SRV record lookup domain", c.srv_lookup_domain),
        *written("    KMS machine IP address", c.kms_ip_address),
        *written("    KMS machine extended PID", c.kms_extended_pid),
        *written("    Activation interval", c.activation_interval_minutes),
        *written("    Renewal interval", c.renewal_interval_minutes),
        *switch(c.host_caching_enabled, "KMS host caching is enabled", "KMS host caching is disabled"),
    ]  # fmt: skip


def host_lines(h: KmsHostInfo) -> list[str]:
    """The lines of the KMS host blocks."""
    priority = None if h.low_priority is None else ("Low" if h.low_priority else "Normal")
    status = "    Requests with License Status"
    return [
        "",
        "Key Management Service is enabled on this machine",
        *written("    Current count", h.current_count),
        *written("    Listening on Port", h.listening_port),
        *switch(h.dns_publishing_enabled, "DNS publishing enabled", "DNS publishing disabled"),
        *written("    KMS priority", priority),
        "",
        "Key Management Service cumulative requests received from clients",
        *written("    Total requests received", h.total_requests),
        *written("    Failed requests received", h.failed_requests),
        *written(f"{status} Unlicensed", h.unlicensed_requests),
        *written(f"{status} Licensed", h.licensed_requests),
        *written(f"{status} Initial grace period", h.oob_grace_requests),
        *written(f"{status} License expired or Hardware out of tolerance", h.oot_grace_requests),
        *written(f"{status} Non-genuine grace period", h.non_genuine_grace_requests),
        *written(f"{status} Notification", h.notification_requests),
    ]


@HEAVY  # thirty fields a product: a tenth as many examples
@given(
    st.lists(slmgr_products(), min_size=1, max_size=3),
    optional(values),
    st.sampled_from(["\n", "\r\n"]),
)
def test_slmgr_output_written_from_records_reads_back(
    attempt: Attempt, products: list[SlmgrProduct], version: str | None, ending: str
) -> None:
    lines = ["Microsoft (R) Windows Script Host Version 5.812", ""]
    lines += written("Software licensing service version", version)
    for product in products:
        lines += ["", *dlv(product)]
    expected = tuple(attrs.evolve(product, service_version=version) for product in products)
    assert attempt("slmgr.parse_dlv", lambda: parse_dlv(ending.join(lines))) == expected


@st.composite
def expirations(draw: st.DrawFn) -> SlmgrExpiration:
    date = f"{draw(st.integers(1, 12))}/{draw(st.integers(1, 28))}/20{draw(st.integers(10, 99))} 9:41:07 AM"
    message, permanent, expires = draw(
        st.sampled_from(
            [
                ("Windows is Activated for the lifespan of your device.", True, None),
                ("The machine is permanently activated.", True, None),
                (f"Volume activation will expire {date}", False, date),
                (f"Timebased activation will expire {date}", False, date),
                (f"Initial grace period ends {date}", False, date),
                ("Unlicensed", False, None),
                ("Windows is in Notification mode", False, None),
            ]
        )
    )
    name = draw(values.filter(lambda v: not v.endswith(":")))
    return SlmgrExpiration(name, permanent=permanent, expires=expires, message=message)  # fmt: skip


@FUZZ
@given(st.lists(expirations(), min_size=1, max_size=4))
def test_slmgr_expirations_written_from_records_read_back(
    attempt: Attempt, records: list[SlmgrExpiration]
) -> None:
    text = "\n".join(f"{record.name}:\n    {record.message}\n" for record in records)
    assert attempt("slmgr.parse_xpr", lambda: parse_xpr(text)) == tuple(records)
