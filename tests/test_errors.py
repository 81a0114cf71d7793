"""Tests for mak.errors: the hierarchy, structured attributes, messages and pickling."""

from __future__ import annotations

import copy
import inspect
import pickle

import pytest

from mak import codes, errors
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
from mak.ids import ConfirmationId, InstallationId
from mak.keys import ProductKey
from mak.lifecycle import LicenseStatus

# --- the hierarchy ------------------------------------------------------------------------

HIERARCHY = [
    # class, what it must be, what it must not be
    (MakError, (Exception,), (ValueError,)),
    (ValidationError, (MakError, ValueError), ()),
    (InvalidFormat, (ValidationError, MakError, ValueError), ()),
    (InvalidLength, (InvalidFormat, ValidationError, MakError, ValueError), ()),
    (InvalidChecksum, (ValidationError, MakError, ValueError), (InvalidFormat,)),
    (InvalidComponent, (ValidationError, MakError, ValueError), (InvalidFormat,)),
    (InvalidDocument, (ValidationError, MakError, ValueError), (InvalidFormat,)),
    (ActivationError, (MakError,), (ValueError, ValidationError)),
    (IllegalTransition, (ActivationError, MakError), (ValueError,)),
    (ActivationLimitExceeded, (ActivationError, MakError), (ValueError,)),
    (CsvlkLimitExceeded, (ActivationError, MakError), (ValueError, ActivationLimitExceeded)),
    (TransportError, (MakError,), (ValueError, ActivationError, StorageError)),
    (ServiceRejected, (TransportError, MakError), (ValueError,)),
    (StorageError, (MakError,), (ValueError, TransportError)),
    (NotFound, (StorageError, MakError), (ValueError, KeyError, LookupError)),
    (ConcurrencyConflict, (StorageError, MakError), (ValueError,)),
    (ImportConflict, (MakError,), (ValueError, StorageError, ActivationError)),
]


@pytest.mark.parametrize(
    ("cls", "bases", "not_bases"), HIERARCHY, ids=[cls.__name__ for cls, _, _ in HIERARCHY]
)
def test_hierarchy(
    cls: type[Exception], bases: tuple[type[Exception], ...], not_bases: tuple[type, ...]
) -> None:
    for base in bases:
        assert issubclass(cls, base), base
    for other in not_bases:
        assert not issubclass(cls, other), other


def test_every_error_class_is_exported_and_covered() -> None:
    defined = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, MakError)
    }
    assert defined == set(errors.__all__)
    assert {cls.__name__ for cls, _, _ in HIERARCHY} == defined


def test_every_validation_error_is_a_value_error_and_a_mak_error() -> None:
    subclasses = [
        getattr(errors, name)
        for name in errors.__all__
        if issubclass(getattr(errors, name), ValidationError)
    ]
    assert len(subclasses) == 6  # ValidationError and its five kinds
    for cls in subclasses:
        assert issubclass(cls, ValueError)
        assert issubclass(cls, MakError)


def test_parse_errors_are_caught_as_value_error_and_mak_error() -> None:
    for parse, text in (
        (ProductKey.parse, "nope"),
        (InstallationId.parse, "nope"),
        (ConfirmationId.parse, "nope"),
    ):
        with pytest.raises(ValueError, match="Invalid"):
            parse(text)
        with pytest.raises(MakError):
            parse(text)


# --- structured attributes and messages ---------------------------------------------------


def test_validation_error_attributes_and_message() -> None:
    error = ValidationError("product key", "XXXXX-T83GX", "too short")
    assert (error.kind, error.text, error.reason) == ("product key", "XXXXX-T83GX", "too short")
    assert str(error) == "Invalid product key: 'XXXXX-T83GX' (too short)"
    assert error.args == ("Invalid product key: 'XXXXX-T83GX' (too short)",)


def test_message_quotes_the_text_with_repr() -> None:
    error = InvalidFormat("installation ID", "it's\n", "odd")
    assert str(error) == 'Invalid installation ID: "it\'s\\n" (odd)'


