"""The HealthPolicy ``drain`` step on real kubelets (issue 9, item 8): while a budget computed by
the disruption controller refuses an eviction the step is Draining and its rounds go on; it
succeeds once the node is empty, and fails at its ``timeout`` when it never gets there."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import api_path, request_json
from fixtures.cluster import NodeSide, create_deployment, node_of, wait_pdb_allows, wait_running
from fixtures.health import HealthOperator, create_policy, delete_policy, records
from fixtures.kube import PDB_PATH, create_pdb_v1beta1
from fixtures.maintenance import is_cordoned
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube, pytest.mark.prometheus]


def _drain_policy(node: str, timeout: str) -> dict[str, Any]:
    return {
        "interval": "2s",
        "rules": [
            {
                "name": "drain-me",
                "expr": f'label_replace(vector(1), "node", "{node}", "", "")',
                "for": "0s",
                "severity": "routine",
                "target": {"kind": "node", "label": "node"},
                "actions": [
                    {"after": "0s", "drain": {"podSelector": {"app": "db"}, "timeout": timeout}}
                ],
            }
        ],
    }


def _blocked_workload(api: ApiClient, namespace: str, node: str, side: NodeSide) -> str:
    """One pod of app=db on ``node`` behind a budget that allows no disruption."""
    selector = create_deployment(api, namespace, "db", side.images["WORKLOAD"], prefer=node)
    create_pdb_v1beta1(api, namespace, "db", {"app": "db"}, min_available=1)
    assert [node_of(p) for p in wait_running(api, namespace, selector, 1)] == [node]
    wait_pdb_allows(api, namespace, "db", 0)
    return selector


def _drain_record(api: ApiClient, namespace: str, result: str) -> dict[str, Any] | None:
    found = [r for r in records(api, namespace) if r["spec"]["action"] == "drain"]
    if found and found[0]["status"].get("result") == result:
        return found[0]
    return None


def test_a_blocked_drain_goes_on_until_the_node_is_empty(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    health_operator: HealthOperator,
    node_side: NodeSide,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[0]
    selector = _blocked_workload(kube_api, namespace, node, node_side)
    create_policy(kube_api, namespace, "drain", _drain_policy(node, "5m"))
    with health_operator():
        draining = wait_until(
            lambda: _drain_record(kube_api, namespace, "Draining"), 60, "the drain Draining"
        )
        assert isinstance(draining, dict)
        assert "disruption budget" in draining["status"]["message"], draining["status"]
        assert is_cordoned(kube_api, node)
        # the budget goes away: the next round evicts, the pod stops, the node is empty
        path = api_path(PDB_PATH + "/{}", namespace, "db")
        request_json(kube_api, "DELETE", path)
        done = wait_until(
            lambda: _drain_record(kube_api, namespace, "Succeeded"), 90, "the drain to succeed"
        )
        assert isinstance(done, dict)
        assert done["status"]["message"].endswith("drained"), done["status"]
        pods = wait_running(kube_api, namespace, selector, 1)
        assert [node_of(p) for p in pods] != [node], "the pod came back on the cordoned node"
        delete_policy(kube_api, namespace, "drain")


def test_a_drain_that_never_empties_the_node_fails_at_its_timeout(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    health_operator: HealthOperator,
    node_side: NodeSide,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[0]
    selector = _blocked_workload(kube_api, namespace, node, node_side)
    create_policy(kube_api, namespace, "drain", _drain_policy(node, "20s"))
    with health_operator():
        wait_until(lambda: _drain_record(kube_api, namespace, "Draining"), 60, "the drain Draining")
        failed = wait_until(
            lambda: _drain_record(kube_api, namespace, "Failed"), 60, "the drain to time out"
        )
        assert isinstance(failed, dict)
        message = failed["status"]["message"]
        assert message.startswith("node not drained within 20s"), message
        assert "disruption budget" in message, message
        delete_policy(kube_api, namespace, "drain")
    pods = wait_running(kube_api, namespace, selector, 1)
    assert [node_of(p) for p in pods] == [node], "the budget let no pod go"
