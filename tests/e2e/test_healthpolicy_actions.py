"""Actions that cannot be carried out fail loudly: restartOsd without Rook (no --rook-namespace)
ends as a Failed record with the reason, and an ActionFailed Event."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiClient

from fixtures.ceph import CephTestbed
from fixtures.health import (
    HealthOperator,
    create_policy,
    event_reasons,
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
