"""mak: Microsoft volume activation as a typed domain model.

The names below are the curated public API; each also lives in the module named for its
concept (``mak.keys``, ``mak.ids`` ...), which is where the documentation describes it.
mak validates formats and models behaviour: it never generates real product keys, never
computes confirmation IDs and never contacts Microsoft or any network.
"""

from __future__ import annotations

from mak.adapters import InMemoryInventory, SqliteInventory
from mak.catalog import Catalog, Edition, ProductFamily
from mak.codes import ActivationCode, Category, lookup
from mak.errors import (
    ActivationError,
    ActivationLimitExceeded,
    ConcurrencyConflict,
    CsvlkLimitExceeded,
    IllegalTransition,
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    MakError,
    NotFound,
    ServiceRejected,
    StorageError,
    TransportError,
    ValidationError,
)
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
    "GracePolicy",
    "IdLayout",
    "IllegalTransition",
    "InMemoryInventory",
    "InstallationId",
    "InvalidChecksum",
    "InvalidComponent",
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
    "NotFound",
    "Plan",
    "Product",
    "ProductFamily",
    "ProductKey",
    "Recommendation",
    "RemainingCount",
    "ServiceRejected",
    "SqliteInventory",
    "StorageError",
    "TransportError",
    "ValidationError",
    "configure_converter",
    "conversion",
    "lookup",
    "make_converter",
    "recommend",
]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415  # lazily

        try:
            return version("mak")
        except PackageNotFoundError:  # a plain checkout on sys.path, never installed
            return "0+unknown"
    raise AttributeError(f"module 'mak' has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*__all__, "__version__"]
