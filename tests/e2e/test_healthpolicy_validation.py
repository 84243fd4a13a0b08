"""Bad input: a rule Prometheus rejects (condition InvalidRule with Prometheus's own text, the
other rules keep working), specs the CRD schema rejects, and specs only Caretaker can judge
(condition Stalled with the reason; nothing is evaluated)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import KubeApiError
from fixtures.health import (
    HealthOperator,
    condition,
    create_policy,
    patch_policy,
    records,
    wait_condition,
)
from fixtures.prom import PrometheusTestbed
from fixtures.receivers import MakeReceiver, Reply

pytestmark = [pytest.mark.e2e, pytest.mark.kube, pytest.mark.prometheus]

ALWAYS = "max(ceph_health_status) >= 0"
BROKEN = "sum(ceph_osd_up"


def _rule(name: str, expr: str, **more: Any) -> dict[str, Any]:
    rule = {"name": name, "expr": expr, "severity": "routine", "target": {"kind": "cluster"}}
    return {**rule, **more}


def _prometheus_error(prometheus: PrometheusTestbed, expr: str) -> str:
    """What Prometheus itself answers to the query (read without Caretaker's client)."""
    query = urllib.parse.urlencode({"query": expr})
    try:
        urllib.request.urlopen(f"{prometheus.url}/api/v1/query?{query}", timeout=5)
    except urllib.error.HTTPError as error:
        return str(json.load(error)["error"])
    raise AssertionError(f"Prometheus accepted {expr!r}")


def test_invalid_promql_is_reported_and_other_rules_keep_working(
    kube_api: ApiClient,
    ceph_prometheus: PrometheusTestbed,
    health_operator: HealthOperator,
    namespace: str,
    make_receiver: MakeReceiver,
) -> None:
    chat = make_receiver(Reply.text(200, "ok"), name="chat")
    notify = [{"after": "0s", "notify": {"receivers": ["chat"]}}]
    spec = {
        "interval": "10s",
        "notifications": {"receivers": [{"name": "chat", "webhook": {"url": chat.url}}]},
        "rules": [_rule("broken", BROKEN, actions=notify), _rule("works", ALWAYS, actions=notify)],
    }
    create_policy(kube_api, namespace, "mixed", spec)
    with health_operator():
        policy = wait_condition(kube_api, namespace, "mixed", "InvalidRule", "True")
        (sent,) = chat.wait_for_requests(1, timeout=30)
        invalid = condition(policy, "InvalidRule")["message"]
        assert invalid == f"rule broken: {_prometheus_error(ceph_prometheus, BROKEN)}"
        ready = condition(policy, "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "InvalidRule")
        assert "1 rule(s) rejected by Prometheus; the 1 other(s) work" in ready["message"]
        broken, works = policy["status"]["rules"]
        assert broken["error"]["failure"] == "BadQuery"
        assert works["state"] == "Firing"
        assert sent.json["rule"] == "works"

        spec["rules"] = [_rule("broken", "sum(ceph_osd_up) < 0", actions=notify), spec["rules"][1]]
        patch_policy(kube_api, namespace, "mixed", spec)
        wait_condition(kube_api, namespace, "mixed", "InvalidRule", "False", timeout=30)
        wait_condition(kube_api, namespace, "mixed", "Ready", "True", timeout=30)
    assert len(chat.requests) == 1
    assert [r["spec"]["rule"] for r in records(kube_api, namespace)] == ["works"]


SCHEMA_REJECTS = [
    ({"rules": [_rule("r", ALWAYS, severity="bogus")]}, "severity"),
    ({"interval": "soon", "rules": [_rule("r", ALWAYS)]}, "interval"),
    ({"rules": [{"name": "r", "severity": "routine"}]}, "anyOf"),
    ({"rules": [_rule("r", ALWAYS)], "safety": {"minOsdUpRatio": 2}}, "minOsdUpRatio"),
    ({"rules": []}, "rules"),
]


@pytest.mark.parametrize(("spec", "field"), SCHEMA_REJECTS)
def test_schema_rejects_bad_specs(
    kube_api: ApiClient, caretaker_crds: None, namespace: str, spec: dict[str, Any], field: str
) -> None:
    with pytest.raises(KubeApiError) as caught:
        create_policy(kube_api, namespace, "bad", spec)
    assert caught.value.status == 422
    assert field in caught.value.message


STALLED = [
    (
        {"rules": [_rule("r", ALWAYS, actions=[{"after": "0s", "notify": {"receivers": ["x"]}}])]},
        "spec.rules[0].actions[0].notify.receivers[0]: no receiver named 'x'",
    ),
    ({"interval": "500ms", "rules": [_rule("r", ALWAYS)]}, "spec.interval: must be at least 1s"),
    (
        {"rules": [_rule("r", ALWAYS, actions=[{"after": "0s", "markOut": {}}])]},
        "markOut acts on an OSD",
    ),
    ({"rules": [_rule("r", ALWAYS), _rule("r", ALWAYS)]}, "rule 'r' is defined twice"),
]


def test_specs_the_schema_cannot_judge_are_stalled(
    kube_api: ApiClient, health_operator: HealthOperator, namespace: str
) -> None:
    for index, (spec, _) in enumerate(STALLED):
        create_policy(kube_api, namespace, f"bad-{index}", spec)
    with health_operator():
        for index, (_, message) in enumerate(STALLED):
            policy = wait_condition(kube_api, namespace, f"bad-{index}", "Stalled", "True")
            stalled = condition(policy, "Stalled")
            assert stalled["reason"] == "InvalidSpec"
            assert message in stalled["message"], stalled["message"]
            assert condition(policy, "Ready")["status"] == "False"
            assert not policy["status"].get("rules"), "an invalid policy was evaluated"
    assert records(kube_api, namespace) == []
