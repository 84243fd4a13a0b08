"""Reading the HealthPolicy spec: typed values with defaults, and field-level errors."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from health_fleet import RECEIVERS
from hypothesis import given
from hypothesis import strategies as st

from caretaker.domain.drain.rules import DrainSpec
from caretaker.domain.health.actions import (
    Cordon,
    Drain,
    Flag,
    LadderStep,
    MarkOut,
    Notify,
    RestartOsd,
    SetFlag,
    Severity,
    Taint,
    TaintEffect,
    Verify,
    VerifyCondition,
    Webhook,
)
from caretaker.domain.health.notify_spec import PagerDutyReceiver, SlackReceiver, WebhookReceiver
from caretaker.domain.health.presets import PRESETS
from caretaker.domain.health.refs import SecretKeyRef, SecretRef
from caretaker.domain.health.spec import (
    HealthPolicySpec,
    HistorySpec,
    SafetySpec,
    read_health_policy_spec,
)
from caretaker.domain.health.targets import TargetKind, TargetMapping

PRESET_RULE = {"name": "osd", "preset": "OsdDown"}
CUSTOM: dict[str, Any] = {"name": "c", "expr": "up == 0", "severity": "urgent"}
OSD_TARGET = {"kind": "osd", "label": "ceph_daemon"}


def spec(**fields: Any) -> dict[str, Any]:
    return {"rules": [PRESET_RULE], **fields}


def rule(**fields: Any) -> dict[str, Any]:
    return {"rules": [{**CUSTOM, **fields}], "notifications": RECEIVERS}


def steps(*items: dict[str, Any], target: dict[str, Any] | None = None) -> dict[str, Any]:
    return rule(actions=list(items), target=target or OSD_TARGET)


def read_ok(raw: dict[str, Any]) -> HealthPolicySpec:
    parsed, errors = read_health_policy_spec(raw)
    assert errors == []
    assert parsed is not None
    return parsed


def test_defaults() -> None:
    parsed = read_ok(spec())
    assert parsed.interval == timedelta(seconds=30)
    assert parsed.dry_run is False
    assert parsed.prometheus is None
    assert parsed.safety == SafetySpec(1, 1, 0.9)
    assert parsed.history == HistorySpec(200, timedelta(days=30))
    (osd,) = parsed.rules
    preset = PRESETS["OsdDown"]
    assert (osd.expr, osd.for_, osd.severity, osd.target) == (
        preset.expr,
        preset.for_,
        preset.severity,
        preset.target,
    )
    assert osd.actions == preset.actions
    assert osd.preset == "OsdDown"
    assert osd.cooldown == timedelta(minutes=30)


def test_a_custom_rule_without_actions_notifies_at_zero() -> None:
    parsed = read_ok(rule())
    (custom,) = parsed.rules
    assert custom.actions == (LadderStep(timedelta(0), Notify()),)
    assert custom.target == TargetMapping()
    assert custom.for_ == timedelta(0)


def test_preset_fields_can_be_overridden() -> None:
    raw = spec(
        rules=[
            {
                **PRESET_RULE,
                "for": "5m",
                "severity": "critical",
                "cooldown": "1h",
                "expr": "ceph_osd_up{cluster='a'} == 0",
                "actions": [{"after": "0s", "notify": {"route": "routine"}}],
            }
        ]
    )
    (osd,) = read_ok(raw).rules
    assert osd.for_ == timedelta(minutes=5)
    assert osd.severity is Severity.CRITICAL
    assert osd.expr == "ceph_osd_up{cluster='a'} == 0"
    assert osd.cooldown == timedelta(hours=1)
    assert osd.actions == (LadderStep(timedelta(0), Notify(route=Severity.ROUTINE)),)
    assert osd.target == PRESETS["OsdDown"].target


FULL_SPEC: dict[str, Any] = {
    "interval": "1m",
    "dryRun": True,
    "prometheus": {
        "url": "https://prom.monitoring:9090",
        "bearerTokenSecretRef": {"name": "prom", "key": "token"},
        "caSecretRef": {"name": "prom", "key": "ca.crt"},
        "headers": {"X-Scope-OrgID": "ceph"},
    },
    "safety": {"maxConcurrentDisruptive": 2, "maxOsdsOut": 3, "minOsdUpRatio": 0.75},
    "remediationHistory": {"limit": 50, "maxAge": "7d"},
    "notifications": {
        "receivers": [
            *RECEIVERS["receivers"],
            {
                "name": "hook",
                "webhook": {"urlSecretRef": {"name": "h", "key": "u"}, "headers": {"A": "b"}},
            },
        ],
        "routes": RECEIVERS["routes"],
    },
    "rules": [
        {
            "name": "node-sick",
            "expr": "node_sick == 1",
            "severity": "routine",
            "for": "2m",
            "target": {"kind": "osd", "label": "ceph_daemon", "nodeLabel": "hostname"},
            "actions": [
                {"after": "0s", "notify": {"receivers": ["hook"], "route": "critical"}},
                {"after": "1m", "restartOsd": {}, "verify": {"within": "5m"}},
                {"after": "2m", "markOut": {}},
                {"after": "3m", "setFlag": {"flag": "nodeep-scrub"}},
                {"after": "4m", "cordon": {}},
                {"after": "4m", "drain": {"timeout": "10m", "gracePeriodSeconds": 30}},
                {"after": "5m", "taint": {"key": "caretaker.dev/sick", "effect": "NoSchedule"}},
                {
                    "after": "6m",
                    "webhook": {"url": "https://hooks.example/x", "disruptive": True},
                    "verify": {"condition": "Resolved", "within": "10m"},
                },
            ],
        }
    ],
}


def test_every_field() -> None:
    parsed = read_ok(FULL_SPEC)
    assert parsed.interval == timedelta(minutes=1)
    assert parsed.dry_run
    assert parsed.prometheus is not None
    assert parsed.prometheus.bearer_token == SecretKeyRef("prom", "token")
    assert parsed.prometheus.headers == {"X-Scope-OrgID": "ceph"}
    assert parsed.safety == SafetySpec(2, 3, 0.75)
    assert parsed.history == HistorySpec(50, timedelta(days=7))
    configs = [r.config for r in parsed.notifications.receivers]
    assert configs == [
        PagerDutyReceiver(SecretKeyRef("pd", "key")),
        SlackReceiver(SecretKeyRef("slack", "url")),
        WebhookReceiver("", SecretKeyRef("h", "u"), {"A": "b"}),
    ]
    assert parsed.notifications.route(Severity.CRITICAL) == ("oncall", "chat")
    (sick,) = parsed.rules
    assert [s.action for s in sick.actions] == [
        Notify(("hook",), Severity.CRITICAL),
        RestartOsd(),
        MarkOut(),
        SetFlag(Flag.NODEEP_SCRUB),
        Cordon(),
        Drain(DrainSpec(timeout=timedelta(minutes=10), grace_period_seconds=30)),
        Taint("caretaker.dev/sick", TaintEffect.NO_SCHEDULE),
        Webhook("https://hooks.example/x", None, {}, True),
    ]
    assert sick.actions[1].verify == Verify(VerifyCondition.OSD_UP, timedelta(minutes=5))
    assert sick.actions[2].verify == Verify(VerifyCondition.OSD_OUT, timedelta(minutes=1))
    assert sick.actions[7].verify == Verify(VerifyCondition.RESOLVED, timedelta(minutes=10))
    assert [s.disruptive for s in sick.actions] == [False] + [True] * 7
    assert sick.target == TargetMapping(TargetKind.OSD, "ceph_daemon", "hostname")


def test_basic_auth() -> None:
    parsed = read_ok(spec(prometheus={"url": "http://p:9090", "basicAuthSecretRef": {"name": "b"}}))
    assert parsed.prometheus is not None
    assert parsed.prometheus.basic_auth == SecretRef("b")


# (case id, raw spec, exact path of the expected error, regex the message must match)
# fmt: off
BAD_SPECS: list[tuple[str, dict[str, Any], str, str]] = [
    ("empty", {}, "spec.rules", "at least one rule"),
    ("no-rules", {"rules": []}, "spec.rules", "at least one rule"),
    ("unknown-top", spec(dryrun=True), "spec.dryrun", "unknown field"),
    ("interval-garbage", spec(interval="30 s"), "spec.interval", "e.g. 90s"),
    ("interval-short", spec(interval="500ms"), "spec.interval", "at least 1s"),
    ("dry-run-string", spec(dryRun="yes"), "spec.dryRun", "true or false"),
    ("rule-not-object", {"rules": ["OsdDown"]}, "spec.rules[0]", "must be an object"),
    ("rule-no-name", {"rules": [{"preset": "OsdDown"}]}, "spec.rules[0].name", "required"),
    ("rule-bad-name", {"rules": [{"name": "a b", "preset": "OsdDown"}]}, "spec.rules[0].name",
     "letters, digits"),
    ("rule-twice", {"rules": [PRESET_RULE, PRESET_RULE]}, "spec.rules[1].name", "defined twice"),
    ("rule-unknown", rule(exprs="x"), "spec.rules[0].exprs", "unknown field"),
    ("unknown-preset", {"rules": [{"name": "a", "preset": "OsdGone"}]}, "spec.rules[0].preset",
     "unknown preset 'OsdGone'; known: OsdDown"),
    ("neither", {"rules": [{"name": "a", "severity": "urgent"}]}, "spec.rules[0]",
     "give expr .* or preset"),
    ("no-severity", {"rules": [{"name": "a", "expr": "x"}]}, "spec.rules[0].severity", "required"),
    ("bad-severity", rule(severity="high"), "spec.rules[0].severity",
     "routine, urgent or critical"),
    ("bad-for", rule(**{"for": "soon"}), "spec.rules[0].for", "not a duration"),
    ("zero-cooldown", rule(cooldown="0s"), "spec.rules[0].cooldown", "longer than zero"),
    ("target-kind", rule(target={"kind": "daemon", "label": "x"}), "spec.rules[0].target.kind",
     "one of osd, host, node, pool, pg, cluster"),
    ("target-no-label", rule(target={"kind": "osd"}), "spec.rules[0].target.label",
     "required: the label that names the osd"),
    ("target-bad-label", rule(target={"kind": "osd", "label": "ceph-daemon"}),
     "spec.rules[0].target.label", "not a Prometheus label name"),
    ("cluster-label", rule(target={"kind": "cluster", "label": "x"}),
     "spec.rules[0].target.label", "no label"),
    ("preset-retargeted", spec(rules=[{**PRESET_RULE, "target": {"kind": "pool", "label": "n"}}]),
     "spec.rules[0].target", "restartOsd acts on an OSD.*override actions"),
    ("actions-object", rule(actions={"after": "0s"}), "spec.rules[0].actions", "list of steps"),
    ("step-no-after", steps({"notify": {}}), "spec.rules[0].actions[0].after", "required"),
    ("step-bad-after", steps({"after": "2 min", "notify": {}}), "spec.rules[0].actions[0].after",
     "not a duration"),
    ("after-decreasing", steps({"after": "5m", "notify": {}}, {"after": "2m", "restartOsd": {}}),
     "spec.rules[0].actions[1].after", "not be earlier than the step before"),
    ("two-actions", steps({"after": "0s", "notify": {}, "cordon": {}}), "spec.rules[0].actions[0]",
     "exactly one action"),
    ("no-action", steps({"after": "0s"}), "spec.rules[0].actions[0]", "exactly one action"),
    ("unknown-action", steps({"after": "0s", "reboot": {}}),
     "spec.rules[0].actions[0].reboot", "unknown field"),
    ("restart-without-osd", rule(actions=[{"after": "0s", "restartOsd": {}}]),
     "spec.rules[0].actions[0].restartOsd", "acts on an OSD: set target.kind osd"),
    ("markout-on-pool", steps({"after": "0s", "markOut": {}},
                              target={"kind": "pool", "label": "n"}),
     "spec.rules[0].actions[0].markOut", "acts on an OSD"),
    ("cordon-without-node", steps({"after": "0s", "cordon": {}}),
     "spec.rules[0].actions[0].cordon", "acts on a node: .*nodeLabel"),
    ("repair-on-osd", steps({"after": "0s", "pgRepair": {}}),
     "spec.rules[0].actions[0].pgRepair", "pool or PG"),
    ("param-on-restart", steps({"after": "0s", "restartOsd": {"force": True}}),
     "spec.rules[0].actions[0].restartOsd.force", "unknown field"),
    ("bad-flag", steps({"after": "0s", "setFlag": {"flag": "nodown"}}),
     "spec.rules[0].actions[0].setFlag.flag", "one of noout, norebalance"),
    ("no-flag", steps({"after": "0s", "unsetFlag": {}}),
     "spec.rules[0].actions[0].unsetFlag.flag", "one of noout"),
    ("taint-no-key", steps({"after": "0s", "taint": {"effect": "NoSchedule"}},
                           target={"kind": "node", "label": "node"}),
     "spec.rules[0].actions[0].taint.key", "required"),
    ("taint-bad-key", steps({"after": "0s", "taint": {"key": "-x", "effect": "NoSchedule"}},
                            target={"kind": "node", "label": "node"}),
     "spec.rules[0].actions[0].taint.key", "not a valid taint key"),
    ("taint-bad-effect", steps({"after": "0s", "taint": {"key": "x", "effect": "Evict"}},
                               target={"kind": "node", "label": "node"}),
     "spec.rules[0].actions[0].taint.effect", "NoSchedule, PreferNoSchedule, NoExecute"),
    ("drain-negative-grace", steps({"after": "0s", "drain": {"gracePeriodSeconds": -1}},
                                   target={"kind": "host", "label": "hostname"}),
     "spec.rules[0].actions[0].drain.gracePeriodSeconds", "at least 0"),
    ("notify-unknown-receiver", steps({"after": "0s", "notify": {"receivers": ["ops"]}}),
     "spec.rules[0].actions[0].notify.receivers[0]", "no receiver named 'ops'"),
    ("notify-bad-route", steps({"after": "0s", "notify": {"route": "page"}}),
     "spec.rules[0].actions[0].notify.route", "one of routine, urgent, critical"),
    ("webhook-both", steps({"after": "0s", "webhook": {"url": "http://a",
                                                       "urlSecretRef": {"name": "a", "key": "b"}}}),
     "spec.rules[0].actions[0].webhook", "exactly one of url or urlSecretRef"),
    ("webhook-neither", steps({"after": "0s", "webhook": {}}),
     "spec.rules[0].actions[0].webhook", "exactly one of url or urlSecretRef"),
    ("webhook-ftp", steps({"after": "0s", "webhook": {"url": "ftp://a"}}),
     "spec.rules[0].actions[0].webhook.url", "not an http:// or https:// URL"),
    ("webhook-secret-no-key", steps({"after": "0s", "webhook": {"urlSecretRef": {"name": "a"}}}),
     "spec.rules[0].actions[0].webhook.urlSecretRef.key", "required"),
    ("verify-no-condition", steps({"after": "0s", "notify": {}, "verify": {"within": "1m"}}),
     "spec.rules[0].actions[0].verify.condition", "required for this action"),
    ("verify-no-within", steps({"after": "0s", "notify": {}, "verify": {"condition": "Resolved"}}),
     "spec.rules[0].actions[0].verify.within", "required"),
    ("verify-osd-on-pool", steps({"after": "0s", "notify": {}, "verify": {"condition": "OsdUp",
                                                                          "within": "1m"}},
                                 target={"kind": "pool", "label": "name"}),
     "spec.rules[0].actions[0].verify.condition", "needs target.kind osd"),
    ("verify-bad", steps({"after": "0s", "restartOsd": {}, "verify": {"condition": "Up"}}),
     "spec.rules[0].actions[0].verify.condition", "OsdUp, OsdIn, OsdOut, Resolved"),
    ("safety-ratio", spec(safety={"minOsdUpRatio": 1.5}), "spec.safety.minOsdUpRatio",
     "from 0 to 1"),
    ("safety-ratio-string", spec(safety={"minOsdUpRatio": "90%"}), "spec.safety.minOsdUpRatio",
     "from 0 to 1"),
    ("safety-negative", spec(safety={"maxOsdsOut": -1}), "spec.safety.maxOsdsOut", "at least 0"),
    ("safety-unknown", spec(safety={"maxOut": 1}), "spec.safety.maxOut", "unknown field"),
    ("history-zero", spec(remediationHistory={"limit": 0}), "spec.remediationHistory.limit",
     "at least 1"),
    ("prom-no-url", spec(prometheus={"headers": {}}), "spec.prometheus.url", "required"),
    ("prom-bad-url", spec(prometheus={"url": "prometheus:9090"}), "spec.prometheus.url",
     "http:// or https://"),
    ("prom-token-no-key", spec(prometheus={"url": "http://p", "bearerTokenSecretRef":
                                           {"name": "p"}}),
     "spec.prometheus.bearerTokenSecretRef.key", "required: the key inside the Secret"),
    ("prom-bad-secret-name", spec(prometheus={"url": "http://p", "caSecretRef":
                                              {"name": "P_Q", "key": "ca"}}),
     "spec.prometheus.caSecretRef.name", "not a valid Secret name"),
    ("prom-two-auths", spec(prometheus={"url": "http://p", "basicAuthSecretRef": {"name": "b"},
                                        "bearerTokenSecretRef": {"name": "p", "key": "t"}}),
     "spec.prometheus.basicAuthSecretRef", "bearerTokenSecretRef or basicAuthSecretRef"),
    ("prom-ref-string", spec(prometheus={"url": "http://p", "caSecretRef": "ca"}),
     "spec.prometheus.caSecretRef", "must be an object"),
    ("prom-headers", spec(prometheus={"url": "http://p", "headers": {"a": 1}}),
     "spec.prometheus.headers", "map of strings"),
    ("receivers-object", spec(notifications={"receivers": {}}), "spec.notifications.receivers",
     "must be a list"),
    ("receiver-no-kind", spec(notifications={"receivers": [{"name": "x"}]}),
     "spec.notifications.receivers[0]", "exactly one of pagerduty, slack or webhook"),
    ("receiver-two-kinds", spec(notifications={"receivers": [
        {"name": "x", "pagerduty": {"routingKeySecretRef": {"name": "a", "key": "b"}},
         "webhook": {"url": "http://a"}}]}),
     "spec.notifications.receivers[0]", "exactly one of"),
    ("receiver-bad-name", spec(notifications={"receivers": [
        {"name": "On Call", "webhook": {"url": "http://a"}}]}),
     "spec.notifications.receivers[0].name", "lowercase"),
    ("receiver-twice", spec(notifications={"receivers": [
        {"name": "x", "webhook": {"url": "http://a"}}, {"name": "x", "webhook": {"url": "http://b"}}]}),
     "spec.notifications.receivers[1].name", "defined twice"),
    ("pagerduty-no-key", spec(notifications={"receivers": [{"name": "x", "pagerduty": {}}]}),
     "spec.notifications.receivers[0].pagerduty.routingKeySecretRef", "required"),
    ("pagerduty-ref-no-key", spec(notifications={"receivers": [
        {"name": "x", "pagerduty": {"routingKeySecretRef": {"name": "pd"}}}]}),
     "spec.notifications.receivers[0].pagerduty.routingKeySecretRef.key", "required"),
    ("slack-no-url", spec(notifications={"receivers": [{"name": "x", "slack": {"channel": "#a"}}]}),
     "spec.notifications.receivers[0].slack.webhookUrlSecretRef", "required"),
    ("route-unknown-receiver", spec(notifications={**RECEIVERS, "routes": [
        {"severity": "urgent", "receivers": ["chat", "ops"]}]}),
     "spec.notifications.routes[0].receivers[1]", "no receiver named 'ops'"),
    ("route-twice", spec(notifications={**RECEIVERS, "routes": [
        {"severity": "urgent", "receivers": ["chat"]},
        {"severity": "urgent", "receivers": ["chat"]}]}),
     "spec.notifications.routes[1].severity", "two routes"),
    ("route-bad-severity", spec(notifications={**RECEIVERS, "routes": [
        {"severity": "page", "receivers": ["chat"]}]}),
     "spec.notifications.routes[0].severity", "routine, urgent or critical"),
    ("route-empty", spec(notifications={**RECEIVERS, "routes": [
        {"severity": "urgent", "receivers": []}]}),
     "spec.notifications.routes[0].receivers", "at least one receiver"),
    # Mistakes people really make, each once a crash or a failure only at the first call:
    ("prom-port-too-big", spec(prometheus={"url": "http://prometheus:90900"}),
     "spec.prometheus.url", "no valid port: give a number from 1 to 65535"),
    ("prom-port-zero", spec(prometheus={"url": "http://prometheus:0/"}),
     "spec.prometheus.url", "no valid port"),
    ("prom-port-name", spec(prometheus={"url": "http://prometheus:web"}),
     "spec.prometheus.url", "no valid port"),
    ("prom-no-host", spec(prometheus={"url": "http://:9090"}), "spec.prometheus.url",
     "no host name"),
    ("prom-broken-ipv6", spec(prometheus={"url": "http://[fd00::1:9090"}), "spec.prometheus.url",
     "not a valid URL"),
    ("webhook-port", steps({"after": "0s", "webhook": {"url": "https://hooks.example:70000/x"}}),
     "spec.rules[0].actions[0].webhook.url", "no valid port"),
    ("receiver-port", spec(notifications={"receivers": [
        {"name": "x", "webhook": {"url": "http://hook:123456"}}]}),
     "spec.notifications.receivers[0].webhook.url", "no valid port"),
    ("for-huge", rule(**{"for": "99999999999d"}), "spec.rules[0].for",
     "too long: at most 36500d"),
    ("cooldown-huge", rule(cooldown="100000d"), "spec.rules[0].cooldown",
     "too long"),
    ("after-huge", steps({"after": "1" + "0" * 400 + "s", "notify": {}}),
     "spec.rules[0].actions[0].after", "too long"),
    ("interval-huge", spec(interval="99999999999h"), "spec.interval", "too long"),
    ("max-age-huge", spec(remediationHistory={"maxAge": "999999999d"}),
     "spec.remediationHistory.maxAge", "too long"),
    ("target-kind-list", rule(target={"kind": ["osd"], "label": "ceph_daemon"}),
     "spec.rules[0].target.kind", "must be one of"),
]
# fmt: on


@pytest.mark.parametrize(
    ("raw", "path", "message"), [case[1:] for case in BAD_SPECS], ids=[c[0] for c in BAD_SPECS]
)
def test_bad_specs(raw: dict[str, Any], path: str, message: str) -> None:
    parsed, errors = read_health_policy_spec(raw)
    assert parsed is None
    matching = [e for e in errors if e.path == path]
    assert matching, f"no error at {path}: {[str(e) for e in errors]}"
    assert any(re.search(message, e.message) for e in matching), [str(e) for e in matching]


def test_every_error_is_reported_at_once() -> None:
    raw = {
        "interval": "x",
        "rules": [{"name": "a", "preset": "Nope"}, {"name": "b", "expr": "x"}],
        "safety": {"minOsdUpRatio": 2},
    }
    _, errors = read_health_policy_spec(raw)
    assert {e.path for e in errors} == {
        "spec.interval",
        "spec.rules[0].preset",
        "spec.rules[1].severity",
        "spec.safety.minOsdUpRatio",
    }


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from(
    [
        "rules",
        "interval",
        "safety",
        "notifications",
        "prometheus",
        "dryRun",
        "name",
        "preset",
        "expr",
        "actions",
        "after",
        "notify",
        "restartOsd",
        "target",
        "kind",
        "label",
        "receivers",
        "routes",
        "severity",
        "verify",
        "webhook",
        "url",
    ]
)


@given(st.dictionaries(KEYS, JSONISH | st.dictionaries(KEYS, JSONISH, max_size=4), max_size=6))
def test_garbage_never_raises(raw: dict[str, Any]) -> None:
    parsed, errors = read_health_policy_spec(raw)
    assert (parsed is None) == bool(errors)
    assert all(e.path.startswith("spec") for e in errors)
