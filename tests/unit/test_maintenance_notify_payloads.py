"""What each receiver gets from a Maintenance notification: the webhook's JSON event, Slack's
escaped text, PagerDuty's change-event details; the dedup key is stable."""

from __future__ import annotations

from datetime import UTC, datetime

from caretaker.domain.maintenance.notifications import Announcement
from caretaker.domain.maintenance.notify_record import Dispatch, dedup_key, new_record
from caretaker.domain.maintenance.notify_spec import NotifyEvent
from caretaker.handlers.maintenance.notify_send import (
    change_details,
    maintenance_event,
    slack_text,
)

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
TEXT = "Node a is drained & ready <for> the technician"


def dispatch() -> Dispatch:
    record = new_record(Announcement("NodeReady/a", NotifyEvent.NODE_READY, TEXT, "a", (3, 4)), T0)
    return Dispatch("ops", "nightly", dedup_key("u-1", "ops", "nightly", record.key), record)


def test_the_dedup_key_names_the_object_and_the_notification() -> None:
    assert dedup_key("u-1", "ops", "nightly", "Started") == "caretaker/maintenance/u-1/Started"
    assert dedup_key("", "ops", "nightly", "Completed") == (
        "caretaker/maintenance/ops/nightly/Completed"
    )


def test_webhook_event() -> None:
    assert maintenance_event(dispatch()) == {
        "version": "caretaker.maintenance/v1",
        "key": "caretaker/maintenance/u-1/NodeReady/a",
        "event": "NodeReady",
        "maintenance": {"namespace": "ops", "name": "nightly"},
        "node": "a",
        "osds": [3, 4],
        "text": TEXT,
        "occurred_at": "2026-05-04T10:00:00.000Z",
    }


def test_slack_text_is_escaped() -> None:
    assert slack_text(dispatch()) == {
        "text": "*Maintenance ops/nightly: NodeReady*\n"
        "Node a is drained &amp; ready &lt;for&gt; the technician"
    }


def test_pagerduty_details_carry_the_dedup_key() -> None:
    details = change_details(dispatch())
    assert details["dedup_key"] == "caretaker/maintenance/u-1/NodeReady/a"
    assert "key" not in details
    assert details["osds"] == [3, 4]
