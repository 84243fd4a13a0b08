"""dryRun: a firing rule's ladder is recorded (Remediations with result DryRun, Events) but
nothing is sent and nothing changes in Ceph."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiClient

from fixtures.ceph import CephTestbed
from fixtures.health import (
    HealthOperator,
    create_policy,
    event_reasons,
    records,
    wait_evaluations,
)
from fixtures.operator import wait_until
from fixtures.receivers import MakeReceiver, Reply

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube, pytest.mark.prometheus]


def test_dry_run_records_the_ladder_and_does_nothing(
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    namespace: str,
    make_receiver: MakeReceiver,
) -> None:
    chat = make_receiver(Reply.text(200, "ok"), name="chat")
    spec = {
        "interval": "10s",
        "dryRun": True,
        "notifications": {"receivers": [{"name": "chat", "webhook": {"url": chat.url}}]},
        "rules": [
            {
                "name": "needs-care",
                "expr": "max(ceph_health_status) >= 0",
                "severity": "routine",
                "target": {"kind": "cluster"},
                "actions": [
                    {"after": "0s", "notify": {"receivers": ["chat"]}},
                    {"after": "0s", "setFlag": {"flag": "noout"}},
                    {"after": "0s", "webhook": {"url": chat.url, "disruptive": True}},
                ],
            }
        ],
    }
    create_policy(kube_api, namespace, "rehearsal", spec)
    with health_operator():
        wait_until(lambda: len(records(kube_api, namespace)) == 3, 40, "3 records")
        wait_evaluations(kube_api, namespace, "rehearsal", 1)
    steps = records(kube_api, namespace)
    assert [r["status"]["result"] for r in steps] == ["DryRun"] * 3
    assert [r["spec"]["action"] for r in steps] == ["notify", "setFlag", "webhook"]
    assert steps[1]["status"]["message"] == "dry run: would setFlag noout"
    assert chat.requests == []
    assert "noout" not in ceph_cluster.ceph("osd", "dump")["flags_set"]
    assert "ActionDryRun" in event_reasons(kube_api, namespace, "rehearsal")
