"""A Maintenance under a MaintenanceFreeze (``domain.common.freeze``): no node starts (nodes in
Preflight go back to Pending); nodes already draining or in maintenance carry on and are
restored, since stopping half-way would leave more disruption, not less. The status says so:
phase Pending, reason Frozen, the freezes' names and reasons in the message, the ``Frozen``
condition and ``status.frozenBy`` (a column of ``kubectl get maintenance``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from caretaker.domain.common.conditions import FALSE, TRUE, Condition
from caretaker.domain.common.freeze import FreezeView
from caretaker.domain.common.reasons import Reason

CONDITION = "Frozen"


def frozen_message(freeze: FreezeView) -> str:
    return f"frozen: no node starts: {freeze.message}"


def freeze_condition(freeze: FreezeView, previous: Sequence[Mapping[str, Any]]) -> Condition | None:
    """``Frozen`` True while a freeze holds; False once it ends (None if it never held)."""
    if freeze.frozen:
        return Condition(CONDITION, TRUE, Reason.FROZEN, frozen_message(freeze))
    if any(c.get("type") == CONDITION for c in previous):
        return Condition(CONDITION, FALSE, Reason.NOT_FROZEN, "")
    return None
