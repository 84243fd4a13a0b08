"""`hold: {mode: auto}` on a Rook-shaped node: the technician powers the server off and on.

The drain evicts the node's OSD pods, which cannot come back while it is cordoned: that must not
pass for the work. The hold ends once the node has gone NotReady (its kubelet and containers
stopped) and is Ready again; then Caretaker uncordons and waits for the OSDs. nooutTimeout is
short enough that a hold waiting for the OSDs on its own cordon runs into it (the code before
aadff9e did), and long enough for the whole power cycle.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.events import ObjectRef
from fixtures.ceph import CephTestbed
from fixtures.cluster import NodeSide, osd_pod_phases
from fixtures.kube_reads import list_events
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    node_object,
    node_status,
    noout_osds,
    osd_in,
    osd_up,
    status_of,
    wait_phase,
)
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]

NOOUT_TIMEOUT = 180  # seconds; the power cycle below takes 60-120 s


def _ready(api: ApiClient, node: str) -> str:
    conditions = node_object(api, node)["status"].get("conditions") or []
    return next((c["status"] for c in conditions if c["type"] == "Ready"), "Unknown")


def test_auto_hold_follows_the_power_cycle_of_the_node(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    node_side: NodeSide,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[0]
    osds = clean_nodes[node]
    spec = {
        "nodes": [node],
        "hold": {"mode": "auto"},
        "ceph": {"nooutTimeout": f"{NOOUT_TIMEOUT}s"},
    }
    create_maintenance(kube_api, namespace, "reboot", spec)
    powered_off = False
    try:
        with run_operator():
            status = wait_phase(kube_api, namespace, "reboot", "InMaintenance", timeout=120)
            time.sleep(4)  # the drain stopped the OSDs: that is not the technician's work
            status = status_of(kube_api, namespace, "reboot")
            assert status["phase"] == "InMaintenance"
            assert f"waiting for node {node} to go down" in status["message"], status["message"]
            assert node_status(status, node).get("osdsUpWhenPrepared") is False

            node_side.stop_node(node)  # the technician powers the server off
            powered_off = True
            wait_until(lambda: _ready(kube_api, node) != "True", 90, f"{node} NotReady")

            def went_away() -> dict[str, Any] | None:
                current = status_of(kube_api, namespace, "reboot")
                return current if node_status(current, node).get("wentAway") else None

            status = wait_until(went_away, 30, "the Maintenance to see the node gone")  # type: ignore[assignment]
            assert status["phase"] == "InMaintenance"
            assert f"waiting for node {node} to be Ready" in status["message"]
            for osd in osds:
                assert osd_in(ceph_cluster, osd), "noout keeps the OSD in"

            node_side.start_node(node)  # ... and on again
            powered_off = False
            status = _completed_before_noout_expires(kube_api, namespace, node)
            for osd in osds:
                assert osd_pod_phases(kube_api, osd) == ["Running"]
                assert osd_up(ceph_cluster, osd)
    finally:
        if powered_off:
            node_side.start_node(node)
    record = node_status(status, node)
    assert record["noout"]["state"] == "Lifted", record  # by Caretaker, not by the expiry
    ref = ObjectRef(*MAINTENANCE, "reboot", namespace)
    reasons = [e.reason for e in list_events(kube_api, ref)]
    assert "NooutExpired" not in reasons
    # Ready again -> uncordon -> the OSD pods return and the OSDs come up -> noout lifted
    after = reasons[reasons.index("NodeReleased") :]
    assert [r for r in after if r in ("Uncordoned", "NooutLifted", "NodeCompleted")] == [
        "Uncordoned",
        "NooutLifted",
        "NodeCompleted",
    ]
    ceph_cluster.wait_healthy(timeout=120)
    assert noout_osds(ceph_cluster) == set()


MAINTENANCE = ("caretaker.dev/v1alpha1", "Maintenance")


def _completed_before_noout_expires(api: ApiClient, namespace: str, node: str) -> dict[str, Any]:
    """Waits for Completed; fails at once when nooutTimeout lifted the noout instead."""

    def done() -> dict[str, Any] | None:
        status = status_of(api, namespace, "reboot")
        noout = node_status(status, node).get("noout") or {}
        assert noout.get("state") != "Expired", f"nooutTimeout expired during the hold: {status}"
        return status if status.get("phase") == "Completed" else None

    result = wait_until(done, NOOUT_TIMEOUT + 60, "Completed before nooutTimeout")
    assert isinstance(result, dict)
    return result
