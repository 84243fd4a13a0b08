"""The circuit breaker: with the Ceph monitors gone, disruptive steps are frozen (condition
CircuitOpen) while notifications still go; with two of three monitors back the quorum is at risk
and the circuit stays open; with all three back it closes and the held
step runs."""

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
    records,
    target_status,
    wait_condition,
    wait_evaluations,
)
from fixtures.operator import wait_until
from fixtures.receivers import MakeReceiver, Reply

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube, pytest.mark.prometheus]

ALWAYS = "max(ceph_health_status) >= 0"  # one series, always: a rule that keeps firing


def test_circuit_opens_without_quorum_and_only_notifications_go(
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    namespace: str,
    pagerduty: PagerDuty,
    make_receiver: MakeReceiver,
) -> None:
    automation = make_receiver(Reply.text(200, "ok"), name="automation")
    spec = {
        "interval": "10s",
        "notifications": oncall("urgent"),
        "rules": [
            {
                "name": "needs-care",
                "expr": ALWAYS,
                "severity": "urgent",
                "target": {"kind": "cluster"},
                "actions": [
                    {"after": "0s", "notify": {}},
                    {"after": "0s", "webhook": {"url": automation.url, "disruptive": True}},
                ],
            }
        ],
    }
    for mon in ("a", "b", "c"):  # no monitor answers
        ceph_cluster.stop_mon(mon)
    create_policy(kube_api, namespace, "care", spec)
    with health_operator(pagerduty_url=pagerduty.receiver.url):
        policy = wait_condition(kube_api, namespace, "care", "CircuitOpen", "True")
        assert "Ceph cannot be read" in policy["status"]["circuit"]
        (page,) = pagerduty.receiver.wait_for_requests(1, timeout=30)
        assert page.json["event_action"] == "trigger"
        policy = wait_evaluations(kube_api, namespace, "care", 1)
        hold = target_status(policy, "needs-care", "cluster/ceph")["hold"]
        assert hold["reason"] == "CircuitOpen", hold
        assert automation.requests == [], "a disruptive step ran while the circuit was open"
        assert [r["spec"]["action"] for r in records(kube_api, namespace)] == ["notify"]

        ceph_cluster.start_mon("a")
        ceph_cluster.start_mon("b")  # a and b: a quorum again, but one more loss breaks it
        wait_until(
            lambda: (
                "one more loss and quorum is gone"
                in (get_policy(kube_api, namespace, "care").get("status") or {}).get("circuit", "")
            ),
            60,
            "the circuit to say quorum is at risk",
        )
        assert automation.requests == [], "a disruptive step ran while quorum was at risk"
        ceph_cluster.start_mon("c")
        wait_condition(kube_api, namespace, "care", "CircuitOpen", "False", timeout=60)
        (hook,) = automation.wait_for_requests(1, timeout=30)
    assert hook.json["target"] == "cluster/ceph"
    assert len(pagerduty.receiver.requests) == 1  # still firing: no resolve, no second page
    webhook = records(kube_api, namespace)[1]
    assert webhook["spec"]["disruptive"] is True
    assert webhook["status"]["result"] == "Succeeded"
    assert webhook["status"]["startedAt"] > policy["status"]["circuitSince"]
    reasons = event_reasons(kube_api, namespace, "care")
    assert "CircuitOpen" in reasons
    assert "CircuitClosed" in reasons
