"""Maintenance controls end to end: windows, gates, abort, and a crash while waiting on a gate."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes.client import ApiClient

from fixtures.ceph import CephTestbed
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    is_cordoned,
    lease_holder,
    noout_osds,
    patch_maintenance,
    status_of,
    wait_phase,
)
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]


def test_a_closed_window_schedules_and_touches_nothing(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[0]
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    create_maintenance(
        kube_api,
        namespace,
        "later",
        {
            "nodes": [node],
            "window": {"start": start.isoformat().replace("+00:00", "Z"), "duration": "4h"},
        },
    )
    with run_operator():
        status = wait_phase(kube_api, namespace, "later", "Scheduled", timeout=30)
        time.sleep(2)
        assert status_of(kube_api, namespace, "later")["phase"] == "Scheduled"
    assert status["nextWindow"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "waiting for the maintenance window" in status["message"]
    assert not is_cordoned(kube_api, node)
    assert noout_osds(ceph_cluster) == set()


def test_abort_undoes_everything_now(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[1]
    create_maintenance(kube_api, namespace, "stop", {"nodes": [node]})
    with run_operator():
        wait_phase(kube_api, namespace, "stop", "InMaintenance")
        assert noout_osds(ceph_cluster) == set(clean_nodes[node])
        patch_maintenance(kube_api, namespace, "stop", {"spec": {"abort": True}})
        status = wait_phase(kube_api, namespace, "stop", "Aborted", timeout=60)
    assert noout_osds(ceph_cluster) == set()
    assert not is_cordoned(kube_api, node)
    assert lease_holder(kube_api, node) != f"{namespace}/stop"
    assert status["nodes"][0]["phase"] == "Aborted"


def test_operator_killed_while_a_gate_holds_it_in_preflight(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[2]
    ceph_cluster.ceph("osd", "set", "noscrub")  # HEALTH_WARN OSDMAP_FLAGS: the health gate waits
    create_maintenance(
        kube_api,
        namespace,
        "gated",
        {"nodes": [node], "hold": {"mode": "duration", "duration": "1s"}},
    )
    with run_operator() as operator:

        def gated() -> bool:
            status = status_of(kube_api, namespace, "gated")
            return status.get("phase") == "Preflight" and "HEALTH_WARN" in status.get("message", "")

        wait_until(gated, 60, "the health gate to hold the node in Preflight")
        assert not is_cordoned(kube_api, node)
        assert noout_osds(ceph_cluster) == set()
        operator.send_signal(signal.SIGKILL)
        operator.wait()
    ceph_cluster.ceph("osd", "unset", "noscrub")
    with run_operator():
        wait_phase(kube_api, namespace, "gated", "Completed", timeout=120)
    assert noout_osds(ceph_cluster) == set()
    assert not is_cordoned(kube_api, node)
    assert lease_holder(kube_api, node) != f"{namespace}/gated"
