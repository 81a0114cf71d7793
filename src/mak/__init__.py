"""mak: Microsoft volume activation as a typed domain model.

The names below are the curated public API; each also lives in the module named for its
concept (``mak.keys``, ``mak.ids`` ...), which is where the documentation describes it.
mak validates formats and models behaviour: it never generates real product keys, never
computes confirmation IDs and never contacts Microsoft or any network.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

# mak logs under "mak" (each module under its own name); the application decides where
# records go. Until it does, they go nowhere, rather than to Python's last-resort handler.
logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:  # the names below, for type checkers; at run time they load lazily
    from mak.adapters import InMemoryInventory, SqliteInventory
    from mak.catalog import Catalog, Edition, ProductFamily
    from mak.codes import ActivationCode, Category, lookup
    from mak.errors import (
        ActivationError,
        ActivationLimitExceeded,
        ConcurrencyConflict,
        CsvlkLimitExceeded,
        IllegalTransition,
        ImportConflict,
        InvalidChecksum,
        InvalidComponent,
        InvalidDocument,
        InvalidFormat,
        InvalidLength,
        MakError,
        NotFound,
        ServiceRejected,
        StorageError,
        TransportError,
        ValidationError,
    )
    from mak.exchange import ExchangeDocument, ImportReport, MergePolicy, Profile
    from mak.ids import ConfirmationId, IdLayout, InstallationId
    from mak.keys import KeyAlgorithm, KeyFields, ProductKey
    from mak.kms import CsvlkPool, KmsClientPolicy, KmsEndpoint, KmsHost, KmsResponse
    from mak.lifecycle import (
        ActivationMethod,
        GracePolicy,
        KeyChannel,
        LicenseState,
        LicenseStatus,
    )
    from mak.limits import MakPool, RemainingCount
    from mak.manager import BatchReport, Outcome, RetryPolicy, VolumeActivationManager
    from mak.model import (
        ActionRecord,
        ByAddress,
        ByDirectory,
        ByName,
        ByWorkgroup,
        CilEntry,
        Computer,
        KeyRecord,
        Product,
    )
    from mak.planning import (
        Connectivity,
        ConversionPlan,
        Machine,
        Plan,
        Recommendation,
        conversion,
        recommend,
    )
    from mak.serialization import configure_converter, make_converter

__all__ = [
    "ActionRecord",
    "ActivationCode",
    "ActivationError",
    "ActivationLimitExceeded",
    "ActivationMethod",
    "BatchReport",
    "ByAddress",
    "ByDirectory",
    "ByName",
    "ByWorkgroup",
    "Catalog",
    "Category",
    "CilEntry",
    "Computer",
    "ConcurrencyConflict",
    "ConfirmationId",
    "Connectivity",
    "ConversionPlan",
    "CsvlkLimitExceeded",
    "CsvlkPool",
    "Edition",
    "ExchangeDocument",
    "GracePolicy",
    "IdLayout",
    "IllegalTransition",
    "ImportConflict",
    "ImportReport",
    "InMemoryInventory",
    "InstallationId",
    "InvalidChecksum",
    "InvalidComponent",
    "InvalidDocument",
    "InvalidFormat",
    "InvalidLength",
    "KeyAlgorithm",
    "KeyChannel",
    "KeyFields",
    "KeyRecord",
    "KmsClientPolicy",
    "KmsEndpoint",
    "KmsHost",
    "KmsResponse",
    "LicenseState",
    "LicenseStatus",
    "Machine",
    "MakError",
    "MakPool",
    "MergePolicy",
    "NotFound",
    "Outcome",
    "Plan",
    "Product",
    "ProductFamily",
    "ProductKey",
    "Profile",
    "Recommendation",
    "RemainingCount",
    "RetryPolicy",
    "ServiceRejected",
    "SqliteInventory",
    "StorageError",
    "TransportError",
    "ValidationError",
    "VolumeActivationManager",
    "configure_converter",
    "conversion",
    "lookup",
    "make_converter",
    "recommend",
]

# Each public name and the module that defines it: importing mak stays cheap (no
# sqlite3, no cattrs) until a name is used.
_EXPORTS: dict[str, str] = {
    "ActionRecord": "mak.model",
    "ActivationCode": "mak.codes",
    "ActivationError": "mak.errors",
    "ActivationLimitExceeded": "mak.errors",
    "ActivationMethod": "mak.lifecycle",
    "BatchReport": "mak.manager",
    "ByAddress": "mak.model",
    "ByDirectory": "mak.model",
    "ByName": "mak.model",
    "ByWorkgroup": "mak.model",
    "Catalog": "mak.catalog",
    "Category": "mak.codes",
    "CilEntry": "mak.model",
    "Computer": "mak.model",
    "ConcurrencyConflict": "mak.errors",
    "ConfirmationId": "mak.ids",
    "Connectivity": "mak.planning",
    "ConversionPlan": "mak.planning",
    "CsvlkLimitExceeded": "mak.errors",
    "CsvlkPool": "mak.kms",
    "Edition": "mak.catalog",
    "ExchangeDocument": "mak.exchange",
    "GracePolicy": "mak.lifecycle",
    "IdLayout": "mak.ids",
    "IllegalTransition": "mak.errors",
    "ImportConflict": "mak.errors",
    "ImportReport": "mak.exchange",
    "InMemoryInventory": "mak.adapters",
    "InstallationId": "mak.ids",
    "InvalidChecksum": "mak.errors",
    "InvalidComponent": "mak.errors",
    "InvalidDocument": "mak.errors",
    "InvalidFormat": "mak.errors",
    "InvalidLength": "mak.errors",
    "KeyAlgorithm": "mak.keys",
    "KeyChannel": "mak.lifecycle",
    "KeyFields": "mak.keys",
    "KeyRecord": "mak.model",
    "KmsClientPolicy": "mak.kms",
    "KmsEndpoint": "mak.kms",
    "KmsHost": "mak.kms",
    "KmsResponse": "mak.kms",
    "LicenseState": "mak.lifecycle",
    "LicenseStatus": "mak.lifecycle",
    "Machine": "mak.planning",
    "MakError": "mak.errors",
    "MakPool": "mak.limits",
    "MergePolicy": "mak.exchange",
    "NotFound": "mak.errors",
    "Outcome": "mak.manager",
    "Plan": "mak.planning",
    "Product": "mak.model",
    "ProductFamily": "mak.catalog",
    "ProductKey": "mak.keys",
    "Profile": "mak.exchange",
    "Recommendation": "mak.planning",
    "RemainingCount": "mak.limits",
    "RetryPolicy": "mak.manager",
    "ServiceRejected": "mak.errors",
    "SqliteInventory": "mak.adapters",
    "StorageError": "mak.errors",
    "TransportError": "mak.errors",
    "ValidationError": "mak.errors",
    "VolumeActivationManager": "mak.manager",
    "configure_converter": "mak.serialization",
    "conversion": "mak.planning",
    "lookup": "mak.codes",
    "make_converter": "mak.serialization",
    "recommend": "mak.planning",
}


def __getattr__(name: str) -> object:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415  # lazily

        try:
            return version("mak")
        except PackageNotFoundError:  # a plain checkout on sys.path, never installed
            return "0+unknown"
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mak' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found once, then an ordinary module attribute
    return value


def __dir__() -> list[str]:
    return [*__all__, "__version__"]