def test_wrong_type_names_the_type_without_showing_the_value() -> None:
    secret = b"W269N-WFGWX-YVC9B-4J6C9-T83GX"
    error = InvalidFormat.wrong_type("product key", secret)
    assert type(error) is InvalidFormat
    assert error.text == "<bytes>"
    assert error.reason == "expected a string, got bytes"
    assert str(error) == "Invalid product key: '<bytes>' (expected a string, got bytes)"
    assert "W269N" not in repr(error)


@pytest.mark.parametrize(
    ("expected", "accepted"),
    [((25,), "25"), ((54, 63), "54 or 63"), ((42, 48), "42 or 48"), ((1, 2, 3), "1 or 2 or 3")],
    ids=["one", "iid", "cid", "three"],
)
def test_invalid_length_attributes_and_message(expected: tuple[int, ...], accepted: str) -> None:
    error = InvalidLength("thing", "123", length=3, expected=expected, unit="digits")
    assert error.length == 3
    assert error.expected == expected
    assert error.reason == f"has 3 digits; expected {accepted}"
    assert str(error) == f"Invalid thing: '123' (has 3 digits; expected {accepted})"


@pytest.mark.parametrize("group", [None, "3", "C"])
def test_invalid_checksum_group(group: str | None) -> None:
    error = InvalidChecksum("confirmation ID", "123", "check digit is wrong", group=group)
    assert error.group == group
    assert str(error) == "Invalid confirmation ID: '123' (check digit is wrong)"


def test_invalid_checksum_group_defaults_to_none() -> None:
    assert InvalidChecksum("product key", "X", "checksum does not match").group is None


def test_invalid_component_message() -> None:
    error = InvalidComponent("activation code", "4294967296", "not a 32-bit value")
    assert str(error) == "Invalid activation code: '4294967296' (not a 32-bit value)"


def test_invalid_document_names_the_json_path() -> None:
    error = InvalidDocument("$.activations[3].installation_id", "has 5 digits")
    assert (error.path, error.text, error.reason) == (
        "$.activations[3].installation_id",
        "$.activations[3].installation_id",
        "has 5 digits",
    )
    assert error.kind == "exchange document"
    assert str(error) == (
        "Invalid exchange document: '$.activations[3].installation_id' (has 5 digits)"
    )


def test_import_conflict_lists_a_few_conflicts_and_counts_the_rest() -> None:
    conflicts = tuple(f"product 'p-{n}': name differ" for n in range(5))
    error = ImportConflict(conflicts)
    assert error.conflicts == conflicts
    assert str(error) == (
        "Import refused: 5 records differ from the inventory (nothing written): "
        "product 'p-0': name differ; product 'p-1': name differ; "
        "product 'p-2': name differ; and 2 more"
    )


def test_import_conflict_masks_keys_in_what_it_quotes() -> None:
    error = ImportConflict(("key W269N-WFGWX-YVC9B-4J6C9-T83GX: edition differ",))
    assert "W269N" not in str(error)
    assert error.conflicts == ("key XXXXX-XXXXX-XXXXX-XXXXX-XXXXX: edition differ",)


def test_illegal_transition_with_an_event_name() -> None:
    error = IllegalTransition(LicenseStatus.UNLICENSED, "Renewed")
    assert str(error) == "Can't Renewed when Unlicensed"
    assert error.status is LicenseStatus.UNLICENSED
    assert error.event == "Renewed"


def test_illegal_transition_with_an_event_object_uses_its_class_name() -> None:
    class Rearmed:
        pass

    event = Rearmed()
    error = IllegalTransition(LicenseStatus.OOB_GRACE, event)
    assert str(error) == "Can't Rearmed when OOBGrace"
    assert error.event is event
    assert error.status is LicenseStatus.OOB_GRACE


