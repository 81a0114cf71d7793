"""Development sessions for mak.

``python noxfile.py`` runs the whole gate (lint, types, tests, property tests, docs,
notebooks); ``python noxfile.py -s demo`` runs the demo, ``-s fuzz`` the hostile-input
suite at 100,000 examples per parser. Run as a script, this file first
installs nox (and uv, which nox then uses to build session environments) into
``.nox/_bootstrap`` when they are missing, so a machine with only Python needs nothing
else. ``nox`` itself works as usual where it is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BOOTSTRAP_REQUIREMENTS = ("nox>=2025.2.9", "uv>=0.5")


def _bootstrap() -> int:
    """Run nox on this file from its own virtual environment, creating it if needed."""
    venv = ROOT / ".nox" / "_bootstrap"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    marker = venv / ".installed"
    wanted = "\n".join(BOOTSTRAP_REQUIREMENTS)
    if not marker.exists() or marker.read_text() != wanted:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *BOOTSTRAP_REQUIREMENTS], check=True)
        marker.write_text(wanted)
    command = [str(python), "-m", "nox", "--noxfile", str(ROOT / "noxfile.py"), *sys.argv[1:]]
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(_bootstrap())

import nox  # noqa: E402  # after the bootstrap, which makes it importable

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
PYTHONS = nox.project.python_versions(PYPROJECT)


def _install(session: nox.Session, *groups: str) -> None:
    requirements = [
        req for group in groups for req in nox.project.dependency_groups(PYPROJECT, group)
    ]
    session.install("-e", ".", *requirements)


@nox.session(default=False)
def demo(session: nox.Session) -> None:
    """Run the library's main job, ``python -m mak demo``, from a fresh install.

    Arguments after ``--`` go to the demo, e.g. ``-- --computers 1000 --seed 7``.
    """
    session.install(".")
    session.run("python", "-m", "mak", "demo", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the package with mypy --strict and pyright (strict)."""
    _install(session, "typing")
    # The adapters' tests assign each adapter to its port: mypy checks those lines too.
    session.run(
        "mypy",
        "src/mak",
        "tests/typing",
        "tests/adapters",
        "tests/faults",
        "tests/test_testing_fakes.py",
    )
    session.run("pyright", "src", "tests/typing")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the tests and every doctest (package and docs) under branch coverage."""
    _install(session, "tests")
    env = {"COVERAGE_FILE": str(ROOT / ".nox" / f".coverage.{session.name}")}
    session.run("coverage", "erase", env=env)
    session.run(
        "coverage", "run", "-m", "pytest",
        "tests", "src/mak", "docs", "README.md", "--doctest-modules", "--doctest-glob=*.md",
        "--ignore=docs/conf.py", "--ignore=docs/_build",
        *session.posargs, env=env,
    )  # fmt: skip
    session.run("coverage", "combine", env=env)
    session.run("coverage", "report", env=env)


@nox.session(python=PYTHONS, default=False)
def matrix(session: nox.Session) -> None:
    """Run the tests on every supported Python that is installed (not part of the gate)."""
    _install(session, "tests")
    session.run("pytest", "tests", "src/mak", "--doctest-modules", *session.posargs)


@nox.session
def property(session: nox.Session) -> None:  # noqa: A001  # the session's name
    """Run the hypothesis property tests; the hostile-input suite (tests/fuzz) at CI's count."""
    _install(session, "tests")
    session.run("pytest", "-m", "property", "tests", *session.posargs)


@nox.session(default=False)
def reliability(session: nox.Session) -> None:
    """Run the fault, crash and concurrency suites, printing their figures (the gate runs them too)."""
    _install(session, "tests")
    session.run("pytest", "tests/faults", "-s", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(default=False)
def fuzz(session: nox.Session) -> None:
    """Fuzz every parser and loader at 100,000 examples each (not part of the gate).

    The gate's property session runs the same tests (tests/fuzz) at a small count. The
    counts of inputs tried go to docs/_generated/fuzz-figures.md, which the Reliability
    page quotes. MAK_FUZZ_EXAMPLES overrides the count; pytest options follow `--`.
    """
    _install(session, "tests")
    session.install("pytest-xdist>=3.6")  # one worker per CPU: the run takes an hour on one
    env = {
        "MAK_FUZZ_EXAMPLES": os.environ.get("MAK_FUZZ_EXAMPLES", "100000"),
        "MAK_FUZZ_FIGURES": str(ROOT / "docs" / "_generated" / "fuzz-figures.md"),
    }
    session.run(
        "pytest", "-m", "property", "tests/fuzz", "-n", "auto", "-p", "no:cacheprovider",
        *session.posargs, env=env,
    )  # fmt: skip


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation, failing on any warning or broken reference."""
    _install(session, "docs")
    out = ROOT / "docs" / "_build" / "html"
    session.run("sphinx-build", "-n", "-W", "--keep-going", "-b", "html", "docs", str(out))


@nox.session
def notebooks(session: nox.Session) -> None:
    """Execute every notebook in notebooks/ with nbmake, failing on any error."""
    _install(session, "notebooks")
    session.run(
        "pytest", "--nbmake", "--nbmake-timeout=300", "-p", "no:cacheprovider",
        "notebooks", *session.posargs,
    )  # fmt: skip


# Files in docs/_generated and the `mak` command that writes each, from the state tables
# and the code catalog.
GENERATED = {
    "lifecycle.mmd": ("diagram", "--format", "mermaid"),
    "lifecycle-table.md": ("diagram", "--format", "markdown"),
    "proxy.mmd": ("diagram", "--machine", "proxy", "--format", "mermaid"),
    "proxy-table.md": ("diagram", "--machine", "proxy", "--format", "markdown"),
    "codes.md": ("codes",),
}


@nox.session(default=False)
def diagrams(session: nox.Session) -> None:
    """Regenerate docs/_generated (state tables, code catalog); with `-- --check`, fail on drift.

    The tests session checks the same (tests/test_generated_docs.py), so a drifted file
    fails the gate either way.
    """
    session.install(".")
    check = "--check" in session.posargs
    for name, argv in GENERATED.items():
        text = session.run("python", "-m", "mak", *argv, silent=True)
        path = ROOT / "docs" / "_generated" / name
        if not isinstance(text, str):  # pragma: no cover - nox returns output when silent
            session.error("no output from mak")
        if not check:
            path.write_text(text)
        elif path.read_text() != text:
            session.error(f"{path} is out of date: run `python noxfile.py -s diagrams`")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmarks; each prints its ratio against a baseline measured alongside.

    With MAK_TEST_POSTGRES_URL set, the PostgreSQL inventory is measured too.
    """
    session.install(".[postgres]")
    session.run("python", "benchmarks/run.py", *session.posargs)
