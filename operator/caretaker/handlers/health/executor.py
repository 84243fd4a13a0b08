"""Evaluates a HealthPolicy when it is due and carries out what the evaluation asks, in the order
that makes a crash at any point safe (see ``domain.health.outputs``):

1. create the Remediation records (a name that exists already is the dedup) and apply the
   record updates; 2. write the status and its conditions, once; 3. post the Events;
4. send the notifications and run the actions; 5. patch each record with its result.
Then old records are pruned (``spec.remediationHistory``).

Another writer shows in two places: a record that exists already when it is created (409) was
planned by someone else, who sends its page or runs its action: this round drops them; a status
write that finds the policy changed since it was read (409 on its resourceVersion) is dropped
with the round's Events and resolves (they belong to that status), and the next round re-reads.
The steps whose records this round created stay this round's to carry out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.custom import CustomRef, StatusWrite
from caretaker.clients.kube.events import ObjectRef
from caretaker.constants import API_VERSION
from caretaker.domain.common.conditions import merge_conditions
from caretaker.domain.common.reasons import Note
from caretaker.domain.health.actions import kind_of
from caretaker.domain.health.evaluation import evaluate, is_due
from caretaker.domain.health.outputs import Evaluation
from caretaker.domain.health.record_updates import RecordUpdate
from caretaker.domain.health.records import record_body
from caretaker.domain.health.spec import HealthPolicySpec
from caretaker.domain.health.status import HealthPolicyStatus, Result, status_to_dict
from caretaker.domain.health.world import HealthWorld
from caretaker.handlers.health.actions import ActionOutcome
from caretaker.handlers.health.bookkeeping import (
    count_decisions,
    count_result,
    observe_round,
    prune_records,
)
from caretaker.handlers.health.ceph import HealthCeph, open_health_ceph
from caretaker.handlers.health.claims import enter_step_claim, withdraw_step_claim
from caretaker.handlers.health.notify import deliver_all
from caretaker.handlers.health.ports import HealthPorts, KubeHealthPorts
from caretaker.handlers.health.world import PolicyObject, read_policy
from caretaker.handlers.services import Services
from caretaker.metrics import reconcile_timer

logger = logging.getLogger("caretaker.health")
PLURAL = "healthpolicies"
MIN_WAIT_SECONDS = 0.2
IDLE_WAIT_SECONDS = 600.0  # nothing but an edit changes an invalid policy


@dataclass
class HealthLoop:
    """What one policy's loop keeps between rounds: the clients."""

    services: Services
    ceph: HealthCeph
    ports: HealthPorts

    def close(self) -> None:
        self.ceph.close()


def open_loop(services: Services) -> HealthLoop:
    ceph = open_health_ceph(services)
    return HealthLoop(services, ceph, KubeHealthPorts(services, ceph))


def health_round(loop: HealthLoop, body: Mapping[str, Any]) -> float:
    """Evaluates the policy if it is due; returns the seconds to wait before the next round."""
    policy = read_policy(body)
    now = datetime.now(UTC)
    status = policy.status
    if due(policy, now):
        with reconcile_timer("healthpolicy"):
            status = evaluate_and_apply(loop.ports, policy, now).status
    return seconds_to_wait(loop.services, policy.spec, status, datetime.now(UTC))


def due(policy: PolicyObject, now: datetime) -> bool:
    """A changed spec is evaluated at once; an invalid one once per generation."""
    if policy.observed_generation != policy.generation:
        return True
    return policy.spec is not None and is_due(policy.spec, policy.status, now)


def seconds_to_wait(
    services: Services,
    spec: HealthPolicySpec | None,
    status: HealthPolicyStatus,
    now: datetime,
) -> float:
    """Until the next evaluation is due (a spec edit wakes the loop earlier); with an invalid
    spec, until it is edited (at most IDLE_WAIT_SECONDS)."""
    last = status.last_evaluation
    if spec is None:
        return IDLE_WAIT_SECONDS
    if last is None:
        return services.settings.reconcile_interval
    remaining = (last + spec.interval - now).total_seconds()
    return max(MIN_WAIT_SECONDS, remaining)


