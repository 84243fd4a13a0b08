"""The HealthPolicy's conditions: Ready and Stalled (kstatus), PrometheusUnavailable,
InvalidRule (with Prometheus's own error text per rule), CircuitOpen and Frozen.

The executor merges them into the status with ``conditions.merge_conditions``.
"""

from __future__ import annotations

from collections.abc import Sequence

from caretaker.domain.common.conditions import FALSE, TRUE, Condition
from caretaker.domain.common.freeze import FreezeView
from caretaker.domain.common.validation import FieldError
from caretaker.domain.health.reasons import HealthReason
from caretaker.domain.health.status import HealthPolicyStatus, RuleStatus
from caretaker.domain.promql.outcome import QueryFailure

MAX_SHOWN = 5


def _errors(rules: Sequence[RuleStatus], bad_query: bool) -> list[str]:
    return [
        f"rule {rule.name}: {rule.error.message}"
        if bad_query
        else f"rule {rule.name}: {rule.error.failure}: {rule.error.message}"
        for rule in rules
        if rule.error is not None and (rule.error.failure == QueryFailure.BAD_QUERY) is bad_query
    ]


def policy_conditions(status: HealthPolicyStatus) -> tuple[Condition, ...]:
    invalid = _errors(status.rules, bad_query=True)
    unavailable = _errors(status.rules, bad_query=False)
    ok = len(status.rules) - len(invalid) - len(unavailable)
    if unavailable:
        ready = Condition(
            "Ready",
            FALSE,
            HealthReason.PROMETHEUS_UNAVAILABLE,
            f"{len(unavailable)} rule(s) could not be evaluated; their state is kept and they "
            "take no action",
        )
    elif invalid:
        ready = Condition(
            "Ready",
            FALSE,
            HealthReason.INVALID_RULE,
            f"{len(invalid)} rule(s) rejected by Prometheus; the {ok} other(s) work",
        )
    else:
        ready = Condition(
            "Ready",
            TRUE,
            HealthReason.EVALUATED,
            f"{len(status.rules)} rule(s) evaluated; {status.firing} target(s) firing",
        )
    return (
        ready,
        Condition("Stalled", FALSE, HealthReason.NOT_STALLED),
        _flag(
            "PrometheusUnavailable",
            unavailable,
            HealthReason.PROMETHEUS_UNAVAILABLE,
            HealthReason.PROMETHEUS_AVAILABLE,
        ),
        _flag("InvalidRule", invalid, HealthReason.INVALID_RULE, HealthReason.RULES_VALID),
        Condition(
            "CircuitOpen",
            TRUE,
            HealthReason.CIRCUIT_OPEN,
            f"disruptive actions frozen: {status.circuit}; notifications still go",
        )
        if status.circuit
        else Condition("CircuitOpen", FALSE, HealthReason.CIRCUIT_CLOSED),
    )


def frozen_condition(freeze: FreezeView) -> Condition:
    """``Frozen``: True while a MaintenanceFreeze holds the policy's namespace (its disruptive
    steps wait; pages still go), with the freezes' names, ends and reasons."""
    if not freeze.frozen:
        return Condition("Frozen", FALSE, HealthReason.NOT_FROZEN)
    text = f"disruptive steps held: {freeze.message}; notifications still go"
    return Condition("Frozen", TRUE, HealthReason.FROZEN, text)


def _flag(kind: str, problems: list[str], bad: str, good: str) -> Condition:
    if not problems:
        return Condition(kind, FALSE, good)
    return Condition(kind, TRUE, bad, "; ".join(problems[:MAX_SHOWN]))


def invalid_spec_conditions(errors: Sequence[FieldError]) -> tuple[Condition, ...]:
    message = "invalid spec, nothing is evaluated: " + "; ".join(str(e) for e in errors[:MAX_SHOWN])
    return (
        Condition("Ready", FALSE, HealthReason.INVALID_SPEC, message),
        Condition("Stalled", TRUE, HealthReason.INVALID_SPEC, message),
    )
