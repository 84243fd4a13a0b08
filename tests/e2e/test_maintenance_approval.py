"""Approvals end to end: a Maintenance with ``approval: {required: true, perNode: true}`` on a
real kubelet node touches nothing (no cordon, no Lease, no noout) until a person runs
`kubectl caretaker approve` (the plugin's console script, against the testbed's API server),
then waits for the node's own approval, then goes through maintenance; its status says who
approved and when, its Events and `kubectl get maintenance` say what it waits for."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient

import caretaker
from caretaker.clients.kube.events import ObjectRef
from fixtures.ceph import CephTestbed
from fixtures.kube import KubeTestbed
from fixtures.kube_reads import list_events
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    is_cordoned,
    lease_holder,
    noout_osds,
    status_of,
    wait_phase,
)
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]

CODE = Path(caretaker.__file__).resolve().parents[1]  # this checkout's operator/
NAME = "gated"


def kubectl_caretaker(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The plugin's console script, as kubectl runs it, with this checkout's code."""
    script = Path(sys.executable).parent / "kubectl-caretaker"  # the venv's console script
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE")}
    env.update(PYTHONPATH=str(CODE), KUBECONFIG=str(kubeconfig))
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def kubectl_get_column(kube_env: dict[str, str], namespace: str, column: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE")}
    cmd = ["kubectl", "get", "maintenance", NAME, "-n", namespace]
    done = subprocess.run(
        cmd, env={**env, **kube_env}, capture_output=True, text=True, timeout=60, check=True
    )
    header, row = done.stdout.splitlines()[:2]
    start = header.index(column)
    end = start + len(column)
    while end < len(header) and header[end] == " ":
        end += 1
    return row[start:end].strip()


def condition(status: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in status.get("conditions", []) if c["type"] == "Approved")


def context_user(kubeconfig: Path) -> str:
    config = yaml.safe_load(kubeconfig.read_text())
    current = next(c for c in config["contexts"] if c["name"] == config["current-context"])
    return str(current["context"]["user"])


def awaiting(api: ApiClient, namespace: str, what: str) -> dict[str, Any]:
    def waiting() -> dict[str, Any] | None:
        status = status_of(api, namespace, NAME)
        return status if status.get("awaitingApproval") == what else None

    found = wait_until(waiting, 60, f"the Maintenance waiting for the approval of {what}")
    assert isinstance(found, dict)
    return found


def untouched(api: ApiClient, ceph: CephTestbed, namespace: str, node: str) -> None:
    assert not is_cordoned(api, node)
    assert lease_holder(api, node) != f"{namespace}/{NAME}"
    assert noout_osds(ceph) == set()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_maintenance_and_its_node_start_only_once_approved_with_the_plugin(
    kube_api: ApiClient,
    kube_env: dict[str, str],
    kube_testbed: KubeTestbed,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[0]
    config = kube_testbed.kubeconfig
    ask = f"kubectl caretaker approve {NAME} -n {namespace}"
    spec = {
        "nodes": [node],
        "approval": {"required": True, "perNode": True},
        "hold": {"mode": "duration", "duration": "1s"},
    }
    create_maintenance(kube_api, namespace, NAME, spec)
    with run_operator():
        status = awaiting(kube_api, namespace, "Maintenance")
        assert status["phase"] == "Pending"
        assert status["message"] == f"waiting for approval of the Maintenance: {ask}"
        assert (condition(status)["status"], condition(status)["reason"]) == (
            "False",
            "AwaitingApproval",
        )
        assert kubectl_get_column(kube_env, namespace, "AWAITING-APPROVAL") == "Maintenance"
        time.sleep(3)  # a few rounds later: still nothing touched
        assert status_of(kube_api, namespace, NAME)["nodes"][0]["phase"] == "Pending"
        untouched(kube_api, ceph_cluster, namespace, node)
        refused = kubectl_caretaker(config, "approve", NAME, "-n", namespace, "--node", "ct-x")
        assert (refused.returncode, refused.stderr.splitlines()[0]) == (
            1,
            f'error: maintenance.caretaker.dev "{NAME}" has no node ct-x (its nodes: {node})',
        )

        done = kubectl_caretaker(config, "approve", NAME, "-n", namespace, "--by", "alice")
        assert (done.returncode, done.stdout) == (
            0,
            f"maintenance.caretaker.dev/{NAME} approved by alice\n",
        )
        status = awaiting(kube_api, namespace, node)
        assert status["approval"]["approvedBy"] == "alice"
        assert status["message"] == (f"waiting for approval of node {node}: {ask} --node {node}")
        time.sleep(3)
        assert status_of(kube_api, namespace, NAME)["nodes"][0]["phase"] == "Pending"
        untouched(kube_api, ceph_cluster, namespace, node)

        done = kubectl_caretaker(config, "approve", NAME, "-n", namespace, "--node", node)
        who = context_user(config)  # no --by: the kubeconfig context's user
        assert (done.returncode, done.stdout) == (
            0,
            f"maintenance.caretaker.dev/{NAME} node {node} approved by {who}\n",
        )
        again = kubectl_caretaker(config, "approve", NAME, "-n", namespace, "--node", node)
        assert (
            again.stdout
            == f"maintenance.caretaker.dev/{NAME} node {node} already approved by {who}\n"
        )
        status = wait_phase(kube_api, namespace, NAME, "Completed", timeout=180)
    record = status["nodes"][0]
    assert record["approvedBy"] == who
    assert at(status["approval"]["approvedAt"]) <= at(record["approvedAt"])
    assert at(record["approvedAt"]) <= at(record["startedAt"])
    assert (condition(status)["status"], condition(status)["reason"]) == ("True", "Approved")
    assert condition(status)["message"] == (
        f"approved: the Maintenance by alice; node {node} by {who}"
    )
    assert "awaitingApproval" not in status
    regarding = ObjectRef("caretaker.dev/v1alpha1", "Maintenance", NAME, namespace)
    approvals = sorted(
        e.message for e in list_events(kube_api, regarding) if e.reason == "Approved"
    )
    assert approvals == [f"Node {node} approved by {who}", "The Maintenance approved by alice"]
    untouched(kube_api, ceph_cluster, namespace, node)
