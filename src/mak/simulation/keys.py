"""Simulated product keys and the numbers derived from them: keys, extended PIDs, IIDs, CIDs.

Only the simulation mints keys, and only so that simulated fleets can run. A minted key is
a well-formed ``PKEY2009`` key (its checksum passes) whose group ID is one no Microsoft
product uses: :data:`MAK_GROUP_IDS` holds the group of each family's simulated MAK, so
``key.fields.group_id`` tells which family a simulated MAK is for.

>>> import random
>>> key = mint_key(random.Random(1), group_id=MAK_GROUP_IDS[ProductFamily.OFFICE], serial=7)
>>> key.fields.group_id == 0xF0003, key.fields.serial
(True, 7)
>>> family_of(key)
<ProductFamily.OFFICE: 'office'>
"""

from __future__ import annotations

import functools
import hashlib
import operator
from typing import TYPE_CHECKING, Final

from mak._checkdigits import group_check_digits, key_checksum
from mak.catalog import Catalog, ProductFamily
from mak.errors import InvalidComponent
from mak.ids import (  # _trusted: the simulation mints IDs whose check digits it computed
    ConfirmationId,
    InstallationId,
    _trusted,  # pyright: ignore[reportPrivateUsage]
)
from mak.keys import ALPHABET, ProductKey
from mak.lifecycle import KeyChannel

if TYPE_CHECKING:
    import random
    from collections.abc import Callable

__all__ = [
    "MAK_GROUP_IDS",
    "SIMULATED_GROUP_BASE",
    "channel_of",
    "extended_pid",
    "family_of",
    "mint_key",
]

SIMULATED_GROUP_BASE: Final = 0xF0000
"""The lowest group ID the simulation uses; Microsoft's published keys use far lower ones."""

MAK_GROUP_IDS: Final[dict[ProductFamily, int]] = {
    ProductFamily.WINDOWS_CLIENT: SIMULATED_GROUP_BASE + 1,
    ProductFamily.WINDOWS_SERVER: SIMULATED_GROUP_BASE + 2,
    ProductFamily.OFFICE: SIMULATED_GROUP_BASE + 3,
}
"""The group ID of each family's simulated MAK."""

_FAMILY_OF_GROUP: Final = {group: family for family, group in MAK_GROUP_IDS.items()}
_DIGITS_24: Final = 24**24  # the weight of the N position, the most significant digit
_CHANNEL_CODES: Final = {KeyChannel.MAK: "206", KeyChannel.GVLK: "000"}
_CHANNEL_OF_CODE: Final = {code: channel for channel, code in _CHANNEL_CODES.items()}
_KEY_TAG_DIGITS: Final = 16


def mint_key(rng: random.Random, *, group_id: int, serial: int) -> ProductKey:
    """Return a new simulated ``PKEY2009`` key with *group_id* and *serial*, drawn from *rng*.

    The 53 security bits come from *rng*, so the same generator state gives the same key.
    The key holds an ``N``, decodes to the fields given, and its checksum passes
    :meth:`ProductKey.parse <mak.keys.ProductKey.parse>`. *group_id* is 0 to 0xFFFFF and
    *serial* 0 to 2**30 - 1, else :class:`~mak.errors.InvalidComponent`.

    >>> import random
    >>> key = mint_key(random.Random(0), group_id=0xF0001, serial=1)
    >>> ProductKey.parse(key.reveal()) == key, key.fields.group_id, key.fields.serial
    (True, 983041, 1)
    >>> mint_key(random.Random(0), group_id=1 << 20, serial=1)
    Traceback (most recent call last):
    mak.errors.InvalidComponent: Invalid key field: 'group_id=1048576' (must be an int from 0 to 1048575)
    """
    _require_field("group_id", group_id, 1 << 20)
    _require_field("serial", serial, 1 << 30)
    security = rng.getrandbits(53)
    payload = group_id | serial << 20 | security << 50
    value = payload | key_checksum(payload.to_bytes(16, "little")) << 103
    position, rest = divmod(value, _DIGITS_24)  # below 2**113, so position <= 7
    symbols: list[str] = []
    for _ in range(24):
        rest, digit = divmod(rest, 24)
        symbols.append(ALPHABET[digit])
    text = "".join(reversed(symbols))
    text = text[:position] + "N" + text[position:]
    return ProductKey.parse(text)


