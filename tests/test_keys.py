"""Tests for mak.keys: product keys as tables of valid and invalid inputs.

Positive vectors are Microsoft's published GVLKs (domain-facts §7), the only keys that need
not be kept secret. Expected fields and checksums come from a small reference decoder
written here from domain-facts §1.2-§1.4, not from the library.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from mak import keys
from mak._checkdigits import crc32_bzip2
from mak.errors import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from mak.keys import KeyAlgorithm, KeyFields, ProductKey, compact, is_valid, validate

# --- published keys (domain-facts §7) -----------------------------------------------------

# §7.1: every Windows / Windows Server GVLK on Microsoft's page that holds an N (53 keys).
WINDOWS_PKEY2009 = [
    "TVRH6-WHNXV-R9WG3-9XRFY-MY832", "D764K-2NDRG-47T6Q-P8T8W-YP6DF",
    "XGN3F-F394H-FD2MY-PP6FD-8MCRC", "VDYBN-27WPP-V4HQT-9VMD4-VMK7H",
    "WX4NM-KYWYW-QJJR4-XV3QB-6VM33", "NTBV8-9K7Q8-V27C6-M2BTV-KHMXV",
    "N69G4-B89J2-4G8F4-WWYCC-J464C", "WMDGN-G9PQG-XVVXX-R3X43-63DFG",
    "WVDHN-86M7X-466P6-VHXV7-YY726", "WC2BQ-8NRM3-FDDYY-2BFGV-KHKQY",
    "CB7KF-BWN84-R7R2Y-793K2-8XDDG", "JCKRF-N37P4-C2D82-9YXRT-4M63B",
    "N2KJX-J94YW-TQVFB-DG9YT-724CC", "6NMRW-2C8FM-D24W7-TQWMY-CWH2D",
    "W269N-WFGWX-YVC9B-4J6C9-T83GX", "MH37W-N47XK-V7XM9-C7227-GCQG9",
    "NRG8B-VKK3Q-CXVCJ-9G2XF-6Q84J", "9FNHH-K3HBT-3W4TD-6383H-6XYWF",
    "6TP4R-GNPTD-KYYHQ-7B7DP-J447Y", "YVWGF-BXNMC-HTQYQ-CPQ99-66QFC",
    "NW6C2-QMPVW-D7KKK-3GKT6-VCFB2", "2WH4N-8QGBV-H22JP-CT43Q-MDWWJ",
    "NPPR9-FWDCX-D2C8J-H872K-2YT43", "DPH2V-TTNVB-4X9Q3-TJR4H-KHJW4",
    "YYVX9-NTFWV-6MDM3-9PT4T-4M68B", "44RPN-FTY23-9VTTB-MP9BX-T84FV",
    "M7XTQ-FN8P6-TTKYV-9D4CC-J462D", "92NFX-8DJQP-P6BBQ-THF9C-7CG2H",
    "KBN8V-HFGQ4-MGXVD-347P6-PDQGT", "DCPHK-NFMTC-H88MJ-PFHPY-QJ4BJ",
    "QFFDN-GRT3P-VKWWX-X7T3R-8B639", "WNMTR-4C88C-JK8YV-HQ7T2-76DF9",
    "2F77B-TNFGY-69QQF-B8YKP-D69TJ", "PTXN8-JFHJM-4WC78-MPCBR-9W4KR",
    "2HXDN-KRXHB-GPYC7-YCKFJ-7FVDG", "DPCNP-XQFKJ-BJF7R-FRC8D-GF6G4",
    "6Y6KB-N82V8-D8CQV-23MJW-BWTG6", "D2N9P-3P6X9-2R39C-7RTCD-MDVJX",
    "W3GGN-FT8W3-Y4M27-J84CP-Q3VJ9", "KNC87-3J2TX-XB4WP-VCPJV-M4FWM",
    "XC9B7-NBPP2-83J2H-RHMBY-92BT4", "HM7DN-YVMH3-46JC3-XYTG7-CYQJJ",
    "XNH6W-2V9GX-RGJ4K-Y8X6F-QGJ2G", "48HP8-DN98B-MYWDG-T2DCC-8W83P",
    "HTDQM-NBMMG-KGYDT-2DTKT-J2MPV", "GCRJD-8NW9H-F2CDX-CCM8D-9D6T9",
    "HMCNV-VVBFX-7HMBH-CTY9B-B4FXY", "MHF9N-XY6XB-WVXMC-BTDCT-MKKG7",
    "TT4HM-HN7YT-62K67-RGRQJ-JFFXW", "NG4HW-VH26C-733KW-K6F98-J8CK4",
    "XCVCF-2NXM9-723PB-MHCB7-2RYQQ", "32JNW-9KQ84-P47T8-D8GGY-CWCK7",
    "JMNMF-RHW7P-DMY6X-RF3DR-X2BQT",
]  # fmt: skip

# §7.2: every Office 2016 / 2019 / LTSC 2021 / LTSC 2024 GVLK (52 keys, all with an N).
OFFICE_PKEY2009 = [
    "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB", "V28N4-JG22K-W66P8-VTMGK-H6HGR",
    "FQQ23-N4YCY-73HQ3-FM9WC-76HF4", "PD3TT-NTHQQ-VC7CY-MFXK3-G87F8",
    "B7TN8-FJ8V3-7QYCP-HQPMV-YY89G", "JMMVY-XFNQC-KK4HK-9H7R3-WQQTV",
    "82FTR-NCHR7-W3944-MGRHM-JMCWD", "F4DYN-89BP2-WQTWJ-GR8YC-CKGJG",
    "D2F8D-N3Q3B-J28PV-X27HD-RJWB9", "CW94N-K6GJH-9CTXY-MG2VC-FYCWP",
    "4NKHF-9HBQF-Q3B6C-7YV34-F64P3", "MQ84N-7VYDM-FXV7C-6K7CC-VFW9J",
    "FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH", "KDX7X-BNVR8-TXXGX-4Q7Y8-78VT3",
    "FTNWT-C6WBT-8HMGF-K9PRX-QV9H8", "J2JDC-NJCYY-9RGQ4-YXWMH-T3D4T",
    "KNH8D-FGHT4-T8RK3-CTDYJ-K2HT4", "MJVNY-BYWPY-CWV6J-2RKRT-4M8QG",
    "WM8YG-YNGDD-4JHDC-PG3F4-FC4T4", "NWG3X-87C9K-TC7YY-BC2G7-G6RVC",
    "C9FM6-3N72F-HFJXB-TM3V9-T86R9", "TY7XF-NFRBR-KJ44C-G83KF-GX27K",
    "2MW9D-N4BXM-9VBPG-Q7W6M-KFBGQ", "HWCXN-K3WBT-WJBKY-R8BD9-XK29P",
    "TN8H9-M34D3-Y64V9-TR72V-X79KV", "NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP",
    "6NWWJ-YQWMR-QKGCB-6TMB3-9D9HK", "B4NPR-3FKK7-T2MBV-FRQ4W-PKD2B",
    "C4F7P-NCP8C-6CQPT-MQHV9-JXD2M", "9BGNQ-K37YR-RQHF2-38RQ3-7VCBB",
    "7TQNQ-K3YQQ-3PFH7-CCPPM-X4VQ2", "9N9PT-27V4Y-VJ2PD-YXFMF-YTFQT",
    "TMJWT-YYNMB-3BKTF-644FC-RVXBD", "7HD7K-N4PVK-BHBCQ-YWQRW-XW4VK",
    "RRNCX-C64HY-W2MM7-MCH9G-TJHMQ", "G2KWX-3NW6P-PY93R-JXK2T-C9Y9V",
    "NCJ33-JHBBY-HTK98-MYCV8-HMKHJ", "PBX3G-NWMT6-Q7XBW-PYJGG-WXD33",
    "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99", "JNRGM-WHDWX-FJJG3-K47QV-DRTFM",
    "YG9NW-3K39V-2T3HJ-93F3Q-G83KT", "GNFHQ-F6YQM-KQDGJ-327XX-KQBVC",
    "PD3PC-RHNGV-FXJ29-8JK7D-RJRJK", "7WHWN-4T7MP-G96JF-G33KR-W8GF4",
    "GNH9Y-D2J4T-FJHGG-QRVH7-QPFDW", "9C2PK-NWTVB-JMPW8-BFT28-7FTBF",
    "DR92N-9HTF2-97XKM-XW2WJ-XW3J6", "R69KK-NTPKF-7M3Q4-QYBHW-6MT9B",
    "J7MQP-HNJ4Y-WJ7YM-PFYGF-BY6C6", "F47MM-N3XJP-TQXJ9-BP99D-8K837",
    "869NQ-FJ69K-466HW-QYCP2-DDBV6", "WXY84-JN2Q9-RBCCQ-3Q3J3-3PFJ6",
]  # fmt: skip

PKEY2009_GVLKS = WINDOWS_PKEY2009 + OFFICE_PKEY2009

# §7.1: Windows 7 / Vista / Server 2008 / 2008 R2 GVLKs: old-format keys without an N.
PKEY2005_GVLKS = [
    "6TPJF-RBVHG-WBW2R-86QPH-6RTM4", "TT8MH-CG224-D3D7Q-498W2-9QCTX",
    "YC6KT-GKW9T-YTKYR-T4X34-R7VHC", "489J6-VHDMP-X63PK-3K798-CPX3Y",
    "74YFP-3QFB3-KQT8W-PMXWJ-7M648", "GT63C-RJFQ3-4GMB6-BRFB9-CB83V",
    "WYR28-R7TFJ-3X2YQ-YCY4H-M249D", "TM24T-X9RMF-VWXK6-X8JC9-BFGM2",
    "W7VD6-7JFBR-RX26B-YKQ3Y-6FFFJ", "YQGMW-MPWTJ-34KDK-48M3W-X4Q6V",
    "39BXF-X8Q23-P2WWT-38T2F-G3FPG", "RCTX3-KWVHP-BR6TB-RB6DM-6X7HP",
    "7M67G-PC374-GR742-YH8V4-TCBY3", "22XQ2-VRXRG-P8D42-K34TD-G3QQC",
    "4DWFP-JF3DJ-B7DTH-78FJB-PDRHK", "FJ82H-XT6CR-J8D7P-XQJJ2-GPDD4",
    "MRPKT-YTG23-K7D7T-X2JMM-QY7MG", "W82YF-2Q76Y-63HXB-FGJG9-GF7QX",
    "33PXH-7Y6KF-2VJC9-XBBR8-HVTHH", "YDRBP-3D83W-TY26F-D46B2-XCKRJ",
    "C29WB-22CC8-VJ326-GHFJW-H9DH4", "YFKBB-PQJJV-G996G-VWGXY-2V3X8",
    "HMBQG-8H2RH-C77VX-27R82-VMQBT", "VKK3X-68KWM-X2YGT-QR4M6-4BWMV",
    "VTC42-BM838-43QHV-84HX6-XJXKV",
]  # fmt: skip

PRO = "W269N-WFGWX-YVC9B-4J6C9-T83GX"
PRO_COMPACT = PRO.replace("-", "")
WIN7_PRO = "FJ82H-XT6CR-J8D7P-XQJJ2-GPDD4"

# --- a reference decoder, from domain-facts §1.2-§1.4 --------------------------------------

SYMBOLS = "BCDFGHJKMPQRTVWXY2346789"  # §1.1, in digit order


def reference_number(key: str) -> int:
    """The N position is the most significant base-24 digit; the other 24 symbols follow."""
    symbols = key.replace("-", "")
    digits = [symbols.index("N"), *(SYMBOLS.index(c) for c in symbols.replace("N", "", 1))]
    number = 0
    for digit in digits:
        number = number * 24 + digit
    return number


def reference_checksum_ok(key: str) -> bool:
    number = reference_number(key)
    stored = (number >> 103) & 0x3FF
    payload = number & ~(0x3FF << 103)
    return crc32_bzip2(payload.to_bytes(16, "little")) & 0x3FF == stored


def dashed(symbols: str) -> str:
    return "-".join(symbols[i : i + 5] for i in range(0, len(symbols), 5))


def test_the_published_lists_are_transcribed_completely() -> None:
    # domain-facts §1.2 / §7: 53 Windows and 52 Office keys with N, all different.
    assert len(WINDOWS_PKEY2009) == 53
    assert len(OFFICE_PKEY2009) == 52
    assert len(set(PKEY2009_GVLKS)) == 105
    assert all(k.count("N") == 1 for k in PKEY2009_GVLKS)
    assert all("N" not in k for k in PKEY2005_GVLKS)
    assert all(reference_checksum_ok(k) for k in PKEY2009_GVLKS)


def test_alphabet_is_the_24_published_symbols_in_digit_order() -> None:
    assert keys.ALPHABET == SYMBOLS


# --- positive vectors ---------------------------------------------------------------------


@pytest.mark.parametrize("text", PKEY2009_GVLKS)
def test_published_pkey2009_gvlks_parse_with_their_decoded_fields(text: str) -> None:
    key = ProductKey.parse(text)
    number = reference_number(text)
    assert key.algorithm is KeyAlgorithm.PKEY2009
    assert key.reveal() == text
    assert key.fields == KeyFields(
        group_id=number & 0xFFFFF,
        serial=(number >> 20) & 0x3FFFFFFF,
        security=(number >> 50) & ((1 << 53) - 1),
        checksum=(number >> 103) & 0x3FF,
        upgrade=False,
    )
    assert is_valid(text) is True
    assert validate(text) == text


KNOWN_DECODES = [
    # domain-facts §1.3: key, group ID, serial
    ("W269N-WFGWX-YVC9B-4J6C9-T83GX", 3311, 1),
    ("NPPR9-FWDCX-D2C8J-H872K-2YT43", 3290, 3),
    ("VDYBN-27WPP-V4HQT-9VMD4-VMK7H", 4541, 1),
    ("TVRH6-WHNXV-R9WG3-9XRFY-MY832", 4929, 1),
    ("NG4HW-VH26C-733KW-K6F98-J8CK4", 1787, 11),
]


@pytest.mark.parametrize(
    ("text", "group_id", "serial"), KNOWN_DECODES, ids=[d[0][-5:] for d in KNOWN_DECODES]
)
def test_known_decodes(text: str, group_id: int, serial: int) -> None:
    fields = ProductKey.parse(text).fields
    assert fields is not None
    assert (fields.group_id, fields.serial, fields.upgrade) == (group_id, serial, False)


def test_key_fields_repr_hides_the_security_value() -> None:
    fields = ProductKey.parse(PRO).fields
    assert fields is not None
    assert str(fields.security) not in repr(fields)
    assert "security=<hidden>" in repr(fields)


@pytest.mark.parametrize("text", PKEY2005_GVLKS)
def test_published_pkey2005_gvlks_parse_without_fields(text: str) -> None:
    key = ProductKey.parse(text)
    assert key.algorithm is KeyAlgorithm.PKEY2005
    assert key.fields is None
    assert key.reveal() == text
    assert key.partial == text[-5:]
    assert is_valid(text) is True


def test_key_algorithm_values_are_the_spp_names() -> None:
    assert KeyAlgorithm.PKEY2005.value == "msft:rm/algorithm/pkey/2005"
    assert KeyAlgorithm.PKEY2009.value == "msft:rm/algorithm/pkey/2009"


# --- lenient parsing ----------------------------------------------------------------------

LENIENT_SPELLINGS = {
    "canonical": PRO,
    "lower-case": PRO.lower(),
    "mixed-case": "w269N-WfGwX-yvc9B-4j6C9-t83Gx",
    "surrounding-whitespace": f" \t\n {PRO} \r\n",
    "no-separators": PRO_COMPACT,
    "no-separators-lower": PRO_COMPACT.lower(),
    "spaces": PRO.replace("-", " "),
    "en-dash": PRO.replace("-", "\u2013"),
    "em-dash": PRO.replace("-", "\u2014"),
    "mixed-separators": "w269n\u2013WFGWX\u2014yvc9b 4J6C9-t83gx",
    "some-separators": "W269NWFGWX-YVC9B4J6C9 T83GX",
    "whitespace-and-dashes": "  w269n\u2014wfgwx\u2014yvc9b\u20144j6c9\u2014t83gx  ",
}


@pytest.mark.parametrize("text", LENIENT_SPELLINGS.values(), ids=LENIENT_SPELLINGS.keys())
def test_lenient_spellings_give_the_same_key(text: str) -> None:
    key = ProductKey.parse(text)
    assert key == ProductKey(PRO)
    assert hash(key) == hash(ProductKey(PRO))
    assert key.reveal() == PRO
    assert validate(text) == PRO
    assert is_valid(text) is True
    assert keys.format(text) == PRO


@pytest.mark.parametrize("text", [WIN7_PRO.lower(), WIN7_PRO.replace("-", "\u2014")])
def test_lenient_spellings_of_a_pkey2005_key(text: str) -> None:
    assert ProductKey.parse(text).reveal() == WIN7_PRO


# --- masking ------------------------------------------------------------------------------

MASKED = "XXXXX-XXXXX-XXXXX-XXXXX-T83GX"


def test_str_and_repr_are_masked() -> None:
    key = ProductKey.parse(PRO)
    assert str(key) == MASKED
    assert repr(key) == f"ProductKey('{MASKED}')"


@pytest.mark.parametrize(
    "render",
    [
        lambda k: f"{k}",
        lambda k: f"{k!s}",
        lambda k: f"{k!r}",
        format,
        lambda k: format(k, ""),
        "{}".format,
        lambda k: "%s" % k,  # noqa: UP031  # %-formatting is what is being tested
        lambda k: repr([k]),
        lambda k: str({"key": k}),
    ],
    ids=[
        "f-string",
        "f-string-s",
        "f-string-r",
        "format",
        "format-empty",
        "str.format",
        "percent",
        "list",
        "dict",
    ],
)
def test_every_way_of_printing_a_key_is_masked(render: Any) -> None:
    for text in (PRO, WIN7_PRO):
        shown = render(ProductKey.parse(text))
        assert text.replace("-", "")[:20] not in shown.replace("-", "")
        assert "XXXXX-XXXXX-XXXXX-XXXXX-" in shown
        assert text[-5:] in shown


@pytest.mark.parametrize("text", [*PKEY2009_GVLKS[:10], *PKEY2005_GVLKS[:5]])
def test_mask_shows_only_the_partial_key(text: str) -> None:
    key = ProductKey.parse(text)
    assert str(key) == "XXXXX-XXXXX-XXXXX-XXXXX-" + text[-5:]
    assert key.partial == text[-5:]


def test_reveal_and_partial() -> None:
    key = ProductKey.parse(PRO.lower())
    assert key.reveal() == PRO
    assert key.partial == "T83GX"


# --- equality, hashing, constructor, pickling ---------------------------------------------


def test_equality_and_hash_use_the_whole_key() -> None:
    a = ProductKey.parse(PRO)
    # Same partial key, different first symbols: they must not be equal although they print
    # the same.
    same_partial = ProductKey.parse("B" * 20 + "T83GX")
    assert str(a) == str(same_partial)
    assert a != same_partial
    assert len({a, ProductKey.parse(PRO.lower()), same_partial}) == 2
    assert a != PRO  # not equal to its text
    assert a != ProductKey.parse(PKEY2009_GVLKS[1])


def test_strict_constructor_accepts_the_canonical_form() -> None:
    assert ProductKey(PRO) == ProductKey.parse(PRO)
    assert ProductKey(value=WIN7_PRO).reveal() == WIN7_PRO


@pytest.mark.parametrize(
    "text",
    [PRO.lower(), PRO_COMPACT, PRO.replace("-", " "), f" {PRO}", PRO.replace("-", "\u2013")],
    ids=["lower", "undashed", "spaces", "whitespace", "en-dash"],
)
def test_strict_constructor_refuses_anything_but_the_canonical_form(text: str) -> None:
    with pytest.raises(InvalidFormat) as info:
        ProductKey(text)
    assert type(info.value) is InvalidFormat
    assert "use parse()" in info.value.reason
    assert PRO_COMPACT[:20] not in str(info.value).replace("-", "")


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (None, InvalidFormat),
        (42, InvalidFormat),
        ("W269N-WFGWX-YVC9B-4J6C9-T83GY", InvalidChecksum),
        ("W269N-WFGWX", InvalidLength),
    ],
    ids=["none", "int", "checksum", "length"],
)
def test_strict_constructor_validates(value: object, error: type[ValidationError]) -> None:
    with pytest.raises(error):
        ProductKey(value)  # type: ignore[arg-type]  # the point of the test


@pytest.mark.parametrize("text", [PRO, WIN7_PRO])
def test_pickling_round_trips(text: str) -> None:
    key = ProductKey.parse(text)
    restored = pickle.loads(pickle.dumps(key))  # noqa: S301  # our own bytes
    assert restored == key
    assert restored.reveal() == text
    assert repr(restored) == repr(key)
    assert restored.fields == key.fields


def test_keys_are_immutable() -> None:
    key = ProductKey.parse(PRO)
    with pytest.raises(AttributeError):
        key._value = WIN7_PRO  # type: ignore[misc]  # the point of the test
    assert key.reveal() == PRO


# --- invalid inputs -----------------------------------------------------------------------

NOT_STRINGS = {
    "none": None,
    "int": 42,
    "float": 4.2,
    "bytes": PRO.encode(),
    "list": [PRO],
    "tuple": tuple(PRO),
}


@pytest.mark.parametrize("value", NOT_STRINGS.values(), ids=NOT_STRINGS.keys())
def test_anything_but_a_string_is_invalid_format(value: object) -> None:
    name = type(value).__name__
    with pytest.raises(InvalidFormat) as info:
        ProductKey.parse(value)
    assert type(info.value) is InvalidFormat
    assert info.value.kind == "product key"
    assert info.value.text == f"<{name}>"
    assert info.value.reason == f"expected a string, got {name}"
    assert str(info.value) == f"Invalid product key: '<{name}>' (expected a string, got {name})"
    assert is_valid(value) is False
    for function in (validate, compact, keys.format):
        with pytest.raises(InvalidFormat):
            function(value)  # type: ignore[arg-type]  # the point of the test


WRONG_LENGTHS = {
    "empty": ("", 0),
    "whitespace": ("   ", 0),
    "one-group": ("W269N", 5),
    "four-groups": ("W269N-WFGWX-YVC9B-4J6C9", 20),
    "last-symbol-missing": (PRO[:-1], 24),
    "first-symbol-missing": (PRO[1:], 24),
    "middle-symbol-missing": (PRO[:8] + PRO[9:], 24),
    "one-extra": (PRO + "B", 26),
    "six-groups": (PRO + "-BCDFG", 30),
    "doubled": (PRO + PRO, 50),
    "pkey2005-short": (WIN7_PRO[:-2], 23),
    "pkey2005-spaces-short": (WIN7_PRO[:-1].replace("-", " "), 24),
    "no-n-26": ("B" * 26, 26),
    "long-garbage": ("B" * 100, 100),
}


@pytest.mark.parametrize(("text", "length"), WRONG_LENGTHS.values(), ids=WRONG_LENGTHS.keys())
def test_wrong_length_is_invalid_length(text: str, length: int) -> None:
    with pytest.raises(InvalidLength) as info:
        ProductKey.parse(text)
    error = info.value
    assert error.length == length
    assert error.expected == (25,)
    assert error.reason == f"has {length} symbols; expected 25"
    assert isinstance(error, InvalidFormat)
    assert is_valid(text) is False
    with pytest.raises(InvalidLength):
        keys.format(text)


@pytest.mark.parametrize(
    "text",
    [
        "W269N-WFGWX-YVC9B-4J6C9 T83G",  # 24 symbols, one space
        "W269NWFGWXYVC9B4J6C9 T83G",
        "FJ82H-XT6CR-J8D7P-XQJJ2\u2014GPDD",  # 24 symbols, one em dash
    ],
    ids=["space", "space-undashed", "em-dash"],
)
def test_short_key_with_a_non_hyphen_separator_is_invalid_length(text: str) -> None:
    with pytest.raises(InvalidLength) as info:
        ProductKey.parse(text)
    assert info.value.length == 24


BAD_SYMBOLS = [
    "O",
    "0",
    "1",
    "5",
    "L",
    "S",
    "Z",
    "A",
    "E",
    "I",
    "U",
    "a",
    "e",
    "\u00dc",
    "\U0001f600",
    "_",
    "*",
    "\t",
]


def substitute(key: str, index: int, char: str) -> str:
    symbols = key.replace("-", "")
    return dashed(symbols[:index] + char + symbols[index + 1 :])


BAD_SYMBOL_CASES = [
    (key, index, char)
    for key in (PRO, WIN7_PRO)
    for char in BAD_SYMBOLS
    for index in (0, 7, 24)
    if char != "\t" or index not in (0, 24)  # a tab at either end is surrounding whitespace
]


@pytest.mark.parametrize(
    ("key", "index", "char"),
    BAD_SYMBOL_CASES,
    ids=[f"{k[-5:]}-{ord(c):x}-at-{i + 1}" for k, i, c in BAD_SYMBOL_CASES],
)
def test_a_symbol_outside_the_alphabet_is_invalid_format_naming_its_position(
    key: str, index: int, char: str
) -> None:
    text = substitute(key, index, char)
    with pytest.raises(InvalidFormat) as info:
        ProductKey.parse(text)
    error = info.value
    assert type(error) is InvalidFormat
    assert error.reason == f"{char.upper()!r} at position {index + 1} is not a key symbol"
    assert is_valid(text) is False
    with pytest.raises(InvalidFormat, match=f"at position {index + 1} "):
        keys.format(text)


def test_two_ns_are_invalid_format() -> None:
    # W269N holds its N at index 4; a second one anywhere else is never a key.
    for index in [0, 3, 5, 12, 23]:
        text = substitute(PRO, index, "N")
        with pytest.raises(InvalidFormat) as info:
            ProductKey.parse(text)
        assert type(info.value) is InvalidFormat
        assert info.value.reason == "has 2 N symbols; a key has at most one"
        assert is_valid(text) is False
        with pytest.raises(InvalidFormat, match="has 2 N symbols"):
            keys.format(text)
    with pytest.raises(InvalidFormat, match="has 25 N symbols"):
        ProductKey.parse("N" * 25)


@pytest.mark.parametrize(
    "text",
    ["BBBBB-BBBBB-BBBBB-BBBBB-BBBBN", substitute(WIN7_PRO, 24, "N"), "bbbbbbbbbbbbbbbbbbbbbbbbn"],
    ids=["all-b", "win7", "lower"],
)
def test_n_as_the_last_symbol_is_invalid_format(text: str) -> None:
    # The N position is a base-24 digit, 0-23: position 24 cannot be encoded (§1.2).
    with pytest.raises(InvalidFormat) as info:
        ProductKey.parse(text)
    assert type(info.value) is InvalidFormat
    assert info.value.reason == "N cannot be the last symbol"
    assert is_valid(text) is False


def test_format_rejects_n_as_the_last_symbol() -> None:
    with pytest.raises(InvalidFormat):
        keys.format("BBBBB-BBBBB-BBBBB-BBBBB-BBBBN")


def checksum_failures(key: str) -> list[str]:
    """Replacements of the last symbol that the reference decoder says fail the checksum."""
    return [
        text
        for char in SYMBOLS
        if char != key[-1] and not reference_checksum_ok(text := key[:-1] + char)
    ]


@pytest.mark.parametrize(
    "key", [k for k, _, _ in KNOWN_DECODES], ids=[k[-5:] for k, _, _ in KNOWN_DECODES]
)
def test_a_wrong_checksum_is_invalid_checksum(key: str) -> None:
    failures = checksum_failures(key)
    assert len(failures) >= 20  # a 10-bit check lets at most a few of 23 through
    for text in failures:
        with pytest.raises(InvalidChecksum) as info:
            ProductKey.parse(text)
        error = info.value
        assert error.group is None
        assert error.reason == "checksum does not match"
        assert error.text == "XXXXX-XXXXX-XXXXX-XXXXX-" + text[-5:]
        assert is_valid(text) is False
        # format() does not check the checksum: it groups what was typed.
        assert keys.format(text.lower()) == text


# --- secrets never leak through errors ----------------------------------------------------


def invalid_inputs_from_real_keys() -> dict[str, tuple[str, str]]:
    """Invalid inputs built from real keys: id -> (the real key, the input)."""
    cases: dict[str, tuple[str, str]] = {}
    for key in (PRO, "NPPR9-FWDCX-D2C8J-H872K-2YT43", "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB", WIN7_PRO):
        tag = key[-5:]
        compact_key = key.replace("-", "")
        variants = {
            "checksum": key[:-1] + next(c for c in SYMBOLS if c != key[-1]),
            "last-missing": key[:-1],
            "first-missing": key[1:],
            "extra-at-end": key + "B",
            "extra-at-start": "B" + key,
            "doubled": key + key,
            "bad-symbol-first": substitute(key, 0, "O"),
            "bad-symbol-middle": substitute(key, 12, "0"),
            "bad-symbol-last": substitute(key, 24, "L"),
            "emoji": substitute(key, 10, "\U0001f600"),
            "umlaut": substitute(key, 3, "\u00dc"),
            "second-n": substitute(key, 19, "N"),
            "n-last": substitute(key, 24, "N"),
            "undashed-lower-bad": compact_key.lower()[:-1] + "o",
            "tab-inside": key.replace("-", "\t"),
            "underscores": key.replace("-", "_"),
            "trailing-garbage": key + " please",
        }
        for name, text in variants.items():
            if name == "checksum" and "N" not in key:
                continue  # an old-format key has no checksum to get wrong
            cases[f"{tag}-{name}"] = (key, text)
    return cases


SECRET_CASES = invalid_inputs_from_real_keys()


def error_surfaces(error: ValidationError) -> list[str]:
    return [str(error), repr(error), *map(str, error.args), error.text, error.reason]


@pytest.mark.parametrize(("key", "text"), SECRET_CASES.values(), ids=SECRET_CASES.keys())
def test_errors_never_show_the_secret_part_of_a_key(key: str, text: str) -> None:
    secret = key.replace("-", "")[:20]
    secrets = [secret, key[:23], key, key.replace("-", ""), secret.lower()]
    assert is_valid(text) is False
    for function in (ProductKey.parse, validate, ProductKey):
        with pytest.raises(ValidationError) as info:
            function(text)
        for surface in error_surfaces(info.value):
            flat = surface.replace("-", "").replace("\u2014", "")
            for secret_form in secrets:
                assert secret_form not in surface
                assert secret_form.replace("-", "") not in flat
            # No run of five consecutive secret symbols is shown either.
            windows = {secret[i : i + 5] for i in range(16)}
            assert not [w for w in windows if w in flat], (surface, windows)


def test_the_exception_chain_does_not_carry_the_key() -> None:
    text = substitute(PRO, 24, "O")  # a real key with one typo
    with pytest.raises(InvalidFormat) as info:
        ProductKey.parse(text)
    chain = []
    error: BaseException | None = info.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert chain == [info.value]


TRUNCATED = {
    "four-groups": PRO[:23],  # a key cut at a line break
    "two-groups": PRO[:11],
    "last-symbol-missing": PRO[:-1],
    "pkey2005-four-groups": WIN7_PRO[:23],
}


@pytest.mark.parametrize("text", TRUNCATED.values(), ids=TRUNCATED.keys())
def test_a_truncated_key_shows_none_of_its_secret_symbols(text: str) -> None:
    key = PRO if text.startswith(PRO[:5]) else WIN7_PRO
    with pytest.raises(InvalidLength) as info:
        ProductKey.parse(text)
    visible = info.value.text.replace("-", "").replace("X", "").replace(".", "")
    assert visible in key[-5:]


def test_error_for_a_mistyped_key_has_one_readable_shape() -> None:
    with pytest.raises(InvalidChecksum) as info:
        ProductKey.parse("W269N-WFGWX-YVC9B-4J6C9-T83GY")
    assert str(info.value) == (
        "Invalid product key: 'XXXXX-XXXXX-XXXXX-XXXXX-T83GY' (checksum does not match)"
    )
    with pytest.raises(InvalidLength) as length_info:
        ProductKey.parse("W269N-WFGWX")
    message = str(length_info.value)
    assert message.startswith("Invalid product key: 'XXXXX-")
    assert message.endswith("' (has 10 symbols; expected 25)")


def test_long_garbage_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidLength) as info:
        ProductKey.parse("B" * 100)
    assert len(str(info.value)) < 100
    assert "..." in info.value.text


# --- is_valid never raises ----------------------------------------------------------------

ODD_OBJECTS = [
    None, 0, 1.5, True, b"", bytearray(b"x"), [], {}, set(), object(), "", " ", "\x00",
    "\ud800", "N" * 25, "-" * 29, PRO.encode(), [PRO], ProductKey.parse(PRO), float("nan"),
]  # fmt: skip


@pytest.mark.parametrize(
    "value", ODD_OBJECTS, ids=[type(v).__name__ + str(i) for i, v in enumerate(ODD_OBJECTS)]
)
def test_is_valid_never_raises(value: object) -> None:
    assert is_valid(value) is False


# --- the functional API -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PRO, PRO_COMPACT),
        (f"  {PRO.lower()}  ", PRO_COMPACT),
        (PRO.replace("-", "\u2013"), PRO_COMPACT),
        (PRO.replace("-", "\u2014"), PRO_COMPACT),
        (PRO.replace("-", " "), PRO_COMPACT),
        ("ab-cd", "ABCD"),  # compact does not validate
        ("", ""),
    ],
    ids=["canonical", "lower-whitespace", "en-dash", "em-dash", "spaces", "not-a-key", "empty"],
)
def test_compact(text: str, expected: str) -> None:
    assert compact(text) == expected


def test_validate_returns_the_canonical_form_or_raises() -> None:
    assert validate(PRO_COMPACT.lower()) == PRO
    assert validate(WIN7_PRO.replace("-", " ")) == WIN7_PRO
    with pytest.raises(InvalidChecksum):
        validate("W269N-WFGWX-YVC9B-4J6C9-T83GY")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("w269nwfgwxyvc9b4j6c9t83gy", "W269N-WFGWX-YVC9B-4J6C9-T83GY"),  # bad checksum
        ("FJ82H XT6CR J8D7P XQJJ2 GPDD4", WIN7_PRO),
        ("B" * 25, "BBBBB-BBBBB-BBBBB-BBBBB-BBBBB"),
    ],
    ids=["bad-checksum", "pkey2005", "all-b"],
)
def test_format_groups_without_checking_the_checksum(text: str, expected: str) -> None:
    assert keys.format(text) == expected


# --- single-symbol corruption -------------------------------------------------------------


def test_single_symbol_corruptions_are_nearly_all_detected() -> None:
    """Replace each symbol of every published PKEY2009 key by every other symbol.

    A 10-bit checksum lets a random change through with probability 1/1024; over the
    105 * 24 * 23 = 57,960 corruptions that is 56.6 expected, standard deviation 7.5. The
    bound, 2/1024 (113), is over 7 standard deviations above that, so only a broken check
    can exceed it. Substituting an N is a second N and always refused; replacing the N
    itself is covered separately below.
    """
    tried = 0
    accepted: list[tuple[str, str]] = []
    for key in PKEY2009_GVLKS:
        symbols = key.replace("-", "")
        for index, original in enumerate(symbols):
            if original == "N":
                continue
            for char in SYMBOLS + "N":
                if char == original:
                    continue
                text = dashed(symbols[:index] + char + symbols[index + 1 :])
                if char == "N":
                    with pytest.raises(InvalidFormat, match="has 2 N symbols"):
                        ProductKey.parse(text)
                    continue
                tried += 1
                try:
                    corrupted = ProductKey.parse(text)
                except InvalidChecksum:
                    continue
                accepted.append((key, text))
                # A collision is a genuinely different key that happens to check out.
                assert corrupted != ProductKey.parse(key)
                assert corrupted.reveal() == text
                assert reference_checksum_ok(text)
    assert tried == 105 * 24 * 23
    assert len(accepted) < 2 * tried / 1024, len(accepted)
    # No key is weak: collisions spread out instead of clustering on one key.
    per_key = {key: sum(k == key for k, _ in accepted) for key in PKEY2009_GVLKS}
    assert max(per_key.values()) <= 3


@pytest.mark.parametrize("key", PKEY2009_GVLKS[:5])
def test_replacing_the_n_gives_an_old_format_key_that_cannot_be_checked(key: str) -> None:
    """A documented limit, not a feature: without its N a key has no checksum (§1.4)."""
    symbols = key.replace("-", "")
    index = symbols.index("N")
    for char in SYMBOLS:
        replaced = ProductKey.parse(dashed(symbols[:index] + char + symbols[index + 1 :]))
        assert replaced.algorithm is KeyAlgorithm.PKEY2005
        assert replaced.fields is None


def test_characters_that_upper_case_into_key_symbols_are_refused() -> None:
    # "\ufb00" (the ff ligature) upper-cases to "FF": two key symbols out of thin air.
    text = "\ufb00" + PRO.replace("-", "")[2:]
    with pytest.raises(InvalidFormat, match="is not a key symbol"):
        ProductKey.parse(text)
    assert not is_valid(text)


# --- hostile input (issue 9): found by tests/fuzz -----------------------------------------


def test_a_pasted_megabyte_is_refused_quickly_with_a_short_message() -> None:
    with pytest.raises(InvalidFormat) as caught:
        ProductKey.parse("é" + "B" * 1_000_000)
    assert str(caught.value) == (
        "Invalid product key: 'XXXXX-...-X' ('é' at position 1 is not a key symbol)"
    )
    with pytest.raises(InvalidLength, match=r"'XXXXX-\.\.\.-XXXXX' \(has 1000000 symbols"):
        ProductKey.parse("b" * 1_000_000)


def test_a_lower_case_symbol_beside_other_characters_is_named_upper_case() -> None:
    with pytest.raises(InvalidFormat, match=r"'A' at position 2 is not a key symbol"):
        ProductKey.parse("ba" + "\u2013" + "c" * 22 + "\u00e9")


class _Lying(str):
    __slots__ = ()

    def strip(self, *_: object) -> str:  # type: ignore[override]  # the point of the test
        raise AssertionError("compact() trusted a str subclass")


def test_compact_reads_a_str_subclass_as_the_string_it_is() -> None:
    assert compact(_Lying(" w269n-wfgwx ")) == "W269NWFGWX"
    assert compact("\ufb00\ud800b") == "\ufb00\ud800B"  # only ASCII letters change case
