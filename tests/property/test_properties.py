"""Hypothesis property tests for keys, IDs, codes and their serialisation.

Run by the ``property`` nox session (``pytest -m property tests``); the default run leaves
them out. Well-formed ``PKEY2005`` keys and IDs are generated here; ``PKEY2009`` keys cannot
be (mak mints keys only in its simulation), so they are drawn from published GVLKs.
"""

from __future__ import annotations

import contextlib
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mak import codes, serialization
from mak.errors import InvalidChecksum, ValidationError
from mak.ids import (
    ConfirmationId,
    InstallationId,
    is_valid_confirmation_id,
    is_valid_installation_id,
)
from mak.keys import KeyAlgorithm, ProductKey, is_valid

pytestmark = pytest.mark.property

PROPERTY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SYMBOLS = "BCDFGHJKMPQRTVWXY2346789"  # domain-facts §1.1
SEPARATORS = ["-", "\u2013", "\u2014", " ", ""]

# Published GVLKs with an N (domain-facts §7.1 and §7.2): the only PKEY2009 keys a test
# may hold, since the library does not mint keys outside its simulation.
PUBLISHED_PKEY2009 = [
    "W269N-WFGWX-YVC9B-4J6C9-T83GX", "NPPR9-FWDCX-D2C8J-H872K-2YT43",
    "VDYBN-27WPP-V4HQT-9VMD4-VMK7H", "TVRH6-WHNXV-R9WG3-9XRFY-MY832",
    "NG4HW-VH26C-733KW-K6F98-J8CK4", "D764K-2NDRG-47T6Q-P8T8W-YP6DF",
    "WX4NM-KYWYW-QJJR4-XV3QB-6VM33", "N69G4-B89J2-4G8F4-WWYCC-J464C",
    "WC2BQ-8NRM3-FDDYY-2BFGV-KHKQY", "MH37W-N47XK-V7XM9-C7227-GCQG9",
    "NW6C2-QMPVW-D7KKK-3GKT6-VCFB2", "M7XTQ-FN8P6-TTKYV-9D4CC-J462D",
    "D2N9P-3P6X9-2R39C-7RTCD-MDVJX", "MHF9N-XY6XB-WVXMC-BTDCT-MKKG7",
    "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB", "V28N4-JG22K-W66P8-VTMGK-H6HGR",
    "FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH", "NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP",
    "9N9PT-27V4Y-VJ2PD-YXFMF-YTFQT", "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99",
    "DR92N-9HTF2-97XKM-XW2WJ-XW3J6", "WXY84-JN2Q9-RBCCQ-3Q3J3-3PFJ6",
]  # fmt: skip


# --- strategies ---------------------------------------------------------------------------


def checksum_holds(symbols: str) -> bool:
    """The PKEY2009 checksum rule of domain-facts §1.3-1.4, written out bit by bit."""
    position = symbols.index("N")
    value = position
    for char in symbols.replace("N", "", 1):
        value = value * 24 + SYMBOLS.index(char)
    stored = (value >> 103) & 0x3FF
    payload = (value & ~(0x3FF << 103)).to_bytes(16, "little")
    crc = 0xFFFFFFFF
    for byte in payload:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return (~crc & 0x3FF) == stored


def check_digit(data: str) -> str:
    return str(sum(int(d) * (1 if i % 2 == 0 else 2) for i, d in enumerate(data)) % 7)


pkey2005_keys = st.text(alphabet=SYMBOLS, min_size=25, max_size=25).map(
    lambda s: "-".join(s[i : i + 5] for i in range(0, 25, 5))
)
published_pkey2009 = st.sampled_from(PUBLISHED_PKEY2009)
any_key_text = st.one_of(pkey2005_keys, published_pkey2009)


@st.composite
def messy_spelling(draw: st.DrawFn, key: str) -> str:
    """*key* with random case, random separators between groups and surrounding blanks."""
    symbols = key.replace("-", "")
    cased = "".join(c.lower() if draw(st.booleans()) else c for c in symbols)
    groups = [cased[i : i + 5] for i in range(0, 25, 5)]
    text = groups[0]
    for group in groups[1:]:
        text += draw(st.sampled_from(SEPARATORS)) + group
    blanks = st.text(alphabet=" \t\n\r", max_size=3)
    return draw(blanks) + text + draw(blanks)


def digit_groups(size: int, count: int) -> st.SearchStrategy[list[str]]:
    data = st.text(alphabet=string.digits, min_size=size - 1, max_size=size - 1)
    return st.lists(data.map(lambda d: d + check_digit(d)), min_size=count, max_size=count)


IID_LAYOUTS = [(7, 9), (6, 9)]
CID_LAYOUTS = [(6, 8), (6, 7)]


@st.composite
def spaced(draw: st.DrawFn, groups: list[str]) -> str:
    """Groups joined by a random mix of spaces and hyphens, blanks around."""
    text = groups[0]
    for group in groups[1:]:
        text += draw(st.sampled_from(["-", " ", "", " - ", "  "])) + group
    return draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", " ", "\n"]))


