"""A HealthPolicy under a MaintenanceFreeze (the shipped executor on the fake fleet): its
disruptive steps are held with reason Frozen while its pages still go; they run once the
freeze ends; escalateFaster makes the ladder climb sooner."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from health_fleet import T0, Fleet

from caretaker.domain.common.freeze import ActiveFreeze, FreezeView

FREEZE = FreezeView((ActiveFreeze("peak", "year-end peak", T0 + timedelta(hours=1)),))


def osd_down(freeze: FreezeView) -> Fleet:
    fleet = Fleet(freeze=freeze)
    fleet.osd_up[3] = False
    return fleet


def test_disruptive_steps_are_held_while_pages_still_go() -> None:
    fleet = osd_down(FREEZE)
    fleet.run_for(timedelta(minutes=21))
    assert fleet.actions == []  # no restartOsd at 2m, no markOut at 15m
    assert [(e[0], e[2]) for e in fleet.sent_events()] == [
        ("trigger", ("chat",)),  # urgent at once
        ("trigger", ("oncall", "chat")),  # critical at 20m
    ]
    item = fleet.target("osd-down", "osd/osd.3")
    assert item is not None
    assert item.hold is not None
    assert (item.hold.step, item.hold.reason) == (1, "Frozen")
    assert "frozen: MaintenanceFreeze peak until 2026-05-04T11:00:00Z: year-end peak" in (
        item.hold.message
    )
    assert "notifications still go" in item.hold.message
    held = [n for n in fleet.notes if n.reason == "ActionHeld"]
    assert len(held) == 1  # one Event when the hold starts, not one per round
    frozen = frozen_condition(fleet)
    assert (frozen["status"], frozen["reason"]) == ("True", "Frozen")
    assert frozen["message"] == (
        "disruptive steps held: MaintenanceFreeze peak until 2026-05-04T11:00:00Z: year-end "
        "peak; notifications still go"
    )
    fleet.freeze = FreezeView()
    fleet.run_for(timedelta(minutes=1))
    assert fleet.action_kinds() == ["restartOsd"]
    assert (frozen_condition(fleet)["status"], frozen_condition(fleet)["reason"]) == (
        "False",
        "NotFrozen",
    )


def frozen_condition(fleet: Fleet) -> dict[str, Any]:
    """The policy's ``Frozen`` condition as written to its status."""
    (found,) = [c for c in fleet.status_raw["conditions"] if c["type"] == "Frozen"]
    return dict(found)


def test_an_unreadable_freeze_list_holds_too() -> None:
    fleet = osd_down(FreezeView(unreadable="HTTP 403 Forbidden"))
    fleet.run_for(timedelta(minutes=5))
    assert fleet.actions == []
    assert [e[0] for e in fleet.sent_events()] == ["trigger"]


def page_times(fleet: Fleet) -> list[datetime]:
    return [at for at, n in fleet.sent if str(n.event) == "trigger"]


def test_escalate_faster_brings_the_critical_page_forward() -> None:
    normal = osd_down(FREEZE)  # frozen, no escalateFaster
    normal.run_for(timedelta(minutes=21))
    watched = osd_down(FreezeView(FREEZE.active, factor=4))
    watched.run_for(timedelta(minutes=21))
    critical = [t - T0 for t in page_times(normal)][1]
    hastened = [t - T0 for t in page_times(watched)][1]
    assert critical >= timedelta(minutes=20)
    assert hastened <= timedelta(minutes=6)
