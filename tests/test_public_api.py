"""The public API: what `mak` exports, and that every public name is documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import mak

PUBLIC_MODULES = sorted(
    f"mak.{info.name}"
    for info in pkgutil.iter_modules(mak.__path__)
    if not info.name.startswith("_") and info.name != "__main__"
)


def test_every_exported_name_exists_and_is_listed_once() -> None:
    assert len(set(mak.__all__)) == len(mak.__all__)
    for name in mak.__all__:
        assert getattr(mak, name) is not None


def test_dir_is_the_public_api() -> None:
    assert set(dir(mak)) == {*mak.__all__, "__version__"}


def test_version_is_lazy_and_a_string() -> None:
    assert isinstance(mak.__version__, str)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = mak.nope  # type: ignore[attr-defined]


def test_names_of_the_design_contract_are_importable() -> None:
    from mak.codes import CID_IID_MISMATCH, KMS_COUNT_INSUFFICIENT, MAK_LIMIT_EXCEEDED  # noqa: PLC0415
    from mak.ids import ConfirmationId, IdLayout, InstallationId  # noqa: PLC0415, F401
    from mak.keys import (  # noqa: PLC0415, F401
        KeyAlgorithm,
        KeyFields,
        ProductKey,
        compact,
        format,  # noqa: A004
        is_valid,
        validate,
    )

    assert (MAK_LIMIT_EXCEEDED, KMS_COUNT_INSUFFICIENT, CID_IID_MISMATCH) == (
        0xC004C020,
        0xC004F038,
        0xC004F031,
    )


def _public_objects() -> list[tuple[str, object]]:
    found = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        found.append((module_name, module))
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                found.append((f"{module_name}.{name}", value))
            if inspect.isclass(value):
                for member_name, member in vars(value).items():
                    if member_name.startswith("_"):
                        continue
                    if inspect.isfunction(member) or isinstance(member, (property, classmethod)):
                        found.append((f"{module_name}.{name}.{member_name}", member))
    return found


@pytest.mark.parametrize(
    ("name", "obj"), _public_objects(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_every_public_name_has_a_docstring(name: str, obj: object) -> None:
    target = obj.__func__ if isinstance(obj, classmethod) else obj
    target = target.fget if isinstance(target, property) else target
    assert inspect.getdoc(target), f"{name} has no docstring"


def test_every_public_module_declares_all() -> None:
    for module_name in PUBLIC_MODULES:
        assert hasattr(importlib.import_module(module_name), "__all__"), module_name


def test_every_exported_name_loads_lazily_from_its_module() -> None:
    assert set(mak._EXPORTS) == set(mak.__all__)
    for name, module in mak._EXPORTS.items():
        assert getattr(mak, name) is getattr(importlib.import_module(module), name)


def test_importing_a_domain_module_loads_no_storage_or_cattrs() -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = "import sys, mak.keys; print('sqlite3' in sys.modules or 'cattrs' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
