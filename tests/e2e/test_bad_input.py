"""Bad input gets a clear answer from the real operator on the real API server: a huge duration,
a selector no label can match, a window that ends after the year 9999, a URL port out of
range, a one-off window that is already over. Each one is a Stalled condition whose message
names the field (never an exception, never a silent "matches no node"), and nothing is done:
no cordon, no noout, no Lease, no Remediation. What the CRD schema can see, the API server
refuses itself."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import KubeApiError
from fixtures.ceph import CephTestbed
from fixtures.health import HealthOperator, condition, create_policy, records, wait_condition
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    is_cordoned,
    lease_holder,
    noout_osds,
    status_of,
)
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]

HUGE = "99999999999d"  # passes the CRD's pattern and length; once an OverflowError
INFINITE = "9" * 31 + "s"  # 32 characters; once a float too large for a timedelta

# (spec with {node} for a real storage node, reason, text the Stalled message must contain)
MAINTENANCES: list[tuple[dict[str, Any], str, str]] = [
    (
        {"nodes": ["{node}"], "hold": {"mode": "duration", "duration": HUGE}},
        "InvalidSpec",
        f"spec.hold.duration: '{HUGE}' is too long: at most 36500d",
    ),
    (
        {"nodes": ["{node}"], "strategy": {"delayBetweenNodes": INFINITE}},
        "InvalidSpec",
        "spec.strategy.delayBetweenNodes: ",
    ),
    (  # a space pasted with the key: once "matches no node" (TargetsNotFound)
        {"nodeSelector": {"kubernetes.io/hostname ": "{node}"}},
        "InvalidSpec",
        """spec.nodeSelector["kubernetes.io/hostname "]: 'kubernetes.io/hostname ' is not a """
        "valid label key",
    ),
    (
        {"nodes": ["{node}"], "window": {"start": "9999-12-31T23:00:00Z", "duration": "2h"}},
        "InvalidSpec",
        "spec.window.start: '9999-12-31T23:00:00Z' plus the duration ends after the year 9999",
    ),
    (
        {"nodes": ["{node}"], "window": {"start": "2020-01-01T00:00:00Z", "duration": "1h"}},
        "WindowOver",
        "spec.window: the one-off window ended at 2020-01-01T01:00:00Z with 1 node(s) left",
    ),
]


def _with_node(value: Any, node: str) -> Any:
    if isinstance(value, dict):
        return {_with_node(k, node): _with_node(v, node) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_node(v, node) for v in value]
    return value.replace("{node}", node) if isinstance(value, str) else value


def _stalled(api: ApiClient, namespace: str, name: str) -> dict[str, Any] | None:
    conditions = status_of(api, namespace, name).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Stalled" and c["status"] == "True"), None)


def test_bad_maintenances_are_named_at_their_field_and_nothing_is_done(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[0]
    for index, (spec, _reason, _text) in enumerate(MAINTENANCES):
        create_maintenance(kube_api, namespace, f"bad-{index}", _with_node(spec, node))
    with run_operator():
        for index, (_spec, reason, text) in enumerate(MAINTENANCES):
            found = wait_until(
                lambda name=f"bad-{index}": _stalled(kube_api, namespace, name),
                30,
                f"bad-{index} Stalled",
            )
            assert isinstance(found, dict)
            assert (found["reason"], found["status"]) == (reason, "True"), (index, found)
            assert _with_node(text, node) in found["message"], (index, found)
            assert "Error" not in found["message"], "an exception name in a message for people"
            status = status_of(kube_api, namespace, f"bad-{index}")
            assert status.get("phase") in ("Pending", None), (index, status)
            assert all(n["phase"] == "Pending" for n in status.get("nodes") or []), status
    assert noout_osds(ceph_cluster) == set()
    for each in clean_nodes:
        assert not is_cordoned(kube_api, each)
        assert lease_holder(kube_api, each) is None


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"nodeSelector": {"rack": "r7, r8"}}, "spec.nodeSelector.rack"),
        ({"nodes": ["a"], "drain": {"podSelector": {"app": "rook-ceph-*"}}}, "podSelector.app"),
        ({"nodes": ["a"], "hold": {"mode": "duration", "duration": "1" + "0" * 40 + "s"}}, "hold"),
    ],
)
def test_the_schema_refuses_selector_values_and_overlong_durations(
    kube_api: ApiClient, caretaker_crds: None, namespace: str, spec: dict[str, Any], field: str
) -> None:
    with pytest.raises(KubeApiError) as caught:
        create_maintenance(kube_api, namespace, "refused", spec)
    assert caught.value.status == 422
    assert field in str(caught.value)


ALWAYS = "max(ceph_health_status) >= 0"
RULE = {"name": "r", "expr": ALWAYS, "severity": "routine", "target": {"kind": "cluster"}}
POLICIES: list[tuple[dict[str, Any], str]] = [
    (
        {"rules": [{**RULE, "cooldown": HUGE}]},
        f"spec.rules[0].cooldown: '{HUGE}' is too long: at most 36500d",
    ),
    ({"rules": [{**RULE, "for": INFINITE}]}, "spec.rules[0].for: "),
    (
        {"rules": [RULE], "prometheus": {"url": "http://127.0.0.1:99999"}},
        "spec.prometheus.url: 'http://127.0.0.1:99999' has no valid port",
    ),
    (
        {
            "rules": [{**RULE, "actions": [{"after": "0s", "notify": {"receivers": ["hook"]}}]}],
            "notifications": {
                "receivers": [{"name": "hook", "webhook": {"url": "http://:8080/hook"}}]
            },
        },
        "spec.notifications.receivers[0].webhook.url: 'http://:8080/hook' has no host name",
    ),
]


@pytest.mark.prometheus
def test_bad_policies_are_named_at_their_field_and_nothing_is_evaluated(
    kube_api: ApiClient, health_operator: HealthOperator, namespace: str
) -> None:
    for index, (spec, _message) in enumerate(POLICIES):
        create_policy(kube_api, namespace, f"bad-{index}", {"interval": "2s", **spec})
    with health_operator():
        for index, (_spec, message) in enumerate(POLICIES):
            policy = wait_condition(kube_api, namespace, f"bad-{index}", "Stalled", "True")
            stalled = condition(policy, "Stalled")
            assert stalled["reason"] == "InvalidSpec"
            assert message in stalled["message"], stalled["message"]
            assert "Error" not in stalled["message"], "an exception name in a message for people"
            assert condition(policy, "Ready")["status"] == "False"
            assert not policy["status"].get("rules"), "an invalid policy was evaluated"
    assert records(kube_api, namespace) == []
