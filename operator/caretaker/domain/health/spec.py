"""The HealthPolicy spec as typed values, read from the raw object with every error collected.

The CRD schema rejects what it can (types, enums, required fields, duration patterns); this
reader checks the rest: unknown presets, duplicate names, decreasing ``after``, actions that
need a target the rule does not map, receivers that do not exist, secret refs without a key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from caretaker.constants import Severity
from caretaker.domain.common.validation import FieldError, SpecReader
from caretaker.domain.health.actions import LadderStep, Notify, mapping_problem
from caretaker.domain.health.notify_spec import NotificationsSpec, read_notifications
from caretaker.domain.health.presets import PRESETS, RulePreset
from caretaker.domain.health.refs import PrometheusSpec, read_prometheus
from caretaker.domain.health.steps import LadderContext, read_ladder
from caretaker.domain.health.targets import MAPPED_KINDS, TargetKind, TargetMapping

_RULE_NAME = re.compile(r"^[A-Za-z]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")  # also a label value
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MIN_INTERVAL = timedelta(seconds=1)
DEFAULT_COOLDOWN = timedelta(minutes=30)
DEFAULT_STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class RuleSpec:
    name: str
    expr: str
    for_: timedelta
    severity: Severity
    target: TargetMapping
    actions: tuple[LadderStep, ...]
    cooldown: timedelta = DEFAULT_COOLDOWN
    preset: str = ""

    @property
    def fires_on_absence(self) -> bool:
        """A rule about missing data (``absent(...)``) still works while the exporter is stale."""
        return "absent(" in self.expr.replace(" ", "")


@dataclass(frozen=True)
class SafetySpec:
    max_concurrent_disruptive: int = 1
    max_osds_out: int = 1
    min_osd_up_ratio: float = 0.9


@dataclass(frozen=True)
class HistorySpec:
    """``spec.remediationHistory``: how many Remediation records to keep, and how long."""

    limit: int = 200
    max_age: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class HealthPolicySpec:
    rules: tuple[RuleSpec, ...]
    interval: timedelta = timedelta(seconds=30)
    stale_after: timedelta = DEFAULT_STALE_AFTER
    prometheus: PrometheusSpec | None = None
    dry_run: bool = False
    safety: SafetySpec = SafetySpec()
    notifications: NotificationsSpec = field(default_factory=NotificationsSpec)
    history: HistorySpec = HistorySpec()

    def rule(self, name: str) -> RuleSpec | None:
        return next((rule for rule in self.rules if rule.name == name), None)


_TOP_KEYS = {
    "interval",
    "staleAfter",
    "prometheus",
    "rules",
    "dryRun",
    "safety",
    "notifications",
    "remediationHistory",
}
_RULE_KEYS = {
    "name",
    "description",
    "preset",
    "expr",
    "for",
    "severity",
    "target",
    "actions",
    "cooldown",
}


def read_health_policy_spec(
    raw: Mapping[str, Any],
) -> tuple[HealthPolicySpec | None, list[FieldError]]:
    """Reads and checks a HealthPolicy spec; returns the spec only when there is no error."""
    r = SpecReader()
    r.unknown_keys(raw, _TOP_KEYS, "spec")
    interval = r.duration(raw, "interval", "spec", timedelta(seconds=30)) or timedelta(seconds=30)
    if interval < MIN_INTERVAL:
        r.fail("spec.interval", f"must be at least {int(MIN_INTERVAL.total_seconds())}s")
    notifications = read_notifications(r, r.section(raw, "notifications", "spec"))
    spec = HealthPolicySpec(
        rules=_read_rules(r, raw.get("rules"), notifications),
        interval=interval,
        stale_after=r.duration(raw, "staleAfter", "spec", DEFAULT_STALE_AFTER)
        or DEFAULT_STALE_AFTER,
        prometheus=read_prometheus(r, r.section(raw, "prometheus", "spec")),
        dry_run=r.boolean(raw, "dryRun", "spec", False),
        safety=_read_safety(r, r.section(raw, "safety", "spec")),
        notifications=notifications,
        history=_read_history(r, r.section(raw, "remediationHistory", "spec")),
    )
    return (None, r.errors) if r.errors else (spec, [])


def _read_rules(
    r: SpecReader, value: Any, notifications: NotificationsSpec
) -> tuple[RuleSpec, ...]:
    if not isinstance(value, list) or not value:
        r.fail("spec.rules", "list at least one rule ({name, preset} or {name, expr, ...})")
        return ()
    rules: list[RuleSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        path = f"spec.rules[{index}]"
        if not isinstance(item, Mapping):
            r.fail(path, "must be an object")
            continue
        rule = _read_rule(r, item, path, notifications)
        if rule is None:
            continue
        if rule.name in seen:
            r.fail(f"{path}.name", f"rule {rule.name!r} is defined twice")
        seen.add(rule.name)
        rules.append(rule)
    return tuple(rules)


def _read_rule(
    r: SpecReader, raw: Mapping[str, Any], path: str, notifications: NotificationsSpec
) -> RuleSpec | None:
    r.unknown_keys(raw, _RULE_KEYS, path)
    name = r.string(raw, "name", path)
    if name is None:
        r.fail(f"{path}.name", "required")
    elif not _RULE_NAME.match(name):
        r.fail(f"{path}.name", f"{name!r}: start with a letter; letters, digits, '_' and '-'")
    preset = _read_preset(r, raw, path)
    expr = r.string(raw, "expr", path) or (preset.expr if preset else None)
    if expr is None and "preset" not in raw:
        r.fail(path, "give expr (a PromQL query) or preset (a ready-made rule)")
    severity = _read_severity(r, raw, path, preset)
    target = _read_target(r, raw, path, preset)
    if "actions" in raw:
        context = LadderContext(target, notifications)
        actions = read_ladder(r, raw["actions"], f"{path}.actions", context)
    elif preset is not None:
        actions = preset.actions
        _check_preset_ladder(r, preset, target, f"{path}.target")
    else:
        actions = (LadderStep(timedelta(0), Notify()),)
    default_for = preset.for_ if preset else timedelta(0)
    for_ = r.duration(raw, "for", path, default_for, positive=False)
    cooldown = r.duration(raw, "cooldown", path, preset.cooldown if preset else DEFAULT_COOLDOWN)
    if name is None or expr is None or severity is None:
        return None
    return RuleSpec(
        name=name,
        expr=expr,
        for_=for_ if for_ is not None else default_for,
        severity=severity,
        target=target,
        actions=actions,
        cooldown=cooldown or DEFAULT_COOLDOWN,
        preset=preset.name if preset else "",
    )


def _read_preset(r: SpecReader, raw: Mapping[str, Any], path: str) -> RulePreset | None:
    name = r.string(raw, "preset", path)
    if name is None:
        return None
    preset = PRESETS.get(name)
    if preset is None:
        r.fail(f"{path}.preset", f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return preset


def _read_severity(
    r: SpecReader, raw: Mapping[str, Any], path: str, preset: RulePreset | None
) -> Severity | None:
    if "severity" not in raw:
        if preset is None and "preset" not in raw:
            r.fail(f"{path}.severity", "required: routine, urgent or critical")
        return preset.severity if preset else None
    try:
        return Severity(raw["severity"])
    except ValueError:
        r.fail(f"{path}.severity", f"must be routine, urgent or critical, not {raw['severity']!r}")
        return None


def _read_target(
    r: SpecReader, raw: Mapping[str, Any], path: str, preset: RulePreset | None
) -> TargetMapping:
    if "target" not in raw:
        return preset.target if preset else TargetMapping()
    tpath = f"{path}.target"
    section = r.section(raw, "target", path)
    r.unknown_keys(section, {"kind", "label", "nodeLabel"}, tpath)
    text = section.get("kind")
    kinds = ", ".join(str(k) for k in MAPPED_KINDS)
    if not isinstance(text, str) or text not in {str(k) for k in MAPPED_KINDS}:
        r.fail(f"{tpath}.kind", f"must be one of {kinds}, not {text!r}")
        return TargetMapping()
    kind = TargetKind(text)
    label = _label(r, section, "label", tpath)
    node_label = _label(r, section, "nodeLabel", tpath)
    if kind is TargetKind.CLUSTER and label:
        r.fail(f"{tpath}.label", "a cluster target has no label: all series are one target")
    if kind is not TargetKind.CLUSTER and not label and "label" not in section:
        r.fail(f"{tpath}.label", f"required: the label that names the {kind} (e.g. ceph_daemon)")
    return TargetMapping(kind, label, node_label)


def _label(r: SpecReader, raw: Mapping[str, Any], key: str, path: str) -> str:
    value = r.string(raw, key, path)
    if value is not None and not _LABEL_NAME.match(value):
        r.fail(f"{path}.{key}", f"{value!r} is not a Prometheus label name")
        return ""
    return value or ""


def _check_preset_ladder(
    r: SpecReader, preset: RulePreset, target: TargetMapping, path: str
) -> None:
    for step in preset.actions:
        problem = mapping_problem(step.action, target)
        if problem:
            r.fail(
                path,
                f"preset {preset.name}'s ladder cannot act on it: {problem}; override actions too",
            )
            return


def _read_safety(r: SpecReader, raw: Mapping[str, Any]) -> SafetySpec:
    path = "spec.safety"
    r.unknown_keys(raw, {"maxConcurrentDisruptive", "maxOsdsOut", "minOsdUpRatio"}, path)
    ratio = raw.get("minOsdUpRatio", SafetySpec.min_osd_up_ratio)
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
        r.fail(f"{path}.minOsdUpRatio", f"must be a number from 0 to 1, not {ratio!r}")
        ratio = SafetySpec.min_osd_up_ratio
    concurrent = r.integer(raw, "maxConcurrentDisruptive", path, 1, 0)
    osds_out = r.integer(raw, "maxOsdsOut", path, 1, 0)
    return SafetySpec(
        max_concurrent_disruptive=concurrent if concurrent is not None else 1,
        max_osds_out=osds_out if osds_out is not None else 1,
        min_osd_up_ratio=float(ratio),
    )


def _read_history(r: SpecReader, raw: Mapping[str, Any]) -> HistorySpec:
    path = "spec.remediationHistory"
    r.unknown_keys(raw, {"limit", "maxAge"}, path)
    limit = r.integer(raw, "limit", path, HistorySpec.limit, 1)
    max_age = r.duration(raw, "maxAge", path, HistorySpec.max_age)
    return HistorySpec(limit or HistorySpec.limit, max_age or HistorySpec.max_age)
