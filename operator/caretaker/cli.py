"""The `caretaker` command: `caretaker run` starts the operator."""

from __future__ import annotations

import argparse
import sys

from caretaker import __version__
from caretaker.settings import add_run_arguments, settings_from_args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caretaker", description=__doc__)
    parser.add_argument("--version", action="version", version=f"caretaker {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the operator")
    add_run_arguments(run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from caretaker.runtime import run_operator  # noqa: PLC0415 - kopf only when running

        return run_operator(settings_from_args(args))
    return 2


if __name__ == "__main__":
    sys.exit(main())
