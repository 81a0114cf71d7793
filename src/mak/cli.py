"""The ``mak`` command: check identifiers, and carry exchange files across an air gap.

Exit codes: 0 when the input is valid, 1 when it is not or the work failed (the reason on
standard error), 2 for a usage error. Product keys are never printed whole; pass ``-``
instead of a key to read it from standard input and keep it out of the shell history.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

import mak
from mak.catalog import Catalog, ProductFamily
from mak.codes import lookup, to_markdown
from mak.errors import InvalidComponent, InvalidFormat, MakError
from mak.ids import ConfirmationId, InstallationId
from mak.keys import KeyAlgorithm, ProductKey
from mak.lifecycle import LICENSING
from mak.proxystage import PROXY

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mak.exchange import ExchangeDocument
    from mak.manager import BatchReport
    from mak.ports import ActivationService
    from mak.statetable import StateTable

__all__ = ["main"]

OK, INVALID, USAGE = 0, 1, 2
_MACHINES: dict[str, StateTable[Any]] = {"licensing": LICENSING, "proxy": PROXY}
# The values of mak.exchange.Profile and MergePolicy, known without importing it (cattrs).
_PROFILES = ("full", "no-keys", "proxy-only")
_POLICIES = ("fail-on-conflict", "keep-existing", "overwrite")
_SIMULATED_LIMIT = 1_000_000
_FAILURES_SHOWN = 10
_SQLITE_FILES = ("", "-wal", "-shm", "-journal")  # a database and the files SQLite adds


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None) -> int:
    """Run the command line with *argv* (default: ``sys.argv[1:]``); return the exit code.

    >>> main(["code", "0xC004F038"])
    Code:             0xC004F038
    Symbol:           SL_E_VL_NOT_ENOUGH_COUNT
    ...
    0
    """
    parser = _parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on usage errors, 0 after --help
        return int(exit_.code or 0)
    command: Callable[[argparse.Namespace, TextIO], int | None] = arguments.command
    try:
        code = command(arguments, stdin or sys.stdin)
    except (MakError, OSError) as error:
        print(f"mak: {error}", file=sys.stderr)
        return INVALID
    return OK if code is None else code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mak",
        description="Check activation identifiers, run the demo and move exchange files.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {mak.__version__}")
    commands = parser.add_subparsers(title="commands", required=True)

    demo = commands.add_parser(
        "demo", help="run MAK proxy activation on a simulated lab (nothing real is touched)"
    )
    demo.add_argument("--computers", type=int, default=200, help="how many (default 200)")
    demo.add_argument(
        "--db", default="mak-demo.sqlite", help="the SQLite inventory (default ./mak-demo.sqlite)"
    )
    demo.add_argument("--seed", type=int, default=1, help="the simulation's seed (default 1)")
    demo.set_defaults(command=_demo)

    key = commands.add_parser("key", help="product keys").add_subparsers(required=True)
    key_check = key.add_parser("check", help="check a product key (printed masked)")
    key_check.add_argument("key", help="the key, or - to read it from standard input")
    key_check.set_defaults(command=_key_check)

    iid = commands.add_parser("iid", help="installation IDs").add_subparsers(required=True)
    iid_check = iid.add_parser("check", help="check an installation ID")
    iid_check.add_argument("iid", help="digits, with any spaces or hyphens")
    iid_check.set_defaults(command=_iid_check)

    cid = commands.add_parser("cid", help="confirmation IDs").add_subparsers(required=True)
    cid_check = cid.add_parser("check", help="check a confirmation ID")
    cid_check.add_argument("cid", help="digits, with any spaces or hyphens")
    cid_check.add_argument(
        "--no-check-digits",
        dest="check_digits",
        action="store_false",
        help="accept a CID whose group check digits fail (the rule is unconfirmed for them)",
    )
    cid_check.set_defaults(command=_cid_check)

    diagram = commands.add_parser("diagram", help="draw a state machine of mak")
    diagram.add_argument(
        "--machine", choices=["licensing", "proxy"], default="licensing", help="which machine"
    )
    diagram.add_argument(
        "--format", choices=["mermaid", "dot", "markdown"], default="mermaid", help="output"
    )
    diagram.set_defaults(command=_diagram)

    code = commands.add_parser("code", help="explain an activation error code")
    code.add_argument(
        "code",
        help="hex, with or without 0x (0xC004C020, C004C020), or a negative decimal as "
        "PowerShell prints it (-1073430496); positive numbers are read as hex",
    )
    code.set_defaults(command=_code)

    codes = commands.add_parser(
        "codes", help="list every activation code mak knows, as Markdown tables by category"
    )
    codes.set_defaults(command=_codes)
    _exchange_commands(commands)
    return parser


def _exchange_commands(commands: Any) -> None:  # argparse's subparsers action is private
    export = commands.add_parser(
        "export", help="write an exchange file of a SQLite inventory (the air-gap file)"
    )
    export.add_argument("--db", required=True, help="the SQLite inventory to read")
    export.add_argument(
        "--profile",
        choices=_PROFILES,
        default="no-keys",
        help="what the file keeps: full (product keys too), no-keys (the default), or "
        "proxy-only (only what the clearinghouse needs: no names, addresses or keys)",
    )
    export.add_argument("out", help="the file to write, or - for standard output")
    export.set_defaults(command=_export)

    acquire = commands.add_parser(
        "acquire", help="get the confirmation IDs an exchange file waits for, into the file"
    )
    acquire.add_argument("file", help="the exchange file; it is rewritten unless --output")
    acquire.add_argument("--output", "-o", help="write the result here instead")
    acquire.add_argument(
        "--batch-size", type=int, default=500, help="IIDs per service call (default 500)"
    )
    acquire.add_argument(
        "--service",
        metavar="MODULE:ATTR",
        help="the ActivationService to ask: an object, or a class or function returning "
        "one (default: the simulated clearinghouse)",
    )
    acquire.add_argument(
        "--seed", type=int, default=1, help="the simulated clearinghouse's seed (default 1)"
    )
    _check_digits_option(acquire)
    acquire.set_defaults(command=_acquire)

    import_ = commands.add_parser(
        "import", help="bring an exchange file into a SQLite inventory, all of it or nothing"
    )
    import_.add_argument("--db", required=True, help="the SQLite inventory to write")
    import_.add_argument("file", help="the exchange file")
    import_.add_argument(
        "--policy",
        choices=_POLICIES,
        default="fail-on-conflict",
        help="what to do with records that differ from the inventory's (default: fail)",
    )
    _check_digits_option(import_)
    import_.set_defaults(command=_import)


def _check_digits_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--no-check-digits",
        dest="check_digits",
        action="store_false",
        help="read CIDs whose group check digits fail: only for a file whose CIDs come from "
        "a source known not to follow the rule (a mistyped CID would be kept for good)",
    )


def _demo(arguments: argparse.Namespace, _: TextIO) -> None:
    from mak.demo import run_demo  # noqa: PLC0415  # only the demo needs the simulation

    if arguments.computers < 1:
        raise InvalidComponent("computer count", str(arguments.computers), "must be 1 or more")
    if run_demo(computers=arguments.computers, db=arguments.db, seed=arguments.seed) != 0:
        raise InvalidComponent("demo", arguments.db, "a step did not behave as expected")


def _export(arguments: argparse.Namespace, _: TextIO) -> None:
    from mak import exchange  # noqa: PLC0415  # cattrs loads only for the exchange verbs
    from mak.adapters import SqliteInventory  # noqa: PLC0415  # likewise sqlite3

    with SqliteInventory(_existing(arguments.db)) as inventory:
        document = exchange.export(inventory, profile=exchange.Profile(arguments.profile))
    to_stdout = arguments.out == "-"
    exchange.dump(document, sys.stdout if to_stdout else arguments.out)
    summary = (
        f"Exported {len(document.activations)} installation IDs "
        f"({len(document.pending)} waiting for a confirmation ID) of "
        f"{len(document.products)} products, {len(document.computers)} computers and "
        f"{len(document.keys)} keys as {arguments.profile} to {arguments.out}"
    )
    print(summary, file=sys.stderr if to_stdout else sys.stdout)


def _acquire(arguments: argparse.Namespace, _: TextIO) -> int:
    from mak import exchange  # noqa: PLC0415  # cattrs loads only for the exchange verbs

    document = exchange.load(arguments.file, check_digits=arguments.check_digits)
    service = _service(arguments.service, arguments.seed)
    acquired, report = exchange.acquire(document, service, batch_size=arguments.batch_size)
    exchange.dump(acquired, arguments.output or arguments.file)
    _tell_acquired(acquired, report, arguments.output or arguments.file)
    return OK if report.failed == 0 else INVALID


def _tell_acquired(document: ExchangeDocument, report: BatchReport, path: str) -> None:
    got = len(document.acquired)
    print(
        f"{got} of {len(document.activations)} installation IDs have their confirmation ID "
        f"in {path} ({report.service_calls} call(s) to the service)"
    )
    for outcome in report.failures[:_FAILURES_SHOWN]:
        code = f"{outcome.code.hex} " if outcome.code is not None else ""
        print(f"mak: {outcome.product_id}: {code}{outcome.detail}", file=sys.stderr)
    if report.failed:
        print(f"mak: {report.failed} failed; run acquire again to retry them", file=sys.stderr)


def _service(spec: str | None, seed: int) -> ActivationService:
    """The service *spec* names (``module:attribute``), or the simulated clearinghouse."""
    if spec is None:
        from mak.simulation import SimulatedClearinghouse  # noqa: PLC0415  # only when asked

        simulated = SimulatedClearinghouse(seed=seed)
        for family in ProductFamily:  # the MAKs a clearinghouse of this seed issues first
            simulated.issue_mak(limit=_SIMULATED_LIMIT, family=family)
        return simulated
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise InvalidFormat("service", spec, "expected MODULE:ATTRIBUTE")
    try:
        target: object = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as error:
        reason = f"cannot be loaded ({type(error).__name__})"
        raise InvalidComponent("service", spec, reason) from None
    if inspect.isclass(target) or (
        callable(target) and not hasattr(target, "acquire_confirmation_ids")
    ):
        try:
            target = target()
        except TypeError:
            raise InvalidComponent("service", spec, "cannot be called without arguments") from None
    if not callable(getattr(target, "acquire_confirmation_ids", None)):
        raise InvalidComponent("service", spec, "is not an ActivationService")
    return cast("ActivationService", target)


def _import(arguments: argparse.Namespace, _: TextIO) -> None:
    from mak import exchange  # noqa: PLC0415  # cattrs loads only for the exchange verbs
    from mak.adapters import SqliteInventory  # noqa: PLC0415  # likewise sqlite3

    document = exchange.load(arguments.file, check_digits=arguments.check_digits)
    # A proxy-only file only maps back to the inventory that exported it: no new file.
    proxy_only = document.profile is exchange.Profile.PROXY_ONLY
    db = _existing(arguments.db) if proxy_only else arguments.db
    created = [] if Path(db).exists() else [Path(db + suffix) for suffix in _SQLITE_FILES]
    try:
        with SqliteInventory(db) as inventory:
            policy = exchange.MergePolicy(arguments.policy)
            report = exchange.import_(inventory, document, policy=policy)
    except BaseException:
        # A refused import writes nothing, so it leaves no new inventory behind either.
        for path in created:
            path.unlink(missing_ok=True)
        raise
    print(
        f"Imported {arguments.file}: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.conflicts} conflicts"
    )
    for detail in report.details:
        print(f"  conflict kept: {detail}")


def _existing(path: str) -> str:
    if not Path(path).is_file():
        raise InvalidComponent("inventory", path, "no such file")
    return path


def _key_check(arguments: argparse.Namespace, stdin: TextIO) -> None:
    text: str = arguments.key
    key = ProductKey.parse(stdin.readline() if text == "-" else text)
    fields = key.fields
    edition = Catalog.default().edition_of(key)
    _show("Product key", str(key))
    _show("Algorithm", f"{key.algorithm.name} ({key.algorithm.value})")
    if fields is None:
        _show("Checksum", f"none to check offline ({KeyAlgorithm.PKEY2005.name})")
    else:
        _show("Group ID", str(fields.group_id))
        _show("Serial", str(fields.serial))
        _show("Checksum", "valid: well formed, which does not mean genuine")
    _show("Published", f"GVLK of {edition.name}" if edition else "not a published GVLK")


def _iid_check(arguments: argparse.Namespace, _: TextIO) -> None:
    iid = InstallationId.parse(arguments.iid)
    _show("Installation ID", str(iid))
    _show("Layout", _layout(iid.layout.group_count, iid.layout.group_size))
    _show("Check digits", "valid")


def _cid_check(arguments: argparse.Namespace, _: TextIO) -> None:
    cid = ConfirmationId.parse(arguments.cid, check_digits=arguments.check_digits)
    _show("Confirmation ID", str(cid))
    _show("Layout", _layout(cid.layout.group_count, cid.layout.group_size))
    _show("Check digits", "valid" if arguments.check_digits else "not checked")


def _code(arguments: argparse.Namespace, _: TextIO) -> None:
    text: str = arguments.code
    code = lookup(_signed_decimal(text) if text.lstrip().startswith("-") else text)
    _show("Code", code.hex)
    _show("Symbol", code.symbol)
    _show("Category", code.category.name)
    _show("Retryable", "yes" if code.retryable else "no")
    _show("Meaning", code.message)


def _codes(_: argparse.Namespace, __: TextIO) -> None:
    print(to_markdown())


def _diagram(arguments: argparse.Namespace, _: TextIO) -> None:
    table = _MACHINES[arguments.machine]
    drawings = {"mermaid": table.to_mermaid, "dot": table.to_dot, "markdown": table.to_markdown}
    print(drawings[arguments.format]())


def _signed_decimal(text: str) -> int | str:
    """Read a negative code as PowerShell shows it; anything else stays hex text."""
    try:
        return int(text)
    except ValueError:
        return text  # lookup() explains what is wrong with it


def _layout(groups: int, size: int) -> str:
    return f"{groups * size} digits, {groups} groups of {size}"


def _show(label: str, value: str) -> None:
    print(f"{label + ':':<17} {value}")
