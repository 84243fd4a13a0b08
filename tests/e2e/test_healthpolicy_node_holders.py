"""HealthPolicy node actions and other tools (issue 11, item 2): a drain takes the node's Lease,
the same one a Maintenance takes, while it goes on and gives it back when the node is empty; a
cordon leaves alone a node another tool holds (kured's lock, a Maintenance's Lease) and says
who holds it in the Remediation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import api_path, request_json
from fixtures.cluster import NodeSide, create_deployment, node_of, wait_pdb_allows, wait_running
from fixtures.health import HealthOperator, create_policy, delete_policy, records
from fixtures.kube import PDB_PATH, create_pdb_v1beta1
from fixtures.maintenance import LEASE_NAMESPACE, LEASES, is_cordoned, lease_holder
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube, pytest.mark.prometheus]


def _policy(node: str, action: dict[str, Any]) -> dict[str, Any]:
    return {
        "interval": "2s",
        "rules": [
            {
                "name": "node-step",
                "expr": f'label_replace(vector(1), "node", "{node}", "", "")',
                "for": "0s",
                "severity": "routine",
                "target": {"kind": "node", "label": "node"},
                "actions": [{"after": "0s", **action}],
            }
        ],
    }


def _record(api: ApiClient, namespace: str, action: str, result: str) -> dict[str, Any] | None:
    found = [r for r in records(api, namespace) if r["spec"]["action"] == action]
    if found and found[0]["status"].get("result") == result:
        return found[0]
    return None


def test_a_drain_holds_the_node_lease_until_the_node_is_empty(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    health_operator: HealthOperator,
    node_side: NodeSide,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[0]
    selector = create_deployment(
        kube_api, namespace, "db", node_side.images["WORKLOAD"], prefer=node
    )
    create_pdb_v1beta1(kube_api, namespace, "db", {"app": "db"}, min_available=1)
    assert [node_of(p) for p in wait_running(kube_api, namespace, selector, 1)] == [node]
    wait_pdb_allows(kube_api, namespace, "db", 0)
    drain = {"drain": {"podSelector": {"app": "db"}, "timeout": "5m"}}
    create_policy(kube_api, namespace, "drain", _policy(node, drain))
    identity = f"healthpolicy:{namespace}/drain"
    with health_operator():
        wait_until(lambda: _record(kube_api, namespace, "drain", "Draining"), 60, "Draining")
        assert lease_holder(kube_api, node) == identity
        request_json(kube_api, "DELETE", api_path(PDB_PATH + "/{}", namespace, "db"))
        wait_until(lambda: _record(kube_api, namespace, "drain", "Succeeded"), 90, "drained")
        assert lease_holder(kube_api, node) != identity, "the Lease is given back"
        delete_policy(kube_api, namespace, "drain")


def _foreign_lease(api: ApiClient, node: str, holder: str) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": f"caretaker-node-{node}"},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 900,
            "acquireTime": now,
            "renewTime": now,
        },
    }
    request_json(api, "POST", api_path(LEASES, LEASE_NAMESPACE), body=body)


@pytest.mark.parametrize("tool", ["kured", "lease"])
def test_a_cordon_leaves_alone_a_node_another_tool_holds(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    health_operator: HealthOperator,
    namespace: str,
    kured_lock: Callable[[str | None], None],
    tool: str,
) -> None:
    node = sorted(clean_nodes)[1]
    if tool == "kured":
        kured_lock(node)
        holder = "kured (lock annotation on kube-system/kured)"
    else:
        _foreign_lease(kube_api, node, "ops/firmware")  # a Maintenance's Lease
        holder = "ops/firmware (Lease)"
    create_policy(kube_api, namespace, "cordon", _policy(node, {"cordon": {}}))
    with health_operator():
        failed = wait_until(lambda: _record(kube_api, namespace, "cordon", "Failed"), 60, "skip")
        assert isinstance(failed, dict)
        message = failed["status"]["message"]
        assert message == f"cordon skipped: node {node} is held by {holder}; left alone", message
        assert not is_cordoned(kube_api, node)
        if tool == "lease":
            assert lease_holder(kube_api, node) == "ops/firmware"
        delete_policy(kube_api, namespace, "cordon")
