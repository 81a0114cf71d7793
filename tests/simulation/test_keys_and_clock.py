"""mint_key, the derived numbers, and FakeClock."""

from __future__ import annotations

import datetime as dt
import hashlib
import random

import pytest

from mak._checkdigits import group_check_digit
from mak.catalog import Catalog, ProductFamily
from mak.errors import InvalidComponent
from mak.ids import ConfirmationId, InstallationId
from mak.keys import KeyAlgorithm, ProductKey
from mak.lifecycle import KeyChannel
from mak.simulation import MAK_GROUP_IDS, FakeClock, extended_pid, family_of, mint_key
from mak.simulation import keys as simkeys

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("group_id", "serial"),
    [(0, 0), (0xFFFFF, (1 << 30) - 1), (0xF0001, 1), (3311, 1), (0xF0003, 123_456)],
)
def test_minted_keys_parse_and_decode_to_their_fields(group_id: int, serial: int) -> None:
    for seed in range(20):
        key = mint_key(random.Random(seed), group_id=group_id, serial=serial)
        parsed = ProductKey.parse(key.reveal())  # checksum verified here
        assert parsed == key
        assert key.algorithm is KeyAlgorithm.PKEY2009
        assert key.reveal().replace("-", "").count("N") == 1
        assert key.fields is not None
        assert (key.fields.group_id, key.fields.serial, key.fields.upgrade) == (
            group_id,
            serial,
            False,
        )


def test_mint_key_is_deterministic_from_the_rng() -> None:
    first = mint_key(random.Random(5), group_id=0xF0001, serial=9)
    assert first == mint_key(random.Random(5), group_id=0xF0001, serial=9)
    assert first != mint_key(random.Random(6), group_id=0xF0001, serial=9)


@pytest.mark.parametrize(
    ("group_id", "serial"), [(-1, 0), (1 << 20, 0), (0, 1 << 30), (0, -1), (True, 0)]
)
def test_mint_key_refuses_fields_out_of_range(group_id: int, serial: int) -> None:
    with pytest.raises(InvalidComponent):
        mint_key(random.Random(0), group_id=group_id, serial=serial)


def test_minted_keys_never_show_their_secret() -> None:
    key = mint_key(random.Random(0), group_id=0xF0001, serial=1)
    assert key.reveal()[:5] not in repr(key)
    assert repr(key).startswith("ProductKey('XXXXX-XXXXX-XXXXX-XXXXX-")


def test_family_and_channel_of_keys() -> None:
    for family, group in MAK_GROUP_IDS.items():
        key = mint_key(random.Random(1), group_id=group, serial=1)
        assert family_of(key) is family
        assert simkeys.channel_of(key) == (KeyChannel.MAK, family)
    gvlk = Catalog.default().gvlk_for("Windows 11 Pro")
    assert family_of(gvlk) is None
    assert simkeys.channel_of(gvlk) == (KeyChannel.GVLK, ProductFamily.WINDOWS_CLIENT)
    other = mint_key(random.Random(1), group_id=0xF00FF, serial=1)
    assert simkeys.channel_of(other) is None


def test_extended_pid_is_deterministic_and_carries_the_key_tag() -> None:
    key = mint_key(random.Random(1), group_id=0xF0001, serial=1)
    aid = "2de67392-b7a7-462a-b1ca-108dd189f588"
    pid = extended_pid(key, aid)
    assert pid == extended_pid(key, aid)
    assert simkeys.read_pid(pid) == (simkeys.key_tag(key), KeyChannel.MAK)
    assert simkeys.read_pid("03612-03311-000-000001-03-1033") is None
    assert key.reveal().replace("-", "") not in pid.replace("-", "")


def test_installation_ids_have_valid_check_digits_and_bind_the_key() -> None:
    key = mint_key(random.Random(1), group_id=0xF0001, serial=1)
    other = mint_key(random.Random(2), group_id=0xF0001, serial=2)
    aid = "2de67392-b7a7-462a-b1ca-108dd189f588"
    for n in range(50):
        iid = simkeys.installation_id(f"{n:032x}", key, aid)
        assert InstallationId.parse(str(iid)) == iid
        assert len(iid.digits) == 63
        assert simkeys.iid_belongs_to(iid, simkeys.key_tag(key))
        assert not simkeys.iid_belongs_to(iid, simkeys.key_tag(other))
    assert simkeys.installation_id("a" * 32, key, aid) != simkeys.installation_id(
        "b" * 32, key, aid
    )


