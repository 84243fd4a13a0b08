"""Node lifecycle conditions and other tools' holds, end to end on the real cluster.

(a) While a Maintenance works on a node, the node's status carries Caretaker's lifecycle
conditions in order (read back through a watch of the Node, so no change is missed), they
survive the kubelet's own status updates, and none is left after Completed.
(b) A node held by another tool (kured's lock, a medik8s NodeMaintenance, someone else's
lifecycle condition) is left alone, with the holder named in status, until the hold goes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import (
    KubeApiError,
    api_path,
    request_json,
    watch_events,
)
from fixtures.ceph import CephTestbed
from fixtures.holders import LIFECYCLE, lifecycle
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    is_cordoned,
    lease_holder,
    node_object,
    node_status,
    noout_osds,
    patch_maintenance,
    status_of,
    wait_phase,
)
from fixtures.operator import apply_crd, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]

STRATEGIC = "application/strategic-merge-patch+json"
NM_CRD = "nodemaintenances.nodemaintenance.medik8s.io"
NM_PATH = "/apis/nodemaintenance.medik8s.io/v1beta1/nodemaintenances"


class ConditionWatch:
    """Every distinct set of lifecycle conditions the node went through, from a watch."""

    def __init__(self, api: ApiClient, node: str) -> None:
        self.api, self.node = api, node
        self.seen: list[tuple[str, ...]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        query = {"fieldSelector": f"metadata.name={self.node}"}
        while not self.stop.is_set():
            try:
                for event in watch_events(self.api, "/api/v1/nodes", query, read_timeout=2):
                    kinds = tuple(t for t in LIFECYCLE if t in lifecycle(event["object"]))
                    if not self.seen or self.seen[-1] != kinds:
                        self.seen.append(kinds)
                    if self.stop.is_set():
                        return
            except KubeApiError:
                continue  # the read timed out: watch again (a re-list repeats the last set)

    def __enter__(self) -> ConditionWatch:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def test_lifecycle_conditions_follow_the_maintenance(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[0]
    identity = f"{namespace}/conds"
    # held long enough for the kubelet to report its status a few times (every 10 s)
    spec = {"nodes": [node], "hold": {"mode": "duration", "duration": "25s"}}
    with ConditionWatch(kube_api, node) as watch, run_operator():
        create_maintenance(kube_api, namespace, "conds", spec)
        wait_phase(kube_api, namespace, "conds", "InMaintenance", timeout=120)
        shown = lifecycle(node_object(kube_api, node))
        assert set(shown) == {"MaintenanceInProgress", "Drained"}
        for condition in shown.values():
            assert condition["reason"] == "CaretakerMaintenance"
            assert condition["message"].startswith(f"{identity}: ")
        ready_before = _ready_heartbeat(kube_api, node)
        wait_until(lambda: _ready_heartbeat(kube_api, node) != ready_before, 60, "kubelet status")
        assert set(lifecycle(node_object(kube_api, node))) == {"MaintenanceInProgress", "Drained"}
        wait_phase(kube_api, namespace, "conds", "Completed", timeout=180)
        assert lifecycle(node_object(kube_api, node)) == {}
        time.sleep(1)
    seen = [s for s in watch.seen if s]  # the empty sets before and after
    assert seen == [
        ("MaintenancePlanned",),
        ("MaintenanceInProgress", "DrainInProgress"),
        ("MaintenanceInProgress", "Drained"),
        ("MaintenanceInProgress",),
    ], watch.seen
    assert watch.seen[-1] == ()


def _ready_heartbeat(api: ApiClient, node: str) -> str:
    conditions = node_object(api, node)["status"]["conditions"]
    return str(next(c for c in conditions if c["type"] == "Ready")["lastHeartbeatTime"])


@pytest.fixture
def node_maintenance_crd(kube_api: ApiClient) -> Iterator[None]:
    """A minimal medik8s NodeMaintenance CRD (cluster-scoped, any spec)."""
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": NM_CRD},
        "spec": {
            "group": "nodemaintenance.medik8s.io",
            "scope": "Cluster",
            "names": {
                "plural": "nodemaintenances",
                "singular": "nodemaintenance",
                "kind": "NodeMaintenance",
                "listKind": "NodeMaintenanceList",
            },
            "versions": [
                {
                    "name": "v1beta1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
    apply_crd(kube_api, crd)
    wait_until(lambda: _served(kube_api), 30, "the NodeMaintenance API")
    yield
    path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{NM_CRD}"
    request_json(kube_api, "DELETE", path)


def _served(api: ApiClient) -> bool:
    try:
        request_json(api, "GET", NM_PATH)
    except KubeApiError:
        return False
    return True


def _set_condition(api: ApiClient, node: str, condition: dict[str, str] | None, kind: str) -> None:
    item: dict[str, Any] = {"type": kind, "$patch": "delete"} if condition is None else condition
    path = api_path("/api/v1/nodes/{}/status", node)
    body = {"status": {"conditions": [item]}}
    request_json(api, "PATCH", path, body=body, content_type=STRATEGIC)


def _left_alone_until_released(
    kube_api: ApiClient,
    ceph: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
    node: str,
    holder: str,
    release: Callable[[], None],
    untouched: Callable[[], bool] = lambda: True,
) -> None:
    identity = f"{namespace}/held"
    create_maintenance(kube_api, namespace, "held", {"nodes": [node]})
    with run_operator():

        def waiting() -> dict[str, Any] | None:
            records = status_of(kube_api, namespace, "held").get("nodes") or []
            record = next((r for r in records if r["name"] == node), {})
            return record if f"held by {holder}" in record.get("message", "") else None

        record = wait_until(waiting, 60, f"node {node} held by {holder}")
        time.sleep(3)  # a few more rounds: still nothing touched
        status = status_of(kube_api, namespace, "held")
        assert node_status(status, node)["phase"] == "Preflight"
        assert f"node {node} is held by {holder}" in node_status(status, node)["message"], record
        assert not is_cordoned(kube_api, node)
        assert lease_holder(kube_api, node) != identity
        assert noout_osds(ceph) == set()
        ours = lifecycle(node_object(kube_api, node))
        assert all(not c["message"].startswith(identity) for c in ours.values())
        assert untouched(), "the other tool's hold is as it was"
        release()
        wait_until(lambda: lease_holder(kube_api, node) == identity, 60, "the Lease taken")
        patch_maintenance(kube_api, namespace, "held", {"spec": {"abort": True}})
        wait_phase(kube_api, namespace, "held", "Aborted", timeout=90)
    assert lifecycle(node_object(kube_api, node)) == {}
    assert not is_cordoned(kube_api, node)


def test_kured_lock_holds_the_node(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
    kured_lock: Callable[[str | None], None],
) -> None:
    """Also: without the NodeMaintenance CRD installed, nothing is held by medik8s."""
    node = sorted(clean_nodes)[1]
    kured_lock(node)
    holder = "kured (lock annotation on kube-system/kured)"
    _left_alone_until_released(
        kube_api, ceph_cluster, run_operator, namespace, node, holder, lambda: kured_lock(None)
    )


def test_node_maintenance_holds_the_node(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
    node_maintenance_crd: None,
) -> None:
    node = sorted(clean_nodes)[2]
    body = {
        "apiVersion": "nodemaintenance.medik8s.io/v1beta1",
        "kind": "NodeMaintenance",
        "metadata": {"name": "nm-fw"},
        "spec": {"nodeName": node, "reason": "firmware"},
    }
    request_json(kube_api, "POST", NM_PATH, body=body)

    def release() -> None:
        request_json(kube_api, "DELETE", f"{NM_PATH}/nm-fw")

    holder = "medik8s NodeMaintenance nm-fw"
    _left_alone_until_released(
        kube_api, ceph_cluster, run_operator, namespace, node, holder, release
    )


def _still_set(api: ApiClient, node: str, condition: dict[str, str]) -> bool:
    shown = lifecycle(node_object(api, node)).get(condition["type"]) or {}
    return all(shown.get(k) == v for k, v in condition.items())


def test_someone_elses_lifecycle_condition_holds_the_node(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[0]
    condition = {
        "type": "MaintenancePlanned",
        "status": "True",
        "reason": "OtherTool",
        "message": "planned by another tool",
    }
    _set_condition(kube_api, node, condition, "MaintenancePlanned")
    try:
        _left_alone_until_released(
            kube_api,
            ceph_cluster,
            run_operator,
            namespace,
            node,
            "reason OtherTool (condition MaintenancePlanned)",
            lambda: _set_condition(kube_api, node, None, "MaintenancePlanned"),
            lambda: _still_set(kube_api, node, condition),
        )
    finally:
        _set_condition(kube_api, node, None, "MaintenancePlanned")
