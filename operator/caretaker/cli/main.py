"""The `caretaker` command: `caretaker run` starts the operator; `caretaker validate` checks
manifests offline; `caretaker plan` shows what a Maintenance would do, changing nothing."""

from __future__ import annotations

import argparse
import os
import sys

from caretaker import __version__
from caretaker.cli.plan.command import add_plan_command, run_plan
from caretaker.cli.validate.command import add_validate_command, run_validate
from caretaker.settings.flags import add_run_arguments, settings_from_args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caretaker", description=__doc__)
    parser.add_argument("--version", action="version", version=f"caretaker {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the operator")
    add_run_arguments(run)
    add_validate_command(commands)
    add_plan_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from caretaker.app.runtime import run_operator  # noqa: PLC0415 - kopf only when running

        return run_operator(settings_from_args(args))
    tools = {"validate": run_validate, "plan": run_plan}
    if args.command in tools:
        try:
            return tools[args.command](args)
        except BrokenPipeError:  # e.g. `caretaker validate ... | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
