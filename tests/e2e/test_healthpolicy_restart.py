"""The operator is killed (SIGKILL) while a rule fires, in the middle of a webhook call: the
restarted operator picks the episode up from the status and the records, and neither pages nor
acts twice; when the condition clears, exactly one resolve goes out."""

from __future__ import annotations

import signal

import pytest
from kubernetes.client import ApiClient

from fixtures.ceph import CephTestbed
from fixtures.health import (
    HealthOperator,
    PagerDuty,
    create_policy,
    get_policy,
    oncall,
    records,
    wait_evaluations,
)
from fixtures.receivers import MakeReceiver, Reply

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube, pytest.mark.prometheus]

WEBHOOK_ANSWER_DELAY = 6.0  # the operator is killed while it waits for this answer


def test_sigkill_while_firing_neither_pages_nor_acts_twice(
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    namespace: str,
    pagerduty: PagerDuty,
    make_receiver: MakeReceiver,
) -> None:
    automation = make_receiver(Reply(200, "ok", delay=WEBHOOK_ANSWER_DELAY), name="automation")
    spec = {
        "interval": "10s",
        "notifications": oncall("urgent"),
        "rules": [
            {
                "name": "noout-left-set",
                "expr": "ceph_osd_flag_noout == 1",
                "severity": "urgent",
                "target": {"kind": "cluster"},
                "actions": [
                    {"after": "0s", "notify": {}},
                    {"after": "0s", "webhook": {"url": automation.url}},
                ],
            }
        ],
    }
    create_policy(kube_api, namespace, "flags", spec)
    ceph_cluster.ceph("osd", "set", "noout")
    with health_operator(pagerduty_url=pagerduty.receiver.url) as first:
        pagerduty.receiver.wait_for_requests(1, timeout=40)
        automation.wait_for_requests(1, timeout=20)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    before = records(kube_api, namespace)
    assert [r["status"]["result"] for r in before] == ["Succeeded", "Pending"]

    with health_operator(pagerduty_url=pagerduty.receiver.url):
        policy = wait_evaluations(kube_api, namespace, "flags", 2)
        assert policy["status"]["rules"][0]["state"] == "Firing"
        assert len(pagerduty.receiver.requests) == 1, "paged twice"
        assert len(automation.requests) == 1, "the webhook ran twice"
        assert len(records(kube_api, namespace)) == 2

        ceph_cluster.ceph("osd", "unset", "noout")
        pagerduty.receiver.wait_for_requests(2, timeout=40)
        wait_evaluations(kube_api, namespace, "flags", 1)
    trigger, resolve = (r.json for r in pagerduty.receiver.requests)
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert resolve["dedup_key"] == trigger["dedup_key"]
    assert len(automation.requests) == 1
    after = records(kube_api, namespace)
    assert [r["metadata"]["name"] for r in after] == [r["metadata"]["name"] for r in before]
    assert all("recoveredAt" in r["status"] for r in after)
    # At most once: nobody knows whether the interrupted webhook took effect, so it is not
    # repeated and its record stays Pending (Failed once its result timeout has passed).
    assert after[1]["status"]["result"] == "Pending"
    assert get_policy(kube_api, namespace, "flags")["status"]["firing"] == 0
    assert len(pagerduty.receiver.requests) == 2, "a second resolve"
