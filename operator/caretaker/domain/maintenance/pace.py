"""How long a Maintenance may sleep before its next round when nothing moved. Pure.

Any change to the object (a spec edit, an annotation such as the release) wakes the loop at
once (``caretaker.handlers.wiring``), so waiting on people costs nothing. What is left is the
passing of time and the world outside the object: a node under way polls Ceph and Kubernetes
every interval; a Maintenance waiting for its window sleeps until the window opens; one that
is finished or suspended, or has an invalid spec or a window that is over, sleeps long (only
an edit can change it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from caretaker.domain.common.reasons import Reason
from caretaker.domain.maintenance.status import FINISHED, MaintenancePhase
from caretaker.domain.maintenance.summary import Summary

IDLE_WAIT = timedelta(minutes=10)  # nothing but an edit can change it
WINDOW_SLACK = timedelta(milliseconds=50)  # wake just after the window opens, not before
# Pending for a reason only an edit of the spec can change (a refused node or a missing one
# can change without an edit: they poll)
ONLY_AN_EDIT = frozenset({Reason.INVALID_SPEC, Reason.WINDOW_OVER})


def idle_wait(summary: Summary, now: datetime, interval: timedelta) -> timedelta:
    """The wait after a round that took no action and changed nothing."""
    if summary.phase == MaintenancePhase.SCHEDULED and summary.opens_at is not None:
        return max(summary.opens_at - now + WINDOW_SLACK, WINDOW_SLACK)
    if summary.phase in FINISHED or summary.phase == MaintenancePhase.SUSPENDED:
        return IDLE_WAIT
    if summary.phase == MaintenancePhase.PENDING and summary.reason in ONLY_AN_EDIT:
        return IDLE_WAIT
    return interval