def evaluate_and_apply(ports: HealthPorts, policy: PolicyObject, now: datetime) -> Evaluation:
    """One evaluation and what it asks for, in the order of the module docstring (the same
    function runs against the real cluster, ``KubeHealthPorts``, and the unit tests' fake)."""
    world = ports.read_world(policy, now)
    evaluation = evaluate(world)
    namespace = policy.ref.namespace
    taken = {r.name for r in evaluation.records if not ports.create_record(record_body(r))}  # 1
    for update in evaluation.record_updates:
        ports.patch_record(namespace, update.name, update.patch())
    written = _write_status(ports, policy, evaluation, now)  # 2
    evaluation = _left_to_us(evaluation, taken, written is not StatusWrite.CONFLICT)
    _post_notes(ports, policy, evaluation.notes)  # 3
    _deliver(ports, policy, evaluation)  # 4, 5
    _act(ports, world, evaluation)
    count_decisions(policy.ref, evaluation)
    observe_round(policy.ref, world, evaluation)
    if policy.spec is not None and world.ceph is not None:  # which OSDs are out is known
        prune_records(
            ports,
            policy=policy.ref,
            spec=policy.spec,
            status=evaluation.status,
            records=world.remediations,
            now=now,
            still_out=world.ceph.osds_out_by_caretaker,
        )
    return evaluation


def _left_to_us(evaluation: Evaluation, taken: set[str], status_written: bool) -> Evaluation:
    """Drops the steps whose records someone else created, and the Events and resolves of a
    status that was not written."""
    if taken or not status_written:
        logger.info("another writer: records %s taken, status written: %s", taken, status_written)
    return replace(
        evaluation,
        actions=tuple(a for a in evaluation.actions if a.record_name not in taken),
        notifications=tuple(
            n
            for n in evaluation.notifications
            if n.record_name not in taken and (n.record_name or status_written)
        ),
        notes=evaluation.notes if status_written else (),
    )


def _write_status(
    ports: HealthPorts, policy: PolicyObject, evaluation: Evaluation, now: datetime
) -> StatusWrite:
    previous = policy.raw_status.get("conditions") or []
    document = status_to_dict(evaluation.status)
    document["conditions"] = merge_conditions(
        previous, evaluation.conditions, now, policy.generation
    )
    document["observedGeneration"] = policy.generation
    ref = CustomRef(PLURAL, policy.ref.namespace, policy.ref.name)
    written = ports.write_status(ref, document, policy.resource_version)
    if written is StatusWrite.CONFLICT:
        fresh = ports.read_object(ref)
        if fresh is not None and _only_metadata_changed(fresh, policy):
            version = str(fresh["metadata"].get("resourceVersion") or "")
            written = ports.write_status(ref, document, version)
    return written


def _only_metadata_changed(fresh: Mapping[str, Any], policy: PolicyObject) -> bool:
    """The object changed since it was read, but not what the decision was made on: the same
    spec generation and the same status (kopf adding its finalizer or annotations). Then the
    status, and the Events and actions of this round, still hold."""
    generation = int((fresh.get("metadata") or {}).get("generation") or 0)
    return generation == policy.generation and (fresh.get("status") or {}) == dict(
        policy.raw_status
    )


def _post_notes(ports: HealthPorts, policy: PolicyObject, notes: Iterable[Note]) -> None:
    regarding = ObjectRef(
        api_version=API_VERSION,
        kind="HealthPolicy",
        name=policy.ref.name,
        namespace=policy.ref.namespace,
        uid=policy.ref.uid or None,
    )
    for note in notes:
        try:
            ports.post_event(regarding, note)
        except KubeApiError as error:
            logger.warning("posting event %s failed: %s", note.reason, error)


def _deliver(ports: HealthPorts, policy: PolicyObject, evaluation: Evaluation) -> None:
    report = deliver_all(ports, policy.ref, evaluation.notifications)
    _post_notes(ports, policy, report.notes)


def _act(ports: HealthPorts, world: HealthWorld, evaluation: Evaluation) -> None:
    for planned in evaluation.actions:
        refused = enter_step_claim(ports, planned)
        outcome = ActionOutcome(False, refused) if refused else ports.run_action(world, planned)
        if not refused and not outcome.ok:
            withdraw_step_claim(ports, planned)
        result = planned.success_result if outcome.ok else Result.FAILED
        if outcome.draining:
            result = Result.DRAINING
        count_result(world.policy, planned.rule, kind_of(planned.action), result)
        _report(ports, world.policy.namespace, planned.record_name, result, outcome.message)


def _report(ports: HealthPorts, namespace: str, name: str, result: Result, message: str) -> None:
    """5: the step's result on its record (finishedAt starts a verification's clock)."""
    update = RecordUpdate(name, result, message, ports.clock())
    try:
        ports.patch_record(namespace, name, update.patch())
    except KubeApiError as error:  # the step times out as Failed if this is never written
        logger.warning("recording the result of %s failed: %s", name, error)
