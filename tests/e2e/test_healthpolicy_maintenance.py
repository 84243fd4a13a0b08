"""A HealthPolicy and a Maintenance side by side: an OSD of a node under an active Maintenance
goes down, as maintenance work does; the policy sees it, but neither pages nor remediates: the
target is held with the Maintenance named as the reason."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiClient

from fixtures.ceph import CephTestbed
from fixtures.health import (
    HealthOperator,
    PagerDuty,
    create_policy,
    event_reasons,
    get_policy,
    oncall,
    osd_dump_state,
    records,
    target_status,
    wait_condition,
    wait_evaluations,
)
from fixtures.maintenance import create_maintenance, patch_maintenance, wait_phase
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube, pytest.mark.prometheus]


def test_osd_down_under_maintenance_is_held_not_remediated(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    namespace: str,
    pagerduty: PagerDuty,
) -> None:
    node = sorted(clean_nodes)[2]
    (osd,) = clean_nodes[node]
    target = f"osd/osd.{osd}"
    policy_spec = {
        "interval": "10s",
        "notifications": oncall("urgent"),
        "safety": {"minOsdUpRatio": 0.5},
        "rules": [
            {
                "name": "osd-down",
                "preset": "OsdDown",
                "for": "0s",
                "actions": [{"after": "0s", "notify": {}}, {"after": "0s", "markOut": {}}],
            }
        ],
    }
    create_policy(kube_api, namespace, "osds", policy_spec)
    maintenance = {"nodes": [node], "hold": {"mode": "manual"}}
    create_maintenance(kube_api, namespace, "disk", maintenance)
    with health_operator(pagerduty_url=pagerduty.receiver.url):
        wait_condition(kube_api, namespace, "osds", "Ready", "True")
        wait_phase(kube_api, namespace, "disk", "InMaintenance")
        # the drain evicted the OSD pod: the OSD is down, its pod Pending on the cordoned node

        def held() -> dict[str, str] | None:
            item = target_status(get_policy(kube_api, namespace, "osds"), "osd-down", target)
            hold = item.get("hold") or {}
            return hold if item.get("firingSince") and hold.get("reason") else None

        hold = wait_until(held, 60, f"{target} firing and held")
        assert isinstance(hold, dict)
        assert hold["reason"] == "Maintenance", hold
        assert hold["message"] == f"{target} is under Maintenance {namespace}/disk: ladder paused"
        wait_evaluations(kube_api, namespace, "osds", 1)
        assert pagerduty.receiver.requests == [], "paged for an OSD under maintenance"
        assert records(kube_api, namespace) == [], "a step was decided under maintenance"
        assert osd_dump_state(ceph_cluster, osd)["in"] == 1

        patch_maintenance(
            kube_api,
            namespace,
            "disk",
            {"metadata": {"annotations": {"caretaker.dev/release": node}}},
        )
        ceph_cluster.start_osd(osd)  # the server is back
        wait_phase(kube_api, namespace, "disk", "Completed", timeout=120)
        wait_until(
            lambda: not target_status(get_policy(kube_api, namespace, "osds"), "osd-down", target),
            40,
            f"{target} resolved",
        )
    assert pagerduty.receiver.requests == []
    assert records(kube_api, namespace) == []
    reasons = event_reasons(kube_api, namespace, "osds")
    assert "TargetInMaintenance" in reasons
    assert "RuleFiring" not in reasons
