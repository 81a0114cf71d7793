"""mak: Microsoft volume activation as a typed domain model."""

from __future__ import annotations

__all__: list[str] = []


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415  # only when asked for

        return version("mak")
    raise AttributeError(f"module 'mak' has no attribute {name!r}")