def _require_field(name: str, value: object, bound: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < bound:
        shown = (
            f"{name}={value!r}" if isinstance(value, int) else f"{name}=<{type(value).__name__}>"
        )
        raise InvalidComponent("key field", shown, f"must be an int from 0 to {bound - 1}")


def family_of(key: ProductKey) -> ProductFamily | None:
    """Return the family of a simulated MAK, or ``None`` for any other key.

    >>> family_of(ProductKey.parse("W269N-WFGWX-YVC9B-4J6C9-T83GX")) is None
    True
    """
    fields = key.fields
    return None if fields is None else _FAMILY_OF_GROUP.get(fields.group_id)


@functools.lru_cache(maxsize=1024)
def channel_of(key: ProductKey) -> tuple[KeyChannel, ProductFamily] | None:
    """Return the channel and family a simulated computer sees in *key*, or ``None``.

    A simulated MAK is a MAK of its group's family; a GVLK in ``Catalog.default()`` is a
    GVLK of its edition's family; a simulated computer accepts no other key.

    >>> channel_of(ProductKey.parse("VDYBN-27WPP-V4HQT-9VMD4-VMK7H"))
    (<KeyChannel.GVLK: 'Volume:GVLK'>, <ProductFamily.WINDOWS_SERVER: 'windows-server'>)
    """
    family = family_of(key)
    if family is not None:
        return KeyChannel.MAK, family
    edition = Catalog.default().edition_of(key)
    if edition is not None:
        return KeyChannel.GVLK, edition.family
    return None


@functools.lru_cache(maxsize=1 << 17)
def extended_pid(key: ProductKey, activation_id: str) -> str:
    """Return the extended PID a simulated computer shows for *key* on product *activation_id*.

    It has the shape of ``SoftwareLicensingProduct.ProductKeyID``. Its digits hold a tag
    of the key (a digest, not the key) and its channel, which is how the simulated
    clearinghouse tells which key a request is for. The same arguments give the same PID.

    >>> pid = extended_pid(ProductKey.parse("W269N-WFGWX-YVC9B-4J6C9-T83GX"), "2de67392-b7a7-462a-b1ca-108dd189f588")
    >>> pid == extended_pid(ProductKey.parse("W269N-WFGWX-YVC9B-4J6C9-T83GX"), "2de67392-b7a7-462a-b1ca-108dd189f588")
    True
    >>> pid.split("-")[2], pid.split("-")[4:7]
    ('000', ['03', '1033', '26100.0000'])
    """
    tag = key_tag(key)
    found = channel_of(key)
    channel = _CHANNEL_CODES.get(found[0], "999") if found else "999"
    product = _digest_int("pid", activation_id) % 10**7
    return f"{tag[:5]}-{tag[5:10]}-{channel}-{tag[10:]}-03-1033-26100.0000-{product:07d}"


# --- shared by the clearinghouse and the computers (not exported) -------------------------


@functools.lru_cache(maxsize=1024)
def key_tag(key: ProductKey) -> str:
    """Return the 16-digit tag of *key* that extended PIDs carry."""
    return f"{_digest_int('key', key.reveal()) % 10**_KEY_TAG_DIGITS:016d}"


@functools.lru_cache(maxsize=1024)  # a proxy batch carries the same few PIDs many times
def read_pid(pid: str) -> tuple[str, KeyChannel | None] | None:
    """Return the key tag and channel an extended PID carries, or ``None`` if it is not one."""
    parts = pid.split("-")
    if len(parts) != 8 or not all(part.isdigit() for part in (parts[0], parts[1], parts[3])):
        return None
    tag = parts[0] + parts[1] + parts[3]
    if len(tag) != _KEY_TAG_DIGITS or not parts[2].isdigit():
        return None
    return tag, _CHANNEL_OF_CODE.get(parts[2])


def installation_id(fingerprint: str, key: ProductKey, activation_id: str) -> InstallationId:
    """Return the 63-digit IID of *key* on product *activation_id* of hardware *fingerprint*.

    Eight data groups come from the three inputs; the ninth binds them to the key's tag,
    so the clearinghouse can tell an IID that does not belong to the PID's key.
    """
    number = _digest_int("iid", f"{fingerprint}|{key.reveal()}|{activation_id}")
    data = f"{number % 10**48:048d}"
    # 63 digits whose check digits were just computed: checking them again would cost a
    # quarter of minting one, and the computer mints one per IID it is asked for.
    return _trusted(InstallationId, _with_check_digits(data + _binding(key_tag(key), data), 6))


def iid_belongs_to(iid: InstallationId, tag: str) -> bool:
    """Return whether the 63-digit *iid* was derived with a key of tag *tag*."""
    if len(iid.digits) != 63:
        return False
    data = "".join(_IID_DATA(iid.digits))
    return data[48:] == _binding(tag, data[:48])


def confirmation_id(iid: InstallationId) -> ConfirmationId:
    """Return the simulated CID for *iid*: a function of the IID alone, check digits valid."""
    return _confirmation_id(iid.digits)


# Kept by the digits: the clearinghouse mints each CID and the computer checks it again,
# and a cache keyed by the InstallationId would hold a tuple per IID for Python's garbage
# collector to walk on each full collection.
@functools.lru_cache(maxsize=1 << 17)
def _confirmation_id(iid_digits: str) -> ConfirmationId:
    data = f"{_digest_int('cid', iid_digits) % 10**40:040d}"
    return _trusted(ConfirmationId, _with_check_digits(data, 5))  # 48 digits, as minted


def _binding(tag: str, data: str) -> str:
    return f"{_digest_int('bind', f'{tag}|{data}') % 10**6:06d}"


def _cutter(length: int, size: int, every: int) -> Callable[[str], tuple[str, ...]]:
    """Return what cuts *size* characters every *every* out of *length*, in one call."""
    return operator.itemgetter(*(slice(i, i + size) for i in range(0, length, every)))


def _interleaver(length: int, size: int) -> Callable[[str], tuple[str, ...]]:
    """Return what cuts data digits and their check digits into groups, each check after its group.

    It takes *length* data digits, then one check digit per group of *size*, in one call.
    """
    cuts: list[slice] = []
    for group, start in enumerate(range(0, length, size)):
        cuts += (slice(start, start + size), slice(length + group, length + group + 1))
    return operator.itemgetter(*cuts)


# The IDs the simulation mints (two per product) put together in one cut and one join:
# an IID's 54 data digits in groups of 6, a CID's 40 in groups of 5. Cutting the groups
# and the check digits apart and pairing them up cost twice as much.
_INTERLEAVERS: Final = {(54, 6): _interleaver(54, 6), (40, 5): _interleaver(40, 5)}
_IID_DATA: Final = _cutter(63, 6, 7)  # a 63-digit IID's groups without their check digits


def _with_check_digits(data: str, size: int) -> str:
    """Return *data* cut into groups of *size* digits, each followed by its check digit."""
    return "".join(_INTERLEAVERS[len(data), size](data + group_check_digits(data, size)))


_PURPOSES: Final = ("pid", "key", "iid", "bind", "cid")
# Each purpose's prefix hashed once: copying that state costs less than hashing the prefix
# again, and a product's IDs take four digests.
_PREFIX_HASHES: Final = {
    purpose: hashlib.sha256(f"mak-simulation/{purpose}/".encode()) for purpose in _PURPOSES
}


def _digest_int(purpose: str, text: str) -> int:
    """Return the SHA-256 of ``mak-simulation/{purpose}/{text}`` as an integer."""
    hasher = _PREFIX_HASHES[purpose].copy()
    hasher.update(text.encode())
    return int.from_bytes(hasher.digest(), "big")
