"""The testbed itself is what it claims to be: Ceph in Rook's layout on real kubelets.

Read from Ceph (CLI) and Kubernetes directly, independent of Caretaker's clients.
"""

from __future__ import annotations

import subprocess

import pytest
from kubernetes.client import ApiClient

from fixtures.ceph import CephTestbed
from fixtures.cluster import (
    ROOK_NAMESPACE,
    NodeSide,
    list_pods,
    node_of,
    osd_pod_phases,
    pdb_status,
    wait_pdb_allows,
)
from fixtures.operator import wait_until

pytestmark = [pytest.mark.kube, pytest.mark.ceph]


def test_every_osd_is_a_pod_on_its_own_node_and_crush_host(
    kube_api: ApiClient, ceph_testbed: CephTestbed, node_side: NodeSide
) -> None:
    for osd, host in ceph_testbed.osd_hosts.items():
        pods = list_pods(kube_api, ROOK_NAMESPACE, f"app=rook-ceph-osd,ceph-osd-id={osd}")
        assert [node_of(p) for p in pods] == [host]
        metadata = ceph_testbed.ceph("osd", "metadata", str(osd))
        assert metadata["hostname"] == host  # NODE_NAME, as on Rook
        assert metadata["pod_namespace"] == ROOK_NAMESPACE
    tree = ceph_testbed.ceph("osd", "tree")
    hosts = {n["name"] for n in tree["nodes"] if n["type"] == "host"}
    assert hosts == set(node_side.nodes)
    # Rook's steady-state budget, computed by the disruption controller
    wait_pdb_allows(kube_api, ROOK_NAMESPACE, "rook-ceph-osd", 1)
    assert pdb_status(kube_api, ROOK_NAMESPACE, "rook-ceph-osd")["expectedPods"] == len(hosts)


def test_a_killed_osd_stays_down_in_a_running_pod_until_started(
    kube_api: ApiClient, ceph_cluster: CephTestbed
) -> None:
    osd = max(ceph_cluster.osd_hosts)
    ceph_cluster.kill_osd(osd)
    wait_until(lambda: not _up(ceph_cluster, osd), 30, f"osd.{osd} down")
    assert osd_pod_phases(kube_api, osd) == ["Running"], "a failed disk, not a failed pod"
    assert not ceph_cluster.osd_running(osd)
    ceph_cluster.start_osd(osd)
    assert _up(ceph_cluster, osd)


def test_one_monitor_down_keeps_quorum_two_down_is_an_outage(ceph_cluster: CephTestbed) -> None:
    ceph_cluster.stop_mon("a")
    wait_until(lambda: "MON_DOWN" in _health_checks(ceph_cluster), 60, "MON_DOWN")
    assert sorted(ceph_cluster.ceph("quorum_status")["quorum_names"]) == ["b", "c"]
    ceph_cluster.stop_mon("b")

    def unanswered() -> bool:
        cmd = ["ceph", "--conf", str(ceph_cluster.conf), "--connect-timeout", "5", "health"]
        done = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
        return done.returncode != 0

    # mon.c notices within its lease and election timeouts
    wait_until(unanswered, 60, "no quorum: nothing answers")
    # the fixture's restore starts both again and waits for HEALTH_OK


def _up(ceph: CephTestbed, osd: int) -> bool:
    return any(o["osd"] == osd and o["up"] for o in ceph.ceph("osd", "dump")["osds"])


def _health_checks(ceph: CephTestbed) -> set[str]:
    return set(ceph.ceph("health")["checks"])
