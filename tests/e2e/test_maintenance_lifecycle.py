"""Maintenance end to end: the real operator, API server and Ceph cluster.

Every assertion about Ceph reads Ceph itself (``ceph osd dump`` through the CLI), not the status
the operator wrote about it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.events import ObjectRef
from fixtures.ceph import CephTestbed
from fixtures.cluster import (
    NodeSide,
    create_daemonset,
    create_deployment,
    node_of,
    osd_pod_phases,
    running_pods,
    wait_pdb_allows,
    wait_running,
)
from fixtures.kube import create_pdb_v1beta1
from fixtures.kube_reads import list_events
from fixtures.maintenance import (
    CORDON_ANNOTATION,
    OperatorFactory,
    create_maintenance,
    get_maintenance,
    is_cordoned,
    lease_holder,
    node_object,
    node_status,
    noout_osds,
    osd_in,
    osd_up,
    patch_maintenance,
    set_unschedulable,
    status_of,
    wait_phase,
)
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]
STOP = 4  # seconds the workload takes to stop after SIGTERM


@pytest.fixture
def short_down_out(ceph_cluster: CephTestbed) -> Iterator[int]:
    """Ceph marks a down OSD out after 5 s (default 600 s), so 'stays in' means something."""
    ceph_cluster.ceph("config", "set", "mon", "mon_osd_down_out_interval", "5")
    yield 5
    ceph_cluster.ceph("config", "rm", "mon", "mon_osd_down_out_interval")


def test_a_down_osd_without_noout_is_marked_out(
    ceph_cluster: CephTestbed, short_down_out: int
) -> None:
    """Control for the lifecycle test: without noout the same kill makes the OSD go out."""
    osd = min(ceph_cluster.osd_hosts)
    ceph_cluster.kill_osd(osd)
    wait_until(lambda: not osd_up(ceph_cluster, osd), 30, f"osd.{osd} down")
    wait_until(lambda: not osd_in(ceph_cluster, osd), short_down_out * 6, f"osd.{osd} out")


def test_full_lifecycle_on_a_node_with_real_osds(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    node_side: NodeSide,
    short_down_out: int,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    """The seed story on real kubelets: the node carries a Deployment behind a budget, a
    DaemonSet pod and its OSD pod. The drain waits for the workload's real shutdown, the pods
    come back on other nodes, the OSD pod stays Pending on the cordoned node while noout keeps
    its OSD in past mon_osd_down_out_interval, and after the release everything returns."""
    node = sorted(clean_nodes)[0]
    osds = clean_nodes[node]
    image = node_side.images["WORKLOAD"]
    web = create_deployment(
        kube_api, namespace, "web", image, replicas=2, prefer=node, stop_seconds=STOP
    )
    create_pdb_v1beta1(kube_api, namespace, "web", {"app": "web"}, min_available=1)
    agent = create_daemonset(kube_api, namespace, "agent", image)
    pods = wait_running(kube_api, namespace, web, 2)
    assert {node_of(p) for p in pods} == {node}, "both replicas start on the preferred node"
    wait_running(kube_api, namespace, agent, len(node_side.nodes))
    wait_pdb_allows(kube_api, namespace, "web", 1)  # computed by the disruption controller

    spec = {"nodes": [node], "hold": {"mode": "manual"}}
    create_maintenance(kube_api, namespace, "fans", spec)
    identity = f"{namespace}/fans"
    with run_operator():
        wait_phase(kube_api, namespace, "fans", "Draining")
        drain_started = time.monotonic()
        status = wait_phase(kube_api, namespace, "fans", "InMaintenance", timeout=180)
        drained_in = time.monotonic() - drain_started
        assert drained_in >= STOP, f"the drain took {drained_in:.1f} s, less than a pod's stop"
        assert noout_osds(ceph_cluster) == set(osds)  # exactly this node's OSDs
        node_obj = node_object(kube_api, node)
        assert node_obj["spec"]["unschedulable"] is True
        assert node_obj["metadata"]["annotations"][CORDON_ANNOTATION] == identity
        moved = wait_running(kube_api, namespace, web, 2)
        assert node not in {node_of(p) for p in moved}, "the replicas run on other nodes now"
        agents = running_pods(kube_api, namespace, agent)
        assert node in {node_of(p) for p in agents}, "DaemonSet pods stay"
        record = node_status(status, node)
        assert record["osds"] == osds
        assert record["noout"]["state"] == "Set"
        assert record["podsEvicted"] == 2 + len(osds)  # both replicas and the OSD pod
        assert lease_holder(kube_api, node) == identity
        assert (status["currentNode"], status["progress"]) == (node, "0/1")

        for osd in osds:  # evicted, and its replacement cannot run on the cordoned node
            wait_until(lambda o=osd: not osd_up(ceph_cluster, o), 30, f"osd.{osd} down")
        time.sleep(short_down_out * 3)
        for osd in osds:
            assert osd_pod_phases(kube_api, osd) == ["Pending"]
            assert osd_in(ceph_cluster, osd), "noout must keep the OSD in"
        assert status_of(kube_api, namespace, "fans")["phase"] == "InMaintenance"

        patch_maintenance(
            kube_api,
            namespace,
            "fans",
            {"metadata": {"annotations": {"caretaker.dev/release": node}}},
        )
        status = wait_phase(kube_api, namespace, "fans", "Completed", timeout=180)
        for osd in osds:
            assert osd_pod_phases(kube_api, osd) == ["Running"]
            assert osd_up(ceph_cluster, osd)

    _assert_restored(kube_api, ceph_cluster, namespace, node, status)


def _assert_restored(
    kube_api: ApiClient, ceph_cluster: CephTestbed, namespace: str, node: str, status: Any
) -> None:
    """Nothing of Caretaker's is left, in Ceph or on the node, and the Events tell the story."""
    identity = f"{namespace}/fans"
    ceph_cluster.wait_healthy(timeout=60)
    assert ceph_cluster.ceph("health")["status"] == "HEALTH_OK"
    assert noout_osds(ceph_cluster) == set()
    assert not is_cordoned(kube_api, node)
    assert CORDON_ANNOTATION not in (
        node_object(kube_api, node)["metadata"].get("annotations") or {}
    )
    assert lease_holder(kube_api, node) != identity
    assert status["progress"] == "1/1"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    obj = get_maintenance(kube_api, namespace, "fans")
    assert obj is not None
    reasons = {
        e.reason
        for e in list_events(
            kube_api,
            ObjectRef(
                "caretaker.dev/v1alpha1", "Maintenance", "fans", namespace, obj["metadata"]["uid"]
            ),
        )
    }
    assert {
        "NodePreflight",
        "NodeDraining",
        "NooutSet",
        "Cordoned",
        "NodeInMaintenance",
        "NodeReleased",
        "Uncordoned",
        "NooutLifted",
        "NodeCompleted",
    } <= reasons


def test_node_cordoned_by_someone_else_stays_cordoned(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[1]
    set_unschedulable(kube_api, node, True, owner=None)  # an admin cordoned it earlier
    # The drain leaves the OSD pod alone (podSelector): evicted, it could not come back to a
    # node that stays cordoned, and restoring would wait for its OSD.
    spec = {
        "nodes": [node],
        "drain": {"podSelector": {"app": "web"}},
        "hold": {"mode": "duration", "duration": "1s"},
    }
    create_maintenance(kube_api, namespace, "fw", spec)
    with run_operator():
        status = wait_phase(kube_api, namespace, "fw", "Completed", timeout=120)
    assert is_cordoned(kube_api, node), "a cordon Caretaker did not make is never lifted"
    assert node_status(status, node)["cordonedByUs"] is False
    assert noout_osds(ceph_cluster) == set()
