"""A real OSD dies: Caretaker pages (PagerDuty Events v2), asks automation to restart it, sees it
recover, resolves the page under the same dedup_key, and the Remediation records tell the story
with their timings."""

from __future__ import annotations

import time
from typing import Any

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
    wait_condition,
)
from fixtures.operator import wait_until
from fixtures.prom import PrometheusTestbed
from fixtures.receivers import MakeAutomationReceiver, RecordedRequest

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube, pytest.mark.prometheus]

OSD = 1
FOR_SECONDS = 5
INTERVAL_SECONDS = 1
SCRAPE_SECONDS = 2  # the testbed's scrape interval (CARETAKER_SCRAPE_INTERVAL)
SLACK_SECONDS = 3  # a query, a Ceph read and an HTTP round trip
# From the kill: Prometheus has it within one scrape, the rule holds for `for`, and evaluations
# come one interval apart.
DETECTION_BOUND = SCRAPE_SECONDS + FOR_SECONDS + INTERVAL_SECONDS


def _policy(automation_url: str) -> dict[str, Any]:
    return {
        "interval": f"{INTERVAL_SECONDS}s",
        "notifications": oncall("urgent"),
        "rules": [
            {
                "name": "osd-down",
                "preset": "OsdDown",
                "for": f"{FOR_SECONDS}s",
                "actions": [
                    {"after": "0s", "notify": {}},
                    {
                        "after": "5s",
                        "webhook": {"url": f"{automation_url}/restart-osd"},
                        "verify": {"condition": "Resolved", "within": "2m"},
                    },
                ],
            }
        ],
    }


def test_killed_osd_is_paged_restarted_and_resolved(
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    ceph_prometheus: PrometheusTestbed,
    health_operator: HealthOperator,
    namespace: str,
    pagerduty: PagerDuty,
    make_automation_receiver: MakeAutomationReceiver,
) -> None:
    def restart(request: RecordedRequest) -> str:
        event = request.json
        assert event["target"] == f"osd/osd.{OSD}", event
        ceph_cluster.start_osd(int(event["osd"]))  # returns once it is up in the OSD map
        return str(request.header("Idempotency-Key"))

    automation = make_automation_receiver(restart, name="automation")
    create_policy(kube_api, namespace, "osds", _policy(automation.url))
    with health_operator(pagerduty_url=pagerduty.receiver.url):
        wait_condition(kube_api, namespace, "osds", "Ready", "True")
        killed_at = time.monotonic()
        ceph_cluster.kill_osd(OSD)
        seen_down = _prometheus_sees_down(ceph_prometheus)
        (trigger,) = pagerduty.receiver.wait_for_requests(1, timeout=60)
        detection = trigger.received_at - killed_at
        (key,) = automation.wait_for_actions(1, timeout=60)
        resolve = pagerduty.receiver.wait_for_requests(2, timeout=60)[1]
        wait_until(lambda: _recovered(kube_api, namespace), 30, "records stamped")
    print(
        f"paged {detection:.1f}s after the kill, {trigger.received_at - seen_down:.1f}s after "
        f"Prometheus first returned osd.{OSD} as down"
    )
    assert detection <= DETECTION_BOUND + SLACK_SECONDS

    page = trigger.json
    assert page["event_action"] == "trigger"
    assert page["routing_key"] == pagerduty.routing_key
    assert page["payload"]["severity"] == "error"  # urgent
    assert f"osd.{OSD}" in page["payload"]["summary"]
    assert page["payload"]["custom_details"]["rule"] == "osd-down"
    assert resolve.json == {
        "routing_key": pagerduty.routing_key,
        "event_action": "resolve",
        "dedup_key": page["dedup_key"],
    }
    assert len(pagerduty.receiver.requests) == 2
    assert len(automation.requests) == 1

    notify, webhook = records(kube_api, namespace)
    assert (notify["spec"]["action"], webhook["spec"]["action"]) == ("notify", "webhook")
    episode_step = notify["spec"]["idempotencyKey"][:12]  # one incident per step of an episode
    assert page["dedup_key"] == f"caretaker/{namespace}/osds/osd-down/osd/osd.{OSD}/{episode_step}"
    assert notify["spec"]["parameters"]["dedupKey"] == page["dedup_key"]
    assert notify["status"]["resolve"]["result"] == "Succeeded"
    assert webhook["spec"]["idempotencyKey"] == key
    for record in (notify, webhook):
        spec, status = record["spec"], record["status"]
        assert spec["target"] == f"osd/osd.{OSD}"
        assert spec["rule"] == "osd-down"
        assert record["metadata"]["labels"]["caretaker.dev/episode"] == spec["episode"]
        assert status["result"] == "Succeeded", status
        assert FOR_SECONDS <= status["timeToDetectSeconds"] <= FOR_SECONDS + INTERVAL_SECONDS
        assert status["timeToRecoverSeconds"] >= 5  # the webhook ran 5 s after firing
        assert status["recoveredAt"] >= status["finishedAt"] >= status["startedAt"]
    assert notify["spec"]["episode"] == webhook["spec"]["episode"]
    assert "sent to oncall" in notify["status"]["message"]

    policy = get_policy(kube_api, namespace, "osds")
    rule = policy["status"]["rules"][0]
    assert rule["state"] == "Inactive"
    assert policy["status"]["firing"] == 0
    reasons = event_reasons(kube_api, namespace, "osds")
    for reason in ("RuleFiring", "NotificationPlanned", "ActionPlanned", "RuleResolved"):
        assert reason in reasons, reasons


def _prometheus_sees_down(prometheus: PrometheusTestbed) -> float:
    """The moment (monotonic) Prometheus first returns the OSD as down."""
    query = f'ceph_osd_up{{ceph_daemon="osd.{OSD}"}} == 0'
    wait_until(lambda: prometheus.instant(query), 60, f"osd.{OSD} down in Prometheus", 0.1)
    return time.monotonic()


def _recovered(api: ApiClient, namespace: str) -> list[dict[str, Any]] | None:
    found = records(api, namespace)
    done = len(found) == 2 and all(
        "recoveredAt" in r["status"] and r["status"].get("result") == "Succeeded" for r in found
    )
    return found if done else None
