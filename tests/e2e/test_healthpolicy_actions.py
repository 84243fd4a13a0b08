"""restartOsd on the testbed's Rook layout replaces a crashed OSD's pod; without Rook (no
--rook-namespace) it cannot be carried out and fails loudly: a Failed record with the reason, and
an ActionFailed Event."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiClient

from fixtures.ceph import CephTestbed
from fixtures.cluster import ROOK_NAMESPACE, osd_pods
from fixtures.health import (
    HealthOperator,
    create_policy,
    event_reasons,
    get_policy,
    osd_dump_state,
    records,
    wait_evaluations,
)
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube, pytest.mark.prometheus]


def test_restart_osd_without_rook_fails_with_the_reason(
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    namespace: str,
) -> None:
    spec = {
        "interval": "10s",
        "rules": [
            {
                "name": "restart-osd0",
                "expr": 'ceph_osd_up{ceph_daemon="osd.0"} == 1',
                "severity": "routine",
                "target": {"kind": "osd", "label": "ceph_daemon"},
                "actions": [{"after": "0s", "restartOsd": {}}],
            }
        ],
    }
    create_policy(kube_api, namespace, "restart", spec)
    with health_operator():  # no --rook-namespace

        def failed() -> bool:
            found = records(kube_api, namespace)
            return bool(found) and found[0]["status"]["result"] == "Failed"

        wait_until(failed, 40, "the restartOsd record to fail")
        wait_evaluations(kube_api, namespace, "restart", 1)
    (record,) = records(kube_api, namespace)
    assert record["spec"]["action"] == "restartOsd"
    assert record["spec"]["target"] == "osd/osd.0"
    assert record["status"]["message"] == (
        "restartOsd needs Rook (--rook-namespace): without it Caretaker cannot restart the "
        "osd.0 daemon"
    )
    assert "ActionFailed" in event_reasons(kube_api, namespace, "restart")
    assert osd_dump_state(ceph_cluster, 0)["up"] == 1


def test_restart_osd_on_rook_replaces_the_crashed_osds_pod(
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    namespace: str,
) -> None:
    """osd.2 crashes inside its pod (the pod stays Running, the OSD down): restartOsd replaces
    the pod through Rook's objects, and the new pod's OSD comes up."""
    osd = 2
    before = {p["metadata"]["uid"] for p in osd_pods(kube_api, osd)}
    spec = {
        "interval": "2s",
        "safety": {"minOsdUpRatio": 0.5},  # one OSD of three down is 0.67
        "rules": [
            {
                "name": "osd-down",
                "preset": "OsdDown",
                "for": "0s",
                "actions": [{"after": "0s", "restartOsd": {}}],
            }
        ],
    }
    create_policy(kube_api, namespace, "restart", spec)
    with health_operator("--rook-namespace", ROOK_NAMESPACE):
        ceph_cluster.kill_osd(osd)

        def restarted() -> bool:
            found = [r for r in records(kube_api, namespace) if r["spec"]["action"] == "restartOsd"]
            return bool(found) and found[0]["status"].get("result") == "Succeeded"

        try:
            wait_until(restarted, 90, "the restartOsd record to succeed")
        except AssertionError as error:
            policy = get_policy(kube_api, namespace, "restart")
            raise AssertionError(f"{error}\npolicy status: {policy.get('status')}") from None
        wait_until(lambda: osd_dump_state(ceph_cluster, osd)["up"] == 1, 90, f"osd.{osd} up")
    after = {p["metadata"]["uid"] for p in osd_pods(kube_api, osd)}
    assert after - before, "a new pod runs the OSD (the old one may still be terminating)"
    (record,) = [r for r in records(kube_api, namespace) if r["spec"]["action"] == "restartOsd"]
    assert record["spec"]["target"] == f"osd/osd.{osd}"
