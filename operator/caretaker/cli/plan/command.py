"""`caretaker plan -f maintenance.yaml`: what this Maintenance would do, changing nothing.

Reads the cluster as the operator does (same flags and CARETAKER_* environment as `caretaker
run`): the nodes in order with their OSDs and failure domains, which gates hold right now
(Ceph health, PGs, ok-to-stop, PromQL gates, node Leases, cordons), the window's next opening,
and the operator's first decision. Exit status: 0 when planned, 1 for an invalid manifest or
a cluster that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from kubernetes.client import ApiClient

from caretaker.cli.validate.crds import CrdsMissing
from caretaker.cli.validate.documents import FindingLevel, validate_documents
from caretaker.cli.validate.manifests import Document, read_documents
from caretaker.cli.validate.promql_check import find_promtool
from caretaker.settings.flags import add_run_arguments, settings_from_args

# `caretaker run` flags that mean nothing to a plan: accepted (the operator's environment
# works unchanged) but not shown in --help.
HIDDEN = {
    "all_namespaces",
    "log_format",
    "verbose",
    "liveness",
    "metrics_port",
    "peering",
    "reconcile_interval",
    "leader_elect",
    "leader_election_lease",
    "leader_election_lease_duration",
    "leader_election_renew_deadline",
    "leader_election_retry_period",
}


def add_plan_command(commands: Any) -> None:
    parser = commands.add_parser(
        "plan",
        help="show what a Maintenance would do, changing nothing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-f", "--filename", required=True, help="the Maintenance manifest (or - for stdin)"
    )
    add_plan_arguments(parser)


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    """Every flag of `caretaker plan` but the manifest (`kubectl caretaker plan` shares them)."""
    parser.add_argument("--output", "-o", choices=["text", "json"], default="text")
    parser.add_argument(
        "--at",
        default=None,
        help="plan the window as of this RFC 3339 time (gates are always read now)",
    )
    add_run_arguments(parser)
    parser.set_defaults(all_namespaces=True)
    for action in parser._actions:
        if action.dest in HIDDEN:
            action.help = argparse.SUPPRESS
        if action.dest == "namespace":
            action.help = "namespace for a manifest that names none (default: default)"


def run_plan(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    documents = list(read_documents([args.filename]))
    return plan_documents(args, documents, args.filename, out, err)


def plan_documents(
    args: argparse.Namespace,
    documents: list[Document],
    source: str,
    out: TextIO | None = None,
    err: TextIO | None = None,
    *,
    kube: ApiClient | None = None,
) -> int:
    """Plans the Maintenances among ``documents`` (``source`` names them in messages), with
    the Kubernetes client ``kube`` if given (else one from the settings' kubeconfig)."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        report = validate_documents(documents, find_promtool())
    except CrdsMissing as error:
        err.write(f"caretaker plan: {error}\n")
        return 1
    problems = [f for f in report.findings if f.severity is FindingLevel.ERROR]
    manifests = [
        d.body
        for d in documents
        if isinstance(d.body, Mapping) and d.body.get("kind") == "Maintenance"
    ]
    if problems or not manifests:
        for finding in problems:
            err.write(f"{finding}\n")
        if not manifests:
            err.write(f"{source}: no Maintenance to plan\n")
        return 1
    now = _now(args.at)
    from caretaker.app.runtime import build_services  # noqa: PLC0415 - clients only when planning
    from caretaker.cli.plan.output import render_json, render_text  # noqa: PLC0415
    from caretaker.cli.plan.survey import plan_manifest  # noqa: PLC0415

    settings = settings_from_args(args)
    services = build_services(settings, kube)
    try:
        results = [plan_manifest(services, manifest, now) for manifest in manifests]
    except Exception as error:  # noqa: BLE001 - any failure to read the cluster ends the plan
        err.write(f"cannot read the cluster: {error}\n")
        return 1
    finally:
        _close(services)
    if any(r.plan is None for r in results):
        for result in results:
            for text in result.errors:
                err.write(f"{source}: {text}\n")
        return 1
    if args.output == "json":
        payload = [render_json(r.plan, r.existing, r.drains) for r in results if r.plan]
        json.dump(payload[0] if len(payload) == 1 else payload, out, indent=2)
        out.write("\n")
        return 0
    for result in results:
        assert result.plan is not None
        out.write(
            render_text(result.plan, result.existing, settings.failure_domain_type, result.drains)
        )
    return 0


def _now(at: str | None) -> datetime:
    if not at:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        raise SystemExit(
            f"--at {at!r}: use an RFC 3339 time such as 2026-12-05T22:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise SystemExit(f"--at {at!r}: add Z or an offset such as +01:00")
    return moment.astimezone(UTC)


def _close(services: Any) -> None:
    from caretaker.clients.kube.api import close_api_client  # noqa: PLC0415

    if services.ceph is not None:
        services.ceph.close()
    close_api_client(services.kube)
