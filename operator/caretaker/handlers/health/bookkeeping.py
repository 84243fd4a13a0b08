"""After an evaluation: the operator's metrics about it, and pruning of old Remediation records.

``caretaker_remediations_total`` counts every step decided or carried out (by rule, action and
result), ``caretaker_time_to_recover_seconds`` observes each episode that ends, and
``caretaker_circuit_breaker_open`` follows the circuit of each policy.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from caretaker.clients.kube.api import KubeApiError
from caretaker.domain.health.keys import PolicyRef
from caretaker.domain.health.outputs import Evaluation
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.retention import records_to_delete, retention_for
from caretaker.domain.health.spec import HealthPolicySpec
from caretaker.domain.health.status import IN_FLIGHT, HealthPolicyStatus, Result
from caretaker.domain.health.world import HealthWorld
from caretaker.metrics import CIRCUIT_OPEN, REMEDIATIONS, TIME_TO_RECOVER

logger = logging.getLogger("caretaker.health")


def count_result(policy: PolicyRef, rule: str, action: str, result: Result) -> None:
    REMEDIATIONS.labels(policy.namespace, policy.name, rule, action, str(result)).inc()


def count_decisions(policy: PolicyRef, evaluation: Evaluation) -> None:
    """Steps that ended when they were decided (Skipped, DryRun, an Event-only notify)."""
    for record in evaluation.records:
        if record.result not in IN_FLIGHT:
            count_result(policy, record.rule, record.action, record.result)


def observe_round(policy: PolicyRef, world: HealthWorld, evaluation: Evaluation) -> None:
    """The circuit gauge, and the time to recover of every firing episode that ended now."""
    CIRCUIT_OPEN.labels(policy.namespace, policy.name).set(1 if evaluation.status.circuit else 0)
    for rule in world.status.rules:
        now_rule = evaluation.status.rule(rule.name)
        for item in rule.targets:
            if item.firing_since is None:
                continue
            now_item = now_rule.target(item.target.key) if now_rule else None
            if now_item is None or now_item.firing_since != item.firing_since:
                seconds = (world.now - item.firing_since).total_seconds()
                TIME_TO_RECOVER.labels(policy.namespace, policy.name, rule.name).observe(seconds)


def forget_policy(namespace: str, name: str) -> None:
    """Drops the gauge of a policy that is gone (or no longer watched)."""
    with contextlib.suppress(KeyError):
        CIRCUIT_OPEN.remove(namespace, name)


class RecordDeleter(Protocol):
    def delete_record(self, namespace: str, name: str) -> None:
        """Raises ``KubeApiError`` when the record cannot be deleted now."""
        ...


def prune_records(
    store: RecordDeleter,
    *,
    policy: PolicyRef,
    spec: HealthPolicySpec,
    status: HealthPolicyStatus,
    records: Sequence[RemediationView],
    now: datetime,
    still_out: frozenset[int],
) -> None:
    """Deletes this policy's records that ``spec.remediationHistory`` no longer keeps."""
    mine = [record for record in records if record.policy == policy.name]
    retention = retention_for(spec, policy, status, still_out)
    for name in records_to_delete(mine, now, retention):
        try:
            store.delete_record(policy.namespace, name)
        except KubeApiError as error:
            logger.warning("pruning Remediation %s failed: %s", name, error)
