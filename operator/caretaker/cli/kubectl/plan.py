"""`kubectl caretaker plan NAME | -f FILE`: `caretaker plan` of a Maintenance in the cluster (as
a fresh start) or of a manifest, connected by kubectl's rules (--kubeconfig, --context, the
context's namespace)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from caretaker.cli.kubectl.config import ConfigError, connect, describe_api_error
from caretaker.cli.plan.command import plan_documents
from caretaker.cli.validate.manifests import Document, read_documents
from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.maintenances import read_maintenance

SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields")


def run(args: argparse.Namespace) -> int:
    if bool(args.name) == bool(args.filename):
        sys.stderr.write("error: give the name of a Maintenance or -f FILE (one of them)\n")
        return 1
    given = args.namespace[0] if args.namespace else None
    try:
        connection = connect(args.kubeconfig, args.context, given)
    except ConfigError as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    args.namespace = [connection.namespace]
    if args.filename:
        documents, source = list(read_documents([args.filename])), args.filename
    else:
        source = f"maintenance.caretaker.dev/{args.name}"
        try:
            obj = read_maintenance(connection.api, connection.namespace, args.name)
        except KubeApiError as error:
            sys.stderr.write(describe_api_error(error, connection.server) + "\n")
            return 1
        documents = [Document(source, 1, as_manifest(obj))]
    return plan_documents(args, documents, source, kube=connection.api)


def as_manifest(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as it was applied: no status, no fields the server fills in."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_FIELDS}
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k != "kubectl.kubernetes.io/last-applied-configuration"
    }
    meta["annotations"] = annotations
    if not annotations:
        del meta["annotations"]
    meta.pop("finalizers", None)
    body = {k: v for k, v in obj.items() if k not in ("status", "metadata")}
    return {**body, "metadata": meta}
