"""Pages are never lost and incidents are never left open: the operator runs against the real
testbed (Ceph's noout flag, read through Prometheus, starts and ends an episode) and a real HTTP
PagerDuty stand-in that refuses events for a while.

- a new episode of the same rule and target pages under a new dedup_key, even though the first
  incident was never resolved at the receiver;
- a trigger the receiver refuses (5xx) is sent again in later evaluations until it is accepted;
- a resolve the receiver refuses is sent again until it is accepted;
- deleting a HealthPolicy with an open incident sends the resolve before the object is gone;
  with a receiver that stays down, the annotation caretaker.dev/leave-incidents-open lets it go
  and an Event names the incident left open.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import MERGE_PATCH, KubeApiError, api_path, request_json
from caretaker.clients.kube.events import ObjectRef
from caretaker.constants import LEAVE_OPEN_ANNOTATION
from fixtures.ceph import CephTestbed
from fixtures.health import (
    POLICIES,
    HealthOperator,
    PagerDuty,
    condition,
    create_policy,
    delete_policy,
    event_reasons,
    get_policy,
    oncall,
    records,
    wait_condition,
)
from fixtures.kube_reads import list_events
from fixtures.operator import wait_until
from fixtures.receivers import RecordedRequest, Reply

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube, pytest.mark.prometheus]

POLICY = "flags"
RULE = "noout-left-set"


def _spec() -> dict[str, Any]:
    return {
        "interval": "10s",
        "notifications": oncall("urgent"),
        "rules": [
            {
                "name": RULE,
                "expr": "ceph_osd_flag_noout == 1",
                "severity": "urgent",
                "target": {"kind": "cluster"},
                "actions": [{"after": "0s", "notify": {}}],
            }
        ],
    }


@pytest.fixture
def noout(ceph_cluster: CephTestbed) -> Iterator[Callable[[bool], None]]:
    """``noout(True)`` starts an episode, ``noout(False)`` ends it; unset after the test."""

    def flag(on: bool) -> None:
        ceph_cluster.ceph("osd", "set" if on else "unset", "noout")

    yield flag
    flag(False)


def _refusing(action: str, status: int = 500) -> Callable[[RecordedRequest], Reply]:
    """PagerDuty accepting every event except ``action`` events, which get ``status``."""

    def answer(request: RecordedRequest) -> Reply:
        document = request.json if isinstance(request.json, dict) else {}
        return Reply(status) if document.get("event_action") == action else Reply()

    return answer


def _events(pagerduty: PagerDuty, action: str) -> list[RecordedRequest]:
    return [r for r in pagerduty.receiver.requests if (r.json or {}).get("event_action") == action]


def _wait_events(pagerduty: PagerDuty, action: str, count: int, timeout: float) -> list[Any]:
    found = wait_until(
        lambda: len(_events(pagerduty, action)) >= count and _events(pagerduty, action),
        timeout,
        f"{count} {action} event(s) at the receiver",
    )
    assert isinstance(found, list)
    return found


def _incident(api: ApiClient, namespace: str) -> dict[str, Any]:
    (record,) = [r for r in records(api, namespace) if r["spec"]["action"] == "notify"]
    return record


def test_a_new_episode_pages_under_a_new_key_while_the_old_incident_is_still_open(
    kube_api: ApiClient,
    health_operator: HealthOperator,
    namespace: str,
    pagerduty: PagerDuty,
    noout: Callable[[bool], None],
) -> None:
    pagerduty.receiver.answer_with(_refusing("resolve"))
    create_policy(kube_api, namespace, POLICY, _spec())
    with health_operator(pagerduty_url=pagerduty.receiver.url):
        noout(True)
        (first,) = _wait_events(pagerduty, "trigger", 1, timeout=60)
        noout(False)
        _wait_events(pagerduty, "resolve", 1, timeout=60)  # refused: incident 1 stays open
        noout(True)
        second = _wait_events(pagerduty, "trigger", 2, timeout=60)[1]
        assert second.json["dedup_key"] != first.json["dedup_key"], "merged into incident 1"
        pagerduty.receiver.answer_with(Reply())
        noout(False)
        keys = {first.json["dedup_key"], second.json["dedup_key"]}
        wait_until(
            lambda: keys <= {r.json["dedup_key"] for r in _events(pagerduty, "resolve")},
            90,
            "both incidents resolved",
        )
    assert len(_events(pagerduty, "trigger")) == 2, "a trigger was sent again after success"


def test_a_page_refused_by_the_receiver_is_delivered_once_it_is_back(
    kube_api: ApiClient,
    health_operator: HealthOperator,
    namespace: str,
    pagerduty: PagerDuty,
    noout: Callable[[bool], None],
) -> None:
    pagerduty.receiver.answer_with(503)
    create_policy(kube_api, namespace, POLICY, _spec())
    with health_operator(pagerduty_url=pagerduty.receiver.url):
        noout(True)
        pagerduty.receiver.wait_for_requests(1, timeout=60)
        first_send = len(pagerduty.receiver.requests)
        time.sleep(5)  # one send's own retries (about 10 s at most) are over
        first_send = max(first_send, len(pagerduty.receiver.requests))
        # a later evaluation sends the page again (not only the client's retries of one send)
        pagerduty.receiver.wait_for_requests(first_send + 1, timeout=60)
        failing = wait_condition(kube_api, namespace, POLICY, "NotificationsFailing", "True")
        assert "503" in condition(failing, "NotificationsFailing")["message"]
        assert _incident(kube_api, namespace)["status"]["result"] == "Pending"
        pagerduty.receiver.answer_with(Reply())
        back = time.monotonic()
        wait_until(
            lambda: _incident(kube_api, namespace)["status"]["result"] == "Succeeded",
            90,
            "the trigger delivered",
        )
        wait_condition(kube_api, namespace, POLICY, "NotificationsFailing", "False", timeout=40)
    triggers = _events(pagerduty, "trigger")
    assert len({t.json["dedup_key"] for t in triggers}) == 1, "one incident, one dedup_key"
    assert [t for t in triggers if t.received_at >= back], "no trigger reached the receiver"
    record = _incident(kube_api, namespace)
    assert record["status"]["delivery"]["deliveredTo"] == ["oncall"]
    assert record["status"]["delivery"]["attempts"] >= 2
    assert "NotificationFailed" in event_reasons(kube_api, namespace, POLICY)


def test_a_refused_resolve_is_retried_until_it_is_delivered(
    kube_api: ApiClient,
    health_operator: HealthOperator,
    namespace: str,
    pagerduty: PagerDuty,
    noout: Callable[[bool], None],
) -> None:
    create_policy(kube_api, namespace, POLICY, _spec())
    with health_operator(pagerduty_url=pagerduty.receiver.url):
        noout(True)
        (trigger,) = _wait_events(pagerduty, "trigger", 1, timeout=60)
        pagerduty.receiver.answer_with(_refusing("resolve"))
        noout(False)
        _wait_events(pagerduty, "resolve", 1, timeout=60)
        time.sleep(5)  # one send's own retries are over
        refused = len(_events(pagerduty, "resolve"))
        _wait_events(pagerduty, "resolve", refused + 1, timeout=60)  # a later evaluation
        assert _incident(kube_api, namespace)["status"]["resolve"]["result"] == "Pending"
        pagerduty.receiver.answer_with(Reply())
        back = time.monotonic()
        wait_until(
            lambda: _incident(kube_api, namespace)["status"]["resolve"]["result"] == "Succeeded",
            90,
            "the resolve delivered",
        )
    resolves = _events(pagerduty, "resolve")
    assert {r.json["dedup_key"] for r in resolves} == {trigger.json["dedup_key"]}
    assert [r for r in resolves if r.received_at >= back], "no resolve reached the receiver"
    assert len(_events(pagerduty, "trigger")) == 1
    assert get_policy(kube_api, namespace, POLICY)["status"]["firing"] == 0


def test_deleting_a_policy_resolves_its_open_incident_before_it_is_gone(
    kube_api: ApiClient,
    health_operator: HealthOperator,
    namespace: str,
    pagerduty: PagerDuty,
    noout: Callable[[bool], None],
) -> None:
    create_policy(kube_api, namespace, POLICY, _spec())
    with health_operator(pagerduty_url=pagerduty.receiver.url):
        noout(True)
        (trigger,) = _wait_events(pagerduty, "trigger", 1, timeout=60)
        wait_until(
            lambda: _incident(kube_api, namespace)["status"]["result"] == "Succeeded",
            30,
            "the trigger recorded",
        )
        pagerduty.receiver.answer_with(_refusing("resolve", 503))
        delete_policy(kube_api, namespace, POLICY)
        _wait_events(pagerduty, "resolve", 1, timeout=60)
        # refused: the policy stays (its finalizer) and says why
        held = get_policy(kube_api, namespace, POLICY)
        assert held["metadata"].get("deletionTimestamp")
        wait_until(
            lambda: "ResolvePending" in event_reasons(kube_api, namespace, POLICY),
            30,
            "an Event saying the resolve is pending",
        )
        existed: list[bool] = []

        def accept(request: RecordedRequest) -> Reply:
            existed.append(_exists(kube_api, namespace))
            return Reply()

        pagerduty.receiver.answer_with(accept)
        wait_until(lambda: not _exists(kube_api, namespace), 120, "the policy deleted")
    resolves = _events(pagerduty, "resolve")
    assert {r.json["dedup_key"] for r in resolves} == {trigger.json["dedup_key"]}
    assert existed, "no resolve after the receiver came back"
    assert existed[0], "the policy went before its incident was resolved"


def _exists(api: ApiClient, namespace: str) -> bool:
    try:
        get_policy(api, namespace, POLICY)
    except KubeApiError as error:
        if error.not_found:
            return False
        raise
    return True


def test_an_annotated_policy_goes_and_names_the_incident_left_open(
    kube_api: ApiClient,
    health_operator: HealthOperator,
    namespace: str,
    pagerduty: PagerDuty,
    noout: Callable[[bool], None],
) -> None:
    create_policy(kube_api, namespace, POLICY, _spec())
    with health_operator(pagerduty_url=pagerduty.receiver.url):
        noout(True)
        (trigger,) = _wait_events(pagerduty, "trigger", 1, timeout=60)
        wait_until(
            lambda: _incident(kube_api, namespace)["status"]["result"] == "Succeeded",
            30,
            "the trigger recorded",
        )
        pagerduty.receiver.answer_with(_refusing("resolve", 503))  # and it stays down
        delete_policy(kube_api, namespace, POLICY)
        _wait_events(pagerduty, "resolve", 1, timeout=60)
        assert _exists(kube_api, namespace), "gone although its resolve was refused"
        annotations = {"metadata": {"annotations": {LEAVE_OPEN_ANNOTATION: "true"}}}
        path = api_path(POLICIES + "/{}", namespace, POLICY)
        request_json(kube_api, "PATCH", path, body=annotations, content_type=MERGE_PATCH)
        wait_until(lambda: not _exists(kube_api, namespace), 120, "the policy deleted")
    ref = ObjectRef("caretaker.dev/v1alpha1", "HealthPolicy", POLICY, namespace)
    left = [e.message for e in list_events(kube_api, ref) if e.reason == "IncidentsLeftOpen"]
    assert left, "no Event names the incident left open"
    assert trigger.json["dedup_key"] in left[0]
