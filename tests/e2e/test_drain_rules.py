"""kubectl drain's rules on real kubelets (issue 9, item 8): a blocked drain backs off, finished
pods are deleted rather than waited on, a pod stuck Terminating is not waited on past
skipWaitForDeleteTimeout, and a zero grace period needs force."""

from __future__ import annotations

import time
import urllib.request

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import MERGE_PATCH, api_path, request_json
from fixtures.ceph import CephTestbed
from fixtures.cluster import (
    NodeSide,
    create_bare_pod,
    create_deployment,
    create_object,
    node_of,
    pod_template,
    remove_finalizers,
    wait_pdb_allows,
    wait_running,
)
from fixtures.kube import create_pdb_v1beta1
from fixtures.kube_reads import get_pod
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    noout_osds,
    patch_maintenance,
    status_of,
    wait_phase,
)
from fixtures.operator import free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]

HOLD = {"mode": "duration", "duration": "1s"}
FINALIZER = "caretaker.dev/test-held"


def _reconciles(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("controller_runtime_reconcile_total{")
        and 'controller="maintenance"' in line
    )


def test_a_drain_blocked_by_a_budget_backs_off(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    node_side: NodeSide,
    namespace: str,
) -> None:
    """Measured before the backoff: 25 reconciles per second while one budget blocked one pod."""
    node = sorted(clean_nodes)[0]
    selector = create_deployment(
        kube_api, namespace, "db", node_side.images["WORKLOAD"], prefer=node
    )
    create_pdb_v1beta1(kube_api, namespace, "db", {"app": "db"}, min_available=1)
    assert [node_of(p) for p in wait_running(kube_api, namespace, selector, 1)] == [node]
    wait_pdb_allows(kube_api, namespace, "db", 0)
    spec = {"nodes": [node], "drain": {"podSelector": {"app": "db"}}, "hold": {"mode": "manual"}}
    create_maintenance(kube_api, namespace, "blocked", spec)
    port = free_port()
    with run_operator("--metrics-port", str(port)):
        wait_until(
            lambda: (
                "disruption budget" in status_of(kube_api, namespace, "blocked").get("message", "")
            ),
            120,
            "the drain blocked by the budget",
        )
        before, started = _reconciles(port), time.monotonic()
        time.sleep(12)
        rate = (_reconciles(port) - before) / (time.monotonic() - started)
        assert rate <= 0.5, f"{rate:.1f} reconciles/s while a budget blocks the drain"
        status = status_of(kube_api, namespace, "blocked")
        assert status["phase"] == "Draining"
        assert "disruption budget" in status["message"]
        patch_maintenance(kube_api, namespace, "blocked", {"spec": {"abort": True}})
        wait_phase(kube_api, namespace, "blocked", "Aborted", timeout=120)
    assert noout_osds(ceph_cluster) == set()


def _finished_bare_pod(api: ApiClient, namespace: str, name: str, image: str, node: str) -> None:
    template = pod_template(image, {"app": name})
    spec = template["spec"]
    spec["containers"][0]["command"] = ["/bin/true"]
    spec["restartPolicy"] = "Never"
    spec["nodeName"] = node
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, **template["metadata"]}}
    create_object(api, "/api/v1/namespaces/{}/pods", namespace, {**body, "spec": spec})


def test_finished_pods_are_deleted_and_stuck_pods_not_waited_for(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    node_side: NodeSide,
    namespace: str,
) -> None:
    """A bare pod that ran to completion loses nothing: deleted without drain.force. A pod
    held Terminating by a finalizer (its kubelet gone, as it looks) stops holding the drain after
    skipWaitForDeleteTimeout."""
    node = sorted(clean_nodes)[1]
    image = node_side.images["WORKLOAD"]
    _finished_bare_pod(kube_api, namespace, "done", image, node)
    wait_until(
        lambda: (p := get_pod(kube_api, namespace, "done")) is not None and p.phase == "Succeeded",
        120,
        "the bare pod ran to completion",
    )
    create_bare_pod(kube_api, namespace, "held", image, node, finalizers=(FINALIZER,))
    wait_running(kube_api, namespace, "app=held", 1)
    for pod in ("done", "held"):
        path = api_path("/api/v1/namespaces/{}/pods/{}", namespace, pod)
        body = {"metadata": {"labels": {"test": "rules"}}}
        request_json(kube_api, "PATCH", path, body=body, content_type=MERGE_PATCH)
    spec = {
        "nodes": [node],
        "hold": HOLD,
        "drain": {"podSelector": {"test": "rules"}, "skipWaitForDeleteTimeout": "15s"},
    }
    try:
        # deleted by hand first: Terminating from now on, as on a node whose kubelet died
        request_json(kube_api, "DELETE", api_path("/api/v1/namespaces/{}/pods/held", namespace))
        create_maintenance(kube_api, namespace, "rules", spec)
        with run_operator():
            wait_phase(kube_api, namespace, "rules", "Completed", timeout=180)
        assert get_pod(kube_api, namespace, "done") is None, "the finished pod was deleted"
        held = get_pod(kube_api, namespace, "held")
        assert held is not None
        assert held.terminating, "still held by its finalizer, and not waited for"
    finally:
        remove_finalizers(kube_api, namespace, "held")
    assert noout_osds(ceph_cluster) == set()


def test_a_zero_grace_period_needs_force(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[2]
    create_maintenance(
        kube_api, namespace, "hasty", {"nodes": [node], "drain": {"gracePeriodSeconds": 0}}
    )
    with run_operator():
        wait_until(
            lambda: (
                "spec.drain.gracePeriodSeconds"
                in status_of(kube_api, namespace, "hasty").get("message", "")
            ),
            60,
            "the field-named error",
        )
        time.sleep(3)
        status = status_of(kube_api, namespace, "hasty")
    assert "set force: true" in status["message"]
    assert status["phase"] == "Pending"
    stalled = {c["type"]: c["status"] for c in status["conditions"]}["Stalled"]
    assert stalled == "True"
    assert not (status.get("nodes") or [{}])[0].get("startedAt")
