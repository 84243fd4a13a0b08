"""kstatus conditions and their merge (stable lastTransitionTime)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from caretaker.domain.common.conditions import FALSE, TRUE, Condition, kstatus, merge_conditions

T1 = datetime(2026, 5, 4, 10, 0, 0, tzinfo=UTC)
T2 = T1 + timedelta(minutes=5)


def _by_type(conditions: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(c["type"]): c for c in conditions}


def test_first_merge_stamps_every_condition() -> None:
    merged = merge_conditions([], [Condition("Ready", FALSE, "Progressing", "working")], T1, 3)
    assert merged == [
        {
            "type": "Ready",
            "status": "False",
            "reason": "Progressing",
            "message": "working",
            "lastTransitionTime": "2026-05-04T10:00:00Z",
            "observedGeneration": 3,
        }
    ]


def test_unchanged_status_keeps_transition_time_but_updates_reason_and_message() -> None:
    first = merge_conditions([], [Condition("Ready", FALSE, "A", "one")], T1, 1)
    second = merge_conditions(first, [Condition("Ready", FALSE, "B", "two")], T2, 2)
    ready = _by_type(second)["Ready"]
    assert ready["lastTransitionTime"] == "2026-05-04T10:00:00Z"
    assert (ready["reason"], ready["message"], ready["observedGeneration"]) == ("B", "two", 2)


def test_changed_status_moves_transition_time() -> None:
    first = merge_conditions([], [Condition("Ready", FALSE, "A")], T1, 1)
    second = merge_conditions(first, [Condition("Ready", TRUE, "Completed")], T2, 1)
    assert _by_type(second)["Ready"]["lastTransitionTime"] == "2026-05-04T10:05:00Z"


def test_other_condition_types_are_kept_after_the_wanted_ones() -> None:
    foreign = {"type": "Custom", "status": "True", "reason": "X", "lastTransitionTime": "t"}
    merged = merge_conditions(
        [foreign], [Condition("Ready", TRUE, "R"), Condition("Stalled", FALSE, "S")], T1, 1
    )
    assert [c["type"] for c in merged] == ["Ready", "Stalled", "Custom"]
    assert merged[2] == foreign
    assert merged[2] is not foreign  # a copy, not the caller's mapping


def test_transition_time_is_written_in_utc() -> None:
    """A non-UTC aware `now` must still produce the right instant with the Z suffix."""
    berlin_summer = timezone(timedelta(hours=2))
    now = datetime(2026, 5, 4, 12, 0, 0, tzinfo=berlin_summer)  # == 10:00:00Z
    merged = merge_conditions([], [Condition("Ready", TRUE, "R")], now, 1)
    assert merged[0]["lastTransitionTime"] == "2026-05-04T10:00:00Z"


@pytest.mark.parametrize(
    ("ready", "stalled", "expected"),
    [
        (True, False, {"Ready": TRUE, "Reconciling": FALSE, "Stalled": FALSE}),
        (False, False, {"Ready": FALSE, "Reconciling": TRUE, "Stalled": FALSE}),
        (False, True, {"Ready": FALSE, "Reconciling": FALSE, "Stalled": TRUE}),
    ],
)
def test_kstatus_statuses(ready: bool, stalled: bool, expected: dict[str, str]) -> None:
    conditions = kstatus(ready, "Why", "what", stalled=stalled)
    assert {c.type: c.status for c in conditions} == expected


def test_kstatus_reasons_and_messages_follow_the_true_condition() -> None:
    working = {c.type: c for c in kstatus(False, "NodeDraining", "draining a", stalled=False)}
    assert working["Reconciling"].reason == "NodeDraining"
    assert working["Reconciling"].message == "draining a"
    assert working["Stalled"].reason == "NotStalled"
    assert working["Stalled"].message == ""
    stuck = {c.type: c for c in kstatus(False, "InvalidSpec", "bad", stalled=True)}
    assert stuck["Stalled"].reason == "InvalidSpec"
    assert stuck["Stalled"].message == "bad"
    assert stuck["Reconciling"].reason == "Idle"
    assert stuck["Ready"].reason == "InvalidSpec"