def ids_of(layouts: list[tuple[int, int]]) -> st.SearchStrategy[list[str]]:
    return st.sampled_from(layouts).flatmap(lambda layout: digit_groups(*layout))


installation_id_groups = ids_of(IID_LAYOUTS)
confirmation_id_groups = ids_of(CID_LAYOUTS)

anything = st.one_of(
    st.text(),
    st.binary(),
    st.integers(),
    st.none(),
    st.lists(st.text()),
    st.floats(),
    st.booleans(),
    st.dictionaries(st.text(), st.integers()),
)
digitish_text = st.text(alphabet=string.digits + " -\t" + "\u0663\u00b2\uff13a", max_size=80)
keyish_text = st.text(
    alphabet=SYMBOLS + SYMBOLS.lower() + "N-n \u2013\u2014AOIL01\u00dc", max_size=40
)


# --- product keys -------------------------------------------------------------------------


@PROPERTY
@given(any_key_text)
def test_a_revealed_key_parses_back_to_itself(text: str) -> None:
    key = ProductKey.parse(text)
    assert ProductKey.parse(key.reveal()) == key
    assert ProductKey(key.reveal()) == key
    assert key.reveal() == text
    assert str(key) == "XXXXX-XXXXX-XXXXX-XXXXX-" + text[-5:]


@PROPERTY
@given(pkey2005_keys)
def test_keys_without_n_are_pkey2005_and_valid(text: str) -> None:
    key = ProductKey.parse(text)
    assert key.algorithm is KeyAlgorithm.PKEY2005
    assert key.fields is None
    assert is_valid(text)


@PROPERTY
@given(any_key_text.flatmap(lambda key: st.tuples(st.just(key), messy_spelling(key))))
def test_any_spelling_parses_to_the_same_key(pair: tuple[str, str]) -> None:
    key, text = pair
    assert ProductKey.parse(text) == ProductKey.parse(key)
    assert ProductKey.parse(text).reveal() == key


@PROPERTY
@given(st.one_of(anything, keyish_text))
def test_key_parsing_raises_only_validation_errors(value: object) -> None:
    if is_valid(value):
        key = ProductKey.parse(value)
        assert ProductKey.parse(key.reveal()) == key
    else:
        with pytest.raises(ValidationError, match=r"^Invalid product key: "):
            ProductKey.parse(value)


@PROPERTY
@given(st.one_of(anything, keyish_text, any_key_text))
def test_is_valid_never_raises(value: object) -> None:
    assert is_valid(value) in (True, False)


@PROPERTY
@given(published_pkey2009, st.integers(0, 24), st.sampled_from(SYMBOLS))
def test_a_corrupted_published_key_never_parses_as_the_original(
    text: str, index: int, char: str
) -> None:
    symbols = text.replace("-", "")
    assume(symbols[index] not in (char, "N"))
    corrupted = symbols[:index] + char + symbols[index + 1 :]
    if is_valid(corrupted):  # a checksum collision: rare, and still a different key
        assert checksum_holds(corrupted)
        assert ProductKey.parse(corrupted) != ProductKey.parse(text)
    else:
        assert not checksum_holds(corrupted)
        with pytest.raises(InvalidChecksum) as info:
            ProductKey.parse(corrupted)
        assert info.value.group is None
        assert symbols[:20] not in str(info.value).replace("-", "")


# --- installation and confirmation IDs ----------------------------------------------------


@PROPERTY
@given(installation_id_groups.flatmap(lambda g: st.tuples(st.just(g), spaced(g))))
def test_installation_ids_round_trip(pair: tuple[list[str], str]) -> None:
    groups, text = pair
    iid = InstallationId.parse(text)
    assert iid.groups == tuple(groups)
    assert iid.digits == "".join(groups)
    assert InstallationId.parse(str(iid)) == iid
    assert InstallationId(iid.digits) == iid
    assert is_valid_installation_id(text)


@PROPERTY
@given(confirmation_id_groups.flatmap(lambda g: st.tuples(st.just(g), spaced(g))))
def test_confirmation_ids_round_trip(pair: tuple[list[str], str]) -> None:
    groups, text = pair
    cid = ConfirmationId.parse(text)
    assert cid.groups == tuple(groups)
    assert ConfirmationId.parse(str(cid)) == cid
    assert ConfirmationId.parse(text, check_digits=False) == cid
    assert is_valid_confirmation_id(text)