@pytest.mark.parametrize(
    ("limit", "used", "requested", "message"),
    [
        (10, 9, 2, "MAK activation limit exceeded: 2 requested, 1 of 10 left (0xC004C020)"),
        (5, 5, 1, "MAK activation limit exceeded: 1 requested, 0 of 5 left (0xC004C020)"),
        (
            250,
            0,
            251,
            "MAK activation limit exceeded: 251 requested, 250 of 250 left (0xC004C020)",
        ),
    ],
    ids=["some-left", "none-left", "too-many"],
)
def test_activation_limit_exceeded(limit: int, used: int, requested: int, message: str) -> None:
    error = ActivationLimitExceeded(limit=limit, used=used, requested=requested)
    assert (error.limit, error.used, error.requested) == (limit, used, requested)
    assert error.code == 0xC004C020
    assert ActivationLimitExceeded.code == 0xC004C020
    assert str(error) == message


def test_activation_limit_exceeded_takes_keywords_only() -> None:
    with pytest.raises(TypeError):
        ActivationLimitExceeded(10, 9, 2)  # type: ignore[misc]  # the point of the test


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (None, "connection refused"),
        (0x800706BA, "connection refused (0x800706BA)"),
        (0x7F, "connection refused (0x0000007F)"),
    ],
    ids=["no-code", "hresult", "small"],
)
def test_transport_error(code: int | None, message: str) -> None:
    error = TransportError("connection refused", code=code)
    assert error.message == "connection refused"
    assert error.code == code
    assert str(error) == message


def test_service_rejected_carries_its_code() -> None:
    error = ServiceRejected("key blocked", code=0xC004C003)
    assert error.code == 0xC004C003
    assert error.message == "key blocked"
    assert str(error) == "key blocked (0xC004C003)"
    with pytest.raises(TypeError):
        ServiceRejected("key blocked")  # type: ignore[call-arg]  # the point of the test


def test_csvlk_limit_exceeded_carries_its_code_as_mak_codes_names_it() -> None:
    error = CsvlkLimitExceeded(
        host="kms1", activations=10, hosts=1, max_hosts=6, activations_per_host=10
    )
    assert error.code == codes.KMS_HOST_LIMIT_EXCEEDED == 0xC004C008
    assert str(error) == (
        "KMS host key activation limit exceeded: 'kms1' has used all 10 activations (0xC004C008)"
    )


def test_not_found() -> None:
    error = NotFound("computer", "c-42")
    assert (error.kind, error.id) == ("computer", "c-42")
    assert str(error) == "No computer with id 'c-42'"


@pytest.mark.parametrize(
    ("actual", "message"),
    [
        (4, "Stale product 'p-1': written from version 3, stored version is 4"),
        (None, "Stale product 'p-1': written from version 3, stored record is gone"),
    ],
    ids=["newer", "gone"],
)
def test_concurrency_conflict(actual: int | None, message: str) -> None:
    error = ConcurrencyConflict("product", "p-1", expected=3, actual=actual)
    assert (error.kind, error.id, error.expected, error.actual) == ("product", "p-1", 3, actual)
    assert str(error) == message


# --- pickling -----------------------------------------------------------------------------


def _raised(function: object, *args: object) -> MakError:
    try:
        function(*args)  # type: ignore[operator]  # any callable
    except MakError as error:
        return error
    raise AssertionError(f"{function} did not raise")  # pragma: no cover


