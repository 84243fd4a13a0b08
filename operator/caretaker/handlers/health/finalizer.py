"""A HealthPolicy being deleted: resolve its open incidents before the object goes.

kopf's finalizer keeps the object while ``resolve_on_delete`` says to wait; the decisions are
``domain.health.farewell``'s (what to resolve, how long to keep trying, what to report).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.custom import CustomRef, patch_status
from caretaker.clients.kube.events import ObjectRef, post_event
from caretaker.clients.kube.records import patch_record
from caretaker.constants import API_VERSION, LEAVE_OPEN_ANNOTATION
from caretaker.domain.common.conditions import Condition, merge_conditions
from caretaker.domain.common.reasons import Note
from caretaker.domain.health.farewell import (
    farewell,
    resolved_note,
    unsendable,
    verdict,
)
from caretaker.domain.health.status import parse_time
from caretaker.handlers.health.notify import KubeNotifier, deliver_all
from caretaker.handlers.health.world import PolicyObject, read_policy, read_remediations
from caretaker.handlers.services import Services

logger = logging.getLogger("caretaker.health")
PLURAL = "healthpolicies"


def resolve_on_delete(services: Services, body: Mapping[str, Any], attempt: int) -> float | None:
    """Sends the resolves of the policy's open incidents; the seconds to wait before trying
    again while some are not delivered, None once the policy may go."""
    policy = read_policy(body)
    meta = body["metadata"]
    now = datetime.now(UTC)
    records = read_remediations(services, policy.ref.namespace)
    notes: list[Note] = []
    if policy.spec is None:
        undelivered = unsendable(records, policy.ref.name)
        sent = 0
    else:
        plan = farewell(policy.ref, policy.spec, records, now)
        for update in plan.record_updates:  # intent before sending
            patch_record(services.kube, policy.ref.namespace, update.name, update.patch())
        notifier = KubeNotifier(services.kube, services.settings.pagerduty_events_url)
        report = deliver_all(notifier, policy.ref, plan.notifications)
        notes.extend(report.notes)
        undelivered, sent = list(report.undelivered), len(plan.notifications)
    decision = verdict(
        undelivered,
        deleting_since=parse_time(meta.get("deletionTimestamp")),
        now=now,
        leave_open=(meta.get("annotations") or {}).get(LEAVE_OPEN_ANNOTATION) == "true",
        attempt=attempt + 1,
        can_send=policy.spec is not None,
    )
    if decision.release and sent and not undelivered:
        notes.append(resolved_note(sent))
    if decision.note is not None:
        notes.append(decision.note)
    _post(services, policy, notes)
    if decision.condition is not None:
        _write_condition(services, policy, decision.condition, now)
    if decision.release:
        return None
    logger.warning("%s/%s: %s", policy.ref.namespace, policy.ref.name, undelivered)
    return decision.retry_in.total_seconds()


def _post(services: Services, policy: PolicyObject, notes: Iterable[Note]) -> None:
    regarding = ObjectRef(
        API_VERSION, "HealthPolicy", policy.ref.name, policy.ref.namespace, policy.ref.uid or None
    )
    for note in notes:
        try:
            post_event(services.kube, regarding, note.reason, note.message, note.type)  # type: ignore[arg-type]
        except KubeApiError as error:
            logger.warning("posting event %s failed: %s", note.reason, error)


def _write_condition(
    services: Services, policy: PolicyObject, condition: Condition, now: datetime
) -> None:
    previous = policy.raw_status.get("conditions") or []
    merged = merge_conditions(previous, (condition,), now, policy.generation)
    try:
        patch_status(
            services.kube,
            CustomRef(PLURAL, policy.ref.namespace, policy.ref.name),
            {"conditions": merged},
            resource_version=policy.resource_version,
        )
    except KubeApiError as error:
        logger.warning("writing the status of %s failed: %s", policy.ref.name, error)
