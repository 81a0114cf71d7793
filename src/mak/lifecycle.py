"""The licensing state of one product on one computer.

This module starts with the vocabulary Windows itself reports: the seven
``SoftwareLicensingProduct.LicenseStatus`` values and the product key channels.
"""

from __future__ import annotations

import enum

from mak.errors import InvalidFormat

__all__ = ["KeyChannel", "LicenseStatus"]


class LicenseStatus(enum.IntEnum):
    """The ``LicenseStatus`` values of ``SoftwareLicensingProduct``, as WMI reports them.

    ``str()`` gives the WMI name; :attr:`description` gives slmgr's wording.

    >>> LicenseStatus(1)
    <LicenseStatus.LICENSED: 1>
    >>> str(LicenseStatus.OOB_GRACE), LicenseStatus.OOB_GRACE.description
    ('OOBGrace', 'Initial grace period')
    """

    UNLICENSED = 0
    LICENSED = 1
    OOB_GRACE = 2
    OOT_GRACE = 3
    NON_GENUINE_GRACE = 4
    NOTIFICATION = 5
    EXTENDED_GRACE = 6

    def __str__(self) -> str:
        return _WMI_NAMES[self]

    @property
    def description(self) -> str:
        """What ``slmgr.vbs /dli`` prints after ``License Status:``."""
        return _SLMGR_WORDING[self]

    @classmethod
    def from_slmgr(cls, text: str) -> LicenseStatus:
        """Return the status that slmgr's ``License Status:`` wording stands for.

        >>> LicenseStatus.from_slmgr("Additional grace period (KMS license expired or hardware out of tolerance)")
        <LicenseStatus.OOT_GRACE: 3>
        """
        wording = text.strip().rstrip(".").casefold()
        for status, known in _SLMGR_WORDING.items():
            if wording == known.rstrip(".").casefold() or wording == str(status).casefold():
                return status
        raise InvalidFormat("license status", text, "not a status slmgr prints")


_WMI_NAMES = {
    LicenseStatus.UNLICENSED: "Unlicensed",
    LicenseStatus.LICENSED: "Licensed",
    LicenseStatus.OOB_GRACE: "OOBGrace",
    LicenseStatus.OOT_GRACE: "OOTGrace",
    LicenseStatus.NON_GENUINE_GRACE: "NonGenuineGrace",
    LicenseStatus.NOTIFICATION: "Notification",
    LicenseStatus.EXTENDED_GRACE: "ExtendedGrace",
}

# slmgr.vbs /dli wording (domain-facts §4.1).
_SLMGR_WORDING = {
    LicenseStatus.UNLICENSED: "Unlicensed",
    LicenseStatus.LICENSED: "Licensed",
    LicenseStatus.OOB_GRACE: "Initial grace period",
    LicenseStatus.OOT_GRACE: (
        "Additional grace period (KMS license expired or hardware out of tolerance)"
    ),
    LicenseStatus.NON_GENUINE_GRACE: "Non-genuine grace period.",
    LicenseStatus.NOTIFICATION: "Notification",
    LicenseStatus.EXTENDED_GRACE: "Extended grace period",
}


class KeyChannel(enum.Enum):
    """The channel a product key was issued through; values are ``ProductKeyChannel`` strings.

    >>> KeyChannel("Volume:MAK")
    <KeyChannel.MAK: 'Volume:MAK'>
    >>> KeyChannel.from_product_key_channel("OEM:DM")
    <KeyChannel.OEM: 'OEM'>
    """

    RETAIL = "Retail"
    OEM = "OEM"
    MAK = "Volume:MAK"
    GVLK = "Volume:GVLK"
    CSVLK = "Volume:CSVLK"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def from_product_key_channel(cls, text: str) -> KeyChannel:
        """Return the channel of a ``ProductKeyChannel`` string such as ``Retail:TB:Eval``.

        OEM and retail sub-channels (``OEM:NONSLP``, ``Retail:TB:Eval`` ...) map to their
        family; anything else raises :class:`~mak.errors.InvalidFormat`.
        """
        value = text.strip()
        for channel in cls:
            if value.casefold() == channel.value.casefold():
                return channel
        family = value.split(":", 1)[0].casefold()
        if family == "oem":
            return cls.OEM
        if family == "retail":
            return cls.RETAIL
        raise InvalidFormat("product key channel", text, "not a channel Windows reports")
