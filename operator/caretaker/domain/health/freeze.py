"""A HealthPolicy under a MaintenanceFreeze (``domain.common.freeze``): its disruptive steps are
held (``safety.disruptive_hold``, reason Frozen) while notifications still go; a freeze whose
``escalateFaster`` names the policy makes its ladder climb ``factor`` times sooner (the on-site
watch): every rule's ``for`` and every step's ``after`` divided by the factor, nothing else
(cooldowns, verifications and the interval stay)."""

from __future__ import annotations

from dataclasses import replace

from caretaker.domain.health.spec import HealthPolicySpec, RuleSpec


def hastened(spec: HealthPolicySpec, factor: int) -> HealthPolicySpec:
    if factor <= 1:
        return spec
    return replace(spec, rules=tuple(_rule(rule, factor) for rule in spec.rules))


def _rule(rule: RuleSpec, factor: int) -> RuleSpec:
    steps = tuple(replace(step, after=step.after / factor) for step in rule.actions)
    return replace(rule, for_=rule.for_ / factor, actions=steps)
