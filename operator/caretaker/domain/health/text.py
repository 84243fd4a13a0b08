"""Texts for Events and receivers: one line about a firing target, and its facts."""

from __future__ import annotations

from caretaker.domain.health.context import EvalContext
from caretaker.domain.health.presets import PRESETS
from caretaker.domain.health.spec import RuleSpec
from caretaker.domain.health.status import TargetStatus


def summary(rule: RuleSpec, item: TargetStatus) -> str:
    preset = PRESETS.get(rule.preset)
    what = preset.summary if preset else "the condition holds"
    return f"[{rule.severity}] {rule.name} on {item.target.key}: {what} (value {item.value:g})"


def details(ctx: EvalContext, rule: RuleSpec, item: TargetStatus) -> dict[str, str]:
    """Facts for the receivers: which policy, rule and target, which query and value, since when."""
    facts = {
        "policy": f"{ctx.policy.namespace}/{ctx.policy.name}",
        "rule": rule.name,
        "target": item.target.key,
        "node": item.target.node_name,
        "value": f"{item.value:g}",
        "query": rule.expr,
        "firstSeen": item.first_seen.isoformat(),
        "firingSince": item.firing_since.isoformat() if item.firing_since else "",
    }
    facts.update({f"label.{k}": v for k, v in sorted(item.labels.items())})
    return facts
