"""`kubectl caretaker` arguments, with kubectl's conventions: -n/--namespace, -A for status,
--kubeconfig, --context, -o json|yaml|wide|name; a usage error prints ``error: ...`` and exits 1
(as kubectl does), never a traceback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from caretaker import __version__
from caretaker.cli.kubectl.table import OUTPUTS
from caretaker.cli.plan.command import add_plan_arguments

PROG = "kubectl caretaker"
DESCRIPTION = """Drive Caretaker's Maintenances without typing annotations by hand.

  kubectl caretaker status [NAME] [-A] [-o json|yaml|wide|name]
  kubectl caretaker release NAME NODE... | --all
  kubectl caretaker suspend NAME / resume NAME
  kubectl caretaker abort NAME [--yes]
  kubectl caretaker plan NAME | -f FILE
  kubectl caretaker approve NAME [--node NODE] [--by WHO]

Exit status: 0 done, 1 error (usage, not found, API error; one line on stderr)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message}\nSee '{self.prog} --help' for usage.\n")
        sys.exit(1)


def _connection(parser: argparse.ArgumentParser, *, namespace: bool = True) -> None:
    if namespace:
        parser.add_argument(
            "-n", "--namespace", help="the namespace (default: the context's, else default)"
        )
    parser.add_argument("--kubeconfig", type=Path, help="the kubeconfig file to use")
    parser.add_argument("--context", help="the kubeconfig context to use")


def build_parser() -> Parser:
    parser = Parser(
        prog=PROG, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    status = commands.add_parser("status", help="list Maintenances, or show one with its nodes")
    status.add_argument("name", nargs="?", help="one Maintenance (default: all of the namespace)")
    status.add_argument("-A", "--all-namespaces", action="store_true")
    status.add_argument("-o", "--output", choices=OUTPUTS)
    _connection(status)

    release = commands.add_parser("release", help="release held nodes (the release annotation)")
    release.add_argument("name")
    release.add_argument("nodes", nargs="*", metavar="NODE")
    release.add_argument("--all", action="store_true", help="release every node ('*')")
    _connection(release)

    for verb, text in (
        ("suspend", "start no new node (spec.suspend: true); the current one finishes"),
        ("resume", "let a suspended Maintenance go on (spec.suspend: false)"),
        ("abort", "undo now (spec.abort: true): uncordon, lift noout, release Leases"),
    ):
        command = commands.add_parser(verb, help=text)
        command.add_argument("name")
        _connection(command)
    abort = commands.choices["abort"]
    abort.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    approve = commands.add_parser(
        "approve",
        help="approve the start of a Maintenance (spec.approval), or of one node with --node",
    )
    approve.add_argument("name")
    approve.add_argument("--node", help="approve this node's start (spec.approval.perNode)")
    approve.add_argument(
        "--by", help="who approves (default: the kubeconfig context's user, else $USER)"
    )
    _connection(approve)

    plan = commands.add_parser(
        "plan",
        help="what a Maintenance would do, changing nothing (caretaker plan)",
        description="Plans a Maintenance of the cluster (NAME) or of a manifest (-f FILE), as "
        "`caretaker plan` does: the Ceph connection comes from the same flags and CARETAKER_* "
        "environment as the operator's.",
    )
    plan.add_argument("name", nargs="?", help="a Maintenance in the cluster")
    plan.add_argument("-f", "--filename", help="a Maintenance manifest (or - for stdin)")
    plan.add_argument("--context", help="the kubeconfig context to use")
    add_plan_arguments(plan)
    return parser