@PROPERTY
@given(st.one_of(anything, digitish_text))
def test_id_parsing_raises_only_validation_errors(value: object) -> None:
    if is_valid_installation_id(value):
        iid = InstallationId.parse(value)
        assert InstallationId.parse(str(iid)) == iid
    else:
        with pytest.raises(ValidationError, match=r"^Invalid installation ID: "):
            InstallationId.parse(value)
    if is_valid_confirmation_id(value):
        cid = ConfirmationId.parse(value)
        assert ConfirmationId.parse(str(cid)) == cid
    else:
        with pytest.raises(ValidationError, match=r"^Invalid confirmation ID: "):
            ConfirmationId.parse(value)
    with contextlib.suppress(ValidationError):
        unchecked = ConfirmationId.parse(value, check_digits=False)
        assert len(unchecked.digits) in (42, 48)


@PROPERTY
@given(st.one_of(anything, digitish_text))
def test_id_is_valid_functions_never_raise(value: object) -> None:
    assert is_valid_installation_id(value) in (True, False)
    assert is_valid_confirmation_id(value) in (True, False)


@PROPERTY
@given(
    st.one_of(
        installation_id_groups.map(lambda g: ("iid", g)),
        confirmation_id_groups.map(lambda g: ("cid", g)),
    ),
    st.data(),
)
def test_one_changed_digit_is_caught_unless_it_keeps_the_sum_mod_7(
    drawn: tuple[str, list[str]], data: st.DataObject
) -> None:
    kind, groups = drawn
    size = len(groups[0])
    digits = "".join(groups)
    position = data.draw(st.integers(0, len(digits) - 1), label="position")
    new = data.draw(st.sampled_from([d for d in string.digits if d != digits[position]]))
    changed = digits[:position] + new + digits[position + 1 :]
    group, offset = divmod(position, size)
    if offset == size - 1:
        caught = True  # the check digit itself: only the one right value passes
    else:
        weight = 1 if offset % 2 == 0 else 2
        caught = weight * (int(new) - int(digits[position])) % 7 != 0
    parse = InstallationId.parse if kind == "iid" else ConfirmationId.parse
    if caught:
        with pytest.raises(InvalidChecksum) as info:
            parse(changed)
        assert info.value.group == (str(group + 1) if kind == "iid" else "ABCDEFGH"[group])
    else:
        assert parse(changed).digits == changed


@PROPERTY
@given(
    st.one_of(
        installation_id_groups.map(lambda g: ("iid", g)),
        confirmation_id_groups.map(lambda g: ("cid", g)),
    ),
    st.data(),
)
def test_any_other_check_digit_is_refused_7_8_9_included(
    drawn: tuple[str, list[str]], data: st.DataObject
) -> None:
    kind, groups = drawn
    index = data.draw(st.integers(0, len(groups) - 1), label="group")
    right = groups[index][-1]
    # Half the time, the digit congruent to the right one mod 7 (7, 8, 9 for 0, 1, 2).
    congruent = str(int(right) + 7) if int(right) < 3 else None
    choices = [d for d in string.digits if d != right]
    wrong = data.draw(
        st.sampled_from(choices + [congruent] * len(choices) if congruent else choices)
    )
    changed = [*groups[:index], groups[index][:-1] + wrong, *groups[index + 1 :]]
    parse = InstallationId.parse if kind == "iid" else ConfirmationId.parse
    with pytest.raises(InvalidChecksum) as info:
        parse("-".join(changed))
    assert info.value.group == (str(index + 1) if kind == "iid" else "ABCDEFGH"[index])


# --- activation codes ---------------------------------------------------------------------


@PROPERTY
@given(st.one_of(anything, st.text(alphabet=string.hexdigits + "xX -", max_size=12)))
def test_code_lookup_raises_only_validation_errors(value: object) -> None:
    try:
        code = codes.lookup(value)  # type: ignore[arg-type]  # arbitrary input is the point
    except ValidationError:
        return
    assert 0 <= code.value <= 0xFFFFFFFF
    assert codes.lookup(code.value) == code


@PROPERTY
@given(st.integers(-(2**31), 2**32 - 1))
def test_every_32_bit_number_has_an_entry(value: int) -> None:
    code = codes.lookup(value)
    assert code.value == value & 0xFFFFFFFF
    assert codes.lookup(f"0x{code.value:08X}") == code


# --- serialisation ------------------------------------------------------------------------

CONVERTER = serialization.make_converter()


@PROPERTY
@given(any_key_text)
def test_product_keys_survive_the_converter(text: str) -> None:
    key = ProductKey.parse(text)
    data = CONVERTER.unstructure(key)
    assert data == key.reveal()
    assert CONVERTER.structure(data, ProductKey) == key


@PROPERTY
@given(installation_id_groups)
def test_installation_ids_survive_the_converter(groups: list[str]) -> None:
    iid = InstallationId("".join(groups))
    assert CONVERTER.structure(CONVERTER.unstructure(iid), InstallationId) == iid


@PROPERTY
@given(confirmation_id_groups)
def test_confirmation_ids_survive_the_converter(groups: list[str]) -> None:
    cid = ConfirmationId("".join(groups))
    assert CONVERTER.structure(CONVERTER.unstructure(cid), ConfirmationId) == cid
