"""Prometheus goes away mid-run: the rules' state is kept, nothing is acted on (a due step waits),
the condition PrometheusUnavailable says why; with Prometheus back, evaluation resumes and the
waiting step runs."""

from __future__ import annotations

import time

import pytest
from kubernetes.client import ApiClient

from fixtures.health import (
    HealthOperator,
    condition,
    create_policy,
    get_policy,
    records,
    wait_condition,
    wait_evaluations,
)
from fixtures.prom import PrometheusTestbed
from fixtures.receivers import MakeReceiver, Reply

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube, pytest.mark.prometheus]

ALWAYS = "max(ceph_health_status) >= 0"
SECOND_STEP_AFTER = 20


def test_prometheus_down_means_no_action_then_resumes(
    kube_api: ApiClient,
    ceph_prometheus: PrometheusTestbed,
    health_operator: HealthOperator,
    namespace: str,
    make_receiver: MakeReceiver,
) -> None:
    chat = make_receiver(Reply.text(200, "ok"), name="chat")
    automation = make_receiver(Reply.text(200, "ok"), name="automation")
    spec = {
        "interval": "10s",
        "notifications": {"receivers": [{"name": "chat", "webhook": {"url": chat.url}}]},
        "rules": [
            {
                "name": "needs-care",
                "expr": ALWAYS,
                "severity": "routine",
                "target": {"kind": "cluster"},
                "actions": [
                    {"after": "0s", "notify": {"receivers": ["chat"]}},
                    {"after": f"{SECOND_STEP_AFTER}s", "webhook": {"url": automation.url}},
                ],
            }
        ],
    }
    create_policy(kube_api, namespace, "care", spec)
    with health_operator():
        chat.wait_for_requests(1, timeout=30)
        fired = time.monotonic()
        ceph_prometheus.stop()
        try:
            policy = wait_condition(kube_api, namespace, "care", "PrometheusUnavailable", "True")
            message = condition(policy, "PrometheusUnavailable")["message"]
            assert message.startswith("rule needs-care: Unreachable: "), message
            assert f"Prometheus at {ceph_prometheus.url} unreachable" in message, message
            assert condition(policy, "Ready")["reason"] == "PrometheusUnavailable"
            time.sleep(max(0.0, fired + SECOND_STEP_AFTER - time.monotonic()))
            policy = wait_evaluations(kube_api, namespace, "care", 1)
            rule = policy["status"]["rules"][0]
            assert rule["state"] == "Firing", "state must be kept while Prometheus is away"
            assert rule["error"]["failure"] == "Unreachable"
            assert automation.requests == [], "a step ran without Prometheus"
        finally:
            ceph_prometheus.start()
        wait_condition(kube_api, namespace, "care", "PrometheusUnavailable", "False", timeout=40)
        (hook,) = automation.wait_for_requests(1, timeout=30)
    assert hook.json["step"] == 1
    policy = get_policy(kube_api, namespace, "care")
    assert condition(policy, "Ready")["status"] == "True"
    assert "error" not in policy["status"]["rules"][0] or not policy["status"]["rules"][0]["error"]
    assert len(chat.requests) == 1, "still the same episode: no second notification"
    assert [r["spec"]["step"] for r in records(kube_api, namespace)] == [0, 1]
