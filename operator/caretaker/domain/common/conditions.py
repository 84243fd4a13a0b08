"""kstatus-style conditions: a list keyed by type, with transition times kept stable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caretaker.domain.common.timestamps import format_time

TRUE = "True"
FALSE = "False"


@dataclass(frozen=True)
class Condition:
    """One condition as the status should carry it (lastTransitionTime is filled on merge)."""

    type: str
    status: str
    reason: str
    message: str = ""


def merge_conditions(
    previous: Sequence[Mapping[str, Any]],
    wanted: Sequence[Condition],
    now: datetime,
    generation: int,
) -> list[dict[str, Any]]:
    """Returns the new condition list: wanted types in order, other previous types kept.

    lastTransitionTime changes only when a condition's status changes.
    """
    by_type = {str(c.get("type")): c for c in previous}
    merged: list[dict[str, Any]] = []
    for cond in wanted:
        old = by_type.pop(cond.type, None)
        changed = old is None or old.get("status") != cond.status
        since = str(old.get("lastTransitionTime")) if old and not changed else format_time(now)
        merged.append(
            {
                "type": cond.type,
                "status": cond.status,
                "reason": cond.reason,
                "message": cond.message,
                "lastTransitionTime": since,
                "observedGeneration": generation,
            }
        )
    merged.extend(dict(c) for c in by_type.values())
    return merged


def kstatus(ready: bool, reason: str, message: str, *, stalled: bool) -> list[Condition]:
    """kstatus conditions: Ready, Reconciling (work in progress), Stalled (needs a person)."""
    reconciling = not ready and not stalled
    return [
        Condition("Ready", TRUE if ready else FALSE, reason, message),
        Condition(
            "Reconciling",
            TRUE if reconciling else FALSE,
            reason if reconciling else "Idle",
            message if reconciling else "",
        ),
        Condition(
            "Stalled",
            TRUE if stalled else FALSE,
            reason if stalled else "NotStalled",
            message if stalled else "",
        ),
    ]
