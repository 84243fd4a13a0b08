"""The Maintenance drain on real kubelets, with every kind of pod a storage node carries.

Pods really run (the workload image) and really stop: the drain waits for their shutdown, the
controllers re-create them elsewhere, budgets are computed by the disruption controller. Nothing
here deletes a pod with a zero grace period or writes a budget's status.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes.client import ApiClient

from fixtures.ceph import CephTestbed
from fixtures.cluster import (
    NodeSide,
    create_bare_pod,
    create_deployment,
    create_statefulset,
    list_pods,
    node_of,
    remove_finalizers,
    wait_running,
)
from fixtures.kube_reads import get_pod
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    noout_osds,
    patch_maintenance,
    status_of,
    wait_phase,
)
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]
HOLD = {"mode": "duration", "duration": "1s"}
FINALIZER = "caretaker.dev/test-hold"


def _draining_message(api: ApiClient, namespace: str, name: str, *words: str) -> str:
    def says() -> str | None:
        status = status_of(api, namespace, name)
        message = str(status.get("message", ""))
        ok = status.get("phase") == "Draining" and all(w in message for w in words)
        return message if ok else None

    try:
        found = wait_until(says, 120, f"Draining with {words}")
    except AssertionError as error:
        raise AssertionError(f"{error}\nlast status: {status_of(api, namespace, name)}") from None
    return str(found)


def test_bare_and_emptydir_pods_block_until_allowed(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    node_side: NodeSide,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    """kubectl's rules: a pod no controller re-creates, and a pod with emptyDir data, block the
    drain with a message naming them until the spec allows them (force, deleteEmptyDirData)."""
    node = sorted(clean_nodes)[1]
    image = node_side.images["WORKLOAD"]
    create_bare_pod(kube_api, namespace, "lonely", image, node)
    scratch = create_deployment(kube_api, namespace, "scratch", image, prefer=node, emptydir=True)
    wait_running(kube_api, namespace, "app=lonely", 1)
    assert {node_of(p) for p in wait_running(kube_api, namespace, scratch, 1)} == {node}
    create_maintenance(kube_api, namespace, "disk", {"nodes": [node], "hold": HOLD})
    with run_operator():
        message = _draining_message(kube_api, namespace, "disk", "lonely", "scratch")
        for words in ("has no controller", "drain.force", "emptyDir", "drain.deleteEmptyDirData"):
            assert words in message
        time.sleep(3)
        assert status_of(kube_api, namespace, "disk")["phase"] == "Draining"
        assert get_pod(kube_api, namespace, "lonely") is not None
        patch_maintenance(
            kube_api,
            namespace,
            "disk",
            {"spec": {"drain": {"force": True, "deleteEmptyDirData": True}}},
        )
        wait_phase(kube_api, namespace, "disk", "Completed", timeout=180)
    assert get_pod(kube_api, namespace, "lonely") is None, "evicted, and nothing re-creates it"
    moved = wait_running(kube_api, namespace, scratch, 1)
    assert node not in {node_of(p) for p in moved}
    ceph_cluster.wait_healthy(timeout=120)
    assert noout_osds(ceph_cluster) == set()


def test_statefulset_slow_and_finalizer_pods(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    node_side: NodeSide,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    """A StatefulSet pod comes back under the same name on another node; a pod that needs its
    whole grace period is waited for; a pod held Terminating by a finalizer holds the drain
    (named in the status) until the finalizer goes."""
    node = sorted(clean_nodes)[2]
    image = node_side.images["WORKLOAD"]
    db = create_statefulset(kube_api, namespace, "db", image, prefer=node)
    grace = 8  # the process would need 600 s; the kubelet kills it after the grace period
    create_bare_pod(kube_api, namespace, "slow", image, node, grace_seconds=grace, stop_seconds=600)
    create_bare_pod(kube_api, namespace, "held", image, node, finalizers=(FINALIZER,))
    assert {node_of(p) for p in wait_running(kube_api, namespace, db, 1)} == {node}
    wait_running(kube_api, namespace, "app=slow", 1)
    wait_running(kube_api, namespace, "app=held", 1)
    spec: dict[str, Any] = {"nodes": [node], "hold": HOLD, "drain": {"force": True}}
    create_maintenance(kube_api, namespace, "fw", spec)
    try:
        with run_operator():
            wait_phase(kube_api, namespace, "fw", "Draining")
            started = time.monotonic()
            _draining_message(kube_api, namespace, "fw", "terminating")
            wait_until(
                lambda: get_pod(kube_api, namespace, "slow") is None, 60, "the slow pod gone"
            )
            assert time.monotonic() - started >= grace, "the slow pod had its grace period"
            held = get_pod(kube_api, namespace, "held")
            assert held is not None
            assert held.terminating, "evicted, and held by its finalizer"
            time.sleep(3)  # the finalizer still holds it: the drain must still wait
            assert status_of(kube_api, namespace, "fw")["phase"] == "Draining"
            remove_finalizers(kube_api, namespace, "held")
            wait_phase(kube_api, namespace, "fw", "Completed", timeout=180)
    finally:
        remove_finalizers(kube_api, namespace, "held")
    pods = wait_running(kube_api, namespace, db, 1)
    assert [p["metadata"]["name"] for p in pods] == ["db-0"]
    assert node_of(pods[0]) != node, "db-0 was re-created on another node"
    assert not [p for p in list_pods(kube_api, namespace) if p["metadata"]["name"] == "held"]
    ceph_cluster.wait_healthy(timeout=120)
    assert noout_osds(ceph_cluster) == set()