def test_confirmation_ids_pass_the_check_digit_rule() -> None:
    key = mint_key(random.Random(1), group_id=0xF0001, serial=1)
    for n in range(50):
        iid = simkeys.installation_id(f"{n:032x}", key, "2de67392-b7a7-462a-b1ca-108dd189f588")
        cid = simkeys.confirmation_id(iid)
        assert ConfirmationId.parse(str(cid)) == cid  # check digits checked by default
        assert len(cid.digits) == 48


# --- FakeClock ----------------------------------------------------------------------------


def test_fake_clock_stands_still_until_moved() -> None:
    start = dt.datetime(2026, 1, 5, tzinfo=UTC)
    clock = FakeClock(start)
    assert clock.now() == clock.now() == start
    assert clock.advance(dt.timedelta(hours=2)) == start + dt.timedelta(hours=2)
    assert clock.advance(dt.timedelta(0)) == start + dt.timedelta(hours=2)
    later = dt.datetime(2026, 2, 1, tzinfo=UTC)
    assert clock.set(later) == later == clock.now()


def test_fake_clock_keeps_utc() -> None:
    cet = dt.timezone(dt.timedelta(hours=1))
    clock = FakeClock(dt.datetime(2026, 1, 5, 1, 0, tzinfo=cet))
    assert clock.now().tzinfo is UTC
    assert clock.now() == dt.datetime(2026, 1, 5, 0, 0, tzinfo=UTC)


def test_fake_clock_never_goes_backwards() -> None:
    clock = FakeClock(dt.datetime(2026, 1, 5, tzinfo=UTC))
    with pytest.raises(InvalidComponent, match="backwards"):
        clock.advance(dt.timedelta(seconds=-1))
    with pytest.raises(InvalidComponent, match="backwards"):
        clock.set(dt.datetime(2026, 1, 4, tzinfo=UTC))
    assert clock.now() == dt.datetime(2026, 1, 5, tzinfo=UTC)


def test_fake_clock_refuses_naive_times() -> None:
    with pytest.raises(InvalidComponent, match="naive"):
        FakeClock(dt.datetime(2026, 1, 5))  # noqa: DTZ001  # the naive time under test
    clock = FakeClock(dt.datetime(2026, 1, 5, tzinfo=UTC))
    with pytest.raises(InvalidComponent, match="naive"):
        clock.set(dt.datetime(2026, 1, 6))  # noqa: DTZ001  # the naive time under test


def test_minted_ids_carry_each_groups_check_digit_by_the_rule(rng: random.Random) -> None:
    for length, size in ((54, 6), (40, 5)):  # an IID's data, a CID's
        for _ in range(500):
            data = "".join(rng.choice("0123456789") for _ in range(length))
            minted = simkeys._with_check_digits(data, size)  # pyright: ignore[reportPrivateUsage]  # the minting path under test
            groups = [minted[i : i + size + 1] for i in range(0, len(minted), size + 1)]
            assert "".join(group[:-1] for group in groups) == data
            assert [int(group[-1]) for group in groups] == [
                group_check_digit(group[:-1]) for group in groups
            ]


@pytest.mark.parametrize("purpose", simkeys._PURPOSES)  # pyright: ignore[reportPrivateUsage]  # every digest the simulation takes
def test_digests_from_a_hashed_prefix_are_the_digest_of_the_whole_text(purpose: str) -> None:
    for text in ("", "x", "0123456789abcdef|W269N-WFGWX-YVC9B-4J6C9-T83GX|é", "9" * 200):
        whole = hashlib.sha256(f"mak-simulation/{purpose}/{text}".encode()).digest()
        digest = simkeys._digest_int(purpose, text)  # pyright: ignore[reportPrivateUsage]  # the fast path under test
        assert digest == int.from_bytes(whole, "big")
