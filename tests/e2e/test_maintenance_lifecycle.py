"""Maintenance end to end: the real operator, API server and Ceph cluster.

Every assertion about Ceph reads Ceph itself (``ceph osd dump`` through the CLI), not the status
the operator wrote about it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube_events import ObjectRef, list_events
from caretaker.clients.kube_pods import get_pod
from fixtures.ceph import CephTestbed
from fixtures.kube import create_pod
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
    short_down_out: int,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[0]
    osds = clean_nodes[node]
    create_pod(kube_api, namespace, "web-1", node=node, owner_kind="ReplicaSet")
    create_pod(kube_api, namespace, "agent", node=node, owner_kind="DaemonSet")
    spec = {"nodes": [node], "drain": {"gracePeriodSeconds": 0}, "hold": {"mode": "manual"}}
    create_maintenance(kube_api, namespace, "fans", spec)
    identity = f"{namespace}/fans"
    with run_operator():
        status = wait_phase(kube_api, namespace, "fans", "InMaintenance")
        assert noout_osds(ceph_cluster) == set(osds)  # exactly this node's OSDs
        node_obj = node_object(kube_api, node)
        assert node_obj["spec"]["unschedulable"] is True
        assert node_obj["metadata"]["annotations"][CORDON_ANNOTATION] == identity
        assert get_pod(kube_api, namespace, "web-1") is None
        assert get_pod(kube_api, namespace, "agent") is not None  # DaemonSet pods stay
        record = node_status(status, node)
        assert record["osds"] == osds
        assert record["noout"]["state"] == "Set"
        assert record["podsEvicted"] == 1
        assert lease_holder(kube_api, node) == identity
        assert status["currentNode"] == node
        assert status["progress"] == "0/1"

        for osd in osds:  # the technician powers the server off
            ceph_cluster.kill_osd(osd)
        for osd in osds:
            wait_until(lambda o=osd: not osd_up(ceph_cluster, o), 30, f"osd.{osd} down")
        time.sleep(short_down_out * 3)
        assert all(osd_in(ceph_cluster, osd) for osd in osds), "noout must keep the OSDs in"
        assert status_of(kube_api, namespace, "fans")["phase"] == "InMaintenance"

        patch_maintenance(
            kube_api,
            namespace,
            "fans",
            {"metadata": {"annotations": {"caretaker.dev/release": node}}},
        )
        wait_phase(kube_api, namespace, "fans", "Restoring", timeout=30)
        assert noout_osds(ceph_cluster) == set(osds), "noout stays until the OSDs are back"
        for osd in osds:  # the server is back
            ceph_cluster.start_osd(osd)
        status = wait_phase(kube_api, namespace, "fans", "Completed", timeout=180)

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
    create_maintenance(
        kube_api, namespace, "fw", {"nodes": [node], "hold": {"mode": "duration", "duration": "1s"}}
    )
    with run_operator():
        status = wait_phase(kube_api, namespace, "fw", "Completed", timeout=120)
    assert is_cordoned(kube_api, node), "a cordon Caretaker did not make is never lifted"
    assert node_status(status, node)["cordonedByUs"] is False
    assert noout_osds(ceph_cluster) == set()
