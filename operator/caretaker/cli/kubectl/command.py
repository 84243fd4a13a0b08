"""`kubectl caretaker` (console script `kubectl-caretaker`): status, release, suspend, resume,
abort, approve and plan for Caretaker's Maintenances. See docs/kubectl-plugin.md."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO, TypeVar

from caretaker.cli.kubectl.actions import UsageError, plan_release, spec_patch
from caretaker.cli.kubectl.approve import plan_approve
from caretaker.cli.kubectl.config import (
    ConfigError,
    Connection,
    connect,
    context_user,
    describe_api_error,
)
from caretaker.cli.kubectl.parser import build_parser
from caretaker.cli.kubectl.table import KIND, render_list, render_one
from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.maintenances import (
    list_maintenances,
    patch_maintenance,
    read_maintenance,
)

RELEASE_ATTEMPTS = 5  # and approve: reads after a conflicting write


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "plan":
        from caretaker.cli.kubectl.plan import run  # noqa: PLC0415 - Ceph clients only here

        return run(args)
    try:
        connection = connect(args.kubeconfig, args.context, args.namespace)
    except ConfigError as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    try:
        return COMMANDS[args.command](connection, args, sys.stdout)
    except KubeApiError as error:
        sys.stderr.write(describe_api_error(error, connection.server) + "\n")
    except UsageError as error:
        sys.stderr.write(f"error: {error}\n")
    except (KeyboardInterrupt, EOFError):
        sys.stderr.write("\n")
    except BrokenPipeError:
        pass
    return 1


def status(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    now = datetime.now(UTC)
    if args.name:
        if args.all_namespaces:
            raise UsageError("a resource cannot be retrieved by name across all namespaces")
        out.write(
            render_one(read_maintenance(conn.api, conn.namespace, args.name), args.output, now)
        )
        return 0
    namespace = None if args.all_namespaces else conn.namespace
    found = sorted(
        list_maintenances(conn.api, namespace),
        key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"].get("name", "")),
    )
    if not found and args.output not in ("json", "yaml"):
        where = "" if namespace is None else f" in {namespace} namespace"
        sys.stderr.write(f"No resources found{where}.\n")
        return 0
    out.write(render_list(found, args.output, now, namespaced=args.all_namespaces))
    return 0


class _Planned(Protocol):
    @property
    def patch(self) -> dict[str, Any] | None: ...  # None: nothing to write

    @property
    def notes(self) -> tuple[str, ...]: ...


P = TypeVar("P", bound=_Planned)


def _read_plan_write(conn: Connection, name: str, plan: Callable[[Any], P]) -> tuple[P, bool]:
    """Reads the Maintenance, plans a patch from what it holds, writes it guarded by its
    resourceVersion, and reads again if someone changed it meanwhile (keeping what they
    wrote). The plan, and whether it was written; UsageError if it never settled."""
    for _attempt in range(RELEASE_ATTEMPTS):
        planned = plan(read_maintenance(conn.api, conn.namespace, name))
        for note in planned.notes:
            sys.stderr.write(f"note: {note}\n")
        if planned.patch is None:
            return planned, False
        try:
            patch_maintenance(conn.api, conn.namespace, name, planned.patch)
        except KubeApiError as error:
            if error.conflict:
                continue  # changed since read: read it again, keep what the other wrote
            raise
        return planned, True
    raise UsageError(f"{KIND}/{name} kept changing; nothing was written, try again")


def release(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    planned, written = _read_plan_write(
        conn, args.name, lambda obj: plan_release(obj, args.nodes, args.all)
    )
    done = "released" if written else "already released"
    out.write(f"{KIND}/{args.name} {done} ({planned.value})\n")
    return 0


def approve(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    by = args.by if args.by is not None else context_user(args.kubeconfig, args.context)
    if not by:
        raise UsageError("who approves is not known (no user in the context, no $USER): give --by")
    planned, written = _read_plan_write(
        conn, args.name, lambda obj: plan_approve(obj, args.node, by)
    )
    what = f" {planned.what}" if planned.what else ""
    done = "approved" if written else "already approved"
    out.write(f"{KIND}/{args.name}{what} {done} by {by}\n")
    return 0


def _set_spec(field: str, value: bool, done: str) -> Callable[..., int]:
    def run(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
        patch_maintenance(conn.api, conn.namespace, args.name, spec_patch(field, value))
        out.write(f"{KIND}/{args.name} {done}\n")
        return 0

    return run


def abort(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    read_maintenance(conn.api, conn.namespace, args.name)  # not found: said before asking
    if not args.yes and not confirm(f"Abort {KIND}/{args.name} in {conn.namespace}?"):
        sys.stderr.write("error: not aborted (confirm with y, or pass --yes)\n")
        return 1
    return _set_spec("abort", True, "aborted")(conn, args, out)


def confirm(question: str, stdin: TextIO | None = None) -> bool:
    """Asks on the terminal; without one (a pipe, CI), the answer read is what counts."""
    stdin = stdin or sys.stdin
    sys.stderr.write(f"{question} This uncordons nodes and lifts noout now. [y/N] ")
    sys.stderr.flush()
    return stdin.readline().strip().lower() in ("y", "yes")


COMMANDS: dict[str, Callable[[Connection, argparse.Namespace, TextIO], int]] = {
    "status": status,
    "release": release,
    "suspend": _set_spec("suspend", True, "suspended"),
    "resume": _set_spec("suspend", False, "resumed"),
    "abort": abort,
    "approve": approve,
}


if __name__ == "__main__":
    sys.exit(main())
