"""Turns a decided Step into the status document and folds action outcomes back into it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from caretaker.domain.common.conditions import Condition, merge_conditions
from caretaker.domain.common.reasons import Reason
from caretaker.domain.maintenance.machine import Step
from caretaker.domain.maintenance.status import (
    ACTIVE_PHASES,
    MaintenanceStatus,
    NodePhase,
    status_to_dict,
)


def render_status(
    step: Step,
    previous_conditions: Sequence[Mapping[str, Any]],
    generation: int,
    now: datetime,
    extra: Sequence[Condition] = (),
) -> dict[str, Any]:
    """The whole status subresource for one write: progress, summary, conditions (the
    summary's, then ``extra``: the ``Silenced`` condition)."""
    nodes = step.status.nodes
    done = sum(n.phase == NodePhase.COMPLETED for n in nodes)
    active = [n for n in nodes if n.phase in ACTIVE_PHASES]
    current = ",".join(n.name for n in active)
    summary = step.summary
    messages = [n.message for n in active if n.message]
    if summary.reason == Reason.PROGRESSING and messages:
        summary = replace(summary, message="; ".join(messages))  # after the action's outcome
    return {
        **status_to_dict(step.status),
        "phase": summary.phase,
        "message": summary.message,
        "progress": f"{done}/{len(nodes)}",
        "currentNode": current or None,
        "nextWindow": summary.next_window or None,
        "observedGeneration": generation,
        "conditions": merge_conditions(
            previous_conditions, [*summary.conditions(), *extra], now, generation
        ),
    }


def record_evictions(
    status: MaintenanceStatus, node: str, evicted: int, blocked: Sequence[str]
) -> MaintenanceStatus:
    """Adds what an eviction round achieved to the node's record (count and the budget's word)."""
    record = status.node(node)
    if record is None:
        return status
    record = replace(record, pods_evicted=record.pods_evicted + evicted)
    if blocked:
        record = replace(
            record,
            message=f"draining {node}: eviction blocked: {blocked[0]}"
            + (f" (and {len(blocked) - 1} more)" if len(blocked) > 1 else ""),
        )
    return status.replace_node(record)


def record_action_error(status: MaintenanceStatus, node: str, error: str) -> MaintenanceStatus:
    """Shows a failed action in the node's message; the next reconcile tries again."""
    record = status.node(node)
    if record is None:
        return status
    return status.replace_node(
        replace(record, message=f"{record.message} (last action failed: {error})")
    )
