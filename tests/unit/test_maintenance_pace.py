"""How long an idle Maintenance sleeps: until its window opens, long when only an edit can
change it (an edit wakes it), the interval while it works on a node or waits on the world."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from caretaker.domain.common.reasons import Reason
from caretaker.domain.maintenance.pace import IDLE_WAIT, WINDOW_SLACK, idle_wait
from caretaker.domain.maintenance.status import MaintenancePhase
from caretaker.domain.maintenance.summary import Summary

NOW = datetime(2026, 12, 1, 22, tzinfo=UTC)
INTERVAL = timedelta(seconds=10)


def test_a_scheduled_maintenance_sleeps_until_its_window_opens() -> None:
    opens = NOW + timedelta(hours=3)
    summary = Summary(MaintenancePhase.SCHEDULED, Reason.WAITING_FOR_WINDOW, "", opens_at=opens)
    assert NOW + idle_wait(summary, NOW, INTERVAL) == opens + WINDOW_SLACK
    # a window that opened a moment ago: at once, never a negative wait
    assert idle_wait(summary, opens + timedelta(seconds=1), INTERVAL) == WINDOW_SLACK


@pytest.mark.parametrize(
    ("phase", "reason"),
    [
        (MaintenancePhase.COMPLETED, Reason.COMPLETED),
        (MaintenancePhase.FAILED, Reason.FAILED),
        (MaintenancePhase.ABORTED, Reason.ABORTED),
        (MaintenancePhase.SUSPENDED, Reason.SUSPENDED),
        (MaintenancePhase.PENDING, Reason.INVALID_SPEC),
        (MaintenancePhase.PENDING, Reason.WINDOW_OVER),
    ],
)
def test_only_an_edit_can_change_it_so_it_sleeps_long(phase: MaintenancePhase, reason: str) -> None:
    assert idle_wait(Summary(phase, reason, ""), NOW, INTERVAL) == IDLE_WAIT


@pytest.mark.parametrize(
    ("phase", "reason"),
    [
        (MaintenancePhase.DRAINING, Reason.PROGRESSING),
        (MaintenancePhase.IN_MAINTENANCE, Reason.PROGRESSING),
        (MaintenancePhase.PENDING, Reason.NODE_REFUSED),  # Ceph and Kubernetes may agree again
        (MaintenancePhase.PENDING, Reason.CEPH_UNAVAILABLE),
        (MaintenancePhase.PENDING, Reason.TARGETS_NOT_FOUND),
        (MaintenancePhase.SCHEDULED, Reason.WAITING_FOR_WINDOW),  # no known opening
    ],
)
def test_waiting_on_the_world_polls_at_the_interval(phase: MaintenancePhase, reason: str) -> None:
    assert idle_wait(Summary(phase, reason, ""), NOW, INTERVAL) == INTERVAL
