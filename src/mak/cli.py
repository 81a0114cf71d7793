"""The ``mak`` command: check identifiers from a shell.

Exit codes: 0 when the input is valid, 1 when it is not (the reason on standard error),
2 for a usage error. Product keys are never printed whole; pass ``-`` instead of a key to
read it from standard input and keep it out of the shell history.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

import mak
from mak.catalog import Catalog
from mak.codes import lookup, to_markdown
from mak.errors import InvalidComponent, ValidationError
from mak.ids import ConfirmationId, InstallationId
from mak.keys import KeyAlgorithm, ProductKey
from mak.lifecycle import LICENSING
from mak.proxystage import PROXY

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mak.statetable import StateTable

__all__ = ["main"]

OK, INVALID, USAGE = 0, 1, 2
_MACHINES: dict[str, StateTable[Any]] = {"licensing": LICENSING, "proxy": PROXY}


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
    command: Callable[[argparse.Namespace, TextIO], None] = arguments.command
    try:
        command(arguments, stdin or sys.stdin)
    except ValidationError as error:
        print(f"mak: {error}", file=sys.stderr)
        return INVALID
    return OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mak", description="Check the identifiers of Microsoft volume activation."
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
    return parser


def _demo(arguments: argparse.Namespace, _: TextIO) -> None:
    from mak.demo import run_demo  # noqa: PLC0415  # only the demo needs the simulation

    if arguments.computers < 1:
        raise InvalidComponent("computer count", str(arguments.computers), "must be 1 or more")
    if run_demo(computers=arguments.computers, db=arguments.db, seed=arguments.seed) != 0:
        raise InvalidComponent("demo", arguments.db, "a step did not behave as expected")


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