EXAMPLES: dict[str, MakError] = {
    "mak-error": MakError("plain"),
    "validation": ValidationError("product key", "XXXXX", "bad"),
    "format": InvalidFormat("installation ID", "12x", "'x' at position 3 is not a digit"),
    "wrong-type": InvalidFormat.wrong_type("product key", None),
    "length": InvalidLength("installation ID", "12345", length=5, expected=(54, 63), unit="digits"),
    "checksum-group": InvalidChecksum("confirmation ID", "0...", "check digit of group B is wrong", group="B"),
    "checksum-key": InvalidChecksum("product key", "XXXXX-T83GY", "checksum does not match"),
    "component": InvalidComponent("activation code", "4294967296", "not a 32-bit value"),
    "activation": ActivationError("not allowed"),
    "transition": IllegalTransition(LicenseStatus.UNLICENSED, "Renewed"),
    "limit": ActivationLimitExceeded(limit=10, used=9, requested=2),
    "csvlk": CsvlkLimitExceeded(
        host="kms7", activations=0, hosts=6, max_hosts=6, activations_per_host=10
    ),
    "transport": TransportError("connection refused", code=0x800706BA),
    "transport-no-code": TransportError("timed out"),
    "rejected": ServiceRejected("key blocked", code=0xC004C003),
    "storage": StorageError("disk full"),
    "not-found": NotFound("computer", "c-42"),
    "conflict": ConcurrencyConflict("product", "p-1", expected=3, actual=4),
    "conflict-gone": ConcurrencyConflict("product", "p-1", expected=3, actual=None),
    "document": InvalidDocument("$.products[0].id", "the same as $.products[1].id"),
    "import-conflict": ImportConflict(("computer 'c-1': name differ",)),
    "raised-key-length": _raised(ProductKey.parse, "W269N-WFGWX"),
    "raised-key-checksum": _raised(ProductKey.parse, "W269N-WFGWX-YVC9B-4J6C9-T83GY"),
    "raised-iid-group": _raised(InstallationId.parse, "123451" * 9),
    "raised-cid-group": _raised(ConfirmationId.parse, "123450" * 7 + "123451"),
}  # fmt: skip


def test_examples_cover_every_error_class() -> None:
    assert {type(e).__name__ for e in EXAMPLES.values()} == set(errors.__all__)


def _assert_same(restored: BaseException, error: BaseException) -> None:
    assert type(restored) is type(error)
    assert str(restored) == str(error)
    assert repr(restored) == repr(error)
    assert restored.args == error.args
    assert vars(restored) == vars(error)


@pytest.mark.parametrize("error", EXAMPLES.values(), ids=EXAMPLES.keys())
@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_every_error_pickles(error: MakError, protocol: int) -> None:
    restored = pickle.loads(pickle.dumps(error, protocol=protocol))  # noqa: S301  # our own bytes
    _assert_same(restored, error)


@pytest.mark.parametrize("error", EXAMPLES.values(), ids=EXAMPLES.keys())
def test_every_error_copies(error: MakError) -> None:
    _assert_same(copy.copy(error), error)
    _assert_same(copy.deepcopy(error), error)


def test_unpickled_errors_keep_their_attributes() -> None:
    length = pickle.loads(pickle.dumps(EXAMPLES["raised-key-length"]))  # noqa: S301
    assert isinstance(length, InvalidLength)
    assert (length.length, length.expected, length.kind) == (10, (25,), "product key")
    group = pickle.loads(pickle.dumps(EXAMPLES["raised-cid-group"]))  # noqa: S301
    assert isinstance(group, InvalidChecksum)
    assert group.group == "H"
    transition = pickle.loads(pickle.dumps(EXAMPLES["transition"]))  # noqa: S301
    assert isinstance(transition, IllegalTransition)
    assert transition.status is LicenseStatus.UNLICENSED
    assert transition.event == "Renewed"
    limit = pickle.loads(pickle.dumps(EXAMPLES["limit"]))  # noqa: S301
    assert isinstance(limit, ActivationLimitExceeded)
    assert (limit.limit, limit.used, limit.requested, limit.code) == (10, 9, 2, 0xC004C020)
    rejected = pickle.loads(pickle.dumps(EXAMPLES["rejected"]))  # noqa: S301
    assert isinstance(rejected, ServiceRejected)
    assert rejected.code == 0xC004C003
    conflict = pickle.loads(pickle.dumps(EXAMPLES["conflict-gone"]))  # noqa: S301
    assert isinstance(conflict, ConcurrencyConflict)
    assert (conflict.expected, conflict.actual) == (3, None)


def test_unpickled_errors_can_be_raised_and_caught_by_their_base() -> None:
    restored = pickle.loads(pickle.dumps(EXAMPLES["length"]))  # noqa: S301
    with pytest.raises(ValueError, match="expected 54 or 63"):
        raise restored


def test_pickling_keeps_a_masked_key_masked() -> None:
    error = EXAMPLES["raised-key-checksum"]
    data = pickle.dumps(error)
    assert b"W269N" not in data
    assert b"XXXXX-XXXXX-XXXXX-XXXXX-T83GY" in data
